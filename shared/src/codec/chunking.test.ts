import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { crc32 } from 'node:zlib';
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import { MAX_MESSAGE_BYTES } from '../transport/bus.ts';
import {
  ChunkAssembler,
  DEFAULT_CHUNK_BYTES,
  MAX_CHUNK_BYTES,
  type PayloadChunk,
  splitIntoChunks,
} from './chunking.ts';
import { sha256Hex } from './sha256.ts';

function assertIntegrity(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof FedpetError);
    assert.equal(error.code, ErrorCodes.integrity);
    assert.match(error.message, pattern);
    return true;
  });
}

/** Deterministic permutation so a failure reproduces. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let state = seed;
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) >>> 0;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

test('chunk size limits leave room for an envelope', () => {
  assert.ok(MAX_CHUNK_BYTES < MAX_MESSAGE_BYTES);
  assert.ok(DEFAULT_CHUNK_BYTES <= MAX_CHUNK_BYTES);
  assert.throws(() => splitIntoChunks(new Uint8Array(1), { chunkBytes: MAX_MESSAGE_BYTES }), /chunk size/);
  assert.throws(() => splitIntoChunks(new Uint8Array(1), { chunkBytes: 0 }), /chunk size/);
});

test('split declares index, count, sizes and hashes', () => {
  const payload = randomBytes(2.5 * DEFAULT_CHUNK_BYTES);
  const { chunks, payloadSha256, totalBytes } = splitIntoChunks(payload);
  assert.equal(totalBytes, payload.length);
  assert.equal(payloadSha256, sha256Hex(payload));
  assert.deepEqual(
    chunks.map((chunk) => [chunk.index, chunk.count, chunk.data.byteLength]),
    [
      [0, 3, DEFAULT_CHUNK_BYTES],
      [1, 3, DEFAULT_CHUNK_BYTES],
      [2, 3, DEFAULT_CHUNK_BYTES / 2],
    ],
  );
  for (const chunk of chunks) assert.equal(chunk.crc32, crc32(chunk.data));
  assert.deepEqual(Buffer.concat(chunks.map((chunk) => chunk.data)), payload);
});

test('out-of-order chunks with duplicates reassemble the payload', () => {
  const payload = randomBytes(10_000 + 7);
  const { chunks } = splitIntoChunks(payload, { chunkBytes: 1000 });
  assert.equal(chunks.length, 11);
  const arrivals = shuffled([...chunks, chunks[3]!, chunks[10]!, chunks[0]!], 42);
  const assembler = new ChunkAssembler();
  const completions = arrivals.map((chunk) => assembler.add({ ...chunk, data: Buffer.from(chunk.data) }));
  assert.equal(completions.at(-1), true);
  assert.equal(completions.filter((done) => !done).length, completions.indexOf(true));
  assert.equal(assembler.received, 11);
  assert.deepEqual(assembler.missing(), []);
  assert.deepEqual(assembler.result(), payload);
});

test('empty and single-chunk payloads', () => {
  for (const payload of [new Uint8Array(0), randomBytes(5)]) {
    const { chunks } = splitIntoChunks(payload);
    assert.equal(chunks.length, 1);
    const assembler = new ChunkAssembler();
    assert.equal(assembler.add(chunks[0]!), true);
    assert.deepEqual(new Uint8Array(assembler.result()), new Uint8Array(payload));
  }
});

test('a corrupted chunk is detected by index and leaves the assembler usable', () => {
  const payload = randomBytes(4096);
  const { chunks } = splitIntoChunks(payload, { chunkBytes: 1024 });
  const assembler = new ChunkAssembler();
  assembler.add(chunks[0]!);
  const corrupted = Buffer.from(chunks[2]!.data);
  corrupted[17] = (corrupted[17]! + 1) & 0xff;
  assertIntegrity(() => assembler.add({ ...chunks[2]!, data: corrupted }), /chunk 2 CRC-32 mismatch/);
  assert.deepEqual(assembler.missing(), [1, 2, 3]);
  for (const chunk of chunks.slice(1)) assembler.add(chunk);
  assert.deepEqual(assembler.result(), payload);
});

test('a corrupted first chunk does not commit its declarations', () => {
  const { chunks } = splitIntoChunks(randomBytes(3000), { chunkBytes: 1000 });
  const assembler = new ChunkAssembler();
  assertIntegrity(
    () => assembler.add({ ...chunks[1]!, data: new Uint8Array(1000) }),
    /chunk 1 CRC-32 mismatch/,
  );
  assert.equal(assembler.count, undefined);
  assert.equal(assembler.received, 0);
});

test('a different duplicate is rejected', () => {
  const { chunks } = splitIntoChunks(randomBytes(3000), { chunkBytes: 1000 });
  const assembler = new ChunkAssembler();
  assembler.add(chunks[1]!);
  const other = randomBytes(1000);
  assertIntegrity(
    () => assembler.add({ ...chunks[1]!, data: other, crc32: crc32(other) }),
    /chunk 1 received twice with different content/,
  );
});

test('inconsistent declarations are rejected naming the chunk', () => {
  const { chunks } = splitIntoChunks(randomBytes(3000), { chunkBytes: 1000 });
  const first = chunks[0]!;
  const fresh = (): ChunkAssembler => {
    const assembler = new ChunkAssembler();
    assembler.add(first);
    return assembler;
  };
  const second: PayloadChunk = chunks[1]!;
  assertIntegrity(() => fresh().add({ ...second, index: 3 }), /chunk 3: index out of range 0..2/);
  assertIntegrity(() => fresh().add({ ...second, index: -1 }), /chunk -1: index out of range/);
  assertIntegrity(() => fresh().add({ ...second, count: 4 }), /chunk 1: count 4 inconsistent/);
  assertIntegrity(
    () => fresh().add({ ...second, totalBytes: 2500 }),
    /chunk 1 declares a different payload than earlier chunks: total size 2500 vs 3000/,
  );
  assertIntegrity(
    () => fresh().add({ ...second, payloadSha256: 'a'.repeat(64) }),
    /chunk 1 declares a different payload .*payload hash a+ vs/,
  );
  assertIntegrity(
    () => fresh().add({ ...second, data: second.data.subarray(1) }),
    /chunk 1 has 999 bytes, expected 1000/,
  );
  assertIntegrity(() => fresh().add({ ...second, crc32: -1 }), /chunk 1: chunk checksum is not a CRC-32/);
  assertIntegrity(
    () => new ChunkAssembler({ maxTotalBytes: 2000 }).add(first),
    /declared size 3000 exceeds the 2000-byte limit/,
  );
  assertIntegrity(
    () => new ChunkAssembler({ expectedSha256: 'b'.repeat(64) }).add(first),
    /differs from the expected b+/,
  );
});

test('a whole-payload hash mismatch is reported on completion', () => {
  const payload = randomBytes(2000);
  const { chunks } = splitIntoChunks(payload, { chunkBytes: 1000 });
  const lying = chunks.map((chunk) => ({
    ...chunk,
    payloadSha256: sha256Hex(Buffer.from('something else')),
  }));
  const assembler = new ChunkAssembler();
  assert.equal(assembler.add(lying[0]!), false);
  assertIntegrity(
    () => assembler.add(lying[1]!),
    /payload SHA-256 mismatch: declared [0-9a-f]{64}, computed [0-9a-f]{64}/,
  );
  assertIntegrity(() => assembler.result(), /payload SHA-256 mismatch/);
});

test('result before completion names the missing chunks', () => {
  const { chunks } = splitIntoChunks(randomBytes(3000), { chunkBytes: 1000 });
  const assembler = new ChunkAssembler();
  assertIntegrity(() => assembler.result(), /no chunk received yet/);
  assembler.add(chunks[1]!);
  assertIntegrity(() => assembler.result(), /missing chunks 0, 2/);
});
