import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Hyperparameters } from '../contracts/experiment-spec.ts';
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import { selectBackend } from './backend.ts';
import { buildModel, getWeights, type ModelPlan } from './model.ts';
import { createRng } from './random.ts';
import { generateSyntheticTabular, tableToCsv } from './synthetic-cohort.ts';
import { parseTabularCsv, type TabularData } from './tabular-dataset.ts';
import { evaluate, predict, trainLocal } from './train.ts';

const { tf } = await selectBackend('cpu');

const cohort = generateSyntheticTabular({
  hospitals: ['h1'],
  rowsPerHospital: 400,
  features: 4,
  seed: 21,
  shift: 0,
});
const plan: ModelPlan & { label: string } = {
  task: 'binary-classification',
  features: cohort.features,
  label: cohort.label,
  hiddenUnits: [8],
  activation: 'relu',
};
const data = parseTabularCsv(tableToCsv(cohort.hospitals[0]!.table), plan, 'h1');
const hyperparameters: Hyperparameters = {
  localEpochs: 3,
  batchSize: 32,
  learningRate: 0.02,
  optimizer: 'adam',
};

test('the same seed gives identical training; another seed a different one', async () => {
  const run = async (seed: number) => {
    const model = buildModel(plan, 1);
    const result = await trainLocal(model, data, hyperparameters, plan, seed);
    const weights = getWeights(model);
    model.dispose();
    return { result, weights };
  };
  const first = await run(5);
  const second = await run(5);
  assert.deepEqual(second, first);
  assert.notDeepEqual((await run(6)).weights, first.weights);
  assert.equal(first.result.numSamples, 400);
  assert.equal(first.result.steps, 3 * Math.ceil(400 / 32));
  assert.equal(first.result.epochLosses.length, 3);
});

test('training lowers the loss and beats chance on held-out rows, with sgd too', async () => {
  const heldOut = generateSyntheticTabular({
    hospitals: ['h2'],
    rowsPerHospital: 300,
    features: 4,
    seed: 21,
    shift: 0,
  });
  const validation = parseTabularCsv(tableToCsv(heldOut.hospitals[0]!.table), plan, 'h2');
  for (const optimizer of ['adam', 'sgd'] as const) {
    const model = buildModel(plan, 2);
    const before = await evaluate(model, validation, plan);
    const learningRate = optimizer === 'sgd' ? 0.3 : 0.02;
    const result = await trainLocal(model, data, { ...hyperparameters, optimizer, learningRate }, plan, 2);
    const after = await evaluate(model, validation, plan);
    assert.ok(result.epochLosses.at(-1)! < result.epochLosses[0]!, `${optimizer}: training loss fell`);
    assert.ok(after.loss! < before.loss!, `${optimizer}: validation loss fell`);
    assert.ok(after.accuracy! > 0.75, `${optimizer}: accuracy ${after.accuracy}`);
    assert.ok(after.auc! > 0.85, `${optimizer}: auc ${after.auc}`);
    model.dispose();
  }
});

test('no tensor survives training, prediction or evaluation', async () => {
  const model = buildModel(plan, 3);
  const before = tf.memory().numTensors;
  await trainLocal(model, data, { ...hyperparameters, localEpochs: 1 }, plan, 3);
  await evaluate(model, data, plan);
  await predict(model, data, 64);
  assert.equal(tf.memory().numTensors, before);
  model.dispose();
});

test('onProgress reports every epoch; the event loop keeps running during training', async () => {
  const model = buildModel(plan, 4);
  const progress: [number, number][] = [];
  let ticks = 0;
  const timer = setInterval(() => ticks++, 0);
  const result = await trainLocal(model, data, hyperparameters, plan, 4, {
    onProgress: (epoch, loss) => progress.push([epoch, loss]),
  });
  clearInterval(timer);
  assert.deepEqual(
    progress,
    result.epochLosses.map((loss, i) => [i + 1, loss]),
  );
  assert.ok(ticks > 0, 'timers ran while training');
  model.dispose();
});

test('an aborted signal stops training with CANCELLED', async () => {
  const model = buildModel(plan, 5);
  const controller = new AbortController();
  const training = trainLocal(model, data, hyperparameters, plan, 5, {
    signal: controller.signal,
    onProgress: () => controller.abort(),
  });
  await assert.rejects(
    training,
    (error: unknown) => error instanceof FedpetError && error.code === ErrorCodes.cancelled,
  );
  model.dispose();
});

test('regression trains on MSE and reports loss and mae', async () => {
  const rng = createRng(8);
  const rows = 300;
  const features = new Float32Array(rows * 2);
  const labels = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    const a = rng.normal();
    const b = rng.normal();
    features.set([a, b], i * 2);
    labels[i] = 2 * a - b + 0.1 * rng.normal();
  }
  const regression: TabularData = { features, labels, rows, featureCount: 2 };
  const regressionPlan: ModelPlan = {
    task: 'regression',
    features: ['a', 'b'],
    hiddenUnits: [],
    activation: 'relu',
  };
  const model = buildModel(regressionPlan, 6);
  const before = await evaluate(model, regression, regressionPlan);
  await trainLocal(
    model,
    regression,
    { ...hyperparameters, localEpochs: 20, learningRate: 0.05 },
    regressionPlan,
    6,
  );
  const after = await evaluate(model, regression, regressionPlan);
  assert.deepEqual(Object.keys(after).sort(), ['loss', 'mae']);
  assert.ok(after.loss! < 0.05 && after.loss! < before.loss!, `mse ${after.loss!}`);
  assert.ok(after.mae! < 0.2, `mae ${after.mae}`);
  model.dispose();
});

test('a dataset that does not fit the plan is refused', async () => {
  const model = buildModel(plan, 7);
  const narrow: TabularData = {
    features: new Float32Array(3),
    labels: new Float32Array(1),
    rows: 1,
    featureCount: 3,
  };
  await assert.rejects(
    trainLocal(model, narrow, hyperparameters, plan, 7),
    (error: unknown) => error instanceof FedpetError && error.code === ErrorCodes.datasetInvalid,
  );
  model.dispose();
});
