import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { leadingAxes, sumRows } from './sum-leading-axes.ts';
import { assertClose, on, seeded, useWasmKernels } from './test-support.ts';

let restore: () => Promise<void>;
before(async () => {
  restore = await useWasmKernels();
});
after(async () => {
  await restore();
});

test('leadingAxes recognises exactly the reductions over [0, j), j < rank', () => {
  assert.equal(leadingAxes([0, 1, 2], 4), 3);
  assert.equal(leadingAxes([2, 0, 1], 4), 3);
  assert.equal(leadingAxes(0, 2), 1);
  assert.equal(leadingAxes([-4, -3], 4), 2);
  assert.equal(leadingAxes([0, 1, 2, 3], 4), 0, 'a full reduction stays with the stock kernel');
  assert.equal(leadingAxes([1, 2], 4), 0);
  assert.equal(leadingAxes([0, 2], 4), 0);
  assert.equal(leadingAxes(3, 4), 0);
});

test('sumRows adds the rows of a matrix', () => {
  const out = new Float32Array(3);
  sumRows(Float32Array.from([1, 2, 3, 10, 20, 30]), 2, 3, out);
  assert.deepEqual([...out], [11, 22, 33]);
});

const reductions: Array<{ shape: number[]; axis: number | number[]; keepDims: boolean }> = [
  { shape: [4, 5, 6, 7], axis: [0, 1, 2], keepDims: false },
  { shape: [4, 5, 6, 7], axis: [0, 1, 2], keepDims: true },
  { shape: [3, 4, 5, 6, 8], axis: [0, 1, 2, 3], keepDims: false },
  { shape: [9, 5], axis: 0, keepDims: false },
  // Not leading axes: the stock kernel still answers.
  { shape: [4, 5, 6], axis: [1, 2], keepDims: false },
  { shape: [4, 5, 6], axis: -1, keepDims: true },
  { shape: [4, 5, 6], axis: [0, 1, 2], keepDims: false },
];

for (const { shape, axis, keepDims } of reductions) {
  test(`tf.sum(axis ${JSON.stringify(axis)}, keepDims ${keepDims}) of [${shape}] on wasm equals cpu`, async () => {
    const values = seeded(
      shape.reduce((a, b) => a * b, 1),
      31,
    );
    const run = () =>
      tf.tidy(() => {
        const s = tf.sum(tf.tensor(values, shape), axis, keepDims);
        return { shape: s.shape, values: s.dataSync() as Float32Array };
      });
    const wasm = await on('wasm', run);
    const cpu = await on('cpu', run);
    assert.deepEqual(wasm.shape, cpu.shape);
    assertClose(wasm.values, cpu.values, 'sum');
  });
}

test('int32 sums are left to the stock kernel and stay int32', async () => {
  const result = await on('wasm', () =>
    tf.tidy(() => {
      const s = tf.sum(tf.tensor([1, 2, 3, 4, 5, 6], [3, 2], 'int32'), 0);
      return { dtype: s.dtype, values: [...s.dataSync()] };
    }),
  );
  assert.equal(result.dtype, 'int32');
  assert.deepEqual(result.values, [9, 12]);
});
