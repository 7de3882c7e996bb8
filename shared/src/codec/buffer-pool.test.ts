import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BufferPool } from './buffer-pool.ts';
import { ChunkAssembler, splitIntoChunks } from './chunking.ts';
import { decodeFlat, encodeTensors } from './tensor-codec.ts';

test('a released buffer is handed out again, trimmed to the size asked', () => {
  const pool = new BufferPool();
  const first = pool.acquire(1000);
  pool.release(first);
  const second = pool.acquire(800);
  assert.equal(second.length, 800);
  assert.equal(second.buffer, first.buffer);
  const third = pool.acquire(800);
  assert.notEqual(third.buffer, first.buffer, 'a buffer in use is not handed out twice');
});

test('an assembler fills a pooled buffer and decodeFlat views it without copying', () => {
  const pool = new BufferPool();
  const payload = encodeTensors([
    { name: 'a', shape: [2, 3], values: Float32Array.from([1, 2, 3, 4, 5, 6]) },
    { name: 'b', shape: [2], values: Float32Array.from([7, 8]) },
  ]);
  for (let round = 0; round < 2; round++) {
    const assembler = new ChunkAssembler({ allocate: (bytes) => pool.acquire(bytes) });
    for (const chunk of splitIntoChunks(payload, { chunkBytes: 7 }).chunks) assembler.add(chunk);
    const flat = decodeFlat(assembler.result());
    assert.deepEqual([...flat.values], [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.equal(flat.values.buffer, assembler.buffer!.buffer, 'a view, not a copy');
    assert.deepEqual(flat.layout, [
      { name: 'a', shape: [2, 3] },
      { name: 'b', shape: [2] },
    ]);
    pool.release(assembler.buffer!);
  }
});
