import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { TabularMlpPlan } from '@fedpet/shared/contracts/experiment-spec';
import { nodeStatusSchema } from '@fedpet/shared/contracts/messages';
import { PET_CT_COLUMN_NAMES } from '@fedpet/shared/imaging/pipeline/patient-table';
import { loadPetCtDataset, type PetCtDataset } from '@fedpet/shared/imaging/pipeline/pet-ct-dataset';
import { type CohortSummary, generatePetCtCohort } from '@fedpet/shared/imaging/synth/cohort';
import { createLogger } from '@fedpet/shared/log/logger';
import { type ModelSpec, modelSpecOf } from '@fedpet/shared/ml/plans/model-spec';
import { DatasetRegistry, reportedCount } from './dataset-registry.ts';
import { RegistryStore } from './registry/registry-store.ts';

let root: string;
let cohort: CohortSummary;
let store: RegistryStore;
let registry: DatasetRegistry;
/** Every log line the registry wrote while opening. */
const logLines: string[] = [];
/** 'big' as the trainer holds it, loaded again here from the same cache. */
let big: PetCtDataset;
let bigCsv: string;
let brokenPatient: string;

const plan = (features: string[], label = 'pfs_event', scaling: TabularMlpPlan['scaling'] = {}): ModelSpec =>
  modelSpecOf({
    kind: 'tabular-mlp',
    task: 'binary-classification',
    features,
    label,
    hiddenUnits: [],
    activation: 'relu',
    scaling,
  });

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'fedpet-dataset-registry-'));
  cohort = await generatePetCtCohort({
    outDirectory: join(root, 'cohort'),
    hospitals: ['h1', 'h2'],
    patientsPerHospital: [6, 2],
    seed: 99,
    grid: { petMatrix: 24, sliceThicknessMm: 24 },
    workers: 0,
  });
  const [h1, h2] = cohort.hospitals;
  assert.ok(h1 && h2);
  // One bad clinical row in 'big': six patients with imaging, five usable.
  const lines = (await readFile(h1.clinicalCsv, 'utf8')).trimEnd().split('\n');
  brokenPatient = lines[3]!.split(',')[0]!;
  lines[3] = lines[3]!.replace(/^([^,]+),[^,]+,/, '$1,abc,');
  bigCsv = join(root, 'big.csv');
  await writeFile(bigCsv, `${lines.join('\n')}\n`);
  const table = join(root, 'table.csv');
  await writeFile(table, 'age,ecog,event\n61,0,1\n70,1,0\n55,2,1\n');

  store = new RegistryStore(join(root, 'data'));
  const addedAt = new Date().toISOString();
  await store.add({
    name: 'big',
    kind: 'pet-ct',
    dicom: h1.dicomDirectory,
    clinical: bigCsv,
    columns: {},
    tags: ['nsclc', 'fdg'],
    addedAt,
  });
  await store.add({
    name: 'small',
    kind: 'pet-ct',
    dicom: h2.dicomDirectory,
    clinical: h2.clinicalCsv,
    columns: {},
    tags: [],
    addedAt,
  });
  const logger = createLogger({ service: 'trainer', level: 'debug', write: (line) => logLines.push(line) });
  registry = await DatasetRegistry.open([{ name: 'table', path: table }], { store, logger });
  big = await loadPetCtDataset({
    dicomDirectory: h1.dicomDirectory,
    clinicalFile: bigCsv,
    cacheDirectory: store.cacheDirectory,
  });
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('summary: counts with the <5 rule, shapes and tags, valid as node status', () => {
  assert.equal(big.fromCache, true, 'open() cached the imaging');
  assert.equal(registry.size, 3);
  const summary = registry.summary();
  const byName = new Map(summary.map((d) => [d.name, d]));
  assert.deepEqual(byName.get('table'), { name: 'table', kind: 'csv', rows: '<5', columns: 3, tags: [] });

  const events = big.patients.filter((p) => p.usable && p.clinical?.pfsEvent === 1).length;
  const shapes = big.manifest.tensorShapes;
  assert.deepEqual(shapes, { mip: [2, 64, 64], petCrop: [32, 32, 32], ctCrop: [32, 32, 32] });
  assert.deepEqual(byName.get('big'), {
    name: 'big',
    kind: 'pet-ct',
    rows: 5,
    columns: PET_CT_COLUMN_NAMES.length,
    tags: ['nsclc', 'fdg'],
    events: reportedCount(events),
    shapes,
  });
  const small = byName.get('small');
  assert.equal(small?.kind, 'pet-ct');
  assert.equal(small?.rows, '<5');
  assert.equal(small?.events, '<5');
  assert.deepEqual(small?.tags, []);

  // The summary goes out in node status: it must satisfy that contract.
  for (const dataset of summary) {
    assert.ok(nodeStatusSchema.shape.datasets.element.safeParse(dataset).success, dataset.name);
  }
});

test('what the registry shares holds no pseudonym, date or UID', () => {
  const shared = JSON.stringify(registry.summary());
  assert.doesNotMatch(shared, /SYN-/);
  assert.doesNotMatch(shared, /\b(19|20)\d{6}\b/, 'no DICOM date');
  assert.doesNotMatch(shared, /\d+(\.\d+){3,}/, 'nothing UID-like');
  for (const p of big.patients) {
    assert.ok(!shared.includes(p.patientId));
    for (const series of p.imaging?.seriesFound ?? []) assert.ok(!shared.includes(series.seriesInstanceUid));
  }
  // The trainer's own log lines while loading: counts, never patient ids.
  assert.ok(logLines.length > 0);
  const log = logLines.join('\n');
  assert.doesNotMatch(log, /SYN-/);
  assert.ok(!log.includes(brokenPatient));
  const warning = logLines.map((l) => JSON.parse(l)).find((l) => l.msg === 'dataset has problems');
  assert.equal(warning?.dataset, 'big');
  assert.equal(warning?.patientsNotUsable, 1);
  assert.equal(warning?.clinicalRowsRejected, 1);
});

test('load(name, plan) gives the plan’s columns over the usable patients, scaled as the plan says', async () => {
  const usable = big.patients.filter((p) => p.usable);
  assert.equal(usable.length, 5);
  const data = await registry.load(
    'big',
    plan(['age', 'mtv_ml', 'ecog'], 'pfs_event', { age: { center: 60, scale: 10 } }),
  );
  assert.equal(data.tabularWidth, 3);
  assert.equal(data.rows, 5);
  assert.equal(data.tabular.length, 15);
  usable.forEach((p, row) => {
    const c = p.clinical!;
    const mtv = p.imaging!.imaging!.features.segmentations.isocontour.totalMtvMl;
    assert.deepEqual(
      [...data.tabular.subarray(row * 3, row * 3 + 3)],
      [Math.fround((c.age - 60) / 10), Math.fround(mtv), c.ecog],
    );
    assert.equal(data.target[row], c.pfsEvent);
  });
  assert.ok(!usable.some((p) => p.patientId === brokenPatient));

  const csv = await registry.load('table', plan(['age', 'ecog'], 'event'));
  assert.equal(csv.rows, 3);
  assert.deepEqual([...csv.target], [1, 0, 1]);
});

test('an unknown column or dataset is an error naming it', async () => {
  await assert.rejects(registry.load('big', plan(['age', 'tumour_size'])), /'tumour_size'/);
  await assert.rejects(registry.load('small', plan(['age'], 'os_event')), /'os_event'/);
  await assert.rejects(registry.load('missing', plan(['age'])), (error: Error) => {
    assert.match(error.message, /"missing"/);
    assert.match(error.message, /big/);
    return true;
  });
});

test('a second open (the next trainer start) takes the imaging from the cache', async () => {
  const lines: string[] = [];
  const logger = createLogger({ service: 'trainer', write: (line) => lines.push(line) });
  const again = await DatasetRegistry.open([], { store, logger });
  assert.deepEqual(
    again.summary(),
    registry.summary().filter((d) => d.kind === 'pet-ct'),
  );
  const loaded = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'dataset loaded');
  assert.deepEqual(
    loaded.map((l) => [l.dataset, l.fromCache]),
    [
      ['big', true],
      ['small', true],
    ],
  );
});
