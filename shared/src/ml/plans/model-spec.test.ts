import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Plan, planSchema } from '../../contracts/experiment-spec.ts';
import { ErrorCodes, FedpetError } from '../../errors/fedpet-error.ts';
import { asModelSpec, columnsRead, type ModelSpec, modelSpecOf, planHash } from './model-spec.ts';

/** A plan as the experiment spec would hold it: validated, defaults filled in. */
const plan = (value: Record<string, unknown>): Plan => planSchema.parse(value);

test('tabular-mlp: binary classification is bce, regression mse, over its features and label', () => {
  const binary = modelSpecOf(
    plan({
      kind: 'tabular-mlp',
      task: 'binary-classification',
      features: ['a', 'b'],
      label: 'y',
      hiddenUnits: [6, 3],
      activation: 'tanh',
      scaling: { a: { center: 1, scale: 2 } },
    }),
  );
  assert.equal(binary.planKind, 'tabular-mlp');
  assert.equal(binary.objective, 'bce');
  assert.deepEqual(binary.columns, ['a', 'b']);
  assert.deepEqual(binary.target, { kind: 'label', column: 'y' });
  assert.deepEqual(binary.hiddenUnits, [6, 3]);
  assert.equal(binary.activation, 'tanh');
  assert.deepEqual(binary.scaling, { a: { center: 1, scale: 2 } });
  assert.equal(binary.image, undefined);
  assert.deepEqual(columnsRead(binary), ['a', 'b', 'y']);

  const regression = modelSpecOf(
    plan({ kind: 'tabular-mlp', task: 'regression', features: ['a'], label: 'y' }),
  );
  assert.equal(regression.objective, 'mse');
  assert.deepEqual(regression.hiddenUnits, []);
});

test('response-classifier: RECIST response reads "responder", durable benefit "durable_benefit"', () => {
  const recist = modelSpecOf(plan({ kind: 'response-classifier', features: ['suv_max', 'age'] }));
  assert.equal(recist.objective, 'bce');
  assert.deepEqual(recist.target, { kind: 'label', column: 'responder' });
  assert.deepEqual(recist.columns, ['suv_max', 'age']);
  assert.deepEqual(recist.hiddenUnits, [8], 'the schema default');

  const durable = modelSpecOf(
    plan({ kind: 'response-classifier', outcome: 'durable-benefit', features: ['suv_max'] }),
  );
  assert.equal(durable.objective, 'bce');
  assert.deepEqual(durable.target, { kind: 'label', column: 'durable_benefit' });
  assert.deepEqual(columnsRead(durable), ['suv_max', 'durable_benefit']);
});

test('clinical-cox: a linear Cox model with a survival target of its time and event columns', () => {
  const defaults = modelSpecOf(plan({ kind: 'clinical-cox', features: ['age', 'ecog'] }));
  assert.equal(defaults.objective, 'cox');
  assert.deepEqual(defaults.target, { kind: 'survival', time: 'pfs_days', event: 'pfs_event' });
  assert.equal(defaults.ties, 'efron');
  assert.deepEqual(defaults.hiddenUnits, []);
  assert.equal(defaults.image, undefined);
  assert.deepEqual(columnsRead(defaults), ['age', 'ecog', 'pfs_days', 'pfs_event']);

  const custom = modelSpecOf(
    plan({ kind: 'clinical-cox', features: ['age'], time: 'os_days', event: 'death', ties: 'breslow' }),
  );
  assert.deepEqual(custom.target, { kind: 'survival', time: 'os_days', event: 'death' });
  assert.equal(custom.ties, 'breslow');
});

test('pet-mip-cnn: two-channel MIPs of mipSize, its filters, dense units and clinical columns', () => {
  const spec = modelSpecOf(
    plan({
      kind: 'pet-mip-cnn',
      mipSize: 48,
      filters: [4, 8],
      denseUnits: 12,
      clinicalFeatures: ['age'],
      time: 'os_days',
      event: 'death',
    }),
  );
  assert.equal(spec.objective, 'cox');
  assert.deepEqual(spec.image, { kind: 'mip', size: 48 });
  assert.deepEqual(spec.convFilters, [4, 8]);
  assert.equal(spec.denseUnits, 12);
  assert.deepEqual(spec.columns, ['age']);
  assert.deepEqual(spec.target, { kind: 'survival', time: 'os_days', event: 'death' });
  assert.equal(spec.requiresGpu, false);

  const defaults = modelSpecOf(plan({ kind: 'pet-mip-cnn' }));
  assert.deepEqual(defaults.image, { kind: 'mip', size: 64 });
  assert.deepEqual(defaults.columns, [], 'images only unless clinical features are named');
  assert.deepEqual(columnsRead(defaults), ['pfs_days', 'pfs_event']);
});

test('pet-ct-3dcnn: cubic crops of cropSize with one channel per named modality', () => {
  const petOnly = modelSpecOf(
    plan({ kind: 'pet-ct-3dcnn', cropSize: 24, channels: ['pet'], requiresGpu: true, filters: [2] }),
  );
  assert.equal(petOnly.objective, 'cox');
  assert.deepEqual(petOnly.image, { kind: 'crop', size: 24, channels: ['pet'] });
  assert.deepEqual(petOnly.convFilters, [2]);
  assert.equal(petOnly.requiresGpu, true);

  const defaults = modelSpecOf(plan({ kind: 'pet-ct-3dcnn' }));
  assert.deepEqual(defaults.image, { kind: 'crop', size: 32, channels: ['pet', 'ct'] });
  assert.equal(defaults.requiresGpu, false);
  assert.deepEqual(defaults.target, { kind: 'survival', time: 'pfs_days', event: 'pfs_event' });
});

test('exact-cox is not a network: modelSpecOf refuses it with INVALID_SPEC', () => {
  const exact = plan({ kind: 'exact-cox', features: ['age'] });
  assert.throws(
    () => modelSpecOf(exact),
    (error: unknown) =>
      error instanceof FedpetError && error.code === ErrorCodes.invalidSpec && /Newton/.test(error.message),
  );
  assert.throws(() => asModelSpec(exact), FedpetError);
});

test('planHash: the same plan hashes alike whatever the key order, nested keys included', () => {
  const a: Plan = {
    kind: 'clinical-cox',
    features: ['age', 'ecog'],
    time: 'pfs_days',
    event: 'pfs_event',
    ties: 'efron',
    scaling: { age: { center: 65, scale: 10 }, ecog: { center: 1, scale: 1 } },
  };
  const b = {
    scaling: { ecog: { scale: 1, center: 1 }, age: { scale: 10, center: 65 } },
    ties: 'efron',
    event: 'pfs_event',
    time: 'pfs_days',
    features: ['age', 'ecog'],
    kind: 'clinical-cox',
  } as Plan;
  assert.match(planHash(a), /^[0-9a-f]{64}$/);
  assert.equal(planHash(b), planHash(a));
  assert.equal(planHash(plan(a)), planHash(a), 'parsing a complete plan does not change its hash');
});

test('planHash changes when any field changes, feature order included', () => {
  const base = plan({ kind: 'pet-mip-cnn', mipSize: 32, clinicalFeatures: ['age', 'ecog'] });
  const variants: Plan[] = [
    { ...base, mipSize: 64 } as Plan,
    { ...base, filters: [8, 16] } as Plan,
    { ...base, clinicalFeatures: ['ecog', 'age'] } as Plan,
    { ...base, ties: 'breslow' } as Plan,
    { ...base, scaling: { age: { center: 60, scale: 10 } } } as Plan,
  ];
  const hashes = new Set([base, ...variants].map(planHash));
  assert.equal(hashes.size, variants.length + 1);
});

test('asModelSpec accepts a ModelSpec as is, a Plan, or the bare shape of a tabular MLP', () => {
  const fromPlan = asModelSpec(plan({ kind: 'clinical-cox', features: ['age'] }));
  assert.equal(fromPlan.objective, 'cox');
  assert.deepEqual(fromPlan.target, { kind: 'survival', time: 'pfs_days', event: 'pfs_event' });

  const spec: ModelSpec = modelSpecOf(plan({ kind: 'pet-mip-cnn', mipSize: 16 }));
  assert.equal(asModelSpec(spec), spec, 'a spec passes through untouched');

  const shape = asModelSpec({
    task: 'binary-classification',
    features: ['x1', 'x2'],
    hiddenUnits: [4],
    activation: 'relu',
  });
  assert.equal(shape.planKind, 'tabular-mlp');
  assert.equal(shape.objective, 'bce');
  assert.deepEqual(shape.columns, ['x1', 'x2']);
  assert.deepEqual(shape.target, { kind: 'label', column: 'label' }, 'the default label column');
  assert.deepEqual(shape.scaling, {});
  assert.deepEqual(shape.hiddenUnits, [4]);

  const labelled = asModelSpec({
    task: 'regression',
    features: ['x1'],
    hiddenUnits: [],
    activation: 'tanh',
    label: 'outcome',
  });
  assert.equal(labelled.objective, 'mse');
  assert.deepEqual(labelled.target, { kind: 'label', column: 'outcome' });
  assert.equal(labelled.activation, 'tanh');
});
