import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeVolume } from '../radiomics/test-phantoms.ts';
import { type Vec3, voxelIndex } from '../volume.ts';
import { coronalMip, sagittalMip } from './mip.ts';
import { type GridSpec, resampleToGrid } from './resample.ts';

test('a single bright voxel: head at the top, patient right on the left (coronal), anterior on the left (sagittal)', () => {
  // Axial slices, k toward the head: voxel (1, 2, 5) is near the head (z = 20 of 0–24).
  const v = makeVolume([5, 6, 7], [2, 3, 4], 0);
  v.data[voxelIndex(v.dims, 1, 2, 5)] = 9;
  const cor = coronalMip(v);
  assert.deepEqual([cor.width, cor.height], [5, 7]);
  assert.deepEqual(cor.pixelSpacingMm, [2, 4]);
  assert.equal(cor.data[1 + 5 * 1], 9, 'column x = 1, row 7 − 1 − 5');
  assert.equal(cor.data.filter((x) => x === 9).length, 1);
  const sag = sagittalMip(v);
  assert.deepEqual([sag.width, sag.height], [6, 7]);
  assert.deepEqual(sag.pixelSpacingMm, [3, 4]);
  assert.equal(sag.data[2 + 6 * 1], 9, 'column y = 2, row 1');
  assert.equal(sag.data.filter((x) => x === 9).length, 1);
});

test('slices running feet-first or stored as coronal planes give the same MIPs', () => {
  const a = makeVolume([5, 6, 7], [2, 3, 4], 0);
  let seed = 7;
  for (let p = 0; p < a.data.length; p++) {
    seed = (seed * 16807) % 2147483647;
    a.data[p] = seed / 2147483647;
  }
  // The same voxel centres stored as coronal planes: rows toward −x (patient right),
  // columns toward −z (feet), planes toward −y (anterior).
  const grids: GridSpec[] = [
    {
      dims: [5, 7, 6],
      spacing: [2, 4, 3],
      origin: [8, 15, 24],
      direction: [
        [-1, 0, 0],
        [0, 0, -1],
        [0, -1, 0],
      ],
    },
    // Axial, slices from head to feet and rows flipped anterior–posterior.
    {
      dims: [5, 6, 7],
      spacing: [2, 3, 4],
      origin: [0, 15, 24],
      direction: [
        [1, 0, 0],
        [0, -1, 0],
        [0, 0, -1],
      ],
    },
  ];
  const cor = coronalMip(a);
  const sag = sagittalMip(a);
  for (const grid of grids) {
    const b = resampleToGrid(a, grid, Number.NaN);
    assert.ok(!b.data.some(Number.isNaN), 'phantom: the grids share their voxel centres');
    assert.deepEqual(coronalMip(b), cor);
    assert.deepEqual(sagittalMip(b), sag);
  }
});

test('the projection axis follows the direction most aligned with the patient axis', () => {
  // Slices tilted 20° from axial: the voxel axes are still nearest x, y, z.
  const t = (20 * Math.PI) / 180;
  const direction: [Vec3, Vec3, Vec3] = [
    [1, 0, 0],
    [0, Math.cos(t), Math.sin(t)],
    [0, -Math.sin(t), Math.cos(t)],
  ];
  const v = makeVolume([4, 5, 6], [1, 1, 1], 0, [0, 0, 0], direction);
  v.data[voxelIndex(v.dims, 3, 1, 4)] = 5;
  const cor = coronalMip(v);
  assert.deepEqual([cor.width, cor.height], [4, 6]);
  assert.equal(cor.data[3 + 4 * 1], 5);
});

test('a ray of NaN only projects to NaN; other rays ignore NaN', () => {
  const v = makeVolume([2, 2, 1], [1, 1, 1], 0);
  v.data.set([Number.NaN, 3, Number.NaN, Number.NaN]);
  const cor = coronalMip(v);
  assert.ok(Number.isNaN(cor.data[0]!));
  assert.equal(cor.data[1], 3);
});
