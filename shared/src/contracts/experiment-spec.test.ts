import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FedpetError } from '../errors/fedpet-error.ts';
import { parseExperimentSpec } from './spec-loader.ts';

const valid = `
name: demo
plan: { kind: tabular-mlp, task: binary-classification, features: [x1, x2], label: y }
dataset: tabular
hospitals: [h1, h2]
rounds: 3
`;

test('a minimal YAML spec gets documented defaults', () => {
  const spec = parseExperimentSpec(valid, 'demo.yaml');
  assert.equal(spec.rounds, 3);
  assert.deepEqual(spec.hyperparameters, {
    localEpochs: 1,
    batchSize: 32,
    learningRate: 0.05,
    optimizer: 'sgd',
  });
  assert.equal(spec.seed, 0);
  assert.equal(spec.validationFraction, 0.2);
  assert.equal(spec.plan.kind, 'tabular-mlp');
  assert.deepEqual(spec.plan.kind === 'tabular-mlp' && spec.plan.hiddenUnits, []);
});

test('JSON is accepted as well as YAML', () => {
  const spec = parseExperimentSpec(
    JSON.stringify({
      name: 'j',
      plan: { kind: 'tabular-mlp', task: 'regression', features: ['a'], label: 'b' },
      dataset: 'd',
      hospitals: ['h1'],
      rounds: 1,
    }),
    'j.json',
  );
  assert.equal(spec.plan.kind === 'tabular-mlp' && spec.plan.task, 'regression');
});

test('errors name the source and every bad field', () => {
  const cases: [string, RegExp][] = [
    [valid.replace('rounds: 3', 'rounds: 0'), /demo\.yaml: rounds: /],
    [valid.replace('[h1, h2]', '[h1, h1]'), /hospitals: hospitals must be unique/],
    [valid + 'unknownField: 1\n', /unrecognized key.*unknownField|unknownField/i],
    [valid.replace('kind: tabular-mlp', 'kind: resnet'), /plan/],
    [valid + 'minHospitals: 3\n', /minHospitals: cannot exceed/],
    ['name: [unclosed', /not valid YAML\/JSON/],
  ];
  for (const [text, pattern] of cases) {
    assert.throws(
      () => parseExperimentSpec(text, 'demo.yaml'),
      (error: unknown) =>
        error instanceof FedpetError && error.code === 'INVALID_SPEC' && pattern.test(error.message),
      `expected ${pattern} for:\n${text}`,
    );
  }
});
