import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import { selectBackend } from './backend.ts';
import { buildModel, getWeights, type ModelPlan, setWeights } from './model.ts';

const { tf } = await selectBackend('cpu');
const plan: ModelPlan = {
  task: 'binary-classification',
  features: ['a', 'b', 'c'],
  hiddenUnits: [5, 4],
  activation: 'relu',
};

test('the same (plan, seed) gives identical initial weights; another seed differs', () => {
  const first = buildModel(plan, 9);
  const second = buildModel(plan, 9);
  const third = buildModel(plan, 10);
  const weights = getWeights(first);
  assert.deepEqual(getWeights(second), weights);
  assert.notDeepEqual(
    getWeights(third).map((w) => w.values),
    weights.map((w) => w.values),
  );
  for (const model of [first, second, third]) model.dispose();
});

test('weights carry stable names and shapes, independent of how many models exist', () => {
  const model = buildModel(plan, 1);
  const layout = getWeights(model).map(({ name, shape }) => ({ name, shape }));
  assert.deepEqual(layout, [
    { name: 'hidden_1/kernel', shape: [3, 5] },
    { name: 'hidden_1/bias', shape: [5] },
    { name: 'hidden_2/kernel', shape: [5, 4] },
    { name: 'hidden_2/bias', shape: [4] },
    { name: 'output/kernel', shape: [4, 1] },
    { name: 'output/bias', shape: [1] },
  ]);
  const kernel = getWeights(model)[0]!.values;
  // Glorot uniform bound sqrt(6 / (fan_in + fan_out)); biases start at zero.
  const limit = Math.sqrt(6 / (3 + 5));
  assert.ok(kernel.every((value) => Math.abs(value) <= limit));
  assert.ok(getWeights(model)[1]!.values.every((value) => value === 0));
  model.dispose();
});

test('output activation follows the task', () => {
  const classifier = buildModel(plan, 2);
  const regressor = buildModel({ ...plan, task: 'regression', hiddenUnits: [] }, 2);
  const input = tf.tensor2d([
    [100, -50, 30],
    [-100, 50, -30],
  ]);
  const probabilities = (classifier.predict(input) as typeof input).dataSync();
  assert.ok([...probabilities].every((p) => p >= 0 && p <= 1));
  const outputs = (regressor.predict(input) as typeof input).dataSync();
  // Linear output with zero bias: f(-x) = -f(x), and far outside [0, 1] for these inputs.
  assert.ok(Math.abs(outputs[0]! + outputs[1]!) < 1e-3);
  assert.ok(Math.abs(outputs[0]!) > 1);
  tf.dispose(input);
  classifier.dispose();
  regressor.dispose();
});

test('setWeights round-trips and getWeights returns copies', () => {
  const source = buildModel(plan, 3);
  const target = buildModel(plan, 4);
  const weights = getWeights(source);
  setWeights(target, [...weights].reverse());
  assert.deepEqual(getWeights(target), weights);
  weights[0]!.values[0] = 123;
  assert.notEqual(getWeights(source)[0]!.values[0], 123);
  source.dispose();
  target.dispose();
});

test('setWeights names the mismatch and writes nothing', () => {
  const model = buildModel(plan, 5);
  const before = getWeights(model);
  const rejects = (weights: ReturnType<typeof getWeights>, fragment: string) =>
    assert.throws(
      () => setWeights(model, weights),
      (error: unknown) =>
        error instanceof FedpetError &&
        error.code === ErrorCodes.invalidMessage &&
        error.message.includes(fragment),
    );
  rejects(before.slice(1), "'hidden_1/kernel' is missing");
  rejects([...before, { name: 'extra/bias', shape: [1], values: new Float32Array(1) }], "'extra/bias'");
  rejects(
    before.map((w, i) => (i === 0 ? { ...w, shape: [5, 3] } : w)),
    "'hidden_1/kernel' has shape [5, 3], the model needs [3, 5]",
  );
  rejects(
    before.map((w, i) => (i === 1 ? { ...w, values: new Float32Array(4) } : w)),
    "'hidden_1/bias' has 4 values",
  );
  rejects(
    before.map((w, i) => (i === 5 ? { ...w, values: Float32Array.of(Number.NaN) } : w)),
    "'output/bias' contains NaN",
  );
  rejects([...before, before[0]!], 'given twice');
  assert.deepEqual(getWeights(model), before);
  model.dispose();
});
