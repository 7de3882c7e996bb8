import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Hyperparameters, planSchema } from '../../contracts/experiment-spec.ts';
import { selectBackend } from '../backend.ts';
import { getWeights, setWeights } from '../model.ts';
import { createRng } from '../random.ts';
import { evaluate, predict, trainLocal } from '../train.ts';
import { modelSpecOf } from './model-spec.ts';
import type { PlanData } from './plan-data.ts';
import { splitPlanData } from './plan-data.ts';
import { buildPlanModel } from './plan-model.ts';

await selectBackend('cpu');

/** The true log-hazard ratios of x1, x2 and x3 (x3 is noise). */
const TRUE_BETA = [1.0, -0.5, 0] as const;
const BASELINE_HAZARD = 1 / 200; // per day: median survival ≈ 139 days at η = 0
const CENSORING_HAZARD = BASELINE_HAZARD / 3;

/**
 * Proportional-hazards data with an exponential baseline: T = −log U / (λ₀·e^η)
 * with η = x·β (Bender, Augustin & Blettner 2005, Stat Med 24:1713), censored by
 * an independent exponential C, so the observed time is min(T, C) and the
 * event is T ≤ C.
 */
function survivalCohort(n: number, seed: number): PlanData {
  const rng = createRng(seed);
  const tabular = new Float32Array(3 * n);
  const target = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    let eta = 0;
    for (let k = 0; k < 3; k++) {
      const x = rng.normal();
      tabular[3 * i + k] = x;
      eta += TRUE_BETA[k]! * x;
    }
    const failure = -Math.log(1 - rng.next()) / (BASELINE_HAZARD * Math.exp(eta));
    const censoring = -Math.log(1 - rng.next()) / CENSORING_HAZARD;
    // At least a tenth of a day: the plan columns require positive times.
    target[2 * i] = Math.max(0.1, Math.min(failure, censoring));
    target[2 * i + 1] = failure <= censoring ? 1 : 0;
  }
  return {
    rows: n,
    tabular,
    tabularWidth: 3,
    images: undefined,
    imageShape: undefined,
    target,
    targetWidth: 2,
  };
}

test('a clinical Cox model trained with trainLocal recovers the signs of the true coefficients', async () => {
  const plan = planSchema.parse({ kind: 'clinical-cox', features: ['x1', 'x2', 'x3'] });
  const spec = modelSpecOf(plan);
  const data = survivalCohort(400, 2024);
  let events = 0;
  for (let i = 0; i < data.rows; i++) events += data.target[2 * i + 1]!;
  const censored = 1 - events / data.rows;
  assert.ok(censored > 0.15 && censored < 0.35, `censoring ${censored}`);

  const { train, validation } = splitPlanData(data, 0.25, 1);
  const model = buildPlanModel(spec, 3);
  // Start from the wrong signs, so the signs found are learned, not a lucky initialisation.
  setWeights(model, [{ name: 'output/kernel', shape: [3, 1], values: Float32Array.from([-0.5, 0.5, 0.3]) }]);
  const before = await evaluate(model, validation, spec);
  assert.ok(before.cIndex! < 0.5, `C-index before training ${before.cIndex}`);
  const hyperparameters: Hyperparameters = {
    localEpochs: 8,
    batchSize: 50,
    learningRate: 0.05,
    optimizer: 'adam',
  };
  const result = await trainLocal(model, train, hyperparameters, plan, 9);
  const after = await evaluate(model, validation, spec);
  const [kernel] = getWeights(model);
  model.dispose();

  assert.equal(kernel!.name, 'output/kernel');
  const [b1, b2, b3] = kernel!.values;
  assert.ok(b1! > 0.4, `x1 raises the hazard: ${b1}`);
  assert.ok(b2! < -0.15, `x2 lowers it: ${b2}`);
  assert.ok(Math.abs(b3!) < Math.abs(b2!), `x3 is noise: ${b3}`);
  assert.ok(b1! > Math.abs(b2!), 'x1 matters more than x2');

  assert.equal(result.epochLosses.length, 8);
  assert.ok(result.epochLosses.at(-1)! < result.epochLosses[0]!, `losses ${result.epochLosses}`);
  assert.ok(after.loss! < before.loss!, `validation loss ${before.loss} → ${after.loss}`);
  assert.ok(after.cIndex! > 0.65, `validation C-index ${after.cIndex}`);
  assert.ok(after.cIndexComparable! > 0);
});

test('one training step of a tiny MIP CNN on random images with survival targets gives a finite loss', async () => {
  for (const clinicalFeatures of [[], ['age']]) {
    const plan = planSchema.parse({
      kind: 'pet-mip-cnn',
      mipSize: 16,
      filters: [2],
      denseUnits: 4,
      clinicalFeatures,
    });
    const spec = modelSpecOf(plan);
    const rng = createRng(77);
    const rows = 8;
    const images = Float32Array.from({ length: rows * 16 * 16 * 2 }, () => 3 * rng.next());
    const tabular = Float32Array.from({ length: rows * clinicalFeatures.length }, () => rng.normal());
    const target = new Float32Array(2 * rows);
    for (let i = 0; i < rows; i++) {
      target[2 * i] = 30 + 40 * i;
      target[2 * i + 1] = i % 4 === 3 ? 0 : 1;
    }
    const data: PlanData = {
      rows,
      tabular,
      tabularWidth: clinicalFeatures.length,
      images,
      imageShape: [16, 16, 2],
      target,
      targetWidth: 2,
    };
    const model = buildPlanModel(spec, 5);
    const initial = getWeights(model);
    const result = await trainLocal(
      model,
      data,
      { localEpochs: 1, batchSize: rows, learningRate: 0.01, optimizer: 'adam' },
      spec,
      1,
    );
    assert.equal(result.steps, 1);
    assert.equal(result.numSamples, rows);
    assert.equal(result.epochLosses.length, 1);
    assert.ok(Number.isFinite(result.epochLosses[0]) && result.epochLosses[0]! > 0, `${result.epochLosses}`);
    const trained = getWeights(model);
    assert.notDeepEqual(
      trained.find((w) => w.name === 'output/kernel')!.values,
      initial.find((w) => w.name === 'output/kernel')!.values,
      'the step moved the weights',
    );
    const risk = await predict(model, data);
    assert.equal(risk.length, rows);
    assert.ok(risk.every(Number.isFinite));
    const metrics = await evaluate(model, data, spec);
    assert.equal(metrics.events, 6);
    assert.ok(Number.isFinite(metrics.cIndex));
    model.dispose();
  }
});
