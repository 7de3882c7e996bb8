import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { type Hyperparameters, petMipCnnPlanSchema } from '../../contracts/experiment-spec.ts';
import { ErrorCodes, FedpetError } from '../../errors/fedpet-error.ts';
import { selectBackend } from '../backend.ts';
import { type ModelSpec, modelSpecOf } from '../plans/model-spec.ts';
import type { PlanData } from '../plans/plan-data.ts';
import { buildPlanModel } from '../plans/plan-model.ts';
import { createRng } from '../random.ts';
import { trainLocal } from '../train.ts';
import { DataParallelTrainer } from './data-parallel-trainer.ts';

// The same backend as the threads (wasm with fedpet's kernels), so the only
// difference from trainLocal is the data-parallel split itself.
await selectBackend('wasm');

let pair: DataParallelTrainer;
before(async () => {
  pair = await DataParallelTrainer.start(2, 'wasm');
});
after(async () => {
  await pair.close();
});

/** The pet-mip-cnn plan on 16² MIPs: 2D convolutions, max pooling, the Cox loss (risk sets span the batch). */
const mipSpec: ModelSpec = modelSpecOf(petMipCnnPlanSchema.parse({ kind: 'pet-mip-cnn', mipSize: 16 }));

/** Random rows for a spec: normal images and covariates; survival targets (a third censored) or normal labels. */
function randomData(spec: ModelSpec, rows: number, imageShape: number[], seed: number): PlanData {
  const rng = createRng(seed);
  const cox = spec.objective === 'cox';
  const target = new Float32Array(rows * (cox ? 2 : 1));
  for (let r = 0; r < rows; r++) {
    if (cox) {
      target[2 * r] = 1 + Math.floor(rng.next() * 500);
      target[2 * r + 1] = r % 3 === 0 ? 0 : 1;
    } else {
      target[r] = rng.normal();
    }
  }
  const imageSize = imageShape.reduce((a, b) => a * b, 1);
  return {
    rows,
    tabular: Float32Array.from({ length: rows * spec.columns.length }, () => rng.normal()),
    tabularWidth: spec.columns.length,
    images: Float32Array.from({ length: rows * imageSize }, () => rng.normal()),
    imageShape,
    target,
    targetWidth: cox ? 2 : 1,
  };
}

function maxDifference(a: tf.LayersModel, b: tf.LayersModel): number {
  let max = 0;
  const bw = b.getWeights();
  a.getWeights().forEach((w, i) => {
    const x = w.dataSync();
    const y = bw[i]!.dataSync();
    for (let j = 0; j < x.length; j++) max = Math.max(max, Math.abs(x[j]! - y[j]!));
  });
  return max;
}

async function bothWays(
  trainer: DataParallelTrainer,
  spec: ModelSpec,
  data: PlanData,
  hyperparameters: Hyperparameters,
  build: () => tf.LayersModel,
) {
  const single = build();
  const parallel = build();
  const expected = await trainLocal(single, data, hyperparameters, spec, 11);
  const actual = await trainer.train(parallel, data, hyperparameters, spec, 11);
  return { single, parallel, expected, actual };
}

test('two threads train the Cox MIP CNN as trainLocal does: same batches, same losses, same weights (SGD)', async () => {
  const data = randomData(mipSpec, 21, [16, 16, 2], 1);
  const hyperparameters: Hyperparameters = {
    localEpochs: 3,
    batchSize: 8,
    learningRate: 0.05,
    optimizer: 'sgd',
  };
  const { single, parallel, expected, actual } = await bothWays(pair, mipSpec, data, hyperparameters, () =>
    buildPlanModel(mipSpec, 5),
  );
  assert.equal(actual.steps, expected.steps);
  assert.equal(actual.steps, 9); // 21 rows in batches of 8, 8, 5
  assert.equal(actual.numSamples, 21);
  for (const [i, loss] of actual.epochLosses.entries()) {
    assert.ok(
      Math.abs(loss - expected.epochLosses[i]!) < 1e-5,
      `epoch ${i + 1}: ${loss} vs ${expected.epochLosses[i]}`,
    );
  }
  // SGD moves each weight by lr × gradient: equal weights mean equal gradients, to float32 rounding.
  const difference = maxDifference(single, parallel);
  assert.ok(difference < 1e-5, `weights differ by ${difference}`);
  // ...and training did move them.
  assert.ok(maxDifference(parallel, buildPlanModel(mipSpec, 5)) > 1e-3);
  for (const model of [single, parallel]) model.dispose();
});

test('a 3D CNN with Adam and the squared error: the same losses as trainLocal', async () => {
  const spec: ModelSpec = {
    ...modelSpecOf(petMipCnnPlanSchema.parse({ kind: 'pet-mip-cnn', mipSize: 16 })),
    objective: 'mse',
    columns: [],
    image: { kind: 'crop', size: 8, channels: ['pet'] },
    convFilters: [4, 8],
    denseUnits: 4,
  };
  const data = randomData(spec, 10, [8, 8, 8, 1], 2);
  const hyperparameters: Hyperparameters = {
    localEpochs: 4,
    batchSize: 5,
    learningRate: 1e-3,
    optimizer: 'adam',
  };
  const { single, parallel, expected, actual } = await bothWays(pair, spec, data, hyperparameters, () =>
    buildPlanModel(spec, 6),
  );
  assert.equal(actual.steps, 8);
  for (const [i, loss] of actual.epochLosses.entries()) {
    const relative = Math.abs(loss - expected.epochLosses[i]!) / Math.abs(expected.epochLosses[i]!);
    assert.ok(relative < 1e-4, `epoch ${i + 1}: ${loss} vs ${expected.epochLosses[i]}`);
  }
  // Adam divides by the gradient's running magnitude, so float32 noise in a near-zero gradient can
  // move a weight by up to lr per step: the bound is a few lr, not float32 rounding.
  assert.ok(maxDifference(single, parallel) < 8 * hyperparameters.learningRate);
  for (const model of [single, parallel]) model.dispose();
});

test('the same thread count gives the same weights, bit for bit, run after run', async () => {
  const data = randomData(mipSpec, 12, [16, 16, 2], 3);
  const hyperparameters: Hyperparameters = {
    localEpochs: 2,
    batchSize: 6,
    learningRate: 1e-2,
    optimizer: 'adam',
  };
  const first = buildPlanModel(mipSpec, 7);
  const second = buildPlanModel(mipSpec, 7);
  await pair.train(first, data, hyperparameters, mipSpec, 3);
  await pair.train(second, data, hyperparameters, mipSpec, 3);
  assert.equal(maxDifference(first, second), 0);
  for (const model of [first, second]) model.dispose();
});

test('more threads than rows in a batch: the idle threads contribute nothing and the result still matches', async () => {
  const trio = await DataParallelTrainer.start(3, 'wasm');
  try {
    const data = randomData(mipSpec, 5, [16, 16, 2], 4);
    const hyperparameters: Hyperparameters = {
      localEpochs: 2,
      batchSize: 2,
      learningRate: 0.05,
      optimizer: 'sgd',
    };
    const { single, parallel, actual } = await bothWays(trio, mipSpec, data, hyperparameters, () =>
      buildPlanModel(mipSpec, 8),
    );
    assert.equal(actual.steps, 6); // batches of 2, 2, 1 per epoch
    assert.ok(maxDifference(single, parallel) < 1e-5);
    for (const model of [single, parallel]) model.dispose();
  } finally {
    await trio.close();
  }
});

test('cancelling stops between batches with CANCELLED, and the trainer trains again afterwards', async () => {
  const data = randomData(mipSpec, 12, [16, 16, 2], 5);
  const hyperparameters: Hyperparameters = {
    localEpochs: 5,
    batchSize: 4,
    learningRate: 1e-2,
    optimizer: 'adam',
  };
  const controller = new AbortController();
  const model = buildPlanModel(mipSpec, 9);
  await assert.rejects(
    pair.train(model, data, hyperparameters, mipSpec, 1, {
      signal: controller.signal,
      onProgress: (epoch) => {
        if (epoch === 1) controller.abort();
      },
    }),
    (error: unknown) => error instanceof FedpetError && error.code === ErrorCodes.cancelled,
  );
  assert.equal(pair.unusable, undefined);
  const result = await pair.train(model, data, { ...hyperparameters, localEpochs: 1 }, mipSpec, 1);
  assert.equal(result.steps, 3);
  model.dispose();
});

test('a thread that dies mid-training fails the call with a clear error instead of hanging', async () => {
  const doomed = await DataParallelTrainer.start(2, 'wasm');
  try {
    const data = randomData(mipSpec, 16, [16, 16, 2], 6);
    const hyperparameters: Hyperparameters = {
      localEpochs: 50,
      batchSize: 4,
      learningRate: 1e-2,
      optimizer: 'adam',
    };
    const model = buildPlanModel(mipSpec, 10);
    // Reach the second thread's Worker to kill it, as an out-of-memory kill would.
    const threads = (doomed as unknown as { threads: { worker: { terminate(): Promise<number> } }[] })
      .threads;
    await assert.rejects(
      doomed.train(model, data, hyperparameters, mipSpec, 1, {
        onProgress: (epoch) => {
          if (epoch === 1) void threads[1]!.worker.terminate();
        },
      }),
      (error: unknown) =>
        error instanceof FedpetError &&
        error.code === ErrorCodes.trainingFailed &&
        /worker thread 1 exited/.test(error.message),
    );
    assert.match(doomed.unusable ?? '', /worker thread 1 exited/);
    await assert.rejects(doomed.train(model, data, hyperparameters, mipSpec, 1), /worker thread 1 exited/);
    model.dispose();
  } finally {
    await doomed.close();
  }
});

test('a model without a single [batch, 1] output, or fewer than two threads, is a configuration error', async () => {
  const input = tf.input({ shape: [3] });
  const twoOutputs = tf.model({
    inputs: input,
    outputs: tf.layers.dense({ units: 2 }).apply(input) as tf.SymbolicTensor,
  });
  const spec: ModelSpec = { ...mipSpec, objective: 'mse', image: undefined, columns: ['a', 'b', 'c'] };
  const data: PlanData = {
    rows: 4,
    tabular: new Float32Array(12),
    tabularWidth: 3,
    images: undefined,
    imageShape: undefined,
    target: new Float32Array(4),
    targetWidth: 1,
  };
  await assert.rejects(
    pair.train(
      twoOutputs,
      data,
      { localEpochs: 1, batchSize: 4, learningRate: 0.1, optimizer: 'sgd' },
      spec,
      1,
    ),
    /one output of shape \[batch, 1\], got \[\[null,2\]\]/,
  );
  await assert.rejects(DataParallelTrainer.start(1, 'wasm'), /needs 2 or more threads, got 1/);
  twoOutputs.dispose();
});
