import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { on, seeded, useWasmKernels } from './test-support.ts';

let restore: () => Promise<void>;
before(async () => {
  restore = await useWasmKernels();
});
after(async () => {
  await restore();
});

test("Identity on wasm shares memory: a clone holds its source's data and outlives it", async () => {
  await on('wasm', () => {
    const source = tf.tensor(seeded(4096, 60), [64, 64]);
    const expected = [...source.dataSync()];
    const clone = tf.clone(source);
    assert.equal(clone.dataId, source.dataId, 'no copy was made');
    source.dispose();
    assert.deepEqual([...clone.dataSync()], expected);
    clone.dispose();
  });
});
