import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ErrorCodes, FedpetError } from '../../errors/fedpet-error.ts';
import { createRng } from '../../ml/random.ts';
import { type Vec3, voxelToWorld, worldToVoxel } from '../volume.ts';
import { scanDicomTree } from './scan-tree.ts';
import { loadSeriesVolume } from './series-volume.ts';
import {
  axialPositions,
  labelledPixels,
  makeTestDir,
  removeTestDir,
  type TestSeriesSpec,
  writeTestSeries,
} from './test-fixtures.ts';

let root = '';
let folders = 0;
before(async () => {
  root = await makeTestDir();
});
after(async () => {
  await removeTestDir(root);
});

/** Writes the specs (all into one fresh folder) and loads the one series they form. */
async function load(...specs: TestSeriesSpec[]) {
  const dir = join(root, `case-${++folders}`);
  for (const spec of specs) await writeTestSeries(dir, spec);
  const scan = await scanDicomTree(dir);
  assert.deepEqual(scan.problems, []);
  assert.equal(scan.series.length, 1);
  return { series: scan.series[0]!, result: await loadSeriesVolume(scan.series[0]!) };
}

/** stored × slope + intercept for slices given in k order, as Float32. */
function expectedData(
  slices: readonly ArrayLike<number>[],
  slopes: readonly number[],
  intercepts: readonly number[],
): number[] {
  const out: number[] = [];
  slices.forEach((slice, k) => {
    for (let p = 0; p < slice.length; p++) out.push(Math.fround(slice[p]! * slopes[k]! + intercepts[k]!));
  });
  return out;
}

function assertClose(
  actual: readonly number[],
  expected: readonly number[],
  tolerance = 1e-9,
  what = '',
): void {
  assert.equal(actual.length, expected.length, what);
  for (const [i, v] of actual.entries()) {
    assert.ok(Math.abs(v - expected[i]!) <= tolerance, `${what}[${i}]: ${v} vs ${expected[i]}`);
  }
}

async function rejectsNaming(promise: Promise<unknown>, ...fragments: string[]): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof FedpetError, String(error));
    assert.equal(error.code, ErrorCodes.datasetInvalid);
    for (const fragment of fragments)
      assert.ok(error.message.includes(fragment), `"${error.message}" lacks "${fragment}"`);
    return true;
  });
}

async function loadFails(specs: TestSeriesSpec[], ...fragments: string[]): Promise<void> {
  const dir = join(root, `case-${++folders}`);
  for (const spec of specs) await writeTestSeries(dir, spec);
  const scan = await scanDicomTree(dir);
  assert.equal(scan.series.length, 1);
  await rejectsNaming(loadSeriesVolume(scan.series[0]!), scan.series[0]!.seriesInstanceUid, ...fragments);
}

test('slices are ordered by position, not by InstanceNumber or file name', async () => {
  const rng = createRng(7);
  const count = 6;
  const positions = axialPositions(count, 3);
  const pixels = labelledPixels(3, 4, count);
  const order = Array.from(rng.permutation(count)); // file i holds position order[i]
  const instanceNumbers = Array.from(rng.permutation(count), (n) => n + 1);
  const names = Array.from(rng.permutation(count), (n) => `img-${n}.dcm`);
  assert.notDeepEqual(order, [0, 1, 2, 3, 4, 5]);
  const { result } = await load({
    rows: 3,
    columns: 4,
    positions: order.map((k) => positions[k]!),
    pixels: order.map((k) => pixels[k]!),
    instanceNumbers,
    fileNames: names,
  });
  assert.deepEqual(result.volume.dims, [4, 3, count]);
  assert.deepEqual([...result.volume.data], expectedData(pixels, Array(count).fill(1), Array(count).fill(0)));
  assert.deepEqual(
    result.frames.map((f) => f.imagePosition),
    positions,
  );
  assert.deepEqual(result.volume.origin, positions[0]);
  assert.equal(result.volume.spacing[2], 3);
});

test('slice spacing comes from positions when SliceThickness says otherwise', async () => {
  const { result } = await load({
    rows: 2,
    columns: 2,
    positions: axialPositions(4, 3.27),
    pixels: labelledPixels(2, 2, 4),
    sliceThickness: 5,
    pixelSpacing: [1.5, 2.5],
  });
  assert.ok(Math.abs(result.volume.spacing[2] - 3.27) < 1e-9);
  // PixelSpacing is (row spacing, column spacing): spacing[0] is the column spacing.
  assert.deepEqual(result.volume.spacing.slice(0, 2), [2.5, 1.5]);
  assert.ok(result.warnings.some((w) => w.includes('SliceThickness')));
});

test('a normal pointing to −z (positions decreasing) keeps voxel k at slice k', async () => {
  // Row +x, column −y: the normal row × column is −z, so k grows as z falls.
  const positions: Vec3[] = [0, 1, 2, 3].map((k): Vec3 => [5, 7, 40 + 2 * k]);
  const pixels = labelledPixels(2, 3, 4);
  const { result } = await load({
    rows: 2,
    columns: 3,
    positions,
    pixels,
    orientation: [1, 0, 0, 0, -1, 0],
  });
  const { volume } = result;
  assert.deepEqual(volume.direction[2], [0, 0, -1]);
  assert.deepEqual(volume.origin, [5, 7, 46]);
  assert.equal(volume.spacing[2], 2);
  for (let k = 0; k < 4; k++) {
    assert.deepEqual(voxelToWorld(volume, 0, 0, k), positions[3 - k]);
    assert.deepEqual(result.frames[k]!.imagePosition, positions[3 - k]);
  }
  assert.deepEqual([...volume.data], expectedData([...pixels].reverse(), [1, 1, 1, 1], [0, 0, 0, 0]));
});

test('axial slices written top-down are still stacked bottom-up', async () => {
  const positions = axialPositions(5, 4).reverse();
  const { result } = await load({ rows: 2, columns: 2, positions, pixels: labelledPixels(2, 2, 5) });
  assert.deepEqual(result.volume.direction[2], [0, 0, 1]);
  assert.deepEqual(result.volume.origin, positions[4]);
  assert.equal(result.frames[0]!.file.endsWith('slice-005.dcm'), true);
});

test('each slice is rescaled with its own slope and intercept', async () => {
  const pixels = labelledPixels(3, 3, 3);
  const slopes = [0.5, 2, 3.25];
  const intercepts = [0, -10, 7.5];
  const { result } = await load({
    rows: 3,
    columns: 3,
    positions: axialPositions(3, 2),
    pixels,
    slopes,
    intercepts,
  });
  assert.deepEqual([...result.volume.data], expectedData(pixels, slopes, intercepts));
  assert.deepEqual(
    result.frames.map((f) => [f.rescaleSlope, f.rescaleIntercept]),
    [
      [0.5, 0],
      [2, -10],
      [3.25, 7.5],
    ],
  );
  assert.deepEqual(result.warnings, []);
});

test('signed 16-bit values keep their sign', async () => {
  const pixels = [
    [-32768, -1, 0, 32767],
    [-1000, 1000, -2, 2],
  ];
  const { result } = await load({
    modality: 'CT',
    rows: 2,
    columns: 2,
    positions: axialPositions(2, 1),
    pixels,
    signed: true,
    intercepts: [-1024, -1024],
  });
  assert.deepEqual([...result.volume.data], expectedData(pixels, [1, 1], [-1024, -1024]));
});

test('32-bit and 8-bit stored values are read', async () => {
  const wide = [
    [70000, 0, 4294967295, 1],
    [5, 6, 7, 8],
  ];
  const { result } = await load({
    rows: 2,
    columns: 2,
    positions: axialPositions(2, 1),
    pixels: wide,
    bitsAllocated: 32,
  });
  assert.deepEqual([...result.volume.data], expectedData(wide, [1, 1], [0, 0]));
  const narrow = [
    [255, 0, 128, 3],
    [-128, 127, -1, 0],
  ];
  const signed = await load({
    rows: 2,
    columns: 2,
    positions: axialPositions(2, 1),
    pixels: narrow,
    bitsAllocated: 8,
    signed: true,
  });
  assert.deepEqual([...signed.result.volume.data], [-1, 0, -128, 3, -128, 127, -1, 0]);
});

test('12 bits stored in 16: high bits are masked and the sign extended', async () => {
  const raw = [
    [0x0fff, 0x0800, 0x07ff, 0xf001],
    [0, 1, 2, 3],
  ];
  const { result } = await load({
    rows: 2,
    columns: 2,
    positions: axialPositions(2, 1),
    pixels: raw,
    extra: { BitsStored: 12, HighBit: 11, PixelRepresentation: 1 },
  });
  assert.deepEqual([...result.volume.data].slice(0, 4), [-1, -2048, 2047, 1]);
});

test('an oblique stack gets its directions, and voxel centres land on the slice positions', async () => {
  const angle = (25 * Math.PI) / 180;
  const row: Vec3 = [Math.cos(angle), Math.sin(angle), 0];
  const column: Vec3 = [0, 0, -1];
  // row × column
  const normal: Vec3 = [-Math.sin(angle), Math.cos(angle), 0];
  const start: Vec3 = [12.5, -40, 80];
  const positions = [0, 1, 2, 3].map(
    (k): Vec3 => [
      start[0] + 2.5 * k * normal[0],
      start[1] + 2.5 * k * normal[1],
      start[2] + 2.5 * k * normal[2],
    ],
  );
  const shuffled = [2, 0, 3, 1];
  const pixels = labelledPixels(2, 2, 4);
  const { result } = await load({
    rows: 2,
    columns: 2,
    positions: shuffled.map((k) => positions[k]!),
    pixels: shuffled.map((k) => pixels[k]!),
    orientation: [...row, ...column],
    pixelSpacing: [3, 1.25],
  });
  const { volume } = result;
  assertClose(volume.direction[0], row, 1e-9, 'row');
  assertClose(volume.direction[1], column, 1e-9, 'column');
  assertClose(volume.direction[2], normal, 1e-9, 'normal');
  assert.ok(Math.abs(volume.spacing[2] - 2.5) < 1e-6);
  for (let k = 0; k < 4; k++) {
    assertClose(voxelToWorld(volume, 0, 0, k), positions[k]!, 1e-6, `slice ${k}`);
    assertClose(worldToVoxel(volume, voxelToWorld(volume, 1, 1, k)), [1, 1, k], 1e-6);
  }
  // Voxel (1, 0) is one column step (1.25 mm) along the row direction.
  assertClose(
    voxelToWorld(volume, 1, 0, 0),
    [start[0] + 1.25 * row[0], start[1] + 1.25 * row[1], start[2]],
    1e-6,
  );
  assert.deepEqual([...volume.data], expectedData(pixels, [1, 1, 1, 1], [0, 0, 0, 0]));
});

test('an enhanced multi-frame PET gives the same volume as the single-frame series', async () => {
  const count = 5;
  const rng = createRng(3);
  const positions = axialPositions(count, 3.5);
  const pixels = Array.from({ length: count }, () => Array.from({ length: 12 }, () => rng.int(30000)));
  const slopes = [0.25, 0.5, 0.75, 1.5, 3];
  const intercepts = [0, 1, 2, 3, 4];
  const times = ['101500', '101630', '101800', '101930', '102100'];
  const spec: TestSeriesSpec = {
    rows: 3,
    columns: 4,
    positions,
    pixels,
    slopes,
    intercepts,
    acquisitionTimes: times,
  };
  const single = await load(spec);
  const order = [4, 1, 3, 0, 2]; // frames not in position order
  const shuffled = {
    ...spec,
    positions: order.map((k) => positions[k]!),
    pixels: order.map((k) => pixels[k]!),
    slopes: order.map((k) => slopes[k]!),
    intercepts: order.map((k) => intercepts[k]!),
    acquisitionTimes: order.map((k) => times[k]!),
  };
  for (const perFrameOrientation of [false, true]) {
    const multi = await load({ ...shuffled, multiframe: true, perFrameOrientation });
    assert.equal(multi.series.files.length, 1);
    const { data: singleData, ...singleGeometry } = single.result.volume;
    const { data: multiData, ...multiGeometry } = multi.result.volume;
    assert.deepEqual(multiGeometry, singleGeometry);
    assert.deepEqual([...multiData], [...singleData]);
    assert.deepEqual(
      multi.result.frames.map((f) => [f.frameNumber, f.rescaleSlope, f.acquisitionDate, f.acquisitionTime]),
      [3, 1, 4, 2, 0].map((i) => [i + 1, slopes[order[i]!], '20240131', times[order[i]!]]),
    );
  }
});

test('errors name the series and the fault', async () => {
  const base = { rows: 2, columns: 2, pixels: labelledPixels(2, 2, 5) } as const;
  const gapped: Vec3[] = [0, 3, 6, 12, 15].map((z): Vec3 => [0, 0, z]);
  await loadFails([{ ...base, positions: gapped }], 'gap', 'slices 3 and 4');
  const duplicated: Vec3[] = [0, 3, 3, 6, 9].map((z): Vec3 => [0, 0, z]);
  await loadFails([{ ...base, positions: duplicated }], 'same slice position');
  const drifting: Vec3[] = [0, 1, 2, 3, 4].map((k): Vec3 => [0.5 * k, 0, 3 * k]);
  await loadFails([{ ...base, positions: drifting }], 'ImagePositionPatient', 'off the line');
  await loadFails(
    [{ ...base, positions: axialPositions(5, 3), orientation: [1, 0, 0, 0, 0.9, 0] }],
    'ImageOrientationPatient',
    'orthogonal',
  );
  await loadFails(
    [{ ...base, positions: axialPositions(1, 3), pixels: base.pixels.slice(0, 1) }],
    'single slice',
  );
});

test('slices that disagree on orientation, grid or kind are errors naming the series', async () => {
  const seriesInstanceUid = '1.2.826.0.1.3680043.8.498.77';
  const part = (extra: Partial<TestSeriesSpec>, names: string[], z: number[]): TestSeriesSpec => ({
    rows: 2,
    columns: 2,
    pixels: labelledPixels(2, 2, z.length),
    positions: z.map((v): Vec3 => [0, 0, v]),
    seriesInstanceUid,
    fileNames: names,
    ...extra,
  });
  await loadFails(
    [part({}, ['a1.dcm', 'a2.dcm'], [0, 3]), part({ orientation: [0, 1, 0, 1, 0, 0] }, ['b1.dcm'], [6])],
    'ImageOrientationPatient differs',
    'b1.dcm',
  );
  await loadFails(
    [
      part({}, ['a1.dcm', 'a2.dcm'], [0, 3]),
      part({ rows: 3, pixels: labelledPixels(3, 2, 1) }, ['b1.dcm'], [6]),
    ],
    'Rows/Columns differ',
    '2×2',
    '3×2',
  );
  await loadFails(
    [part({}, ['a1.dcm', 'a2.dcm'], [0, 3]), part({ pixelSpacing: [2, 2.5] }, ['b1.dcm'], [6])],
    'PixelSpacing differs',
  );
  await loadFails(
    [part({}, ['a1.dcm', 'a2.dcm'], [0, 3]), part({ multiframe: true }, ['m.dcm'], [6, 9])],
    'mixes single-frame',
  );
  await loadFails([part({ extra: { Rows: 3 } }, ['a1.dcm', 'a2.dcm'], [0, 3])], 'PixelData holds', 'a1.dcm');
});
