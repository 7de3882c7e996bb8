import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FedpetError } from '../errors/fedpet-error.ts';
import { generateSyntheticTabular, tableToCsv, writeCsv } from './synthetic-cohort.ts';
import { loadTabularCsv } from './tabular-dataset.ts';

const directory = await mkdtemp(join(tmpdir(), 'fedpet-ml-cohort-'));
after(() => rm(directory, { recursive: true, force: true }));

const options = {
  hospitals: ['north', 'centre', 'south'],
  rowsPerHospital: [400, 200, 600],
  features: 5,
  seed: 3,
  shift: 1,
};

function columnMean(rows: number[][], column: number): number {
  return rows.reduce((sum, row) => sum + row[column]!, 0) / rows.length;
}

test('the same seed gives the same cohort; another seed a different one', () => {
  const cohort = generateSyntheticTabular(options);
  assert.deepEqual(generateSyntheticTabular(options), cohort);
  assert.notDeepEqual(
    generateSyntheticTabular({ ...options, seed: 4 }).hospitals[0]!.table.rows,
    cohort.hospitals[0]!.table.rows,
  );
  assert.deepEqual(cohort.features, ['x1', 'x2', 'x3', 'x4', 'x5']);
  assert.deepEqual(cohort.hospitals[0]!.table.columns, ['x1', 'x2', 'x3', 'x4', 'x5', 'label']);
  assert.deepEqual(
    cohort.hospitals.map((h) => h.table.rows.length),
    [400, 200, 600],
  );
  for (const hospital of cohort.hospitals) {
    assert.ok(hospital.table.rows.every((row) => row[5] === 0 || row[5] === 1));
  }
});

test('hospitals are non-IID: label prevalence and feature means differ; shift 0 makes them alike', () => {
  const cohort = generateSyntheticTabular({ ...options, rowsPerHospital: 2000 });
  const prevalences = cohort.hospitals.map((h) => h.prevalence);
  // Hospitals sit at -1, 0, +1 along the ground-truth direction, so prevalence rises across them.
  assert.ok(prevalences[0]! < 0.3 && prevalences[2]! > 0.7, `prevalences ${prevalences}`);
  const means = cohort.hospitals.map((h) => columnMean(h.table.rows, 0));
  assert.ok(Math.max(...means) - Math.min(...means) > 0.3, `x1 means ${means}`);

  const iid = generateSyntheticTabular({ ...options, rowsPerHospital: 2000, shift: 0 });
  const iidPrevalences = iid.hospitals.map((h) => h.prevalence);
  assert.ok(
    Math.max(...iidPrevalences) - Math.min(...iidPrevalences) < 0.06,
    `iid prevalences ${iidPrevalences}`,
  );
});

test('labels follow the logistic ground truth', () => {
  const cohort = generateSyntheticTabular({ ...options, hospitals: ['one'], rowsPerHospital: 4000 });
  const { weights, bias } = cohort.groundTruth;
  let logLikelihood = 0;
  for (const row of cohort.hospitals[0]!.table.rows) {
    const logit = weights.reduce((sum, w, j) => sum + w * row[j]!, bias);
    const p = 1 / (1 + Math.exp(-logit));
    logLikelihood += row[5] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  // Far better than predicting the base rate, which scores about -ln 2 per row.
  assert.ok(-logLikelihood / 4000 < 0.45, `mean log loss ${-logLikelihood / 4000}`);
});

test('a hospital keeps its rows when another hospital is added', () => {
  const two = generateSyntheticTabular({
    ...options,
    hospitals: ['north', 'south'],
    rowsPerHospital: 50,
    shift: 0,
  });
  const three = generateSyntheticTabular({
    ...options,
    hospitals: ['north', 'east', 'south'],
    rowsPerHospital: 50,
    shift: 0,
  });
  assert.deepEqual(three.hospitals[0]!.table, two.hospitals[0]!.table);
});

test('writeCsv output loads back with the same values', async () => {
  const cohort = generateSyntheticTabular({ ...options, rowsPerHospital: 30 });
  const hospital = cohort.hospitals[1]!;
  const path = join(directory, 'nested', `${hospital.hospital}.csv`);
  await writeCsv(path, hospital.table);
  const data = await loadTabularCsv(path, {
    task: 'binary-classification',
    features: cohort.features,
    label: 'label',
  });
  assert.equal(data.rows, 30);
  assert.deepEqual(
    [...data.features],
    hospital.table.rows.flatMap((row) => row.slice(0, 5).map(Math.fround)),
  );
  assert.deepEqual(
    [...data.labels],
    hospital.table.rows.map((row) => row[5]),
  );
});

test('bad options and unwritable tables are refused', () => {
  assert.throws(() => generateSyntheticTabular({ ...options, hospitals: [] }), FedpetError);
  assert.throws(
    () => generateSyntheticTabular({ ...options, hospitals: ['a', 'a'], rowsPerHospital: 5 }),
    FedpetError,
  );
  assert.throws(() => generateSyntheticTabular({ ...options, rowsPerHospital: [1, 2] }), FedpetError);
  assert.throws(() => generateSyntheticTabular({ ...options, features: 0 }), FedpetError);
  assert.throws(() => generateSyntheticTabular({ ...options, shift: -1 }), FedpetError);
  assert.throws(() => tableToCsv({ columns: ['a,b'], rows: [] }), FedpetError);
  assert.throws(() => tableToCsv({ columns: ['a'], rows: [[1, 2]] }), FedpetError);
  assert.throws(() => tableToCsv({ columns: ['a'], rows: [[Number.NaN]] }), FedpetError);
});
