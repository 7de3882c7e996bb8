/**
 * `fedpet-trainer dataset ...` as the hospital's operator runs it: real
 * processes on a tiny synthetic cohort, with the registry in a temporary
 * data directory. (These are local tools: they may show pseudonyms. What the
 * trainer service shares and logs is covered elsewhere.)
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type CohortSummary, generatePetCtCohort } from '../../shared/src/imaging/synth/cohort.ts';
import { type CliResult, cli, runCli } from '../support/run-cli.ts';

let root: string;
let dataDir: string;
let cohort: CohortSummary;
let dicom: string;
let clinical: string;
let patientIds: string[];

const dataset = (...args: string[]): Promise<CliResult> =>
  runCli(cli.trainer, ['dataset', ...args, '--data-dir', dataDir], { timeoutMs: 60_000 });

/** The exit code, with the output when it is not the expected one. */
function assertExit(result: CliResult, code: number): void {
  assert.equal(
    result.code,
    code,
    `exit ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
  );
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'fedpet-dataset-cli-'));
  dataDir = join(root, 'data');
  cohort = await generatePetCtCohort({
    outDirectory: join(root, 'cohort'),
    hospitals: ['h1'],
    patientsPerHospital: [3],
    vendors: ['siemens'],
    seed: 5,
    grid: { petMatrix: 24, sliceThicknessMm: 24 },
    workers: 0,
  });
  dicom = cohort.hospitals[0]!.dicomDirectory;
  clinical = cohort.hospitals[0]!.clinicalCsv;
  patientIds = (await readFile(clinical, 'utf8'))
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.split(',')[0]!);
  assert.equal(patientIds.length, 3);
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('add, list, inspect, re-add, remove: the registered dataset’s life', async () => {
  const added = await dataset(
    'add',
    '--name',
    'lung',
    '--kind',
    'pet-ct',
    '--dicom',
    dicom,
    '--clinical',
    clinical,
    '--tags',
    'nsclc,fdg',
  );
  assertExit(added, 0);
  assert.match(
    added.stdout,
    /registered pet-ct dataset "lung": 3 patients, 3 usable \(\d+ progression events\), \d+ files, preprocessed in/,
  );
  assert.match(added.stderr, /preprocessed imaging cached/);

  // The same name again without --replace: refused, nothing changed. Listing runs meanwhile.
  const [again, list, listJson] = await Promise.all([
    dataset('add', '--name', 'lung', '--kind', 'pet-ct', '--dicom', dicom, '--clinical', clinical),
    dataset('list'),
    dataset('list', '--json'),
  ]);
  assertExit(again, 2);
  assert.match(again.stderr, /a dataset named "lung" is already registered \(use --replace\)/);
  assertExit(list, 0);
  assert.match(list.stdout, /^lung\s+pet-ct\s+/m);
  assert.ok(list.stdout.includes(dicom) && list.stdout.includes(clinical), list.stdout);
  assert.match(list.stdout, /\[nsclc, fdg\]/);
  assertExit(listJson, 0);
  const entries = JSON.parse(listJson.stdout);
  assert.equal(entries.length, 1);
  assert.deepEqual(
    { name: entries[0].name, kind: entries[0].kind, dicom: entries[0].dicom, tags: entries[0].tags },
    { name: 'lung', kind: 'pet-ct', dicom, tags: ['nsclc', 'fdg'] },
  );

  const [text, json] = await Promise.all([dataset('inspect', 'lung'), dataset('inspect', 'lung', '--json')]);
  assertExit(text, 0);
  assert.match(text.stderr, /found in the cache/, 'inspect reads the imaging add cached');
  for (const id of patientIds) assert.match(text.stdout, new RegExp(`^${id}  ok$`, 'm'));
  for (const word of ['factor', 'BQML', 'SUVmax', 'MTV41%', 'decay START']) {
    assert.ok(text.stdout.includes(word), `inspect shows ${word}:\n${text.stdout}`);
  }
  assertExit(json, 0);
  const report = JSON.parse(json.stdout);
  assert.equal(report.fromCache, true);
  assert.deepEqual(
    report.patients.map((p: { patientId: string }) => p.patientId),
    patientIds,
  );
  for (const p of report.patients) {
    assert.equal(p.usable, true);
    const derivation = p.imaging.imaging.suvDerivation;
    assert.equal(derivation.units, 'BQML');
    assert.ok(p.imaging.imaging.suvFactor > 0);
    assert.equal(typeof p.imaging.imaging.features.suvMax, 'number');
  }
  assert.equal(report.tensors, undefined, 'no tensor data in the report');

  const replaced = await dataset(
    'add',
    '--name',
    'lung',
    '--kind',
    'pet-ct',
    '--dicom',
    dicom,
    '--clinical',
    clinical,
    '--replace',
  );
  assertExit(replaced, 0);
  assert.match(replaced.stdout, /preprocessing reused from the cache/);
  assert.match(replaced.stderr, /found in the cache/);

  const removed = await dataset('remove', 'lung');
  assertExit(removed, 0);
  assert.match(removed.stdout, /removed dataset "lung"/);
  const [emptyList, gone, removeAgain] = await Promise.all([
    dataset('list'),
    // No longer a name: taken as a folder path, which does not exist.
    dataset('inspect', 'lung'),
    dataset('remove', 'lung'),
  ]);
  assertExit(emptyList, 0);
  assert.match(emptyList.stdout, /no datasets registered/);
  assertExit(gone, 1);
  assert.match(gone.stderr, /^fedpet-trainer dataset: DICOM folder \S*lung: cannot read \(ENOENT\)/m);
  assertExit(removeAgain, 1);
  assert.match(removeAgain.stderr, /no dataset named "lung"/);
});

test('inspect of an unregistered folder, add with a missing --dicom path, and --help', async () => {
  const missing = join(root, 'no-such-export');
  const [folder, bad, help] = await Promise.all([
    dataset('inspect', dicom, '--clinical', clinical),
    dataset('add', '--name', 'ghost', '--kind', 'pet-ct', '--dicom', missing, '--clinical', clinical),
    runCli(cli.trainer, ['dataset', '--help']),
  ]);
  assertExit(help, 0);
  assert.match(help.stdout, /fedpet-trainer dataset add --name <name> --kind pet-ct/);
  assert.match(help.stdout, /dataset inspect/);

  assertExit(folder, 0);
  assert.match(folder.stdout, new RegExp(`^Dataset ${dicom.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
  for (const id of patientIds) assert.match(folder.stdout, new RegExp(`^${id}  ok$`, 'm'));
  assert.match(folder.stdout, /SUV {7}factor /);

  assert.notEqual(bad.code, 0);
  assert.ok(bad.stderr.includes(missing), bad.stderr);
  assert.match(bad.stderr, /DATASET_MISSING/);
  const list = await dataset('list', '--json');
  assert.equal(
    JSON.parse(list.stdout).some((e: { name: string }) => e.name === 'ghost'),
    false,
    'nothing registered',
  );
});
