import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ErrorCodes, FedpetError } from '../../errors/fedpet-error.ts';
import { writePart10 } from './part10-writer.ts';
import { isDicomFile, readDicomFile } from './read-file.ts';
import {
  axialPositions,
  encodeWithTransferSyntax,
  labelledPixels,
  makeTestDir,
  removeTestDir,
  testSeriesDatasets,
  writeTestSeries,
} from './test-fixtures.ts';

let dir = '';
before(async () => {
  dir = await makeTestDir();
});
after(async () => {
  await removeTestDir(dir);
});

const oneSlice = () =>
  testSeriesDatasets({
    rows: 4,
    columns: 5,
    positions: axialPositions(1, 2),
    pixels: labelledPixels(4, 5, 1),
    signed: true,
  })[0]!;

async function rejectsWith(promise: Promise<unknown>, code: string, ...fragments: string[]): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof FedpetError, `expected FedpetError, got ${String(error)}`);
    assert.equal(error.code, code);
    for (const fragment of fragments)
      assert.ok(error.message.includes(fragment), `"${error.message}" lacks "${fragment}"`);
    return true;
  });
}

test('a full read returns the header, the transfer syntax and the pixel bytes', async () => {
  const path = join(dir, 'full.dcm');
  await writeFile(path, writePart10(oneSlice()));
  const dataset = await readDicomFile(path);
  assert.equal(dataset.Rows, 4);
  assert.equal(dataset.Columns, 5);
  assert.equal(dataset.TransferSyntaxUID, '1.2.840.10008.1.2.1');
  const pixels = dataset.PixelData as ArrayBuffer[];
  assert.deepEqual([...new Int16Array(pixels[0]!)], [...labelledPixels(4, 5, 1)[0]!]);
});

test('a header-only read stops before PixelData', async () => {
  const path = join(dir, 'header.dcm');
  await writeFile(path, writePart10(oneSlice()));
  const dataset = await readDicomFile(path, { headerOnly: true });
  assert.equal(dataset.PixelData, undefined);
  assert.equal(dataset.Modality, 'PT');
  assert.deepEqual(dataset.ImagePositionPatient, [-10, -20, 30]);
});

test('a header longer than the first chunk is read in full (enhanced multi-frame, 400 frames)', async () => {
  const count = 400;
  const { files } = await writeTestSeries(join(dir, 'long'), {
    rows: 2,
    columns: 2,
    positions: axialPositions(count, 1),
    pixels: Array.from({ length: count }, (_, k) => [k, k, k, k]),
    multiframe: true,
  });
  const header = await readDicomFile(files[0]!, { headerOnly: true });
  const perFrame = header.PerFrameFunctionalGroupsSequence as unknown[];
  assert.equal(perFrame.length, count);
  assert.equal(header.PixelData, undefined);
  const full = await readDicomFile(files[0]!);
  assert.equal((full.PixelData as ArrayBuffer[])[0]!.byteLength, count * 4 * 2);
});

test('a file without the DICM marker is not DICOM, named in the error', async () => {
  const path = join(dir, 'notes.txt');
  await writeFile(path, 'x'.repeat(400));
  await rejectsWith(readDicomFile(path, { headerOnly: true }), ErrorCodes.datasetInvalid, path, 'DICM');
  assert.equal(await isDicomFile(path), false);
  const dicom = join(dir, 'marker.dcm');
  await writeFile(dicom, writePart10(oneSlice()));
  assert.equal(await isDicomFile(dicom), true);
  assert.equal(await isDicomFile(join(dir, 'absent.dcm')), false);
});

test('a file cut inside its pixel data is truncated, even for a header-only read', async () => {
  const bytes = writePart10(oneSlice());
  const path = join(dir, 'cut-pixels.dcm');
  await writeFile(path, bytes.subarray(0, bytes.length - 7));
  await rejectsWith(readDicomFile(path, { headerOnly: true }), ErrorCodes.datasetInvalid, path, 'truncated');
  await rejectsWith(readDicomFile(path), ErrorCodes.datasetInvalid, path, 'truncated');
});

test('a file cut inside its header is truncated', async () => {
  const bytes = writePart10(oneSlice());
  const path = join(dir, 'cut-header.dcm');
  await writeFile(path, bytes.subarray(0, 300));
  await rejectsWith(readDicomFile(path, { headerOnly: true }), ErrorCodes.datasetInvalid, path, 'truncated');
});

test('garbage after the marker is corrupt, not a crash', async () => {
  const bytes = new Uint8Array(writePart10(oneSlice()));
  // Overwrite the body after the meta group with letters that do not form valid elements.
  const original = Buffer.from(bytes);
  const bodyStart = original.indexOf(Buffer.from([0x08, 0x00, 0x16, 0x00]));
  bytes.fill(0x7a, bodyStart + 4, bodyStart + 64);
  const path = join(dir, 'garbage.dcm');
  await writeFile(path, bytes);
  await rejectsWith(readDicomFile(path), ErrorCodes.datasetInvalid, path);
});

test('a missing file is datasetMissing', async () => {
  const path = join(dir, 'nowhere.dcm');
  await rejectsWith(readDicomFile(path), ErrorCodes.datasetMissing, path);
});

test('implicit VR little endian is read, pixels included', async () => {
  const path = join(dir, 'implicit.dcm');
  await writeFile(path, encodeWithTransferSyntax(oneSlice(), '1.2.840.10008.1.2'));
  const dataset = await readDicomFile(path);
  assert.equal(dataset.TransferSyntaxUID, '1.2.840.10008.1.2');
  assert.equal(dataset.Rows, 4);
  assert.deepEqual(
    [...new Int16Array((dataset.PixelData as ArrayBuffer[])[0]!)],
    [...labelledPixels(4, 5, 1)[0]!],
  );
});

test('compressed and big-endian files give headers but refuse pixel reading, naming the UID', async () => {
  for (const syntax of ['1.2.840.10008.1.2.4.50', '1.2.840.10008.1.2.2']) {
    const path = join(dir, `syntax-${syntax}.dcm`);
    await writeFile(path, encodeWithTransferSyntax(oneSlice(), syntax));
    const header = await readDicomFile(path, { headerOnly: true });
    assert.equal(header.Rows, 4, syntax);
    assert.equal(header.TransferSyntaxUID, syntax);
    await rejectsWith(readDicomFile(path), ErrorCodes.datasetInvalid, path, syntax, 'not supported');
  }
});

test('the header-only read of a file does not depend on its pixel bytes', async () => {
  const path = join(dir, 'same.dcm');
  await writeFile(path, writePart10(oneSlice()));
  const bytes = await readFile(path);
  const header = await readDicomFile(path, { headerOnly: true });
  const full = await readDicomFile(path);
  delete full.PixelData;
  delete full._vrMap;
  delete header._vrMap;
  assert.deepEqual(header, full);
  assert.ok(bytes.length > 132);
});
