import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forEachVoxel, makeVolume } from '../radiomics/test-phantoms.ts';
import { cross, type Vec3, type Volume, voxelIndex, voxelToWorld, worldToVoxel } from '../volume.ts';
import { type GridSpec, gridOf, isotropicGrid, resampleToGrid } from './resample.ts';

// An oblique orientation: rows rotated 30° about z, then the frame tilted 20° about x.
function obliqueDirection(): [Vec3, Vec3, Vec3] {
  const a = Math.PI / 6;
  const b = Math.PI / 9;
  const row: Vec3 = [Math.cos(a), Math.sin(a), 0];
  const col: Vec3 = [-Math.sin(a) * Math.cos(b), Math.cos(a) * Math.cos(b), Math.sin(b)];
  return [row, col, cross(row, col)];
}

function ramp(w: Vec3): number {
  return 2 + 0.5 * w[0] - 0.25 * w[1] + 0.125 * w[2];
}

function rampVolume(dims: Vec3, spacing: Vec3, origin: Vec3, direction: readonly [Vec3, Vec3, Vec3]): Volume {
  const v = makeVolume(dims, spacing, 0, origin, direction);
  forEachVoxel(v, (p, w) => {
    v.data[p] = ramp(w);
  });
  return v;
}

test('the identity grid returns the input', () => {
  for (const direction of [undefined, obliqueDirection()]) {
    const v = makeVolume([7, 5, 4], [1.5, 2, 3], 0, [-10, 4, 30], direction);
    let n = 0;
    for (let p = 0; p < v.data.length; p++) v.data[p] = Math.sin(n++ * 1.7) * 100;
    const out = resampleToGrid(v, gridOf(v), -1);
    for (let p = 0; p < v.data.length; p++) assert.ok(Math.abs(out.data[p]! - v.data[p]!) < 1e-4);
    if (direction === undefined) assert.deepEqual(out.data, v.data);
  }
});

test('a linear ramp is reproduced exactly inside the volume, across spacing, origin and orientation', () => {
  const source = rampVolume(
    [30, 28, 26],
    [2, 2.5, 3],
    [-30, -35, -40],
    [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ],
  );
  const centre = voxelToWorld(source, 14.5, 13.5, 12.5);
  const direction = obliqueDirection();
  const dims: Vec3 = [9, 8, 7];
  const spacing: Vec3 = [2.7, 3.1, 1.9];
  // Place the oblique grid so its centre is the source's centre.
  const half = [0, 1, 2].map((a) => ((dims[a as 0] - 1) * spacing[a as 0]) / 2);
  const originAxis = (c: 0 | 1 | 2): number =>
    centre[c] - half.reduce((s, h, a) => s + h * direction[a as 0][c], 0);
  const origin: Vec3 = [originAxis(0), originAxis(1), originAxis(2)];
  const grid: GridSpec = { dims, spacing, origin, direction };
  const out = resampleToGrid(source, grid, Number.NaN);
  let checked = 0;
  forEachVoxel(out, (p, w) => {
    const idx = worldToVoxel(source, w);
    assert.ok(
      idx.every((x, a) => x >= 0 && x <= source.dims[a as 0] - 1),
      'grid stays inside the source',
    );
    assert.ok(Math.abs(out.data[p]! - ramp(w)) < 1e-4, `voxel ${p}`);
    checked++;
  });
  assert.equal(checked, 9 * 8 * 7);
});

test('samples beyond the half-voxel border get the outside value; the outer half voxel holds the edge', () => {
  const v = makeVolume([4, 1, 1], [10, 10, 10], 0);
  v.data.set([1, 2, 3, 4]);
  const grid: GridSpec = {
    dims: [7, 1, 1],
    spacing: [5, 10, 10],
    origin: [-10, 0, 0],
    direction: v.direction,
  };
  // x = −10, −5 (edge of voxel 0), 0, 5, 10, 15, 20
  const out = resampleToGrid(v, grid, -7);
  assert.deepEqual([...out.data], [-7, 1, 1, 1.5, 2, 2.5, 3]);
  const beyond = resampleToGrid(v, { ...grid, origin: [25, 0, 0] }, -7);
  // x = 25, 30, 35 (edge), 40, ...
  assert.deepEqual([...beyond.data], [3.5, 4, 4, -7, -7, -7, -7]);
});

test('a CT with another origin, spacing and orientation lands a bright point where it belongs in the PET grid', () => {
  const point: Vec3 = [12, -20, 36];
  // CT: 1 × 1 × 2 mm, rows run to patient right (−x), columns anterior (−y), slices down (−z).
  const ctDirection: [Vec3, Vec3, Vec3] = [
    [-1, 0, 0],
    [0, -1, 0],
    [0, 0, 1],
  ];
  const ct = makeVolume([64, 64, 40], [1, 1, 2], -1000, [40, 10, 0], ctDirection);
  const [ci, cj, ck] = worldToVoxel(ct, point).map(Math.round) as [number, number, number];
  const ctIndex: Vec3 = [ci, cj, ck];
  assert.deepEqual(voxelToWorld(ct, ...ctIndex), point, 'phantom: the point is a CT voxel centre');
  // A bright 3 × 3 × 3-voxel blob centred on the point (so the 4 mm PET voxel sees it at full value).
  for (let dk = -1; dk <= 1; dk++)
    for (let dj = -2; dj <= 2; dj++)
      for (let di = -2; di <= 2; di++)
        ct.data[voxelIndex(ct.dims, ctIndex[0] + di, ctIndex[1] + dj, ctIndex[2] + dk)] = 2000;
  const pet: GridSpec = {
    dims: [20, 18, 22],
    spacing: [4, 4, 4],
    origin: [-24, -48, 0],
    direction: [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ],
  };
  const out = resampleToGrid(ct, pet, -1000);
  let best = 0;
  for (let p = 1; p < out.data.length; p++) if (out.data[p]! > out.data[best]!) best = p;
  const i = best % 20;
  const j = Math.floor(best / 20) % 18;
  const k = Math.floor(best / 360);
  assert.deepEqual(voxelToWorld(out, i, j, k), point);
  assert.equal(out.data[best], 2000);
  // Outside the CT's field of view the PET grid sees air.
  assert.equal(out.data[voxelIndex(pet.dims, 19, 17, 21)], -1000);
});

test('isotropicGrid covers the same extent in the same orientation', () => {
  const direction = obliqueDirection();
  const v = makeVolume([100, 80, 50], [1.5, 1.5, 3], 0, [5, -7, 11], direction);
  const grid = isotropicGrid(v, 3);
  assert.deepEqual(grid.dims, [50, 40, 50]);
  assert.deepEqual(grid.spacing, [3, 3, 3]);
  assert.deepEqual(grid.direction, direction);
  const oldCentre = voxelToWorld(v, 49.5, 39.5, 24.5);
  const g = { ...grid, data: new Float32Array(0) };
  const newCentre = voxelToWorld(g, 24.5, 19.5, 24.5);
  for (let a = 0; a < 3; a++) assert.ok(Math.abs(oldCentre[a]! - newCentre[a]!) < 1e-9);
  // Same extent: the first new voxel's outer boundary is the first old voxel's.
  const oldCorner = voxelToWorld(v, -0.5, -0.5, -0.5);
  const newCorner = voxelToWorld(g, -0.5, -0.5, -0.5);
  for (let a = 0; a < 3; a++) assert.ok(Math.abs(oldCorner[a]! - newCorner[a]!) < 1e-9);
  // Non-divisible extents round to the nearest voxel count.
  assert.deepEqual(isotropicGrid(makeVolume([10, 10, 10], [2.5, 2.5, 2.5]), 4).dims, [6, 6, 6]);
});
