/**
 * loadPetCtDataset end to end on a tiny synthetic cohort: the content-hash
 * cache, the SUV factor per vendor convention, MTV against the generator's
 * ground truth, every bad-input case of issue 3 (each reported for its own
 * patient while the others stay usable), and the patient table.
 */
import assert from 'node:assert/strict';
import {
  cp,
  mkdir,
  mkdtemp,
  open,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  truncate,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import dcmjs, { type NaturalDataset } from 'dcmjs';
import { digestInputs } from '../../shared/src/imaging/pipeline/content-hash.ts';
import { petCtCounts, petCtPlanData } from '../../shared/src/imaging/pipeline/patient-table.ts';
import {
  type DatasetPatient,
  loadPetCtDataset,
  type PetCtDataset,
} from '../../shared/src/imaging/pipeline/pet-ct-dataset.ts';
import {
  DEFAULT_PREPROCESS_SETTINGS,
  type PreprocessSettings,
} from '../../shared/src/imaging/preprocess/prepare-pet-ct.ts';
import {
  type CohortSummary,
  GROUND_TRUTH_FILE,
  type GroundTruth,
  generatePetCtCohort,
  type HospitalSummary,
} from '../../shared/src/imaging/synth/cohort.ts';
import { modelSpecOf } from '../../shared/src/ml/plans/model-spec.ts';

const { DicomMessage, DicomMetaDictionary } = dcmjs.data;
dcmjs.log.setLevel('error');

let root: string;
let cacheDirectory: string;
let cohort: CohortSummary;
/** h1 (siemens, four patients) loaded for the first time, and its pseudonyms. */
let first: PetCtDataset;
let h1Ids: string[];

const hospital = (id: string): HospitalSummary => {
  const found = cohort.hospitals.find((h) => h.hospital === id);
  assert.ok(found, `hospital ${id} generated`);
  return found;
};

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'fedpet-pet-ct-dataset-'));
  cacheDirectory = join(root, 'cache');
  // One hospital per vendor convention; h1 has enough patients to break one and keep the rest.
  cohort = await generatePetCtCohort({
    outDirectory: join(root, 'cohort'),
    hospitals: ['h1', 'h2', 'h3'],
    patientsPerHospital: [4, 2, 2],
    vendors: ['siemens', 'ge', 'philips'],
    seed: 20240611,
    grid: { petMatrix: 32, sliceThicknessMm: 16 },
    workers: 0,
  });
  const h1 = hospital('h1');
  first = await load(h1.dicomDirectory, h1.clinicalCsv);
  h1Ids = first.patients.map((p) => p.patientId);
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

// ---- helpers ----------------------------------------------------------------------------------

async function filesUnder(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** Header of a DICOM file read with dcmjs directly (not the project's reader). */
async function header(path: string): Promise<NaturalDataset> {
  const bytes = await readFile(path);
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const dict = DicomMessage.readFile(buffer, { untilTag: '7FE00010' });
  delete dict.dict['7FE00010'];
  return DicomMetaDictionary.naturalizeDataset(dict.dict);
}

/** PET (PT) files by patient, per DICOM tree (read once: a tree is only changed after this). */
const petFilesCache = new Map<string, Promise<Map<string, string[]>>>();

async function listPetFiles(dicomDirectory: string): Promise<Map<string, string[]>> {
  const byPatient = new Map<string, string[]>();
  for (const path of await filesUnder(dicomDirectory)) {
    const h = await header(path);
    if (h.Modality !== 'PT') continue;
    const id = String(h.PatientID);
    byPatient.set(id, [...(byPatient.get(id) ?? []), path]);
  }
  return byPatient;
}

/** The PET (PT) files of one patient under a DICOM tree. */
async function petFiles(dicomDirectory: string, patientId: string): Promise<string[]> {
  let listing = petFilesCache.get(dicomDirectory);
  if (!listing) {
    listing = listPetFiles(dicomDirectory);
    petFilesCache.set(dicomDirectory, listing);
  }
  const found = (await listing).get(patientId) ?? [];
  assert.ok(found.length > 1, `${patientId} has PET files`);
  return found;
}

/** Rewrites a Part-10 file with dcmjs after `edit` changed its (denaturalized) elements. */
async function rewrite(
  path: string,
  edit: (dict: Record<string, { vr: string; Value?: unknown[] }>) => void,
  to = path,
): Promise<void> {
  const bytes = await readFile(path);
  const file = DicomMessage.readFile(
    bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
  );
  edit(file.dict);
  await writeFile(to, new Uint8Array(file.write()));
}

/** A copy of h1 (DICOM tree and clinical CSV) to break one thing in. */
async function copyOfH1(name: string): Promise<{ dicom: string; csv: string }> {
  const h1 = hospital('h1');
  const target = join(root, 'bad', name);
  await cp(h1.dicomDirectory, join(target, 'dicom'), { recursive: true });
  await cp(h1.clinicalCsv, join(target, 'clinical.csv'));
  return { dicom: join(target, 'dicom'), csv: join(target, 'clinical.csv') };
}

/** Resampled to 8 mm instead of 4 mm: the same code paths in half the time. */
const SETTINGS: PreprocessSettings = Object.freeze({ ...DEFAULT_PREPROCESS_SETTINGS, voxelMm: 8 });

async function load(dicom: string, csv: string, settings = SETTINGS): Promise<PetCtDataset> {
  // Never throws for bad data: a rejection here fails the test.
  return loadPetCtDataset({ dicomDirectory: dicom, clinicalFile: csv, cacheDirectory, settings });
}

function patient(dataset: PetCtDataset, id: string): DatasetPatient {
  const found = dataset.patients.find((p) => p.patientId === id);
  assert.ok(found, `patient ${id} listed`);
  return found;
}

/** Every patient except `broken` is usable, with the features of the intact dataset. */
function othersIntact(dataset: PetCtDataset, broken: string): void {
  for (const id of h1Ids.filter((id) => id !== broken)) {
    const p = patient(dataset, id);
    assert.ok(p.usable, `${id} stays usable (problems: ${p.problems.join('; ')})`);
    assert.deepEqual(p.imaging?.imaging?.features, patient(first, id).imaging?.imaging?.features);
  }
}

function ranks(values: readonly number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const result = new Array<number>(values.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    for (let k = i; k <= j; k++) result[order[k]![1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return result;
}

/** Spearman's rank correlation (Pearson correlation of the ranks, ties averaged). */
function spearman(a: readonly number[], b: readonly number[]): number {
  const ra = ranks(a);
  const rb = ranks(b);
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const ma = mean(ra);
  const mb = mean(rb);
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < ra.length; i++) {
    num += (ra[i]! - ma) * (rb[i]! - mb);
    da += (ra[i]! - ma) ** 2;
    db += (rb[i]! - mb) ** 2;
  }
  return num / Math.sqrt(da * db);
}

/** Epoch seconds of a DICOM DA + TM (whole or fractional seconds), read as UTC wall-clock. */
function epoch(da: string, tm: string): number {
  const day = Date.UTC(Number(da.slice(0, 4)), Number(da.slice(4, 6)) - 1, Number(da.slice(6, 8))) / 1000;
  return day + Number(tm.slice(0, 2)) * 3600 + Number(tm.slice(2, 4)) * 60 + Number(tm.slice(4) || 0);
}

function first1<T>(value: T | T[]): T {
  return Array.isArray(value) ? (value[0] as T) : value;
}

/**
 * The SUVbw factor recomputed from one PET header with SCIENCE.md §1, written
 * out here independently of fedpet's SUV module: Philips CNTS passes the
 * private SUV scale factor through; BQML decays the dose from injection to
 * scan start (GE's private scan time when the series time is a re-processing time).
 */
function expectedFactor(h: NaturalDataset): { units: string; factor: number } {
  const units = String(h.Units);
  if (units === 'CNTS') {
    assert.equal(String(first1(h['70530010'] as string)).trim(), 'Philips PET Private Group');
    return { units, factor: Number(first1(h['70531000'] as number)) };
  }
  const drug = first1(h.RadiopharmaceuticalInformationSequence as NaturalDataset) as NaturalDataset;
  let scan = epoch(String(h.SeriesDate), String(h.SeriesTime));
  const acquisition = epoch(String(h.AcquisitionDate), String(h.AcquisitionTime));
  if (scan > acquisition) {
    assert.equal(String(first1(h['00090010'] as string)).trim(), 'GEMS_PETD_01');
    const dt = String(first1(h['0009100D'] as string));
    scan = epoch(dt.slice(0, 8), dt.slice(8));
  }
  const startDateTime = drug.RadiopharmaceuticalStartDateTime as string | undefined;
  const injection = startDateTime
    ? epoch(startDateTime.slice(0, 8), startDateTime.slice(8))
    : epoch(String(h.SeriesDate), String(drug.RadiopharmaceuticalStartTime));
  const decayed =
    Number(drug.RadionuclideTotalDose) * 2 ** (-(scan - injection) / Number(drug.RadionuclideHalfLife));
  return { units, factor: (Number(h.PatientWeight) * 1000) / decayed };
}

// ---- cache ------------------------------------------------------------------------------------

test('the first load builds and caches; the second hits the cache with identical results', async () => {
  assert.equal(first.fromCache, false);
  assert.equal(first.patients.length, 4);
  assert.ok(
    first.patients.every((p) => p.usable),
    first.patients.map((p) => p.problems).join('; '),
  );
  assert.deepEqual(first.manifest.fileProblems, []);
  const folder = join(cacheDirectory, first.manifest.hash);
  assert.ok((await stat(join(folder, 'manifest.json'))).isFile());
  assert.equal((await stat(join(folder, 'tensors.bin'))).size, first.tensors.byteLength);
  assert.ok(first.tensors.length > 0 && first.tensors.length === first.manifest.tensorFloats);
  assert.deepEqual(
    (await readdir(cacheDirectory)).filter((n) => n.endsWith('.tmp')),
    [],
    'no temporary folder left',
  );

  const h1 = hospital('h1');
  const second = await load(h1.dicomDirectory, h1.clinicalCsv);
  assert.equal(second.fromCache, true);
  assert.equal(second.manifest.hash, first.manifest.hash);
  assert.deepEqual(second.patients, first.patients);
  assert.deepEqual(second.manifest.tensorShapes, first.manifest.tensorShapes);
  assert.ok(Buffer.from(second.tensors.buffer).equals(Buffer.from(first.tensors.buffer)), 'same tensors');

  // The hash covers relative paths and bytes, not where the tree lives: a moved copy still hits.
  const moved = join(root, 'moved-h1');
  await cp(h1.dicomDirectory, moved, { recursive: true });
  const fromCopy = await load(moved, h1.clinicalCsv);
  assert.equal(fromCopy.fromCache, true);
  assert.equal(fromCopy.manifest.hash, first.manifest.hash);
});

test('one changed DICOM byte or one changed setting gives a new hash and a cache miss', async () => {
  const { dicom, csv } = await copyOfH1('one-byte');
  // Flip the last byte of one file (a pixel): the file stays valid DICOM.
  const victim = (await petFiles(dicom, h1Ids[0]!))[0]!;
  const size = (await stat(victim)).size;
  const handle = await open(victim, 'r+');
  try {
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, size - 1);
    byte[0] = byte[0]! ^ 0xff;
    await handle.write(byte, 0, 1, size - 1);
  } finally {
    await handle.close();
  }
  const changed = await load(dicom, csv);
  assert.notEqual(changed.manifest.hash, first.manifest.hash);
  assert.equal(changed.fromCache, false);
  assert.ok(changed.patients.every((p) => p.usable));

  const h1 = hospital('h1');
  const otherSettings = await load(h1.dicomDirectory, h1.clinicalCsv, {
    ...SETTINGS,
    suvClipMax: SETTINGS.suvClipMax / 2,
  });
  assert.notEqual(otherSettings.manifest.hash, first.manifest.hash);
  assert.equal(otherSettings.fromCache, false);
  // Radiomics are computed before clipping, so they do not change; the tensors do.
  assert.deepEqual(
    otherSettings.patients.map((p) => p.imaging?.imaging?.features),
    first.patients.map((p) => p.imaging?.imaging?.features),
  );
  assert.ok(!Buffer.from(otherSettings.tensors.buffer).equals(Buffer.from(first.tensors.buffer)));
});

test('a damaged cache entry (truncated tensors.bin, corrupt manifest.json) is a miss, not a crash', async () => {
  const h1 = hospital('h1');
  const folder = join(cacheDirectory, first.manifest.hash);
  const reload = () => load(h1.dicomDirectory, h1.clinicalCsv);

  await truncate(join(folder, 'tensors.bin'), Math.floor(first.tensors.byteLength / 2));
  const rebuilt = await reload();
  assert.equal(rebuilt.fromCache, false);
  assert.equal(rebuilt.manifest.hash, first.manifest.hash);
  assert.ok(Buffer.from(rebuilt.tensors.buffer).equals(Buffer.from(first.tensors.buffer)));
  assert.equal((await reload()).fromCache, true, 'the rebuilt entry was written back');

  const manifest = await readFile(join(folder, 'manifest.json'), 'utf8');
  await writeFile(join(folder, 'manifest.json'), manifest.slice(0, Math.floor(manifest.length / 2)));
  const again = await reload();
  assert.equal(again.fromCache, false);
  assert.deepEqual(again.patients, first.patients);
  assert.equal((await reload()).fromCache, true);
});

test('a tree of symbolic links is hashed by what the links point at', async () => {
  const target = join(root, 'link-target');
  await cp(join(hospital('h1').dicomDirectory, h1Ids[0]!), target, { recursive: true });
  const links = join(root, 'link-tree');
  await mkdir(links);
  await symlink(target, join(links, 'patient'));
  // A link back up the tree must not loop.
  await symlink(links, join(target, 'loop'));
  const before = await digestInputs(links, 'settings');
  assert.equal(before.files, (await filesUnder(target)).length);
  const victim = (await petFiles(target, h1Ids[0]!))[0]!;
  await writeFile(victim, Buffer.concat([await readFile(victim), Buffer.from([0])]));
  const after = await digestInputs(links, 'settings');
  assert.notEqual(after.hash, before.hash, 'a changed linked file changes the hash');
  assert.equal(after.bytes, before.bytes + 1);
});

// ---- SUV and radiomics against the generator's truth --------------------------------------------

test('each patient’s SUV factor follows its vendor’s rule (BQML for Siemens and GE, CNTS for Philips)', async () => {
  const expectedUnits = { siemens: 'BQML', ge: 'BQML', philips: 'CNTS' } as Record<string, string>;
  let checked = 0;
  for (const h of cohort.hospitals) {
    const dataset = await load(h.dicomDirectory, h.clinicalCsv);
    for (const p of dataset.patients) {
      const imaging = p.imaging?.imaging;
      assert.ok(p.usable && imaging, `${p.patientId} usable: ${p.problems.join('; ')}`);
      const pet = await petFiles(h.dicomDirectory, p.patientId);
      const expected = expectedFactor(await header(pet[0]!));
      const d = imaging.suvDerivation;
      assert.equal(expected.units, expectedUnits[h.vendor], `${h.vendor} writes ${expectedUnits[h.vendor]}`);
      assert.equal(d.units, expected.units, `${p.patientId} units`);
      assert.ok(
        Math.abs(imaging.suvFactor / expected.factor - 1) < 1e-9,
        `${p.patientId}: factor ${imaging.suvFactor} vs ${expected.factor}`,
      );
      if (h.vendor === 'philips') {
        assert.equal(d.philipsFactor?.source, 'SUVScaleFactor (7053,1000)');
      } else {
        assert.equal(d.philipsFactor, null);
        assert.equal(d.scanTime?.source, h.vendor === 'ge' ? 'gePrivate' : 'series');
        assert.equal(
          d.injectionTime?.source,
          h.vendor === 'ge' ? 'RadiopharmaceuticalStartTime' : 'RadiopharmaceuticalStartDateTime',
        );
        assert.ok(d.decaySeconds !== null && d.decaySeconds > 20 * 60 && d.decaySeconds < 3 * 3600);
      }
      checked++;
    }
  }
  assert.equal(checked, 8);
});

test('total MTV (41% isocontour and SUV ≥ 2.5) tracks the ground-truth tumour volume', async () => {
  // Ground truth is read here, in the test, only: trainers never see it.
  const truth = JSON.parse(await readFile(join(root, 'cohort', GROUND_TRUTH_FILE), 'utf8')) as GroundTruth;
  const trueMtv = new Map(truth.hospitals.flatMap((h) => h.patients.map((p) => [p.patientId, p.totalMtvMl])));
  const rows: { id: string; truth: number; iso: number; fixed: number }[] = [];
  for (const h of cohort.hospitals) {
    const dataset = await load(h.dicomDirectory, h.clinicalCsv);
    for (const p of dataset.patients) {
      const s = p.imaging?.imaging?.features.segmentations;
      assert.ok(s && trueMtv.has(p.patientId));
      rows.push({
        id: p.patientId,
        truth: trueMtv.get(p.patientId)!,
        iso: s.isocontour.totalMtvMl,
        fixed: s.fixedLow.totalMtvMl,
      });
    }
  }
  assert.equal(rows.length, 8);
  // With 16 mm slices and ~17 mm pixels one voxel is ~5 mL: a 3 mL metastasis
  // is one or two voxels, and the SUV ≥ 2.5 region takes in the partial-volume
  // rim of hot lesions. So the checks are on the ranking across patients and on
  // the cohort's total, with tolerances that a wrong SUV factor or MTV in
  // voxels instead of mL would break by far.
  const sum = (key: 'truth' | 'iso' | 'fixed') => rows.reduce((s, r) => s + r[key], 0);
  const context = JSON.stringify(
    rows.map((r) => [r.id, r.truth.toFixed(1), r.iso.toFixed(1), r.fixed.toFixed(1)]),
  );
  for (const key of ['iso', 'fixed'] as const) {
    const rho = spearman(
      rows.map((r) => r.truth),
      rows.map((r) => r[key]),
    );
    assert.ok(rho >= 0.8, `${key}: Spearman ${rho.toFixed(3)} ≥ 0.8 ${context}`);
  }
  const isoRatio = sum('iso') / sum('truth');
  assert.ok(
    isoRatio > 0.65 && isoRatio < 1.35,
    `Σ isocontour MTV / Σ true MTV = ${isoRatio.toFixed(3)} ${context}`,
  );
  const fixedRatio = sum('fixed') / sum('truth');
  assert.ok(
    fixedRatio > 0.8 && fixedRatio < 1.8,
    `Σ MTV(SUV ≥ 2.5) / Σ true MTV = ${fixedRatio.toFixed(3)} ${context}`,
  );
  // The isocontour threshold is never below 2.5 and grows from inside each lesion, so it is a subset.
  for (const r of rows) assert.ok(r.fixed >= r.iso - 1e-9, `${r.id}: MTV(≥2.5) ≥ MTV(41%)`);
});

// ---- bad input --------------------------------------------------------------------------------

test('a PET slice file cut in half: the file is reported and only its patient is affected', async () => {
  const { dicom, csv } = await copyOfH1('truncated');
  const broken = h1Ids[1]!;
  const files = await petFiles(dicom, broken);
  const victim = files[Math.floor(files.length / 2)]!;
  await truncate(victim, Math.floor((await stat(victim)).size / 2));
  const dataset = await load(dicom, csv);
  const problem = dataset.manifest.fileProblems.find((f) => f.path === victim);
  assert.ok(problem, `truncated file reported: ${JSON.stringify(dataset.manifest.fileProblems)}`);
  assert.match(problem.reason, /truncated|ends/);
  // The slice is missing from the middle of the volume: a gap, so the patient is not used.
  const p = patient(dataset, broken);
  assert.equal(p.usable, false);
  assert.match(p.problems.join('\n'), /gap/);
  othersIntact(dataset, broken);
});

test('a non-DICOM file in the tree is skipped and reported; nothing else changes', async () => {
  const { dicom, csv } = await copyOfH1('readme');
  await writeFile(join(dicom, 'README.txt'), 'exported from PACS\n');
  const dataset = await load(dicom, csv);
  assert.deepEqual(
    dataset.manifest.fileProblems.map((f) => f.path),
    [join(dicom, 'README.txt')],
  );
  assert.match(dataset.manifest.fileProblems[0]!.reason, /not a DICOM/);
  assert.deepEqual(dataset.patients, first.patients);
  assert.ok(Buffer.from(dataset.tensors.buffer).equals(Buffer.from(first.tensors.buffer)));
});

test('PatientWeight missing from one patient’s PET: that patient is not usable and the error names the tag', async () => {
  const { dicom, csv } = await copyOfH1('no-weight');
  const broken = h1Ids[2]!;
  for (const path of await petFiles(dicom, broken)) {
    await rewrite(path, (dict) => {
      assert.ok(dict['00101030'], 'PatientWeight was there');
      delete dict['00101030'];
    });
  }
  const dataset = await load(dicom, csv);
  assert.deepEqual(dataset.manifest.fileProblems, []);
  const p = patient(dataset, broken);
  assert.equal(p.usable, false);
  assert.equal(p.imaging?.imaging, undefined);
  assert.match(p.problems.join('\n'), /PatientWeight \(0010,1030\)/);
  othersIntact(dataset, broken);
});

test('two PET series for one patient: not usable, the problem says 2 PET series', async () => {
  const { dicom, csv } = await copyOfH1('two-pet');
  const broken = h1Ids[3]!;
  const series = DicomMetaDictionary.uid();
  // A re-export of the same visit beside the original, as a PACS query can produce.
  const copyFolder = join(dicom, `${broken}-second-pet`);
  await cp(join(dicom, broken), copyFolder, { recursive: true });
  // Keep only PET files in the copy, each with the new series UID and its own instance UID.
  for (const path of await filesUnder(copyFolder)) {
    const h = await header(path);
    if (h.Modality !== 'PT') {
      await rm(path);
      continue;
    }
    await rewrite(path, (dict) => {
      dict['0020000E'] = { vr: 'UI', Value: [series] };
      dict['00080018'] = { vr: 'UI', Value: [DicomMetaDictionary.uid()] };
    });
  }
  const dataset = await load(dicom, csv);
  const p = patient(dataset, broken);
  assert.equal(p.usable, false);
  assert.match(p.problems.join('\n'), /\b2 PET series/);
  assert.equal(p.imaging?.seriesFound.filter((s) => s.modality === 'PT').length, 2);
  othersIntact(dataset, broken);
});

async function csvLines(path: string): Promise<string[]> {
  return (await readFile(path, 'utf8')).trimEnd().split('\n');
}

test('a clinical row with a bad value: that patient is not usable, with line and column, not the value', async () => {
  const h1 = hospital('h1');
  const lines = await csvLines(h1.clinicalCsv);
  const broken = h1Ids[0]!;
  const index = lines.findIndex((line) => line.startsWith(`${broken},`));
  assert.ok(index > 0);
  const cells = lines[index]!.split(',');
  cells[1] = 'abc';
  lines[index] = cells.join(',');
  const csv = join(root, 'bad-age.csv');
  await writeFile(csv, `${lines.join('\n')}\n`);
  const dataset = await load(h1.dicomDirectory, csv);
  const p = patient(dataset, broken);
  assert.equal(p.usable, false);
  assert.equal(p.clinical, undefined);
  const text = p.problems.join('\n');
  assert.match(text, new RegExp(`line ${index + 1}\\b`));
  assert.match(text, /column 'age'/);
  assert.doesNotMatch(text, /abc/);
  assert.deepEqual(
    dataset.clinicalProblems.map((c) => [c.line, c.patientId]),
    [[index + 1, broken]],
  );
  othersIntact(dataset, broken);
});

test('imaging without a clinical row, and a clinical row without imaging, are each reported', async () => {
  const h1 = hospital('h1');
  const lines = await csvLines(h1.clinicalCsv);
  const dropped = h1Ids[1]!;
  const template = lines.find((line) => line.startsWith(`${h1Ids[0]},`))!;
  const orphan = 'SYN-H1-9999';
  const kept = lines.filter((line) => !line.startsWith(`${dropped},`));
  kept.push(template.replace(h1Ids[0]!, orphan));
  const csv = join(root, 'mismatched.csv');
  await writeFile(csv, `${kept.join('\n')}\n`);
  const dataset = await load(h1.dicomDirectory, csv);

  const noRow = patient(dataset, dropped);
  assert.equal(noRow.usable, false);
  assert.ok(noRow.imaging?.imaging, 'its imaging is still processed');
  assert.match(noRow.problems.join('\n'), /no clinical row/);

  const noImaging = patient(dataset, orphan);
  assert.equal(noImaging.usable, false);
  assert.equal(noImaging.imaging, undefined);
  assert.ok(noImaging.clinical);
  assert.match(noImaging.problems.join('\n'), /no imaging/);

  assert.equal(dataset.patients.length, 5);
  othersIntact(dataset, dropped);
  assert.equal(dataset.clinicalProblems.length, 0);
});

// ---- the patient table ------------------------------------------------------------------------

test('petCtPlanData gives rows for usable patients only; petCtCounts counts progression events', async () => {
  const h1 = hospital('h1');
  const lines = await csvLines(h1.clinicalCsv);
  const broken = h1Ids[2]!;
  const csv = join(root, 'table.csv');
  await writeFile(
    csv,
    `${lines.map((line) => (line.startsWith(`${broken},`) ? line.replace(/,[MF],/, ',X,') : line)).join('\n')}\n`,
  );
  const dataset = await load(h1.dicomDirectory, csv);
  const usable = dataset.patients.filter((p) => p.usable);
  assert.equal(usable.length, 3);

  const plan = (features: string[]) =>
    modelSpecOf({
      kind: 'tabular-mlp',
      features,
      label: 'pfs_event',
      task: 'binary-classification',
      hiddenUnits: [],
      activation: 'relu',
      scaling: {},
    });
  const { data, patientsLeftOut } = petCtPlanData(dataset, plan(['age', 'ecog', 'mtv25_ml']), 'h1');
  assert.equal(patientsLeftOut, 0);
  assert.equal(data.rows, 3);
  assert.equal(data.tabularWidth, 3);
  usable.forEach((p, row) => {
    const c = p.clinical!;
    const f = p.imaging!.imaging!.features;
    assert.deepEqual(
      [...data.tabular.subarray(row * 3, row * 3 + 3)],
      [c.age, c.ecog, Math.fround(f.segmentations.fixedLow.totalMtvMl)],
    );
    assert.equal(data.target[row], c.pfsEvent);
  });

  // Event count straight from the CSV text, for the usable patients.
  const events = lines
    .slice(1)
    .map((line) => line.split(','))
    .filter((cells) => usable.some((p) => p.patientId === cells[0]) && cells[8] === '1').length;
  assert.deepEqual(petCtCounts(dataset.patients), { patients: 3, events });

  assert.throws(() => petCtPlanData(dataset, plan(['age', 'tumour_size']), 'h1'), /column 'tumour_size'/);
});
