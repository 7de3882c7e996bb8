/**
 * The PRG of Bonawitz et al. 2017 (§4, Round 2 "MaskedInputCollection"):
 * expands a 32-byte seed — a self-mask seed b_u or a pairwise seed s_uv —
 * into as many uint32 mask words as the model has parameters.
 *
 * PRG(seed) = AES-256-CTR keystream under key = seed, IV = 0, read as
 * little-endian uint32 words. A zero IV is safe because every seed keys
 * exactly one stream: b_u is fresh per round and s_uv comes from ephemeral
 * keys through an HKDF bound to the round (./key-agreement.ts). AES-CTR runs
 * on AES-NI inside OpenSSL, the fastest keystream node:crypto offers here.
 *
 * Speed: the keystream is produced 32 KB at a time (one cipher.update over a
 * shared zero block) and folded into the target while that block of the
 * target is in cache, every mask in one pass over the target. The fold runs
 * in a WebAssembly SIMD kernel (./word-kernel.ts) where available, else in
 * JavaScript loops that fold four masks per pass, mod 2^32 via `>>> 0`.
 * Nothing is allocated per word.
 */
import { type Cipher, createCipheriv } from 'node:crypto';
import { endianness } from 'node:os';
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import { KERNEL_BLOCK_BYTES, wordKernel } from './word-kernel.ts';

export const SEED_BYTES = 32;
/** Words per keystream block: 32 KB fits L1/L2 and measured fastest here (test/bench/secagg-mask.bench.ts). */
export const BLOCK_WORDS = 8192;
const BLOCK_BYTES = BLOCK_WORDS * 4;
if (BLOCK_BYTES !== KERNEL_BLOCK_BYTES)
  throw new Error("mask-prg: block size differs from the SIMD kernel's");
const ZERO_BLOCK = new Uint8Array(BLOCK_BYTES);
const ZERO_IV = new Uint8Array(16);

/** +1 adds PRG(seed) to the target, −1 subtracts it. */
export type MaskSign = 1 | -1;

export interface MaskTerm {
  seed: Uint8Array;
  sign: MaskSign;
}

function assertLittleEndian(): void {
  // Words are defined as little-endian; a big-endian host would read other words and not cancel.
  if (endianness() !== 'LE') {
    throw new FedpetError(ErrorCodes.invalidConfig, 'mask PRG: big-endian hosts are not supported');
  }
}

function openStream(seed: Uint8Array): Cipher {
  if (!(seed instanceof Uint8Array) || seed.length !== SEED_BYTES) {
    throw new FedpetError(ErrorCodes.invalidMessage, `mask seed must be ${SEED_BYTES} bytes`);
  }
  return createCipheriv('aes-256-ctr', seed, ZERO_IV);
}

/** The next `words` keystream words as a Uint32Array view (copied only if the output is misaligned). */
function nextWords(stream: Cipher, words: number): Uint32Array {
  const bytes = stream.update(words === BLOCK_WORDS ? ZERO_BLOCK : ZERO_BLOCK.subarray(0, words * 4));
  if (bytes.byteOffset % 4 === 0) return new Uint32Array(bytes.buffer, bytes.byteOffset, words);
  return new Uint32Array(new Uint8Array(bytes).buffer, 0, words);
}

/** Fills `out` with PRG(seed): word i of every call with the same seed is the same. */
export function generateMask(seed: Uint8Array, out: Uint32Array): Uint32Array {
  assertLittleEndian();
  const stream = openStream(seed);
  for (let offset = 0; offset < out.length; offset += BLOCK_WORDS) {
    const words = Math.min(BLOCK_WORDS, out.length - offset);
    out.set(nextWords(stream, words), offset);
  }
  return out;
}

// The folding kernels loop to target.length (a subarray of at most one block)
// so V8 can drop bounds checks; signs are ±1 multipliers on exact doubles
// (|sum| < 5·2^32 < 2^53), and `>>> 0` reduces mod 2^32. Unrolled (two or
// four independent words per iteration): about 20–30% faster on V8 here.
function fold1(target: Uint32Array, a: Uint32Array, sa: number): void {
  const n = target.length;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    const x0 = (target[i]! + sa * a[i]!) >>> 0;
    const x1 = (target[i + 1]! + sa * a[i + 1]!) >>> 0;
    const x2 = (target[i + 2]! + sa * a[i + 2]!) >>> 0;
    const x3 = (target[i + 3]! + sa * a[i + 3]!) >>> 0;
    target[i] = x0;
    target[i + 1] = x1;
    target[i + 2] = x2;
    target[i + 3] = x3;
  }
  for (; i < n; i++) target[i] = (target[i]! + sa * a[i]!) >>> 0;
}

function fold4(
  target: Uint32Array,
  a: Uint32Array,
  b: Uint32Array,
  c: Uint32Array,
  d: Uint32Array,
  sa: number,
  sb: number,
  sc: number,
  sd: number,
): void {
  const n = target.length;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    const x0 = (target[i]! + sa * a[i]! + sb * b[i]! + sc * c[i]! + sd * d[i]!) >>> 0;
    const x1 = (target[i + 1]! + sa * a[i + 1]! + sb * b[i + 1]! + sc * c[i + 1]! + sd * d[i + 1]!) >>> 0;
    target[i] = x0;
    target[i + 1] = x1;
  }
  for (; i < n; i++) target[i] = (target[i]! + sa * a[i]! + sb * b[i]! + sc * c[i]! + sd * d[i]!) >>> 0;
}

export type MaskKernel = 'wasm-simd' | 'js';

/** Which kernel applyMasks uses by default here: SIMD where the runtime has it. */
export function defaultMaskKernel(): MaskKernel {
  return wordKernel() === null ? 'js' : 'wasm-simd';
}

/**
 * target ← target + Σ sign·PRG(seed) (mod 2^32), in place, for any number of
 * masks in one pass over the target. `kernel` forces one inner loop (tests,
 * benchmarks); both give identical words.
 */
export function applyMasks(
  target: Uint32Array,
  masks: readonly MaskTerm[],
  options: { kernel?: MaskKernel } = {},
): Uint32Array {
  assertLittleEndian();
  for (const mask of masks) {
    if (mask.sign !== 1 && mask.sign !== -1) {
      throw new FedpetError(ErrorCodes.invalidMessage, 'mask sign must be +1 or -1');
    }
  }
  const simd = options.kernel === 'js' ? null : wordKernel();
  if (options.kernel === 'wasm-simd' && simd === null) {
    throw new FedpetError(ErrorCodes.invalidConfig, 'mask PRG: WebAssembly SIMD is not available here');
  }
  const streams = masks.map((mask) => openStream(mask.seed));
  const signs = masks.map((mask) => mask.sign);
  for (let offset = 0; offset < target.length; offset += BLOCK_WORDS) {
    const words = Math.min(BLOCK_WORDS, target.length - offset);
    const slice = target.subarray(offset, offset + words);
    if (simd !== null) {
      // Copy the block in, fold every mask's keystream into it, copy it out.
      simd.target.set(slice);
      for (let k = 0; k < streams.length; k++) {
        simd.stream.set(
          streams[k]!.update(words === BLOCK_WORDS ? ZERO_BLOCK : ZERO_BLOCK.subarray(0, words * 4)),
        );
        simd.fold(words, signs[k]!);
      }
      slice.set(simd.target.subarray(0, words));
      continue;
    }
    let k = 0;
    for (; k + 4 <= streams.length; k += 4) {
      fold4(
        slice,
        nextWords(streams[k]!, words),
        nextWords(streams[k + 1]!, words),
        nextWords(streams[k + 2]!, words),
        nextWords(streams[k + 3]!, words),
        signs[k]!,
        signs[k + 1]!,
        signs[k + 2]!,
        signs[k + 3]!,
      );
    }
    for (; k < streams.length; k++) fold1(slice, nextWords(streams[k]!, words), signs[k]!);
  }
  return target;
}

/** target ← target ± PRG(seed) (mod 2^32), in place. */
export function applyMask(
  target: Uint32Array,
  seed: Uint8Array,
  sign: MaskSign,
  options: { kernel?: MaskKernel } = {},
): Uint32Array {
  return applyMasks(target, [{ seed, sign }], options);
}
