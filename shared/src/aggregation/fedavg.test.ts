import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import { FedAvgAccumulator } from './fedavg.ts';
import { createFoldKernel, type FoldKernelKind } from './fold-kernel.ts';

const KERNELS: FoldKernelKind[] = ['wasm-simd', 'js'];

/** Deterministic values in [-2, 2) so failures reproduce. */
function pseudoRandom(length: number, seed: number): Float32Array {
  const out = new Float32Array(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = (state / 2 ** 32) * 4 - 2;
  }
  return out;
}

/** The definition, in float64: Σ n_k w_k / Σ n_k. */
function direct(updates: readonly Float32Array[], weights: readonly number[]): Float64Array {
  const out = new Float64Array(updates[0]!.length);
  const total = weights.reduce((a, b) => a + b, 0);
  updates.forEach((update, k) => {
    for (let i = 0; i < out.length; i++) out[i]! += weights[k]! * update[i]!;
  });
  for (let i = 0; i < out.length; i++) out[i]! /= total;
  return out;
}

function assertClose(actual: Float32Array, expected: Float64Array, tolerance: number): void {
  assert.equal(actual.length, expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  assert.ok(worst <= tolerance, `max abs error ${worst} > ${tolerance}`);
}

function assertInvalid(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof FedpetError);
    assert.equal(error.code, ErrorCodes.invalidMessage);
    assert.match(error.message, pattern);
    return true;
  });
}

test('the SIMD kernel is available on this runtime', () => {
  assert.equal(new FedAvgAccumulator(8).kernel, 'wasm-simd');
  assert.equal(new FedAvgAccumulator(8, { kernel: 'js' }).kernel, 'js');
});

for (const kernel of KERNELS) {
  test(`${kernel}: matches the direct computation for several sizes and uneven weights`, () => {
    // Sizes straddle the SIMD width (4) and the 65536-float scratch block.
    for (const length of [0, 1, 3, 4, 5, 17, 1000, 65_535, 65_536, 65_537, 200_003]) {
      const weights = [1, 250, 3.5, 17, 4096];
      const updates = weights.map((_, k) => pseudoRandom(length, 7 * length + k + 1));
      const accumulator = new FedAvgAccumulator(length, { kernel });
      updates.forEach((update, k) => {
        accumulator.add(update, weights[k]!);
      });
      assert.equal(accumulator.count, weights.length);
      assert.equal(accumulator.totalWeight, 1 + 250 + 3.5 + 17 + 4096);
      // Values are < 2 in magnitude: float32 rounding of 5 weighted terms stays well under 1e-5.
      assertClose(accumulator.result(), direct(updates, weights), 1e-5);
    }
  });

  test(`${kernel}: a single update comes back unchanged, and equal weights give the plain mean`, () => {
    const update = pseudoRandom(1001, 3);
    const single = new FedAvgAccumulator(update.length, { kernel });
    single.add(update, 42);
    assertClose(single.result(), Float64Array.from(update), 1e-6);

    const mean = new FedAvgAccumulator(3, { kernel });
    mean.add(new Float32Array([1, 2, 3]), 5);
    mean.add(new Float32Array([3, 4, -3]), 5);
    assert.deepEqual(Array.from(mean.result()), [2, 3, 0]);
  });

  test(`${kernel}: rejected updates leave the accumulator unchanged`, () => {
    const length = 70_000;
    const accumulator = new FedAvgAccumulator(length, { kernel });
    const first = pseudoRandom(length, 11);
    accumulator.add(first, 2);
    const before = accumulator.result();

    assertInvalid(
      () => accumulator.add(new Float32Array(length - 1), 1),
      /has 69999 parameters, expected 70000/,
    );
    for (const weight of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      assertInvalid(() => accumulator.add(pseudoRandom(length, 5), weight), /weight must be finite and > 0/);
    }
    for (const [index, value] of [
      [69_999, Number.NaN],
      [65_536, Number.POSITIVE_INFINITY],
      [0, Number.NEGATIVE_INFINITY],
    ] as const) {
      const poisoned = pseudoRandom(length, 13);
      poisoned[index] = value;
      assertInvalid(
        () => accumulator.add(poisoned, 1),
        new RegExp(`non-finite value ${String(value).replace('+', '')} at index ${index}$`),
      );
    }
    assertInvalid(
      () => accumulator.add(new Float64Array(length) as unknown as Float32Array, 1),
      /must be a Float32Array/,
    );

    assert.equal(accumulator.count, 1);
    assert.equal(accumulator.totalWeight, 2);
    assert.deepEqual(accumulator.result(), before);
  });

  test(`${kernel}: subarray updates at any offset fold correctly`, () => {
    const backing = pseudoRandom(1003, 9);
    const view = backing.subarray(1, 1002);
    const accumulator = new FedAvgAccumulator(view.length, { kernel });
    accumulator.add(view, 3);
    assertClose(accumulator.result(), Float64Array.from(view), 1e-6);
  });
}

test('largest finite floats and subnormals pass validation; both kernels agree', () => {
  const values = new Float32Array([3.4028234663852886e38, -3.4028234663852886e38, 1e-45, -0, 0]);
  const simd = createFoldKernel(values.length, 'wasm-simd');
  const js = createFoldKernel(values.length, 'js');
  assert.equal(simd.firstNonFinite(values), -1);
  assert.equal(js.firstNonFinite(values), -1);
  const update = pseudoRandom(4099, 21);
  const simdSums = createFoldKernel(update.length, 'wasm-simd');
  const jsSums = createFoldKernel(update.length, 'js');
  simdSums.fold(update, 0.75);
  jsSums.fold(update, 0.75);
  for (let i = 0; i < update.length; i++) assert.ok(Math.abs(simdSums.sums[i]! - jsSums.sums[i]!) <= 1e-6);
});

test('result without updates and invalid lengths are refused', () => {
  assert.throws(
    () => new FedAvgAccumulator(4).result(),
    (error: unknown) => error instanceof FedpetError && error.code === ErrorCodes.noUpdates,
  );
  assertInvalid(() => new FedAvgAccumulator(-1), /non-negative integer/);
  assertInvalid(() => new FedAvgAccumulator(1.5), /non-negative integer/);
});

test('finish() averages in place and closes the accumulator', () => {
  const accumulator = new FedAvgAccumulator(3);
  accumulator.add(Float32Array.from([1, 2, 3]), 1);
  accumulator.add(Float32Array.from([3, 4, 5]), 3);
  const average = accumulator.finish();
  assert.deepEqual([...average], [2.5, 3.5, 4.5]);
  assert.deepEqual([...accumulator.result()], [2.5, 3.5, 4.5]);
  assert.throws(() => accumulator.add(Float32Array.from([1, 1, 1]), 1), /already finished/);
});

test('an update received into the accumulator’s own buffer folds in place, with the same result', () => {
  const length = 1003; // not a multiple of 4: the tail runs outside SIMD
  const plain = new FedAvgAccumulator(length);
  const inPlace = new FedAvgAccumulator(length);
  for (let k = 1; k <= 3; k++) {
    const values = Float32Array.from({ length }, (_, i) => Math.sin(i * k) * 10);
    plain.add(values, k * 7);
    const received = inPlace.receiveBuffer(length * 4 + 8);
    if (!received) continue; // the plain-JavaScript kernel has no receive area
    const view = new Float32Array(received.buffer, received.byteOffset + 8, length);
    view.set(values);
    inPlace.add(view, k * 7);
  }
  if (inPlace.kernel !== 'wasm-simd') return;
  assert.deepEqual([...inPlace.result()], [...plain.result()]);
  const poisoned = inPlace.receiveBuffer(length * 4)!;
  const view = new Float32Array(poisoned.buffer, poisoned.byteOffset, length);
  view.fill(1);
  view[length - 1] = Number.NaN;
  const before = inPlace.result();
  assert.throws(() => inPlace.add(view, 1), /non-finite value NaN at index 1002/);
  assert.deepEqual([...inPlace.result()], [...before]);
});
