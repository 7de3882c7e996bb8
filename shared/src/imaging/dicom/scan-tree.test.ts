import assert from 'node:assert/strict';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ErrorCodes, FedpetError } from '../../errors/fedpet-error.ts';
import { writePart10 } from './part10-writer.ts';
import { readDicomFile } from './read-file.ts';
import { scanDicomTree } from './scan-tree.ts';
import {
  axialPositions,
  labelledPixels,
  makeTestDir,
  removeTestDir,
  testSeriesDatasets,
  writeTestSeries,
} from './test-fixtures.ts';

let root = '';
let petFiles: string[] = [];
let ctFiles: string[] = [];
let petUid = '';
let ctUid = '';
const frameOfReferenceUid = '1.2.826.0.1.3680043.8.498.1';

before(async () => {
  root = await makeTestDir();
  const pet = await writeTestSeries(join(root, 'patient-1', 'study', 'pet'), {
    modality: 'PT',
    rows: 3,
    columns: 3,
    positions: axialPositions(4, 3),
    pixels: labelledPixels(3, 3, 4),
    patientId: 'P1',
    frameOfReferenceUid,
    fileNames: ['b/slice-2.dcm', 'a/deeper/slice-1.dcm', 'b/slice-3.dcm', 'b/slice-4.dcm'],
  });
  const ct = await writeTestSeries(join(root, 'patient-1', 'ct'), {
    modality: 'CT',
    rows: 2,
    columns: 2,
    positions: axialPositions(3, 2),
    pixels: labelledPixels(2, 2, 3),
    patientId: 'P1',
    frameOfReferenceUid,
    signed: true,
  });
  petUid = pet.seriesInstanceUid;
  ctUid = ct.seriesInstanceUid;
  // The PET's fourth slice is cut short, as an interrupted copy leaves it.
  const truncated = pet.files[3]!;
  const bytes = await readFile(truncated);
  await writeFile(truncated, bytes.subarray(0, bytes.length - 5));
  petFiles = pet.files.slice(0, 3).sort();
  ctFiles = [...ct.files].sort();

  await writeFile(join(root, 'patient-1', 'notes.txt'), 'not an image\n'.repeat(20));
  await writeFile(join(root, 'patient-1', '.DS_Store'), 'finder metadata');
  await mkdir(join(root, '.hidden'));
  await writeFile(join(root, '.hidden', 'copy.dcm'), await readFile(ct.files[0]!));
  await writeFile(join(root, 'DICOMDIR'), 'media index');
  const orphan = testSeriesDatasets({
    rows: 2,
    columns: 2,
    positions: axialPositions(1, 1),
    pixels: labelledPixels(2, 2, 1),
  })[0]!;
  delete orphan.SeriesInstanceUID;
  await writeFile(join(root, 'no-series.dcm'), writePart10(orphan));
  // A link back up the tree (a loop), a second path to a file, and a dangling link.
  await symlink(root, join(root, 'patient-1', 'loop'));
  await symlink(ct.files[0]!, join(root, 'patient-1', 'alias.dcm'));
  await symlink(join(root, 'gone.dcm'), join(root, 'dangling.dcm'));
});

after(async () => {
  await removeTestDir(root);
});

test('groups a nested tree by series and reports each bad file without failing the rest', async () => {
  const seen: number[] = [];
  const scan = await scanDicomTree(root, { onProgress: (n) => seen.push(n) });

  const byUid = new Map(scan.series.map((s) => [s.seriesInstanceUid, s]));
  assert.equal(scan.series.length, 2);
  const pet = byUid.get(petUid)!;
  const ct = byUid.get(ctUid)!;
  assert.deepEqual(pet.files, petFiles);
  assert.deepEqual(ct.files, ctFiles);
  assert.equal(pet.modality, 'PT');
  assert.equal(ct.modality, 'CT');
  assert.equal(pet.patientId, 'P1');
  assert.equal(pet.frameOfReferenceUid, frameOfReferenceUid);
  assert.equal(ct.frameOfReferenceUid, frameOfReferenceUid);
  assert.equal(typeof pet.studyInstanceUid, 'string');

  const problems = new Map(scan.problems.map((p) => [p.path, p.reason]));
  assert.deepEqual(
    [...problems.keys()].sort(),
    [
      join(root, 'dangling.dcm'),
      join(root, 'no-series.dcm'),
      join(root, 'patient-1', 'notes.txt'),
      join(root, 'patient-1', 'study', 'pet', 'b', 'slice-4.dcm'),
    ].sort(),
  );
  assert.match(problems.get(join(root, 'patient-1', 'notes.txt'))!, /DICM/);
  assert.match(problems.get(join(root, 'patient-1', 'study', 'pet', 'b', 'slice-4.dcm'))!, /truncated/);
  assert.match(problems.get(join(root, 'no-series.dcm'))!, /SeriesInstanceUID/);
  assert.match(problems.get(join(root, 'dangling.dcm'))!, /symbolic link/);

  // Every regular, visible file once: 4 PET + 3 CT + notes + no-series (alias and loop add nothing).
  assert.equal(seen.length, 9);
  assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test('headers are header-only and follow the order of files', async () => {
  const scan = await scanDicomTree(root);
  for (const series of scan.series) {
    assert.equal(series.headers.length, series.files.length);
    for (const [i, header] of series.headers.entries()) {
      assert.equal(header.PixelData, undefined);
      const full = await readDicomFile(series.files[i]!, { headerOnly: true });
      assert.equal(header.SOPInstanceUID, full.SOPInstanceUID);
    }
  }
});

test('a missing root is datasetMissing, naming it; a file root is invalid', async () => {
  const missing = join(root, 'no-such-folder');
  await assert.rejects(scanDicomTree(missing), (error: unknown) => {
    assert.ok(error instanceof FedpetError);
    assert.equal(error.code, ErrorCodes.datasetMissing);
    assert.ok(error.message.includes(missing));
    return true;
  });
  await assert.rejects(scanDicomTree(join(root, 'no-series.dcm')), (error: unknown) => {
    assert.ok(error instanceof FedpetError);
    assert.equal(error.code, ErrorCodes.datasetInvalid);
    return true;
  });
});

test('an empty folder has no series and no problems', async () => {
  const empty = join(root, 'patient-1', 'study', 'empty');
  await mkdir(empty);
  assert.deepEqual(await scanDicomTree(empty), { series: [], problems: [] });
});
