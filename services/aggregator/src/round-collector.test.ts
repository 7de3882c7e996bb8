import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { splitIntoChunks } from '@fedpet/shared/codec/chunking';
import { encodeTensors } from '@fedpet/shared/codec/tensor-codec';
import type { UpdateBody } from '@fedpet/shared/contracts/messages';
import { FedpetError } from '@fedpet/shared/errors/fedpet-error';
import { RoundCollector } from './round-collector.ts';

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
