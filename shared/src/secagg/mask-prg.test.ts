import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { FedpetError } from '../errors/fedpet-error.ts';
import {
  applyMask,
  applyMasks,
  BLOCK_WORDS,
  defaultMaskKernel,
  generateMask,
  type MaskKernel,
  type MaskTerm,
} from './mask-prg.ts';

/** Reference: one AES-256-CTR call over zeros, read word by word as little-endian. */
function referenceMask(seed: Uint8Array, words: number): number[] {
  const stream = createCipheriv('aes-256-ctr', seed, new Uint8Array(16)).update(new Uint8Array(words * 4));
  return Array.from({ length: words }, (_, i) => stream.readUInt32LE(i * 4));
}

const LENGTHS = [1, 3, BLOCK_WORDS - 1, BLOCK_WORDS, 2 * BLOCK_WORDS + 5];

test('the mask is the AES-256-CTR keystream (zero IV) as little-endian words, across block boundaries', () => {
  const seed = randomBytes(32);
  for (const length of LENGTHS) {
    assert.deepEqual(
      [...generateMask(seed, new Uint32Array(length))],
      referenceMask(seed, length),
      `length ${length}`,
    );
  }
  // A prefix of a longer mask is the shorter mask: positions do not depend on the length.
  const long = generateMask(seed, new Uint32Array(3 * BLOCK_WORDS));
  assert.deepEqual([...generateMask(seed, new Uint32Array(100))], [...long.subarray(0, 100)]);
  assert.notDeepEqual([...generateMask(randomBytes(32), new Uint32Array(8))], [...long.subarray(0, 8)]);
});

const KERNELS = [...new Set<MaskKernel>(['js', defaultMaskKernel()])];

test('the SIMD kernel is available on this Node (else the JS loops are the only path tested)', () => {
  assert.equal(defaultMaskKernel(), 'wasm-simd');
});

for (const kernel of KERNELS)
  test(`applyMasks (${kernel}) adds and subtracts mod 2^32 exactly as the reference does`, () => {
    for (const length of LENGTHS) {
      // 7 masks: one fold of four, three single folds.
      const terms: MaskTerm[] = Array.from({ length: 7 }, (_, k) => ({
        seed: randomBytes(32),
        sign: k % 3 === 0 ? -1 : 1,
      }));
      const start = Uint32Array.from({ length }, (_, i) => (i * 2654435761) >>> 0);
      const expected = [...start];
      for (const { seed, sign } of terms) {
        const mask = referenceMask(seed, length);
        for (let i = 0; i < length; i++)
          expected[i] = Number((BigInt(expected[i]!) + BigInt(sign * mask[i]!)) & 0xffffffffn);
      }
      assert.deepEqual([...applyMasks(start.slice(), terms, { kernel })], expected, `length ${length}`);
      // A target that is a view into a larger buffer is folded in place, neighbours untouched.
      const backing = new Uint32Array(length + 2).fill(7);
      backing.set(start, 1);
      applyMasks(backing.subarray(1, length + 1), terms, { kernel });
      assert.deepEqual([backing[0], backing[length + 1]], [7, 7]);
      assert.deepEqual([...backing.subarray(1, length + 1)], expected);
    }
  });

test('adding then subtracting the same mask restores the vector; the masked vector differs everywhere it can', () => {
  const original = Uint32Array.from({ length: 10_000 }, (_, i) => i);
  const seed = randomBytes(32);
  const masked = applyMask(original.slice(), seed, 1, { kernel: 'wasm-simd' });
  let unchanged = 0;
  for (let i = 0; i < original.length; i++) if (masked[i] === original[i]) unchanged++;
  assert.ok(unchanged < 3);
  assert.deepEqual([...applyMask(masked, seed, -1, { kernel: 'js' })], [...original]);
});

test('bad seeds and signs are refused', () => {
  assert.throws(() => generateMask(new Uint8Array(16), new Uint32Array(4)), FedpetError);
  assert.throws(() => applyMasks(new Uint32Array(4), [{ seed: randomBytes(32), sign: 2 as 1 }]), FedpetError);
  assert.deepEqual([...applyMasks(Uint32Array.of(1, 2), [])], [1, 2]);
});
