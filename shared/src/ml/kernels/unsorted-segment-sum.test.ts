import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../backend.ts';
import { unsortedSegmentSumConfig } from './unsorted-segment-sum.ts';

test('gradients through tf.gather work on wasm and equal the cpu backend', async () => {
  const gradientOn = async (backend: 'cpu' | 'wasm') => {
    await selectBackend(backend);
    if (backend === 'wasm' && !tf.getKernel(tf.UnsortedSegmentSum, 'wasm'))
      tf.registerKernel(unsortedSegmentSumConfig);
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8], [4, 2]);
    const indices = tf.tensor1d([3, 0, 3, 1, 9 - 9], 'int32');
    const grad = tf.grad((v: tf.Tensor) =>
      tf.sum(tf.mul(tf.gather(v, indices), tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [5, 2]))),
    );
    return [...(await grad(x).data())];
  };
  const cpu = await gradientOn('cpu');
  const wasm = await gradientOn('wasm');
  // Row 0 is gathered twice (weights 3,4 and 9,10), row 3 twice (1,2 and 5,6), row 1 once, row 2 never.
  assert.deepEqual(cpu, [12, 14, 7, 8, 0, 0, 6, 8]);
  assert.deepEqual(wasm, cpu);
  await selectBackend('cpu');
});
