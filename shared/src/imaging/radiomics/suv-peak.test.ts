import assert from 'node:assert/strict';
import { test } from 'node:test';
import { voxelIndex } from '../volume.ts';
import { SUV_PEAK_RADIUS_MM, sphereOffsets, suvPeak } from './suv-peak.ts';
import { makeVolume, paintBox } from './test-phantoms.ts';

test('the 1 cm³ sphere radius is (3/(4π))^(1/3) cm', () => {
  assert.ok(Math.abs(SUV_PEAK_RADIUS_MM - 10 * (3 / (4 * Math.PI)) ** (1 / 3)) < 1e-4);
});

test('discretised spheres: voxel centres within 6.2035 mm', () => {
  // 4 mm: centre, 6 faces (4 mm), 12 edges (5.66 mm); corners (6.93 mm) are out.
  assert.equal(sphereOffsets([4, 4, 4], SUV_PEAK_RADIUS_MM).length, 19);
  // 2 mm: lattice points with i²+j²+k² ≤ 9 (radius 3.10 voxels; the next norm, 10, is out): 123 (OEIS A000605).
  assert.equal(sphereOffsets([2, 2, 2], SUV_PEAK_RADIUS_MM).length, 123);
  // 2×2×4 mm: i²+j²+4k² ≤ 9.62 → 29 points in the k = 0 disc (radius 3) + 2 × 21 (radius² 5).
  assert.equal(sphereOffsets([2, 2, 4], SUV_PEAK_RADIUS_MM).length, 71);
});

test('uniform uptake larger than the sphere gives SUVpeak = uptake', () => {
  const v = makeVolume([20, 20, 20], [2, 2, 2], 1);
  paintBox(v, [4, 4, 4], [15, 15, 15], 7);
  const centre = voxelIndex(v.dims, 10, 10, 10);
  const peak = suvPeak(v, [centre]);
  assert.equal(peak?.value, 7);
  assert.equal(peak?.sphereVoxels, 123);
});

test('a lone hot voxel is diluted over the sphere', () => {
  const v = makeVolume([20, 20, 20], [2, 2, 2], 1);
  const hot = voxelIndex(v.dims, 10, 10, 10);
  v.data[hot] = 10;
  const peak = suvPeak(v, [hot]);
  assert.ok(peak !== undefined);
  assert.ok(Math.abs(peak.value - 132 / 123) < 1e-12);
});

test('the best sphere can sit away from the hottest voxel', () => {
  const v = makeVolume([30, 12, 12], [4, 4, 4], 0);
  const hot = voxelIndex(v.dims, 3, 6, 6);
  v.data[hot] = 20;
  paintBox(v, [15, 3, 3], [24, 9, 9], 5);
  const candidates = [hot, voxelIndex(v.dims, 15, 3, 3), voxelIndex(v.dims, 20, 6, 6)];
  const peak = suvPeak(v, candidates);
  assert.equal(peak?.value, 5);
  assert.equal(peak?.centerIndex, voxelIndex(v.dims, 20, 6, 6));
});

test('sphere voxels outside the grid are left out of the mean; no candidates, no peak', () => {
  const v = makeVolume([10, 10, 10], [4, 4, 4], 3);
  const corner = suvPeak(v, [0]);
  assert.equal(corner?.value, 3);
  // Corner voxel: centre, 3 faces, 3 edges inside the grid.
  assert.equal(corner?.sphereVoxels, 7);
  assert.equal(suvPeak(v, []), undefined);
});
