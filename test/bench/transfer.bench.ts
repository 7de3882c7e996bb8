/**
 * Transfer benchmark: a 40 MB model sent to 10 trainers and 10 updates of
 * 40 MB sent back, the way fedpet moves them, against raw amqplib moving the
 * same bytes in the same run.
 *
 * fedpet path: the aggregator stores the model once in the content-addressed
 * Redis blob store and each of 10 trainers (own connection) fetches and
 * SHA-256-verifies it; each trainer publishes its update through the AMQP
 * bus in 1 MiB chunks (framed envelope, publisher confirms, persistent) and
 * the aggregator's subscription reassembles and verifies every update.
 *
 * baseline: raw amqplib with the same delivery guarantees (confirm channel,
 * persistent messages, durable queue, manual acks) and the same 1 MiB
 * message size, carrying the model 10 times and the 10 updates: 800 MB.
 *
 * The ratio (fedpet MB/s ÷ raw MB/s) is the figure of merit; no thresholds.
 * Run: node --import tsx test/bench/transfer.bench.ts
 * Writes test/bench/results/transfer.json.
 */
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
import { publishUpdate } from '../../shared/src/transport/update-publisher.ts';

const MODEL_BYTES = 40 * 1024 * 1024;
const TRAINERS = 10;
const CHUNK = 1024 * 1024;
const REPETITIONS = 2;
const AMQP_URL = process.env.FEDPET_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const REDIS_URL = process.env.FEDPET_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const TOTAL_MB = (MODEL_BYTES * TRAINERS * 2) / 1e6;
const logger = createLogger({ service: 'bench', level: 'error' });

function namespace(): string {
  return `bench-${randomBytes(4).toString('hex')}`;
}

async function fedpetRun(
  model: Buffer,
  updates: Buffer[],
): Promise<{ seconds: number; modelSeconds: number; updateSeconds: number }> {
  const ns = namespace();
  const bus = await createBus(AMQP_URL, { namespace: ns, clientName: 'bench' });
  const redis = new Redis(REDIS_URL);
  const trainerRedis = Array.from({ length: TRAINERS }, () => new Redis(REDIS_URL));
  const blobs = new RedisBlobStore(redis, { prefix: ns });
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
  try {
    const start = performance.now();
    const ref = await blobs.put(model);
    await Promise.all(
      trainerRedis.map((connection) => new RedisBlobStore(connection, { prefix: ns }).get(ref)),
    );
    const modelDone = performance.now();
    await Promise.all(
      updates.map((update, index) =>
        publishUpdate(
          bus,
          { experimentId: 'bench', round: 1, sender: `h${index}` },
          { hospital: `h${index}`, kind: 'train', numSamples: 1, metrics: {}, timingsMs: {} },
          update,
          CHUNK,
        ),
      ),
    );
    await done;
    const end = performance.now();
    await blobs.delete(ref);
    return {
      seconds: (end - start) / 1000,
      modelSeconds: (modelDone - start) / 1000,
      updateSeconds: (end - modelDone) / 1000,
    };
  } finally {
    await subscription.close();
    await bus.deleteSubscription('aggregator.updates');
    await bus.removeNamespace();
    await bus.close();
    redis.disconnect();
    for (const connection of trainerRedis) connection.disconnect();
  }
}

/** Publishes `payloads` in 1 MiB persistent messages on a confirm channel and consumes them with manual acks. */
async function rawTransfer(
  channel: amqplib.ConfirmChannel,
  consumer: amqplib.Channel,
  queue: string,
  payloads: Buffer[],
): Promise<void> {
  const expected = payloads.reduce((sum, payload) => sum + Math.ceil(payload.length / CHUNK), 0);
  let received = 0;
  let receivedAll: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    receivedAll = resolve;
  });
  const { consumerTag } = await consumer.consume(queue, (message) => {
    if (!message) return;
    consumer.ack(message);
    if (++received === expected) receivedAll();
  });
  await Promise.all(
    payloads.map(async (payload) => {
      for (let offset = 0; offset < payload.length; offset += CHUNK) {
        const sent = new Promise<void>((resolve, reject) =>
          channel.sendToQueue(
            queue,
            payload.subarray(offset, offset + CHUNK),
            { persistent: true },
            (error) => (error ? reject(error) : resolve()),
          ),
        );
        if ((offset / CHUNK) % 4 === 3) await sent; // the same 4-message confirm window fedpet uses
      }
    }),
  );
  await channel.waitForConfirms();
  await finished;
  await consumer.cancel(consumerTag);
}

async function rawRun(
  model: Buffer,
  updates: Buffer[],
): Promise<{ seconds: number; modelSeconds: number; updateSeconds: number }> {
  const connection = await amqplib.connect(AMQP_URL);
  const channel = await connection.createConfirmChannel();
  const consumer = await connection.createChannel();
  await consumer.prefetch(64);
  const queue = `${namespace()}.raw`;
  await channel.assertQueue(queue, { durable: true });
  try {
    const start = performance.now();
    await rawTransfer(
      channel,
      consumer,
      queue,
      Array.from({ length: TRAINERS }, () => model),
    );
    const modelDone = performance.now();
    await rawTransfer(channel, consumer, queue, updates);
    const end = performance.now();
    return {
      seconds: (end - start) / 1000,
      modelSeconds: (modelDone - start) / 1000,
      updateSeconds: (end - modelDone) / 1000,
    };
  } finally {
    await channel.deleteQueue(queue);
    await connection.close();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export async function runTransferBench() {
  const model = randomBytes(MODEL_BYTES);
  const updates = Array.from({ length: TRAINERS }, () => randomBytes(MODEL_BYTES));
  const fedpet: Awaited<ReturnType<typeof fedpetRun>>[] = [];
  const raw: Awaited<ReturnType<typeof rawRun>>[] = [];
  for (let repetition = 0; repetition < REPETITIONS; repetition++) {
    raw.push(await rawRun(model, updates));
    fedpet.push(await fedpetRun(model, updates));
  }
  const summarise = (runs: { seconds: number; modelSeconds: number; updateSeconds: number }[]) => ({
    seconds: median(runs.map((run) => run.seconds)),
    mbPerSecond: TOTAL_MB / median(runs.map((run) => run.seconds)),
    modelLegMbPerSecond: TOTAL_MB / 2 / median(runs.map((run) => run.modelSeconds)),
    updateLegMbPerSecond: TOTAL_MB / 2 / median(runs.map((run) => run.updateSeconds)),
  });
  const results = {
    benchmark: 'transfer',
    date: new Date().toISOString(),
    modelBytes: MODEL_BYTES,
    trainers: TRAINERS,
    totalMegabytes: TOTAL_MB,
    repetitions: REPETITIONS,
    fedpet: summarise(fedpet),
    rawAmqplib: summarise(raw),
    ratio: 0,
  };
  results.ratio = results.fedpet.mbPerSecond / results.rawAmqplib.mbPerSecond;
  console.log(
    `\nTransfer: ${MODEL_BYTES / 2 ** 20} MiB model to ${TRAINERS} trainers + ${TRAINERS} updates back (${TOTAL_MB.toFixed(0)} MB), median of ${REPETITIONS}`,
  );
  console.table({
    'fedpet (blob store + AMQP bus)': {
      'MB/s': results.fedpet.mbPerSecond.toFixed(0),
      'model leg MB/s': results.fedpet.modelLegMbPerSecond.toFixed(0),
      'update leg MB/s': results.fedpet.updateLegMbPerSecond.toFixed(0),
      seconds: results.fedpet.seconds.toFixed(2),
    },
    'raw amqplib (same guarantees)': {
      'MB/s': results.rawAmqplib.mbPerSecond.toFixed(0),
      'model leg MB/s': results.rawAmqplib.modelLegMbPerSecond.toFixed(0),
      'update leg MB/s': results.rawAmqplib.updateLegMbPerSecond.toFixed(0),
      seconds: results.rawAmqplib.seconds.toFixed(2),
    },
  });
  console.log(`ratio fedpet / raw: ${results.ratio.toFixed(2)} (aim ≥ 0.7)`);
  const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'transfer.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  return results;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await runTransferBench();
}
