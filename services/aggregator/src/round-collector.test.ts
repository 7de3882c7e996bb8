import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { splitIntoChunks } from '@fedpet/shared/codec/chunking';
import { encodeTensors } from '@fedpet/shared/codec/tensor-codec';
import type { UpdateBody } from '@fedpet/shared/contracts/messages';
import { FedpetError } from '@fedpet/shared/errors/fedpet-error';
import { RoundCollector, type StoredUpdateMeta, type UpdateStore } from './round-collector.ts';

const parameterCount = 6;

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

test('updates arriving chunk by chunk, interleaved and out of order, fold into the weighted average', async () => {
  const collector = new RoundCollector({ kind: 'train', hospitals: ['h1', 'h2'], parameterCount });
  const a = chunksOf('h1', [1, 2, 3, 4, 5, 6], 100);
  const b = chunksOf('h2', [3, 4, 5, 6, 7, 8], 300);
  assert.ok(a.length > 2, 'the payload spans several chunks');
  const interleaved = [...a.reverse(), ...b].sort((x, y) => x.body.payload.index - y.body.payload.index);
  for (const chunk of interleaved) await collector.addChunk(chunk.body.hospital, chunk.body, chunk.data);
  const report = await collector.wait(new Date(Date.now() + 1000));
  assert.deepEqual(
    report.outcomes.map((outcome) => outcome.status),
    ['ok', 'ok'],
  );
  assert.equal(report.totalSamples, 400);
  const expected = [1, 2, 3, 4, 5, 6].map((value, i) => (value * 100 + [3, 4, 5, 6, 7, 8][i]! * 300) / 400);
  assert.deepEqual(
    [...report.average!].map((v) => Number(v.toFixed(5))),
    expected,
  );
});

test('a corrupted chunk fails that hospital only, with an integrity error, and never reaches the sum', async () => {
  const collector = new RoundCollector({ kind: 'train', hospitals: ['h1', 'h2'], parameterCount });
  const good = chunksOf('h1', [1, 1, 1, 1, 1, 1], 10);
  const bad = chunksOf('h2', [9, 9, 9, 9, 9, 9], 10);
  bad[1]!.data[0]! ^= 0xff;
  for (const chunk of good) await collector.addChunk('h1', chunk.body, chunk.data);
  await collector.addChunk('h2', bad[0]!.body, bad[0]!.data);
  await assert.rejects(
    async () => collector.addChunk('h2', bad[1]!.body, bad[1]!.data),
    (error: unknown) => error instanceof FedpetError && error.code === 'INTEGRITY_ERROR',
  );
  const report = await collector.wait(new Date(Date.now() + 1000));
  assert.equal(report.outcomes[1]!.status, 'failed');
  assert.equal(report.outcomes[1]!.code, 'INTEGRITY_ERROR');
  assert.deepEqual([...report.average!], [1, 1, 1, 1, 1, 1]);
});

test('a chunk from a sender speaking for another hospital, or from a stranger, is refused', async () => {
  const collector = new RoundCollector({ kind: 'train', hospitals: ['h1'], parameterCount });
  const [chunk] = chunksOf('h1', [1, 2, 3, 4, 5, 6], 10);
  await assert.rejects(
    async () => collector.addChunk('h9', chunk!.body, chunk!.data),
    /sender "h9" reported for hospital "h1"/,
  );
  const [stranger] = chunksOf('h9', [1, 2, 3, 4, 5, 6], 10);
  await assert.rejects(
    async () => collector.addChunk('h9', stranger!.body, stranger!.data),
    /not part of this round/,
  );
});

test('a wrong-sized update fails that hospital; duplicates after success are ignored', async () => {
  const collector = new RoundCollector({ kind: 'train', hospitals: ['h1', 'h2'], parameterCount: 7 });
  const chunks = chunksOf('h1', [1, 2, 3, 4, 5, 6], 10, 1024);
  await assert.rejects(
    async () => collector.addChunk('h1', chunks[0]!.body, chunks[0]!.data),
    /6 parameters, the model has 7/,
  );
  collector.addError('h2', 'h2', 'DATASET_MISSING', 'no dataset "tabular"');
  const report = await collector.wait(new Date(Date.now() + 1000));
  assert.deepEqual(
    report.outcomes.map((outcome) => [outcome.status, outcome.code]),
    [
      ['failed', 'INVALID_MESSAGE'],
      ['failed', 'DATASET_MISSING'],
    ],
  );
  assert.equal(report.average, undefined);
});

test('hospitals that do not answer by the deadline are reported as timed out', async () => {
  const collector = new RoundCollector({ kind: 'train', hospitals: ['h1', 'h2'], parameterCount });
  for (const chunk of chunksOf('h1', [2, 2, 2, 2, 2, 2], 10))
    await collector.addChunk('h1', chunk.body, chunk.data);
  const started = Date.now();
  const report = await collector.wait(new Date(Date.now() + 150));
  assert.ok(Date.now() - started >= 140);
  assert.equal(report.outcomes[1]!.code, 'ROUND_TIMEOUT');
  assert.deepEqual([...report.average!], [2, 2, 2, 2, 2, 2]);
});

test('a secure round hands masked words to the protocol and refuses plain or sealed updates', async () => {
  const masked: { hospital: string; words: number[] }[] = [];
  const collector = new RoundCollector({
    kind: 'train',
    hospitals: ['h1', 'h2'],
    parameterCount,
    protection: {
      mode: 'secagg',
      onMasked: (hospital, words) => masked.push({ hospital, words: [...words] }),
    },
  });
  // h1 sends masked words: parameters + the sample-count and clip-count words.
  const words = Uint32Array.from([9, 8, 7, 6, 5, 4, 3, 2]);
  const bytes = Buffer.from(words.buffer);
  const [chunk] = splitIntoChunks(bytes, { chunkBytes: 64 }).chunks;
  const { data, ...descriptor } = chunk!;
  await collector.addChunk(
    'h1',
    {
      updateId: randomUUID(),
      hospital: 'h1',
      kind: 'train',
      numSamples: 10,
      metrics: {},
      timingsMs: {},
      encoding: 'secagg-masked',
      payload: descriptor,
    },
    Buffer.from(data),
  );
  assert.deepEqual(masked, [{ hospital: 'h1', words: [9, 8, 7, 6, 5, 4, 3, 2] }]);
  // h2 sends its plain weights: refused before anything is assembled.
  const plain = chunksOf('h2', [1, 2, 3, 4, 5, 6], 10);
  await assert.rejects(
    async () => collector.addChunk('h2', plain[0]!.body, plain[0]!.data),
    (error: unknown) =>
      error instanceof FedpetError &&
      /float32 update in a round that takes secagg-masked/.test(error.message),
  );
  const report = await collector.wait(new Date(Date.now() + 1000));
  assert.equal(report.average, undefined, 'a secure round has no plain average in the collector');
  assert.deepEqual(
    report.outcomes.map((o) => [o.hospital, o.status]),
    [
      ['h1', 'ok'],
      ['h2', 'failed'],
    ],
  );
});

/** An UpdateStore in memory: what the aggregator keeps in Redis (checkpoint-store.ts). */
function memoryStore() {
  const kept = new Map<string, { meta: StoredUpdateMeta; bytes: Buffer }>();
  const store: UpdateStore = {
    save: async (meta, bytes) => {
      if (kept.has(meta.hospital)) return 'duplicate';
      kept.set(meta.hospital, { meta, bytes: Buffer.from(bytes) });
      return 'stored';
    },
    load: async (hospital) => kept.get(hospital)!.bytes,
  };
  return { store, kept };
}

/** Values whose float32 sum depends on the order they are added in. */
const orderSensitive: Record<string, number[]> = {
  h1: [1e8, 1, 3.3, 0.1, -7, 2],
  h2: [1, -1e8, 1e-3, 0.7, 7.25, 1e-7],
  h3: [3, 1e8, 2.2, 0.3, 1, 3e7],
};

/** The array's own bytes (results can be views into a larger WebAssembly memory). */
function bytesOf(values: Float32Array): Buffer {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
}

async function durableAverage(order: string[]): Promise<Float32Array> {
  const { store } = memoryStore();
  const collector = new RoundCollector({
    kind: 'train',
    hospitals: ['h1', 'h2', 'h3'],
    parameterCount,
    store,
    normRatio: 0,
  });
  for (const hospital of order) {
    for (const chunk of chunksOf(hospital, orderSensitive[hospital]!, 7)) {
      await collector.addChunk(hospital, chunk.body, chunk.data);
    }
  }
  return (await collector.wait(new Date(Date.now() + 1000))).average!;
}

test('stored updates fold in hospital order: any arrival order gives the same bits', async () => {
  const reference = await durableAverage(['h1', 'h2', 'h3']);
  for (const order of [
    ['h3', 'h2', 'h1'],
    ['h2', 'h3', 'h1'],
  ]) {
    assert.deepEqual(bytesOf(await durableAverage(order)), bytesOf(reference));
  }
  // Streaming (no store) in another order is not bit-identical here: the reason for folding at close.
  const streaming = new RoundCollector({ kind: 'train', hospitals: ['h1', 'h2', 'h3'], parameterCount });
  for (const hospital of ['h3', 'h2', 'h1']) {
    for (const chunk of chunksOf(hospital, orderSensitive[hospital]!, 7)) {
      await streaming.addChunk(hospital, chunk.body, chunk.data);
    }
  }
  const streamed = (await streaming.wait(new Date(Date.now() + 1000))).average!;
  assert.notDeepEqual(bytesOf(streamed), bytesOf(reference));
});

test('an update is counted only once it is stored; copies and second updates are ignored and counted', async () => {
  const { store, kept } = memoryStore();
  const collector = new RoundCollector({ kind: 'train', hospitals: ['h1', 'h2'], parameterCount, store });
  const first = chunksOf('h1', [1, 1, 1, 1, 1, 1], 10);
  for (const chunk of first) await collector.addChunk('h1', chunk.body, chunk.data);
  assert.equal(kept.get('h1')?.meta.numSamples, 10);
  for (const chunk of first) await collector.addChunk('h1', chunk.body, chunk.data); // redelivery
  for (const chunk of chunksOf('h1', [5, 5, 5, 5, 5, 5], 10))
    await collector.addChunk('h1', chunk.body, chunk.data); // retried job
  for (const chunk of chunksOf('h2', [3, 3, 3, 3, 3, 3], 30))
    await collector.addChunk('h2', chunk.body, chunk.data);
  const report = await collector.wait(new Date(Date.now() + 1000));
  assert.equal(collector.counters.duplicates, 2);
  assert.deepEqual([...report.average!], [2.5, 2.5, 2.5, 2.5, 2.5, 2.5]);
});

test('NaN and far-out updates are rejected before the sum; the rest still average', async () => {
  const { store } = memoryStore();
  const reference = new Float32Array(parameterCount);
  const collector = new RoundCollector({
    kind: 'train',
    hospitals: ['h1', 'h2', 'h3', 'h4', 'h5'],
    parameterCount,
    store,
    reference,
    normRatio: 10,
  });
  for (const [hospital, values] of [
    ['h1', [1, 1, 1, 1, 1, 1]],
    ['h2', [2, 2, 2, 2, 2, 2]],
    ['h3', [3, 3, 3, 3, 3, 3]],
    ['h4', [500, 500, 500, 500, 500, 500]],
  ] as const) {
    for (const chunk of chunksOf(hospital, [...values], 10))
      await collector.addChunk(hospital, chunk.body, chunk.data);
  }
  const nan = chunksOf('h5', [1, Number.NaN, 1, 1, 1, 1], 10, 1024);
  await assert.rejects(
    async () => collector.addChunk('h5', nan[0]!.body, nan[0]!.data),
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
});

test('quorum plus grace closes the round; the straggler is late, and updates of another attempt are sorted out', async () => {
  const { store } = memoryStore();
  const collector = new RoundCollector({
    kind: 'train',
    hospitals: ['h1', 'h2', 'h3'],
    parameterCount,
    store,
    attempt: 1,
    quorum: 2,
    graceMs: 100,
  });
  // Attempt 0's update (same global model) counts; an error of attempt 0 does not.
  for (const chunk of chunksOf('h1', [1, 1, 1, 1, 1, 1], 10))
    await collector.addChunk('h1', chunk.body, chunk.data, 0);
  collector.addError('h2', 'h2', 'ROUND_RESTARTED', 'old run', 0);
  // A future attempt is not this round's business.
  for (const chunk of chunksOf('h3', [9, 9, 9, 9, 9, 9], 10))
    await collector.addChunk('h3', chunk.body, chunk.data, 2);
  for (const chunk of chunksOf('h2', [3, 3, 3, 3, 3, 3], 10))
    await collector.addChunk('h2', chunk.body, chunk.data, 1);
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
});

test('updates stored before a restart are restored and folded with the new ones', async () => {
  const { store, kept } = memoryStore();
  const before = new RoundCollector({ kind: 'train', hospitals: ['h1', 'h2'], parameterCount, store });
  for (const chunk of chunksOf('h1', [4, 4, 4, 4, 4, 4], 10))
    await before.addChunk('h1', chunk.body, chunk.data);
  // The aggregator dies here; a new one opens the round again with what Redis holds.
  const after = new RoundCollector({
    kind: 'train',
    hospitals: ['h1', 'h2'],
    parameterCount,
    store,
    attempt: 1,
  });
  after.restore(kept.get('h1')!.meta);
  assert.ok(after.hasAnswered('h1'));
  for (const chunk of chunksOf('h2', [2, 2, 2, 2, 2, 2], 10))
    await after.addChunk('h2', chunk.body, chunk.data, 1);
  const report = await after.wait(new Date(Date.now() + 1000));
  assert.equal(report.closedBy, 'all-answered');
  assert.deepEqual([...report.average!], [3, 3, 3, 3, 3, 3]);
});
