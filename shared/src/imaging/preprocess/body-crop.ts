import { ErrorCodes, FedpetError } from '../../errors/fedpet-error.ts';
import { labelComponents } from '../radiomics/connected-components.ts';
import { type Volume, voxelCount, voxelToWorld } from '../volume.ts';
import { boxDims, dilateBox, type VoxelBox } from './voxel-box.ts';

/** Body thresholds: CT soft tissue and bone are well above −500 HU (air ≈ −1000, lung ≈ −850 to −500). */
export const CT_BODY_THRESHOLD_HU = -500;
/** PET: any tracer uptake; air after reconstruction sits at ≈ 0 SUV. */
export const PET_BODY_THRESHOLD_SUV = 0.1;

export interface BodyBoxOptions {
  /** Voxels with a value above this are body. */
  threshold: number;
  /** Margin added around the body's box, in mm (rounded up to whole voxels per axis). */
  marginMm: number;
}

/**
 * The bounding box of the body: voxels above the threshold, their largest
 * 26-connected component (so the scanner table, noise specks and anything
 * else not connected to the body is dropped), grown by a margin and clipped
 * to the grid. Lungs need no special care: they sit inside the body's box.
 * Limit: a limb separated from the trunk by air is its own component and is
 * kept only if it lies within the margin. Returns undefined when no voxel is
 * above the threshold.
 */
export function findBodyBox(volume: Volume, options: BodyBoxOptions): VoxelBox | undefined {
  if (voxelCount(volume.dims) !== volume.data.length) {
    throw new FedpetError(
      ErrorCodes.datasetInvalid,
      'findBodyBox: volume data length does not match its dims',
    );
  }
  const { data } = volume;
  const mask = new Uint8Array(data.length);
  for (let p = 0; p < data.length; p++) if (data[p]! > options.threshold) mask[p] = 1;
  const { components } = labelComponents(mask, volume.dims, 26);
  let largest = components[0];
  for (const c of components) if (largest === undefined || c.voxels > largest.voxels) largest = c;
  if (largest === undefined) return undefined;
  return dilateBox(largest.box, options.marginMm, volume.spacing, volume.dims);
}

/**
 * The sub-volume inside a box (inclusive corners). Spacing and direction are
 * unchanged and the origin moves to the box's first voxel, so every voxel
 * keeps its patient coordinates.
 */
export function cropVolume(volume: Volume, box: VoxelBox): Volume {
  const [nx, ny] = volume.dims;
  for (let a = 0; a < 3; a++) {
    const axis = a as 0 | 1 | 2;
    if (
      !Number.isInteger(box.min[axis]) ||
      !Number.isInteger(box.max[axis]) ||
      box.min[axis] < 0 ||
      box.max[axis] >= volume.dims[axis] ||
      box.min[axis] > box.max[axis]
    ) {
      throw new FedpetError(
        ErrorCodes.invalidConfig,
        `cropVolume: box is outside the volume on axis ${axis}`,
      );
    }
  }
  const dims = boxDims(box);
  const [cx, cy, cz] = dims;
  const data = new Float32Array(cx * cy * cz);
  let o = 0;
  for (let k = 0; k < cz; k++) {
    for (let j = 0; j < cy; j++) {
      const from = box.min[0] + nx * (box.min[1] + j + ny * (box.min[2] + k));
      data.set(volume.data.subarray(from, from + cx), o);
      o += cx;
    }
  }
  return {
    dims,
    spacing: volume.spacing,
    origin: voxelToWorld(volume, box.min[0], box.min[1], box.min[2]),
    direction: volume.direction,
    data,
  };
}
