import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { Redis } from 'ioredis';
import { CheckpointStore } from '../../services/aggregator/src/checkpoint-store.ts';
import { RoundCollector } from '../../services/aggregator/src/round-collector.ts';
import { splitIntoChunks } from '../../shared/src/codec/chunking.ts';
import { encodeTensors } from '../../shared/src/codec/tensor-codec.ts';
import type { UpdateBody } from '../../shared/src/contracts/messages.ts';
import { connectRedis } from '../../shared/src/service/connect-redis.ts';
import { testUrls, uniqueNamespace } from '../support/unique.ts';

// The aggregator's durable round on the real Redis: chunks stored before they
// are acknowledged, verified updates committed once per hospital, folded in
// hospital order when the round closes, and found again after a restart.

const parameterCount = 6;
const namespace = uniqueNamespace('rstore');
let redis: Redis;
let checkpoints: CheckpointStore;
let round = 0;

before(async () => {
  redis = await connectRedis(testUrls.redis);
  checkpoints = new CheckpointStore(redis, namespace);
});

after(async () => {
  const keys = await redis.keys(`${namespace}:*`);
  assert.deepEqual(keys, [], 'every test cleared its round');
  redis.disconnect();
});

function chunksOf(hospital: string, values: number[], numSamples: number, chunkBytes = 16) {
  const payload = encodeTensors([
    { name: 'dense/kernel', shape: [2, 2], values: Float32Array.from(values.slice(0, 4)) },
    { name: 'dense/bias', shape: [2], values: Float32Array.from(values.slice(4)) },
  ]);
  const updateId = randomUUID();
  return splitIntoChunks(payload, { chunkBytes }).chunks.map(({ data, ...descriptor }) => ({
    body: {
      updateId,
      hospital,
      kind: 'train',
      numSamples,
      metrics: { trainLoss: 1 },
      timingsMs: { train: 5 },
      payload: descriptor,
    } satisfies UpdateBody,
    data: Buffer.from(data),
  }));
}

/** A durable training round on a fresh key range; `options` adds policy. */
function durableRound(
  hospitals: string[],
  options: Partial<ConstructorParameters<typeof RoundCollector>[0]> = {},
  roundNumber = ++round,
) {
  const collector = new RoundCollector({
    kind: 'train',
    hospitals,
    parameterCount,
    store: checkpoints.roundStore('exp', roundNumber),
    normRatio: 0,
    ...options,
  });
  return { collector, roundNumber };
}

async function send(collector: RoundCollector, hospital: string, values: number[], samples = 7, attempt = 0) {
  for (const chunk of chunksOf(hospital, values, samples)) {
    await collector.addChunk(hospital, chunk.body, chunk.data, attempt);
  }
}

function bytesOf(values: Float32Array): Buffer {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
}

/** Values whose float32 sum depends on the order they are added in. */
const orderSensitive: Record<string, number[]> = {
  h1: [1e8, 1, 3.3, 0.1, -7, 2],
  h2: [1, -1e8, 1e-3, 0.7, 7.25, 1e-7],
  h3: [3, 1e8, 2.2, 0.3, 1, 3e7],
};

test('stored updates fold in hospital order: any arrival order gives the same bits', async () => {
  const averages: Buffer[] = [];
  for (const order of [
    ['h1', 'h2', 'h3'],
    ['h3', 'h2', 'h1'],
    ['h2', 'h3', 'h1'],
  ]) {
    const { collector, roundNumber } = durableRound(['h1', 'h2', 'h3']);
    for (const hospital of order) await send(collector, hospital, orderSensitive[hospital]!);
    averages.push(Buffer.from(bytesOf((await collector.wait(new Date(Date.now() + 1000))).average!)));
    await checkpoints.clearRound('exp', roundNumber);
  }
  assert.deepEqual(averages[1], averages[0]);
  assert.deepEqual(averages[2], averages[0]);
  // Folding as they arrive (no store) in another order is not bit-identical here: why the round folds at close.
  const streaming = new RoundCollector({ kind: 'train', hospitals: ['h1', 'h2', 'h3'], parameterCount });
  for (const hospital of ['h3', 'h2', 'h1']) await send(streaming, hospital, orderSensitive[hospital]!);
  const streamed = (await streaming.wait(new Date(Date.now() + 1000))).average!;
  assert.notDeepEqual(bytesOf(streamed), averages[0]);
});

test('each chunk is in Redis before it is acknowledged; copies and second updates are ignored and counted', async () => {
  const { collector, roundNumber } = durableRound(['h1', 'h2']);
  const first = chunksOf('h1', [1, 1, 1, 1, 1, 1], 10);
  await collector.addChunk('h1', first[0]!.body, first[0]!.data);
  const partial = await redis.keys(`${namespace}:checkpoint:exp:round:${roundNumber}:updates:h1:*`);
  assert.equal(partial.length, 2, 'the bytes and the chunk-index set of the update in progress');
  for (const chunk of first.slice(1)) await collector.addChunk('h1', chunk.body, chunk.data);
  for (const chunk of first) await collector.addChunk('h1', chunk.body, chunk.data); // redelivery
  await send(collector, 'h1', [5, 5, 5, 5, 5, 5], 10); // a retried job's second update
  await send(collector, 'h2', [3, 3, 3, 3, 3, 3], 30);
  const report = await collector.wait(new Date(Date.now() + 1000));
  assert.equal(collector.counters.duplicates, 2);
  assert.deepEqual([...report.average!], [2.5, 2.5, 2.5, 2.5, 2.5, 2.5]);
  await checkpoints.clearRound('exp', roundNumber);
});

test('NaN and far-out updates are rejected before the sum; the rest still average', async () => {
  const { collector, roundNumber } = durableRound(['h1', 'h2', 'h3', 'h4', 'h5'], {
    reference: new Float32Array(parameterCount),
    normRatio: 10,
  });
  await send(collector, 'h1', [1, 1, 1, 1, 1, 1], 10);
  await send(collector, 'h2', [2, 2, 2, 2, 2, 2], 10);
  await send(collector, 'h3', [3, 3, 3, 3, 3, 3], 10);
  await send(collector, 'h4', [500, 500, 500, 500, 500, 500], 10);
  await assert.rejects(
    send(collector, 'h5', [1, Number.NaN, 1, 1, 1, 1], 10),
    /non-finite value NaN at index 1/,
  );
  const report = await collector.wait(new Date(Date.now() + 1000));
  assert.deepEqual(
    report.outcomes.map((o) => [o.hospital, o.status, o.code ?? '']),
    [
      ['h1', 'ok', ''],
      ['h2', 'ok', ''],
      ['h3', 'ok', ''],
      ['h4', 'failed', 'UPDATE_NORM_OUT_OF_BOUNDS'],
      ['h5', 'failed', 'INVALID_MESSAGE'],
    ],
  );
  assert.deepEqual([...report.average!], [2, 2, 2, 2, 2, 2]);
  assert.equal(report.totalSamples, 30);
  assert.equal(collector.counters.rejected, 2);
  await checkpoints.clearRound('exp', roundNumber);
});

test('a damaged chunk fails that hospital with an integrity error; nothing of it is folded', async () => {
  const { collector, roundNumber } = durableRound(['h1', 'h2']);
  await send(collector, 'h1', [4, 4, 4, 4, 4, 4], 10);
  const bad = chunksOf('h2', [9, 9, 9, 9, 9, 9], 10);
  bad[1]!.data[0]! ^= 0xff;
  await collector.addChunk('h2', bad[0]!.body, bad[0]!.data);
  await assert.rejects(collector.addChunk('h2', bad[1]!.body, bad[1]!.data), /CRC-32 mismatch/);
  const report = await collector.wait(new Date(Date.now() + 1000));
  assert.deepEqual(
    report.outcomes.map((o) => o.code ?? o.status),
    ['ok', 'INTEGRITY_ERROR'],
  );
  assert.deepEqual([...report.average!], [4, 4, 4, 4, 4, 4]);
  await checkpoints.clearRound('exp', roundNumber);
});

test('quorum plus grace closes the round; the straggler is late; attempts are sorted out', async () => {
  const { collector, roundNumber } = durableRound(['h1', 'h2', 'h3'], {
    attempt: 1,
    quorum: 2,
    graceMs: 100,
  });
  await send(collector, 'h1', [1, 1, 1, 1, 1, 1], 10, 0); // attempt 0, same global model: counts
  collector.addError('h2', 'h2', 'ROUND_RESTARTED', 'old run', 0); // an old run's error does not
  await send(collector, 'h3', [9, 9, 9, 9, 9, 9], 10, 2); // a future attempt is not this round's
  await send(collector, 'h2', [3, 3, 3, 3, 3, 3], 10, 1);
  const started = Date.now();
  const report = await collector.wait(new Date(Date.now() + 10_000));
  assert.ok(Date.now() - started < 5000, 'closed by grace, long before the deadline');
  assert.equal(report.closedBy, 'grace');
  assert.deepEqual(
    report.outcomes.map((o) => [o.hospital, o.status, o.code ?? '']),
    [
      ['h1', 'ok', ''],
      ['h2', 'ok', ''],
      ['h3', 'late', 'LATE_UPDATE'],
    ],
  );
  assert.deepEqual([...report.average!], [2, 2, 2, 2, 2, 2]);
  assert.equal(collector.counters.staleAttempts, 2);
  await checkpoints.clearRound('exp', roundNumber);
});

test('after a restart: committed updates are restored, a half-received one completes from its remaining chunks', async () => {
  const roundNumber = ++round;
  const before = durableRound(['h1', 'h2', 'h3'], {}, roundNumber).collector;
  await send(before, 'h1', [4, 4, 4, 4, 4, 4], 10);
  const h2 = chunksOf('h2', [2, 2, 2, 2, 2, 2], 10);
  const half = Math.floor(h2.length / 2);
  for (const chunk of h2.slice(0, half)) await before.addChunk('h2', chunk.body, chunk.data);
  // The aggregator dies here. A new one reopens the round as attempt 1 with what Redis holds;
  // the broker redelivers h2's unacknowledged chunks, h3 answers the new job.
  const stored = await checkpoints.storedUpdates('exp', roundNumber);
  assert.deepEqual([...stored.keys()], ['h1']);
  const afterRestart = durableRound(['h1', 'h2', 'h3'], { attempt: 1 }, roundNumber).collector;
  for (const meta of stored.values()) afterRestart.restore(meta);
  assert.ok(afterRestart.hasAnswered('h1'));
  for (const chunk of h2.slice(half)) await afterRestart.addChunk('h2', chunk.body, chunk.data, 0);
  await send(afterRestart, 'h3', [6, 6, 6, 6, 6, 6], 20, 1);
  const report = await afterRestart.wait(new Date(Date.now() + 1000));
  assert.equal(report.closedBy, 'all-answered');
  assert.deepEqual([...report.average!], [4.5, 4.5, 4.5, 4.5, 4.5, 4.5]);
  await checkpoints.clearRound('exp', roundNumber);
});
