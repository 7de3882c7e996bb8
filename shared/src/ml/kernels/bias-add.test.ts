import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { rowVectorBroadcast } from './bias-add.ts';
import { assertClose, on, seeded, useWasmKernels } from './test-support.ts';

let restore: () => Promise<void>;
before(async () => {
  restore = await useWasmKernels();
});
after(async () => {
  await restore();
});

test('a row-vector broadcast is a vector of the last axis, [C] or [1, …, 1, C], over more than one row', () => {
  assert.deepEqual(rowVectorBroadcast([8, 4, 4, 16], [16]), { rows: 128, cols: 16 });
  assert.deepEqual(rowVectorBroadcast([8, 4, 4, 4, 16], [1, 1, 1, 1, 16]), { rows: 512, cols: 16 });
  assert.equal(rowVectorBroadcast([8, 16], [8, 16]), undefined, 'same shapes: element-wise');
  assert.equal(rowVectorBroadcast([8, 16], [8, 1]), undefined, 'a column vector');
  assert.equal(rowVectorBroadcast([8, 16], [2, 16]), undefined);
  assert.equal(rowVectorBroadcast([1, 16], [16]), undefined, 'one row');
  assert.equal(rowVectorBroadcast([8, 3], [3]), undefined, 'fewer than 4 columns');
  assert.equal(rowVectorBroadcast([], [1]), undefined);
});

/** a + b on the active backend for every pair of shapes, values returned. */
function sums(): number[][] {
  return tf.tidy(() =>
    (
      [
        [[6, 5, 4, 16], [16]],
        [[16], [3, 7, 16]],
        [
          [2, 3, 3, 3, 5],
          [1, 1, 1, 1, 5],
        ],
        [
          [4, 6],
          [4, 6],
        ],
        [
          [4, 6],
          [4, 1],
        ],
      ] as [number[], number[]][]
    ).map(([sa, sb], i) => {
      const a = tf.tensor(seeded(tf.util.sizeFromShape(sa), 40 + i), sa);
      const b = tf.tensor(seeded(tf.util.sizeFromShape(sb), 50 + i), sb);
      return [...tf.add(a, b).dataSync()];
    }),
  );
}

test('Add on wasm equals the cpu backend for bias broadcasts (either side) and for what it leaves to the stock kernel', async () => {
  const wasm = await on('wasm', sums);
  const cpu = await on('cpu', sums);
  for (const [i, values] of wasm.entries()) assertClose(values, cpu[i]!, `case ${i}`);
  // int32 additions are not fedpet's: still exact through the stock kernel.
  const ints = await on('wasm', () => [
    ...tf
      .add(tf.tensor([[1, 2, 3, 4]], undefined, 'int32'), tf.tensor([5, 6, 7, 8], undefined, 'int32'))
      .dataSync(),
  ]);
  assert.deepEqual(ints, [6, 8, 10, 12]);
});
