import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { createRng } from '../random.ts';
import { registerFedpetWasmKernels } from './register-wasm-kernels.ts';
import { prepareSimdKernels } from './simd/simd-kernels.ts';

/**
 * Shared by the kernel tests: run the same computation on the wasm backend
 * (with fedpet's kernels) and on the cpu backend, and compare.
 */

/** Makes 'wasm' usable with fedpet's kernels (SIMD parts included); returns a function restoring the previous backend. */
export async function useWasmKernels(): Promise<() => Promise<void>> {
  tf.env().set('PROD', true);
  await tf.ready();
  const previous = tf.getBackend();
  await tf.setBackend('wasm');
  registerFedpetWasmKernels();
  // As selectBackend('wasm') does: the kernels' SIMD parts, so the tests check what training runs.
  await prepareSimdKernels();
  return async () => {
    await tf.setBackend(previous);
  };
}

/** Runs `fn` with `backend` active and returns its plain-array results; the active backend is restored. */
export async function on<T>(backend: 'wasm' | 'cpu', fn: () => T): Promise<T> {
  const previous = tf.getBackend();
  await tf.setBackend(backend);
  try {
    return fn();
  } finally {
    await tf.setBackend(previous);
  }
}

export function seeded(length: number, seed: number, scale = 1): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length }, () => scale * rng.normal());
}

/** float32 agreement: each element within 1e-5 absolute or 1e-4 relative of the reference. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, label: string): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    const diff = Math.abs(a - e);
    if (!(diff <= 1e-5 || diff <= 1e-4 * Math.abs(e))) {
      assert.fail(`${label}: element ${i} is ${a}, reference ${e} (difference ${diff})`);
    }
    worst = Math.max(worst, diff);
  }
  assert.ok(Number.isFinite(worst), `${label}: non-finite difference`);
}
