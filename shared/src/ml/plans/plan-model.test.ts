import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planSchema } from '../../contracts/experiment-spec.ts';
import { selectBackend } from '../backend.ts';
import { getWeights } from '../model.ts';
import { type ModelSpec, modelSpecOf } from './model-spec.ts';
import { buildPlanModel, imageShapeOf } from './plan-model.ts';

const { tf } = await selectBackend('cpu');

const specOf = (plan: Record<string, unknown>): ModelSpec => modelSpecOf(planSchema.parse(plan));
const names = (model: { weights: { originalName: string }[] }): string[] =>
  model.weights.map((weight) => weight.originalName);

/** Runs the model on random inputs of the given shapes and returns the output's shape. */
function outputShape(model: ReturnType<typeof buildPlanModel>, shapes: number[][]): number[] {
  return tf.tidy(() => {
    const inputs = shapes.map((shape) => tf.randomUniform(shape, 0, 1, 'float32', 3));
    const output = model.predict(inputs.length === 1 ? inputs[0]! : inputs) as ReturnType<typeof tf.zeros>;
    return [...output.shape];
  });
}

test('a Cox MLP has no output bias; its hidden layers and a bce output do', () => {
  const linearCox = buildPlanModel(specOf({ kind: 'clinical-cox', features: ['a', 'b', 'c'] }), 1);
  assert.deepEqual(names(linearCox), ['output/kernel']);
  assert.deepEqual(linearCox.weights[0]!.shape, [3, 1]);
  linearCox.dispose();

  const deepCox: ModelSpec = {
    ...specOf({ kind: 'clinical-cox', features: ['a', 'b'] }),
    hiddenUnits: [4],
  };
  const deep = buildPlanModel(deepCox, 1);
  assert.deepEqual(names(deep), ['hidden_1/kernel', 'hidden_1/bias', 'output/kernel']);
  deep.dispose();

  const classifier = buildPlanModel(specOf({ kind: 'response-classifier', features: ['a', 'b'] }), 1);
  assert.deepEqual(names(classifier), ['hidden_1/kernel', 'hidden_1/bias', 'output/kernel', 'output/bias']);
  const input = tf.randomNormal([20, 2], 0, 5, 'float32', 1);
  const output = classifier.predict(input) as typeof input;
  const probabilities = Array.from(output.dataSync());
  tf.dispose([input, output]);
  assert.ok(
    probabilities.every((p) => p > 0 && p < 1),
    'a bce model outputs probabilities (sigmoid)',
  );
  classifier.dispose();
});

test('the MIP CNN takes [n, S, S, 2] images, plus a tabular input when clinical features are named', () => {
  const imagesOnly = specOf({ kind: 'pet-mip-cnn', mipSize: 16, filters: [2, 3], denseUnits: 4 });
  assert.deepEqual(imageShapeOf(imagesOnly), [16, 16, 2]);
  const plain = buildPlanModel(imagesOnly, 1);
  assert.deepEqual(
    plain.inputs.map((input) => input.shape),
    [[null, 16, 16, 2]],
  );
  assert.deepEqual(outputShape(plain, [[3, 16, 16, 2]]), [3, 1]);
  assert.equal(names(plain).includes('output/bias'), false, 'Cox output, no bias');
  plain.dispose();

  const joined = buildPlanModel(
    specOf({
      kind: 'pet-mip-cnn',
      mipSize: 16,
      filters: [2],
      denseUnits: 4,
      clinicalFeatures: ['age', 'ecog', 'sex_male'],
    }),
    1,
  );
  assert.deepEqual(
    joined.inputs.map((input) => input.shape),
    [
      [null, 16, 16, 2],
      [null, 3],
    ],
  );
  assert.deepEqual(
    outputShape(joined, [
      [5, 16, 16, 2],
      [5, 3],
    ]),
    [5, 1],
  );
  // The dense layer sees the pooled image features (2 filters) and the 3 clinical columns.
  const dense = joined.weights.find((weight) => weight.originalName === 'dense_1/kernel')!;
  assert.deepEqual(dense.shape, [2 + 3, 4]);
  joined.dispose();
});

test('the 3D CNN takes [n, C, C, C, k] crops, one channel per modality', () => {
  for (const channels of [['pet'], ['pet', 'ct']]) {
    const spec = specOf({ kind: 'pet-ct-3dcnn', cropSize: 8, channels, filters: [2], denseUnits: 3 });
    assert.deepEqual(imageShapeOf(spec), [8, 8, 8, channels.length]);
    const model = buildPlanModel(spec, 1);
    assert.deepEqual(
      model.inputs.map((input) => input.shape),
      [[null, 8, 8, 8, channels.length]],
    );
    assert.deepEqual(outputShape(model, [[2, 8, 8, 8, channels.length]]), [2, 1]);
    // One 2× pool of an 8³ volume leaves 4³ voxels × 2 filters, flattened.
    const dense = model.weights.find((weight) => weight.originalName === 'dense_1/kernel')!;
    assert.deepEqual(dense.shape, [4 * 4 * 4 * 2, 3]);
    model.dispose();
  }
  assert.equal(imageShapeOf(specOf({ kind: 'clinical-cox', features: ['a'] })), undefined);
});

test('(spec, seed) fixes the initial weights; another seed gives others; names are stable', () => {
  const specs = [
    specOf({ kind: 'pet-mip-cnn', mipSize: 16, filters: [2, 3], denseUnits: 4, clinicalFeatures: ['age'] }),
    specOf({ kind: 'pet-ct-3dcnn', cropSize: 8, channels: ['pet'], filters: [2], denseUnits: 3 }),
    specOf({ kind: 'response-classifier', features: ['a', 'b'], hiddenUnits: [5, 3] }),
  ];
  const expectedNames = [
    [
      'conv_1/kernel',
      'conv_1/bias',
      'conv_2/kernel',
      'conv_2/bias',
      'dense_1/kernel',
      'dense_1/bias',
      'output/kernel',
    ],
    ['conv_1/kernel', 'conv_1/bias', 'dense_1/kernel', 'dense_1/bias', 'output/kernel'],
    ['hidden_1/kernel', 'hidden_1/bias', 'hidden_2/kernel', 'hidden_2/bias', 'output/kernel', 'output/bias'],
  ];
  specs.forEach((spec, index) => {
    const weightsOf = (seed: number) => {
      const model = buildPlanModel(spec, seed);
      const weights = getWeights(model);
      model.dispose();
      return weights;
    };
    const first = weightsOf(11);
    // Building again in the same process must give the same names (tfjs makes variable
    // names unique per process; the weight names fedpet exchanges must not change).
    const second = weightsOf(11);
    const other = weightsOf(12);
    assert.deepEqual(
      first.map((weight) => weight.name),
      expectedNames[index],
    );
    assert.deepEqual(second, first, `${spec.planKind}: same seed, same weights`);
    assert.deepEqual(
      other.map((weight) => weight.name),
      expectedNames[index],
    );
    for (const [k, weight] of first.entries()) {
      if (weight.name.endsWith('/kernel')) {
        assert.notDeepEqual(other[k]!.values, weight.values, `${spec.planKind} ${weight.name}: another seed`);
        assert.ok(
          weight.values.some((value) => value !== 0),
          `${weight.name} is initialised, not zero`,
        );
      }
    }
  });
});
