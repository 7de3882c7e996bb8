import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { type CohortSummary, generatePetCtCohort } from '../../shared/src/imaging/synth/cohort.ts';
import { readBack } from '../../shared/src/imaging/synth/dicom-read-back.ts';

/**
 * dcmtk reads the synthetic files independently of dcmjs: every vendor's PT
 * and CT must parse without errors and show the tags the SUV rules need.
 */

const run = promisify(execFile);

let root: string;
let cohort: CohortSummary;

function dcmdumpAvailable(): boolean {
  const probe = spawnSync('dcmdump', ['--version'], { encoding: 'utf8' });
  return probe.error === undefined && probe.status === 0;
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'fedpet-dcmdump-'));
  cohort = await generatePetCtCohort({
    outDirectory: root,
    hospitals: ['h1', 'h2', 'h3'],
    patientsPerHospital: [1, 1, 1],
    seed: 31337,
    grid: { petMatrix: 24, sliceThicknessMm: 24 },
    workers: 0,
  });
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The first PT and CT file of a hospital (the flat layout mixes both in one folder). */
async function pickFiles(directory: string): Promise<{ PT: string; CT: string }> {
  const entries = await readdir(directory, { recursive: true, withFileTypes: true });
  const files = entries
    .filter((e) => e.isFile() && e.name.endsWith('.dcm'))
    .map((e) => join(e.parentPath, e.name))
    .sort();
  const picked: Partial<Record<'PT' | 'CT', string>> = {};
  for (const file of files) {
    const modality = readBack(await readFile(file)).Modality;
    if ((modality === 'PT' || modality === 'CT') && picked[modality] === undefined) picked[modality] = file;
    if (picked.PT && picked.CT) return { PT: picked.PT, CT: picked.CT };
  }
  throw new Error(`no PT and CT pair under ${directory}`);
}

/** Runs dcmdump; resolves to its output after checking the exit code and the absence of errors. */
async function dcmdump(file: string): Promise<string> {
  const { stdout, stderr } = await run('dcmdump', [file], { maxBuffer: 16 * 1024 * 1024 });
  const errors = `${stdout}\n${stderr}`.split('\n').filter((line) => /^\s*E:/.test(line));
  assert.deepEqual(errors, [], `dcmdump reported errors for ${file}`);
  return stdout;
}

/** The bracketed value of the first line for a tag, e.g. (0054,1001) → "BQML". */
function value(dump: string, tag: string): string | undefined {
  const line = dump.split('\n').find((l) => l.trimStart().startsWith(tag));
  return line?.match(/\[([^\]]*)\]/)?.[1]?.trim();
}

test('dcmdump is installed (dcmtk)', () => {
  assert.ok(
    dcmdumpAvailable(),
    'dcmdump not found: install dcmtk (apt-get install -y dcmtk; `make test` installs it)',
  );
});

for (const [index, vendor] of (['siemens', 'ge', 'philips'] as const).entries()) {
  test(`${vendor}: dcmdump reads a PT and a CT file with the expected tags`, async (t) => {
    if (!dcmdumpAvailable()) {
      assert.fail('dcmdump not found: install dcmtk (apt-get install -y dcmtk; `make test` installs it)');
    }
    const hospital = cohort.hospitals[index];
    assert.equal(hospital?.vendor, vendor);
    const files = await pickFiles(hospital.dicomDirectory);

    const pt = await dcmdump(files.PT);
    const expected = readBack(await readFile(files.PT));
    assert.match(pt, /\(0002,0010\) UI =LittleEndianExplicit/);
    assert.match(pt, /\(0008,0016\) UI =PositronEmissionTomographyImageStorage/);
    assert.equal(value(pt, '(0008,0060)'), 'PT');
    assert.equal(value(pt, '(0054,1001)'), vendor === 'philips' ? 'CNTS' : 'BQML');
    assert.equal(value(pt, '(0054,1102)'), 'START');
    const dose = value(pt, '(0018,1074)');
    const item = (expected.RadiopharmaceuticalInformationSequence as Record<string, unknown>[])[0];
    assert.ok(dose !== undefined && Number(dose) > 1e8, `RadionuclideTotalDose ${dose}`);
    assert.equal(Number(dose), item?.RadionuclideTotalDose);
    assert.equal(value(pt, '(0018,1075)'), '6586.2');
    assert.match(value(pt, '(0028,0051)') ?? '', /ATTN/);
    assert.match(value(pt, '(0028,0051)') ?? '', /DECY/);
    assert.equal(value(pt, '(0010,0020)'), expected.PatientID);
    assert.match(pt, new RegExp(`\\(7fe0,0010\\) OW .*# *${24 * 24 * 2}, 1 PixelData`));
    if (vendor === 'ge') {
      assert.equal(value(pt, '(0009,0010)'), 'GEMS_PETD_01');
      assert.match(value(pt, '(0009,100d)') ?? '', /^\d{14}$/);
    }
    if (vendor === 'philips') {
      assert.equal(value(pt, '(7053,0010)'), 'Philips PET Private Group');
      assert.ok(Number(value(pt, '(7053,1000)')) > 0);
      assert.ok(Number(value(pt, '(7053,1009)')) > 0);
    }

    const ct = await dcmdump(files.CT);
    assert.match(ct, /\(0008,0016\) UI =CTImageStorage/);
    assert.equal(value(ct, '(0008,0060)'), 'CT');
    assert.match(ct, /\(0028,0103\) US 1 /, 'signed pixels');
    assert.equal(value(ct, '(0020,0052)'), value(pt, '(0020,0052)'), 'shared frame of reference');
    assert.equal(value(ct, '(0020,000d)'), value(pt, '(0020,000d)'), 'shared study');
    t.diagnostic(`${vendor}: ${files.PT} and ${files.CT} parsed by dcmdump`);
  });
}
