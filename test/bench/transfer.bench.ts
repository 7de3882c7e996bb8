/**
 * (b) Transfer: a 40 MB model sent to 10 trainers and 10 updates of 40 MB
 * sent back, the way fedpet moves them, against raw amqplib moving the same
 * bytes in the same run. The trainers run in a second process
 * (support/transfer-hospitals.ts) in both cases.
 *
 * fedpet: the aggregator stores the model once in the content-addressed
 * Redis blob store; each trainer (own connection) fetches and SHA-256-verifies
 * it, then publishes its update through the AMQP bus in 1 MiB chunks (framed
 * envelope, persistent, publisher confirms); the aggregator's subscription
 * reassembles and verifies every update (chunk and whole-payload SHA-256).
 *
 * raw baseline: amqplib with the same delivery guarantees (confirm channel,
 * persistent messages, durable queues, manual acks) and the same 1 MiB
 * messages and confirm window, carrying the model 10 times and the 10 updates.
 *
 * Figure of merit: fedpet MB/s ÷ raw MB/s. No thresholds.
 * Run: node --import tsx test/bench/transfer.bench.ts  (writes test/bench/results/transfer.json)
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import amqplib from 'amqplib';
import { Redis } from 'ioredis';
import { RedisBlobStore } from '../../shared/src/blob/redis-blob-store.ts';
import { ChunkAssembler } from '../../shared/src/codec/chunking.ts';
import type { UpdateBody } from '../../shared/src/contracts/messages.ts';
import { createLogger } from '../../shared/src/log/logger.ts';
import { consumeEnvelopes } from '../../shared/src/transport/consume.ts';
import { createBus } from '../../shared/src/transport/create-bus.ts';
import { Topics } from '../../shared/src/transport/topics.ts';
import { testUrls, uniqueNamespace } from '../support/unique.ts';
import { median } from './support/median.ts';
import { type Order, rawPublish } from './support/transfer-hospitals.ts';

const MODEL_BYTES = 40 * 1024 * 1024;
const TRAINERS = 10;
const CHUNK = 1024 * 1024;
const REPETITIONS = 3;
const AMQP_URL = testUrls.amqp;
const REDIS_URL = testUrls.redis;
const TOTAL_MB = (MODEL_BYTES * TRAINERS * 2) / 1e6;
const logger = createLogger({ service: 'bench', level: 'error' });

interface Timing {
  seconds: number;
}

/** Starts the hospitals' process with an order and resolves once it is ready to go. */
async function hospitals(order: Order): Promise<{ go(model?: unknown): Promise<void>; child: ChildProcess }> {
  const child = fork(fileURLToPath(new URL('./support/transfer-hospitals.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
  });
  const next = () =>
    new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`hospitals process exited ${code}`)));
    });
  const ready = next();
  child.send(order);
  await ready;
  return {
    child,
    go: (model?: unknown) => {
      const done = next();
      child.send({ model });
      return done;
    },
  };
}

async function fedpetRun(model: Buffer): Promise<Timing> {
  const namespace = uniqueNamespace('bench');
  const bus = await createBus(AMQP_URL, { namespace, clientName: 'bench-aggregator' });
  const redis = new Redis(REDIS_URL);
  const blobs = new RedisBlobStore(redis, { prefix: namespace });
  const assemblers = new Map<string, ChunkAssembler>();
  let completed = 0;
  let allDone: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    allDone = resolve;
  });
  const subscription = await consumeEnvelopes(
    bus,
    { name: 'aggregator.updates', topics: [Topics.allUpdates], prefetch: 64 },
    ['update'],
    logger,
    async (message) => {
      const body = message.body as UpdateBody;
      let assembler = assemblers.get(body.updateId);
      if (!assembler) {
        assembler = new ChunkAssembler({ expectedSha256: body.payload.payloadSha256 });
        assemblers.set(body.updateId, assembler);
      }
      if (assembler.add({ ...body.payload, data: message.payload })) {
        assemblers.delete(body.updateId);
        if (++completed === TRAINERS) allDone();
      }
    },
  );
  const side = await hospitals({ mode: 'fedpet', namespace, trainers: TRAINERS, modelBytes: MODEL_BYTES });
  try {
    const start = performance.now();
    const ref = await blobs.put(model);
    await Promise.all([side.go(ref), done]);
    const seconds = (performance.now() - start) / 1000;
    await blobs.delete(ref);
    return { seconds };
  } finally {
    await subscription.close();
    await bus.deleteSubscription('aggregator.updates');
    await bus.removeNamespace();
    await bus.close();
    redis.disconnect();
  }
}

async function rawRun(model: Buffer): Promise<Timing> {
  const connection = await amqplib.connect(AMQP_URL);
  const channel = await connection.createConfirmChannel();
  const consumer = await connection.createChannel();
  await consumer.prefetch(64);
  const base = uniqueNamespace('bench');
  const modelQueue = `${base}.model`;
  const updateQueue = `${base}.updates`;
  await channel.assertQueue(modelQueue, { durable: true });
  await channel.assertQueue(updateQueue, { durable: true });
  const side = await hospitals({
    mode: 'raw',
    modelQueue,
    updateQueue,
    trainers: TRAINERS,
    modelBytes: MODEL_BYTES,
  });
  const expected = TRAINERS * Math.ceil(MODEL_BYTES / CHUNK);
  let received = 0;
  let allReceived: () => void = () => {};
  const updatesIn = new Promise<void>((resolve) => {
    allReceived = resolve;
  });
  await consumer.consume(updateQueue, (message) => {
    if (!message) return;
    consumer.ack(message);
    if (++received === expected) allReceived();
  });
  try {
    const start = performance.now();
    const finished = side.go();
    await Promise.all(Array.from({ length: TRAINERS }, () => rawPublish(channel, modelQueue, model)));
    await Promise.all([finished, updatesIn]);
    return { seconds: (performance.now() - start) / 1000 };
  } finally {
    await channel.deleteQueue(modelQueue);
    await channel.deleteQueue(updateQueue);
    await connection.close();
  }
}

export async function runTransferBench() {
  const model = randomBytes(MODEL_BYTES);
  const fedpet: number[] = [];
  const raw: number[] = [];
  for (let repetition = 0; repetition < REPETITIONS; repetition++) {
    raw.push((await rawRun(model)).seconds);
    fedpet.push((await fedpetRun(model)).seconds);
  }
  const fedpetMBps = TOTAL_MB / median(fedpet);
  const rawMBps = TOTAL_MB / median(raw);
  const results = {
    benchmark: 'transfer',
    date: new Date().toISOString(),
    modelBytes: MODEL_BYTES,
    trainers: TRAINERS,
    totalMegabytes: TOTAL_MB,
    repetitions: REPETITIONS,
    fedpet: { medianSeconds: median(fedpet), mbPerSecond: fedpetMBps, runs: fedpet },
    rawAmqplib: { medianSeconds: median(raw), mbPerSecond: rawMBps, runs: raw },
    ratio: fedpetMBps / rawMBps,
  };
  console.log(
    `Transfer: ${MODEL_BYTES / 2 ** 20} MiB model to ${TRAINERS} trainers + ${TRAINERS} updates back (${TOTAL_MB.toFixed(0)} MB), median of ${REPETITIONS}`,
  );
  console.table({
    'fedpet (blob store + AMQP bus, verified)': {
      'MB/s': fedpetMBps.toFixed(0),
      seconds: median(fedpet).toFixed(2),
    },
    'raw amqplib (same guarantees)': { 'MB/s': rawMBps.toFixed(0), seconds: median(raw).toFixed(2) },
  });
  console.log(`ratio fedpet / raw: ${results.ratio.toFixed(2)} (aim ≥ 0.7)`);
  const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'transfer.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  return results;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await runTransferBench();
