import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clinicalCoxPlanSchema, petMipCnnPlanSchema } from '@fedpet/shared/contracts/experiment-spec';
import { createLogger } from '@fedpet/shared/log/logger';
import { type SelectedBackend, selectBackend } from '@fedpet/shared/ml/backend';
import { modelSpecOf } from '@fedpet/shared/ml/plans/model-spec';
import type { PlanData } from '@fedpet/shared/ml/plans/plan-data';
import { buildPlanModel } from '@fedpet/shared/ml/plans/plan-model';
import { createRng } from '@fedpet/shared/ml/random';
import { trainLocal } from '@fedpet/shared/ml/train';
import { createLocalTrainer } from './local-trainer.ts';

const backend = await selectBackend('wasm');

function logger(lines: string[]) {
  return createLogger({ service: 'test', level: 'debug', write: (line) => lines.push(line) });
}

function survivalRows(rows: number, tabularWidth: number, imageShape?: number[]): PlanData {
  const rng = createRng(3);
  const imageSize = imageShape ? imageShape.reduce((a, b) => a * b, 1) : 0;
  return {
    rows,
    tabular: Float32Array.from({ length: rows * tabularWidth }, () => rng.normal()),
    tabularWidth,
    images: imageShape ? Float32Array.from({ length: rows * imageSize }, () => rng.normal()) : undefined,
    imageShape,
    target: Float32Array.from({ length: rows * 2 }, (_, i) =>
      i % 2 === 0 ? 1 + (i % 37) : (i >> 1) % 3 === 0 ? 0 : 1,
    ),
    targetWidth: 2,
  };
}

const hyperparameters = { localEpochs: 2, batchSize: 6, learningRate: 0.01, optimizer: 'sgd' as const };

test('one thread, or a backend with threads of its own, trains on the main thread', async () => {
  const single = createLocalTrainer(1, backend, logger([]));
  assert.equal(single.train, trainLocal);
  assert.equal(single.threads, 1);
  const lines: string[] = [];
  const native = createLocalTrainer(4, { ...backend, name: 'tensorflow' } as SelectedBackend, logger(lines));
  assert.equal(native.train, trainLocal);
  assert.equal(native.threads, 1);
  assert.match(lines.join('\n'), /training on the main thread: the backend runs its own threads/);
});

test('two threads train an imaging plan data-parallel, a small one and a tabular one on the main thread', async () => {
  const lines: string[] = [];
  const trainer = createLocalTrainer(2, backend, logger(lines));
  try {
    assert.equal(trainer.threads, 2);
    // 128² MIPs through 16 and 32 filters: ~47 MFLOP an example, 380 MFLOP a batch of 8.
    const spec = {
      ...modelSpecOf(petMipCnnPlanSchema.parse({ kind: 'pet-mip-cnn', mipSize: 128 })),
      convFilters: [16, 32],
    };
    const images = survivalRows(10, spec.columns.length, [128, 128, 2]);
    const parallel = buildPlanModel(spec, 1);
    const reference = buildPlanModel(spec, 1);
    const options = { localEpochs: 1, batchSize: 8, learningRate: 0.01, optimizer: 'sgd' as const };
    const result = await trainer.train(parallel, images, options, spec, 5);
    const expected = await trainLocal(reference, images, options, spec, 5);
    assert.equal(trainer.parallelJobs, 1);
    assert.match(lines.join('\n'), /job trained data-parallel/);
    assert.equal(result.steps, expected.steps);
    assert.ok(Math.abs(result.epochLosses[0]! - expected.epochLosses[0]!) < 1e-5);
    for (const model of [parallel, reference]) model.dispose();

    const small = modelSpecOf(petMipCnnPlanSchema.parse({ kind: 'pet-mip-cnn', mipSize: 16 }));
    const smallModel = buildPlanModel(small, 1);
    await trainer.train(
      smallModel,
      survivalRows(12, small.columns.length, [16, 16, 2]),
      hyperparameters,
      small,
      5,
    );
    assert.equal(trainer.parallelJobs, 1, 'the small imaging plan did not use the threads');

    const cox = modelSpecOf(clinicalCoxPlanSchema.parse({ kind: 'clinical-cox', features: ['a', 'b', 'c'] }));
    await trainer.train(buildPlanModel(cox, 1), survivalRows(12, 3), hyperparameters, cox, 5);
    assert.equal(trainer.parallelJobs, 1, 'the tabular plan did not use the threads');
    smallModel.dispose();
  } finally {
    await trainer.close();
  }
});

test('with no minimum, even a small imaging plan is split across the threads', async () => {
  const trainer = createLocalTrainer(2, backend, logger([]), { minForwardFlops: 0 });
  try {
    const small = modelSpecOf(petMipCnnPlanSchema.parse({ kind: 'pet-mip-cnn', mipSize: 16 }));
    const model = buildPlanModel(small, 1);
    await trainer.train(
      model,
      survivalRows(12, small.columns.length, [16, 16, 2]),
      hyperparameters,
      small,
      5,
    );
    assert.equal(trainer.parallelJobs, 1);
    model.dispose();
  } finally {
    await trainer.close();
  }
});
