import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import {
  concatTabularData,
  loadTabularCsv,
  parseTabularCsv,
  splitTrainValidation,
  type TabularColumns,
  type TabularData,
} from './tabular-dataset.ts';

const plan: TabularColumns = {
  task: 'binary-classification',
  features: ['suv_max', 'age'],
  label: 'relapse',
};
const directory = await mkdtemp(join(tmpdir(), 'fedpet-ml-csv-'));
after(() => rm(directory, { recursive: true, force: true }));

function expectError(code: string, ...fragments: string[]): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof FedpetError, `expected a FedpetError, got ${String(error)}`);
    assert.equal(error.code, code);
    for (const fragment of fragments)
      assert.ok(error.message.includes(fragment), `'${error.message}' lacks '${fragment}'`);
    return true;
  };
}

test('loads the plan columns in plan order, skipping others, blank lines and a BOM', async () => {
  const path = join(directory, 'ok.csv');
  await writeFile(path, '\uFEFFage,site,relapse,suv_max\r\n61,3,1,7.5\r\n\r\n45,2,0,-2e-1\n');
  const data = await loadTabularCsv(path, plan);
  assert.equal(data.rows, 2);
  assert.equal(data.featureCount, 2);
  assert.deepEqual([...data.features], [7.5, 61, Math.fround(-0.2), 45]);
  assert.deepEqual([...data.labels], [1, 0]);
});

test('a missing file is DATASET_MISSING naming the path', async () => {
  const path = join(directory, 'absent.csv');
  await assert.rejects(loadTabularCsv(path, plan), expectError(ErrorCodes.datasetMissing, path));
});

test('a missing column names the file and the column', () => {
  assert.throws(
    () => parseTabularCsv('age,relapse\n50,1\n', plan, 'site-a.csv'),
    expectError(ErrorCodes.datasetInvalid, 'site-a.csv', "'suv_max'"),
  );
});

test('a non-numeric value names the file, line, row and column but not the value', () => {
  const text = 'suv_max,age,relapse\n1.5,40,0\n2.5,sixty,1\n';
  assert.throws(
    () => parseTabularCsv(text, plan, 'site-b.csv'),
    (error: unknown) => {
      expectError(ErrorCodes.datasetInvalid, 'site-b.csv', 'line 3', 'data row 2', "'age'")(error);
      assert.ok(!(error as Error).message.includes('sixty'), 'the message must not echo data');
      return true;
    },
  );
  for (const bad of ['', 'NaN', 'Infinity', '0x10', '1,5']) {
    assert.throws(() => parseTabularCsv(`suv_max,age,relapse\n${bad},40,0\n`, plan, 'x.csv'), FedpetError);
  }
});

test('a wrong field count, a non-binary label and an empty file are rejected', () => {
  assert.throws(
    () => parseTabularCsv('suv_max,age,relapse\n1,2\n', plan, 'c.csv'),
    expectError(ErrorCodes.datasetInvalid, 'c.csv', 'line 2', '2 fields'),
  );
  assert.throws(
    () => parseTabularCsv('suv_max,age,relapse\n1,2,2\n', plan, 'c.csv'),
    expectError(ErrorCodes.datasetInvalid, "'relapse'", '0 or 1'),
  );
  assert.equal(
    parseTabularCsv('suv_max,age,relapse\n1,2,2.5\n', { ...plan, task: 'regression' }, 'r.csv').labels[0],
    2.5,
  );
  assert.throws(() => parseTabularCsv('', plan, 'e.csv'), expectError(ErrorCodes.datasetInvalid, 'e.csv'));
  assert.throws(
    () => parseTabularCsv('suv_max,age,relapse\n', plan, 'e.csv'),
    expectError(ErrorCodes.datasetInvalid, 'no data rows'),
  );
  assert.throws(
    () => parseTabularCsv('age,age,relapse,suv_max\n', plan, 'd.csv'),
    expectError(ErrorCodes.datasetInvalid, "'age' twice"),
  );
});

function syntheticBinary(rows: number, positives: number): TabularData {
  const features = new Float32Array(rows * 2);
  const labels = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    features[i * 2] = i;
    features[i * 2 + 1] = -i;
    labels[i] = i < positives ? 1 : 0;
  }
  return { features, labels, rows, featureCount: 2 };
}

test('the split is stratified by label, deterministic by seed, and keeps rows intact', () => {
  const data = syntheticBinary(1000, 100);
  const { train, validation } = splitTrainValidation(data, 0.2, 11);
  assert.equal(validation.rows, 200);
  assert.equal(train.rows, 800);
  const positives = (part: TabularData) => part.labels.reduce((sum, label) => sum + label, 0);
  assert.equal(positives(validation), 20);
  assert.equal(positives(train), 80);
  for (let i = 0; i < validation.rows; i++) {
    const original = validation.features[i * 2]!;
    assert.equal(validation.features[i * 2 + 1], -original);
    assert.equal(validation.labels[i], original < 100 ? 1 : 0);
  }
  const trainIds = new Set(train.features.filter((_, i) => i % 2 === 0));
  assert.ok(validation.features.filter((_, i) => i % 2 === 0).every((id) => !trainIds.has(id)));
  assert.deepEqual(splitTrainValidation(data, 0.2, 11), { train, validation });
  assert.notDeepEqual(splitTrainValidation(data, 0.2, 12).validation.features, validation.features);
});

test('regression labels split without stratification; bad fractions are refused', () => {
  const data = syntheticBinary(10, 0);
  data.labels.forEach((_, i) => {
    data.labels[i] = i * 0.5;
  });
  const { train, validation } = splitTrainValidation(data, 0.3, 1);
  assert.equal(validation.rows, 3);
  assert.equal(train.rows, 7);
  assert.throws(() => splitTrainValidation(data, 0.3, 1, { stratify: true }), FedpetError);
  assert.throws(() => splitTrainValidation(data, 1, 1), FedpetError);
  assert.equal(splitTrainValidation(data, 0, 1).validation.rows, 0);
});

test('concatTabularData pools rows in order', () => {
  const a = syntheticBinary(3, 1);
  const b = syntheticBinary(2, 2);
  const pooled = concatTabularData([a, b]);
  assert.equal(pooled.rows, 5);
  assert.deepEqual([...pooled.labels], [1, 0, 0, 1, 1]);
  assert.deepEqual([...pooled.features.subarray(6)], [0, -0, 1, -1]);
});
