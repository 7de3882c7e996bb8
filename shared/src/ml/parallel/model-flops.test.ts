import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { petMipCnnPlanSchema } from '../../contracts/experiment-spec.ts';
import { selectBackend } from '../backend.ts';
import { modelSpecOf } from '../plans/model-spec.ts';
import { buildPlanModel } from '../plans/plan-model.ts';
import { forwardFlopsPerExample, MIN_PARALLEL_FORWARD_FLOPS } from './model-flops.ts';

await selectBackend('cpu');

test('forward FLOPs count 2 per multiply-add of every convolution and dense kernel', () => {
  const model = tf.sequential();
  model.add(tf.layers.conv2d({ inputShape: [8, 6, 3], filters: 4, kernelSize: 3, padding: 'same' }));
  model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  model.add(tf.layers.flatten());
  model.add(tf.layers.dense({ units: 5 }));
  // conv: 8·6 positions · 4 filters · (3·3·3) taps; dense: (4·3·4 = 48 inputs) · 5 units.
  assert.equal(forwardFlopsPerExample(model), 2 * (8 * 6 * 4 * 27) + 2 * (48 * 5));
  model.dispose();
});

test('the default imaging plan is below the threshold for threads, the issue-7 MIP CNN above it', () => {
  const plan = buildPlanModel(
    modelSpecOf(petMipCnnPlanSchema.parse({ kind: 'pet-mip-cnn', mipSize: 64 })),
    1,
  );
  assert.ok(forwardFlopsPerExample(plan) * 16 < MIN_PARALLEL_FORWARD_FLOPS);
  plan.dispose();
  const mip = tf.sequential();
  [16, 32, 64, 64].forEach((filters, i) => {
    mip.add(
      tf.layers.conv2d({
        ...(i === 0 ? { inputShape: [128, 128, 2] } : {}),
        filters,
        kernelSize: 3,
        padding: 'same',
      }),
    );
    if (i < 3) mip.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  });
  mip.add(tf.layers.globalAveragePooling2d({}));
  mip.add(tf.layers.dense({ units: 1 }));
  // 1.66 GFLOP a batch of 16, as docs/performance.md counts it.
  const batch = forwardFlopsPerExample(mip) * 16;
  assert.ok(Math.abs(batch - 1.66e9) / 1.66e9 < 0.02, `${batch}`);
  assert.ok(batch > MIN_PARALLEL_FORWARD_FLOPS);
  mip.dispose();
});
