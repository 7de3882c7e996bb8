/**
 * Phantom builders for the imaging tests (preprocess and radiomics): small
 * volumes with spheres and boxes painted in patient coordinates, so expected
 * answers can be counted independently of the code under test.
 */
import { type Vec3, type Volume, voxelIndex, voxelToWorld } from '../volume.ts';

export const IDENTITY: readonly [Vec3, Vec3, Vec3] = [
  [1, 0, 0],
  [0, 1, 0],
  [0, 0, 1],
];

export function makeVolume(
  dims: Vec3,
  spacing: Vec3,
  fill = 0,
  origin: Vec3 = [0, 0, 0],
  direction: readonly [Vec3, Vec3, Vec3] = IDENTITY,
): Volume {
  return { dims, spacing, origin, direction, data: new Float32Array(dims[0] * dims[1] * dims[2]).fill(fill) };
}

/** Calls `visit` for every voxel with its index and world position. */
export function forEachVoxel(volume: Volume, visit: (index: number, world: Vec3) => void): void {
  const [nx, ny, nz] = volume.dims;
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++) visit(voxelIndex(volume.dims, i, j, k), voxelToWorld(volume, i, j, k));
}

function distance(a: Vec3, b: Vec3): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}

/** Sets every voxel whose centre is within `radiusMm` of `centerMm` to `value`; returns how many. */
export function paintSphere(volume: Volume, centerMm: Vec3, radiusMm: number, value: number): number {
  let count = 0;
  forEachVoxel(volume, (p, w) => {
    if (distance(w, centerMm) <= radiusMm) {
      volume.data[p] = value;
      count++;
    }
  });
  return count;
}

/** Sets the voxels of an index box (inclusive corners) to `value`. */
export function paintBox(volume: Volume, min: Vec3, max: Vec3, value: number): void {
  for (let k = min[2]; k <= max[2]; k++)
    for (let j = min[1]; j <= max[1]; j++)
      for (let i = min[0]; i <= max[0]; i++) volume.data[voxelIndex(volume.dims, i, j, k)] = value;
}

/** Number of voxel centres within `radiusMm` of `centerMm`. */
export function countWithin(volume: Volume, centerMm: Vec3, radiusMm: number): number {
  let count = 0;
  forEachVoxel(volume, (_p, w) => {
    if (distance(w, centerMm) <= radiusMm) count++;
  });
  return count;
}
