/**
 * (a) FedAvg streaming fold.
 *
 * Throughput: 10 updates of 10M float32 parameters folded one by one, as
 * memory traffic (bytes read + written) relative to a plain Float32Array copy
 * measured in the same run. The fold loop moves 12 B/parameter (read sum,
 * read update, write sum); add() also reads the update once beforehand to
 * refuse NaN/Infinity before touching the sums, 16 B/parameter in all.
 *
 * Memory: the aggregator's real receive path (bus subscription → chunk
 * reassembly into pooled buffers → SHA-256 and value checks → stored in
 * Redis before the acknowledgement → at close, loaded back one by one and
 * folded in hospital order → in-place average) while a separate process
 * publishes the 10 updates through RabbitMQ; peak memory above the idle
 * baseline, in model sizes.
 *
 * Run: node --import tsx test/bench/fedavg-fold.bench.ts
 * Writes test/bench/results/fedavg-fold.json. No pass/fail thresholds.
 */
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CheckpointStore } from '../../services/aggregator/src/checkpoint-store.ts';
import { RoundCollector } from '../../services/aggregator/src/round-collector.ts';
import { FedAvgAccumulator } from '../../shared/src/aggregation/fedavg.ts';
import { createFoldKernel } from '../../shared/src/aggregation/fold-kernel.ts';
import { BufferPool } from '../../shared/src/codec/buffer-pool.ts';
import type { UpdateBody } from '../../shared/src/contracts/messages.ts';
import { createLogger } from '../../shared/src/log/logger.ts';
import { connectRedis } from '../../shared/src/service/connect-redis.ts';
import { consumeEnvelopes } from '../../shared/src/transport/consume.ts';
import { createBus } from '../../shared/src/transport/create-bus.ts';
import { Topics } from '../../shared/src/transport/topics.ts';
import { testUrls, uniqueNamespace } from '../support/unique.ts';
import { median } from './support/median.ts';

const PARAMS = 10_000_000;
const UPDATES = 10;
const REPETITIONS = 5;
const MODEL_BYTES = PARAMS * 4;
const GB = 1e9;
const AMQP_URL = testUrls.amqp;

function seconds(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function filled(seed: number): Float32Array {
  const values = new Float32Array(PARAMS);
  let state = seed >>> 0;
  for (let i = 0; i < PARAMS; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    values[i] = state / 2 ** 32 - 0.5;
  }
  return values;
}

/**
 * Copy, add() and the bare fold loop, interleaved so machine noise hits all
 * alike. add() is timed twice: on an update received into the accumulator's
 * own buffer (the aggregator's path: checked and folded in place) and on an
 * update in an ordinary array (staged through a small cache-resident block).
 */
function throughput() {
  const updates = Array.from({ length: UPDATES }, (_, k) => filled(k + 1));
  const copyTarget = new Float32Array(PARAMS);
  const kernel = createFoldKernel(PARAMS);
  const copy: number[] = [];
  const received: number[] = [];
  const staged: number[] = [];
  const loop: number[] = [];
  for (let repetition = 0; repetition < REPETITIONS; repetition++) {
    const inPlace = new FedAvgAccumulator(PARAMS);
    const fromArray = new FedAvgAccumulator(PARAMS);
    const buffer = inPlace.receiveBuffer(MODEL_BYTES);
    const inbox = buffer ? new Float32Array(buffer.buffer, buffer.byteOffset, PARAMS) : undefined;
    for (let k = 0; k < UPDATES; k++) {
      const update = updates[k]!;
      copy.push(seconds(() => copyTarget.set(update)));
      if (inbox) {
        inbox.set(update); // the arrival itself, not timed: chunks are copied in as they come
        received.push(seconds(() => inPlace.add(inbox, 100 + k)));
      }
      staged.push(seconds(() => fromArray.add(update, 100 + k)));
      loop.push(seconds(() => kernel.fold(update, 1.5)));
    }
  }
  const copyGBps = (8 * PARAMS) / median(copy) / GB;
  const rate = (samples: number[], bytesPerParam: number) => {
    const GBps = (bytesPerParam * PARAMS) / median(samples) / GB;
    return { msPerUpdate: median(samples) * 1e3, GBps, ratioToCopy: GBps / copyGBps };
  };
  return {
    kernel: new FedAvgAccumulator(4).kernel,
    copy: { msPerUpdate: median(copy) * 1e3, GBps: copyGBps },
    addReceived: received.length > 0 ? rate(received, 16) : undefined,
    addFromArray: rate(staged, 16),
    foldLoop: rate(loop, 12),
  };
}

/** Peak of RSS above the baseline while 10 updates arrive over RabbitMQ and are folded. */
async function aggregatorMemory() {
  const namespace = uniqueNamespace('bench');
  const bus = await createBus(AMQP_URL, { namespace, clientName: 'bench-aggregator' });
  const hospitals = Array.from({ length: UPDATES }, (_, k) => `h${k + 1}`);
  const redis = await connectRedis(testUrls.redis);
  const checkpoints = new CheckpointStore(redis, namespace);
  const collector = new RoundCollector(
    {
      kind: 'train',
      hospitals,
      parameterCount: PARAMS,
      store: checkpoints.roundStore('bench', 1),
      normRatio: 10,
    },
    new BufferPool(),
  );
  const logger = createLogger({ service: 'bench', level: 'error' });
  const subscription = await consumeEnvelopes(
    bus,
    { name: 'aggregator.updates', topics: [Topics.allUpdates], prefetch: 16 },
    ['update'],
    logger,
    async (message) => collector.addChunk(message.header.sender, message.body as UpdateBody, message.payload),
  );
  globalThis.gc?.();
  const idle = process.memoryUsage();
  const baseline = idle.rss;
  let peak = 0;
  let peakBuffers = 0;
  const sampler = setInterval(() => {
    const usage = process.memoryUsage();
    peak = Math.max(peak, usage.rss - baseline);
    peakBuffers = Math.max(peakBuffers, usage.arrayBuffers - idle.arrayBuffers);
  }, 5);
  const sender = fork(
    fileURLToPath(new URL('./support/publish-updates.ts', import.meta.url)),
    [namespace, String(UPDATES), String(PARAMS)],
    {
      execArgv: ['--import', 'tsx'],
    },
  );
  const senderDone = new Promise<void>((resolve, reject) =>
    sender.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`update sender exited ${code}`)))),
  );
  const report = await collector.wait(new Date(Date.now() + 300_000));
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss - baseline);
  await senderDone;
  await subscription.close();
  await bus.deleteSubscription('aggregator.updates');
  await bus.removeNamespace();
  await bus.close();
  await checkpoints.clearRound('bench', 1);
  redis.disconnect();
  const folded = report.outcomes.filter((outcome) => outcome.status === 'ok').length;
  if (folded !== UPDATES || !report.average) throw new Error(`only ${folded} updates folded`);
  return {
    updatesFolded: folded,
    peakAboveIdleBytes: peak,
    peakModelSizes: peak / MODEL_BYTES,
    peakArrayBufferModelSizes: peakBuffers / MODEL_BYTES,
  };
}

export async function runFedAvgFoldBench() {
  // Memory first, while the process is fresh: the throughput phase leaves 400 MB of garbage behind.
  const memory = await aggregatorMemory();
  const rate = throughput();
  const results = {
    benchmark: 'fedavg-fold',
    date: new Date().toISOString(),
    node: process.version,
    params: PARAMS,
    updates: UPDATES,
    ...rate,
    memory,
  };
  const f = (n: number) => n.toFixed(2);
  const row = (r: { msPerUpdate: number; GBps: number; ratioToCopy: number }) => ({
    'ms/update': f(r.msPerUpdate),
    'GB/s': f(r.GBps),
    'ratio to copy': f(r.ratioToCopy),
  });
  console.table({
    'copy dst.set(src), 8 B/param': {
      'ms/update': f(rate.copy.msPerUpdate),
      'GB/s': f(rate.copy.GBps),
      'ratio to copy': '1.00',
    },
    ...(rate.addReceived ? { 'add(), update in receive buffer, 16 B/param': row(rate.addReceived) } : {}),
    'add(), update in a plain array, 16 B/param': row(rate.addFromArray),
    'fold loop only, 12 B/param': row(rate.foldLoop),
  });
  console.log(`kernel ${rate.kernel}; aim: ratio ≥ 0.7`);
  console.log(
    `aggregator receiving ${UPDATES} updates of ${MODEL_BYTES / 1e6} MB over RabbitMQ: peak RSS ${f(memory.peakModelSizes)} model sizes above idle (aim < 3), array buffers ${f(memory.peakArrayBufferModelSizes)}`,
  );
  const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'fedavg-fold.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  return results;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await runFedAvgFoldBench();
