import type { Vec3 } from '../volume.ts';

/** An axis-aligned box of voxel indices, both corners inclusive. */
export interface VoxelBox {
  min: Vec3;
  max: Vec3;
}

/** The box covering a whole grid. */
export function fullBox(dims: Vec3): VoxelBox {
  return { min: [0, 0, 0], max: [dims[0] - 1, dims[1] - 1, dims[2] - 1] };
}

/** Number of voxels along each axis of a box. */
export function boxDims(box: VoxelBox): Vec3 {
  return [box.max[0] - box.min[0] + 1, box.max[1] - box.min[1] + 1, box.max[2] - box.min[2] + 1];
}

/**
 * Grows a box by a physical margin on every side, clipped to the grid. The
 * margin is rounded up to whole voxels per axis (ceil(marginMm / spacing)) so
 * that at least `marginMm` is kept wherever the grid allows it.
 */
export function dilateBox(box: VoxelBox, marginMm: number, spacing: Vec3, dims: Vec3): VoxelBox {
  const grow = (axis: 0 | 1 | 2): number => (marginMm > 0 ? Math.ceil(marginMm / spacing[axis] - 1e-9) : 0);
  const g: Vec3 = [grow(0), grow(1), grow(2)];
  return {
    min: [Math.max(0, box.min[0] - g[0]), Math.max(0, box.min[1] - g[1]), Math.max(0, box.min[2] - g[2])],
    max: [
      Math.min(dims[0] - 1, box.max[0] + g[0]),
      Math.min(dims[1] - 1, box.max[1] + g[1]),
      Math.min(dims[2] - 1, box.max[2] + g[2]),
    ],
  };
}
