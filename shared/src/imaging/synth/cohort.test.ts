import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { after, before, test } from 'node:test';
import { ErrorCodes, FedpetError } from '../../errors/fedpet-error.ts';
import { CLINICAL_CSV_HEADER } from './clinical-csv.ts';
import {
  type CohortOptions,
  type CohortSummary,
  GROUND_TRUTH_FILE,
  type GroundTruth,
  generatePetCtCohort,
} from './cohort.ts';
import { readBack } from './dicom-read-back.ts';

let root: string;
const progress: { hospital: string; patient: number; of: number }[] = [];
let first: CohortSummary;

const tiny = (outDirectory: string, extra: Partial<CohortOptions> = {}): CohortOptions => ({
  outDirectory,
  hospitals: ['h1', 'h2', 'h3'],
  patientsPerHospital: [2, 1, 1],
  seed: 4242,
  grid: { petMatrix: 24, sliceThicknessMm: 24 },
  workers: 0,
  ...extra,
});

async function listFiles(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(directory, join(e.parentPath, e.name)).split(sep).join('/'))
    .sort();
}

async function hashes(directory: string): Promise<Map<string, string>> {
  const result = new Map<string, string>();
  for (const file of await listFiles(directory)) {
    result.set(
      file,
      createHash('sha256')
        .update(await readFile(join(directory, file)))
        .digest('hex'),
    );
  }
  return result;
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'fedpet-synth-cohort-'));
  first = await generatePetCtCohort(tiny(join(root, 'a'), { onProgress: (event) => progress.push(event) }));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('the same seed gives byte-identical output, with or without worker threads; another seed differs', async () => {
  await generatePetCtCohort(tiny(join(root, 'b')));
  const threaded = await generatePetCtCohort(tiny(join(root, 'c'), { workers: 2 }));
  assert.equal(threaded.workers, 2, 'worker threads started');
  assert.equal(first.workers, 0);
  await generatePetCtCohort(tiny(join(root, 'd'), { seed: 4243 }));
  const a = await hashes(join(root, 'a'));
  assert.ok(a.size > 100);
  assert.deepEqual(await hashes(join(root, 'b')), a);
  assert.deepEqual(await hashes(join(root, 'c')), a);
  const d = await hashes(join(root, 'd'));
  assert.notDeepEqual(d, a);
  assert.notEqual(d.get('h1/clinical.csv'), a.get('h1/clinical.csv'));
});

test('the summary matches the files on disk and the CSV events', async () => {
  const all = await listFiles(join(root, 'a'));
  const dicom = all.filter((f) => f.endsWith('.dcm'));
  assert.equal(first.files, dicom.length);
  assert.equal(first.patients, 4);
  let bytes = 0;
  for (const f of dicom) bytes += (await readFile(join(root, 'a', f))).length;
  assert.equal(first.bytes, bytes);
  assert.deepEqual(
    first.hospitals.map((h) => [h.hospital, h.vendor, h.layout, h.patients]),
    [
      ['h1', 'siemens', 'nested', 2],
      ['h2', 'ge', 'deep', 1],
      ['h3', 'philips', 'flat', 1],
    ],
  );
  for (const h of first.hospitals) {
    const csv = await readFile(h.clinicalCsv, 'utf8');
    const events = csv
      .trim()
      .split('\n')
      .slice(1)
      .filter((line) => line.split(',')[8] === '1').length;
    assert.equal(h.events, events);
    assert.equal(h.events + h.censored, h.patients);
  }
  assert.equal(progress.length, 4);
  for (const h of first.hospitals) {
    const mine = progress.filter((p) => p.hospital === h.hospital);
    assert.deepEqual(
      mine.map((p) => p.patient),
      Array.from({ length: h.patients }, (_, i) => i + 1),
    );
    assert.ok(mine.every((p) => p.of === h.patients));
  }
});

test('clinical.csv has the exact header and valid values, one row per patient', async () => {
  for (const h of first.hospitals) {
    const lines = (await readFile(h.clinicalCsv, 'utf8')).trimEnd().split('\n');
    assert.equal(
      lines[0],
      'patient_id,age,sex,ecog,pdl1_tps,histology,treatment_line,pfs_days,pfs_event,best_response',
    );
    assert.equal(lines[0], CLINICAL_CSV_HEADER);
    const rows = lines.slice(1).map((line) => line.split(','));
    assert.equal(rows.length, h.patients);
    const label = h.hospital.toUpperCase();
    for (const [
      i,
      [id, age, sex, ecog, pdl1, histology, line, days, event, response, ...extra],
    ] of rows.entries()) {
      assert.deepEqual(extra, []);
      assert.equal(id, `SYN-${label}-${String(i + 1).padStart(4, '0')}`);
      assert.ok(Number.isInteger(Number(age)) && Number(age) >= 35 && Number(age) <= 90);
      assert.ok(sex === 'M' || sex === 'F');
      assert.ok(['0', '1', '2'].includes(ecog ?? ''));
      assert.ok(Number.isInteger(Number(pdl1)) && Number(pdl1) >= 0 && Number(pdl1) <= 100);
      assert.ok(['adenocarcinoma', 'squamous', 'other'].includes(histology ?? ''));
      assert.ok(['1', '2', '3'].includes(line ?? ''));
      assert.ok(Number.isInteger(Number(days)) && Number(days) >= 1);
      assert.ok(event === '0' || event === '1');
      assert.ok(['CR', 'PR', 'SD', 'PD'].includes(response ?? ''));
    }
  }
});

test('ground truth is at the top, outside every hospital directory, and consistent', async () => {
  const all = await listFiles(join(root, 'a'));
  assert.equal(first.groundTruthFile, join(root, 'a', GROUND_TRUTH_FILE));
  assert.deepEqual(
    all.filter((f) => !f.includes('/')),
    [GROUND_TRUTH_FILE],
  );
  // A hospital's tree holds its DICOM files and its clinical table, nothing else.
  for (const f of all.filter((x) => x.includes('/'))) {
    assert.match(f, /^h[123]\/(clinical\.csv|dicom\/.+\.dcm)$/);
  }
  const truth = JSON.parse(await readFile(first.groundTruthFile, 'utf8')) as GroundTruth;
  assert.match(truth.notice, /never read/);
  assert.equal(truth.seed, 4242);
  assert.equal(truth.model.betaMtvPerSd, Math.log(1.7));
  assert.deepEqual(
    truth.hospitals.map((h) => h.hospital),
    ['h1', 'h2', 'h3'],
  );
  for (const h of truth.hospitals) {
    const csvIds = (await readFile(join(root, 'a', h.hospital, 'clinical.csv'), 'utf8'))
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.split(',')[0]);
    assert.deepEqual(
      h.patients.map((p) => p.patientId),
      csvIds,
    );
    for (const p of h.patients) {
      assert.ok(Math.abs(p.hazardRatio - Math.exp(p.linearPredictor)) < 1e-12);
      const sum = p.lesions.reduce((s, l) => s + (4 / 3) * Math.PI * l.radiusMm ** 3 * 1e-3, 0);
      assert.ok(Math.abs(p.totalMtvMl - sum) < 1e-9);
      assert.ok(p.lesions.every((l) => l.volumeMl < 150));
      assert.ok(p.brainInFovMl > 150 && p.bladderMl > 150);
    }
  }
});

test('DICOM files carry only the pseudonym, in a tree whose depth differs by hospital', async () => {
  const dicom = (await listFiles(join(root, 'a'))).filter((f) => f.endsWith('.dcm'));
  const depths = new Map<string, Set<number>>();
  for (const f of dicom) {
    const [hospital, , patientFolder] = f.split('/');
    const dataset = readBack(await readFile(join(root, 'a', f)));
    assert.equal(dataset.PatientID, patientFolder);
    assert.match(String(dataset.PatientID), /^SYN-H[123]-\d{4}$/);
    assert.deepEqual(dataset.PatientName, [{ Alphabetic: patientFolder }]);
    assert.equal(dataset.PatientBirthDate, '');
    assert.equal(dataset.PatientIdentityRemoved, 'YES');
    const set = depths.get(hospital ?? '') ?? new Set<number>();
    set.add(f.split('/').length);
    depths.set(hospital ?? '', set);
  }
  assert.deepEqual([...(depths.get('h1') ?? [])], [6]);
  assert.deepEqual([...(depths.get('h2') ?? [])], [7]);
  assert.deepEqual([...(depths.get('h3') ?? [])], [4]);
});

test('invalid options fail with a configuration error naming the problem', async () => {
  const cases: [Partial<CohortOptions>, RegExp][] = [
    [{ hospitals: ['h1', 'H1'], patientsPerHospital: [1, 1] }, /unique/],
    [{ hospitals: ['h1'], patientsPerHospital: [1, 2] }, /one count per hospital/],
    [{ hospitals: ['../x'], patientsPerHospital: [1] }, /hospital id/],
    [{ hospitals: ['h1'], patientsPerHospital: [0] }, /patient count/],
  ];
  for (const [override, message] of cases) {
    await assert.rejects(generatePetCtCohort(tiny(join(root, 'bad'), override)), (error: unknown) => {
      assert.ok(error instanceof FedpetError);
      assert.equal(error.code, ErrorCodes.invalidConfig);
      assert.match(error.message, message);
      return true;
    });
  }
});
