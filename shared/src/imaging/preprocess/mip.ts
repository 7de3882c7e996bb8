import { ErrorCodes, FedpetError } from '../../errors/fedpet-error.ts';
import { type Volume, voxelCount } from '../volume.ts';
import type { Image2D } from './image2d.ts';

type Axis = 0 | 1 | 2;

/** A projection image with the physical size of its pixels. */
export interface Projection extends Image2D {
  /** Pixel spacing in mm: [between columns, between rows]. */
  pixelSpacingMm: readonly [number, number];
}

/**
 * Which patient axis (LPS: 0 = x toward the patient's left, 1 = y toward
 * posterior, 2 = z toward the head) a view projects along and which runs
 * across its columns. Rows always run from head (row 0) to feet.
 */
interface View {
  depth: Axis;
  across: Axis;
}

/** Coronal: seen from the front, patient's right on the image's left (radiological convention), columns toward +x. */
const CORONAL: View = { depth: 1, across: 0 };
/** Sagittal: seen from the patient's right, anterior on the image's left, columns toward +y. */
const SAGITTAL: View = { depth: 0, across: 1 };

/** The voxel axis (among `candidates`) whose direction is most aligned with a patient axis; first wins ties. */
function mostAligned(direction: Volume['direction'], patientAxis: Axis, candidates: Axis[]): Axis {
  let best = candidates[0]!;
  for (const a of candidates) {
    if (Math.abs(direction[a][patientAxis]) > Math.abs(direction[best][patientAxis])) best = a;
  }
  return best;
}

function project(volume: Volume, view: View): Projection {
  const { dims, direction, data } = volume;
  if (voxelCount(dims) !== data.length) {
    throw new FedpetError(ErrorCodes.datasetInvalid, 'MIP: volume data length does not match its dims');
  }
  const depthAxis = mostAligned(direction, view.depth, [0, 1, 2]);
  const rest = ([0, 1, 2] as Axis[]).filter((a) => a !== depthAxis);
  const rowAxis = mostAligned(direction, 2, rest);
  const colAxis = rest.find((a) => a !== rowAxis)!;
  const width = dims[colAxis];
  const height = dims[rowAxis];
  // Head at the top: when the row axis's voxel index grows toward +z, row 0 is its last index.
  const flipRows = direction[rowAxis][2] > 0;
  const flipCols = direction[colAxis][view.across] < 0;

  // Pixel of voxel (i, j, k) = offset[0][i] + offset[1][j] + offset[2][k]: the depth axis adds nothing.
  const offsets = ([0, 1, 2] as Axis[]).map((a) => {
    const n = dims[a];
    const table = new Int32Array(n);
    if (a === rowAxis) for (let t = 0; t < n; t++) table[t] = (flipRows ? n - 1 - t : t) * width;
    if (a === colAxis) for (let t = 0; t < n; t++) table[t] = flipCols ? n - 1 - t : t;
    return table;
  }) as [Int32Array, Int32Array, Int32Array];
  const [oi, oj, ok] = offsets;
  const [nx, ny, nz] = dims;

  const out = new Float32Array(width * height).fill(Number.NEGATIVE_INFINITY);
  let p = 0;
  for (let k = 0; k < nz; k++) {
    const bk = ok[k]!;
    for (let j = 0; j < ny; j++) {
      const bjk = bk + oj[j]!;
      for (let i = 0; i < nx; i++, p++) {
        const v = data[p]!;
        const q = bjk + oi[i]!;
        if (v > out[q]!) out[q] = v;
      }
    }
  }
  // A ray of NaN only (nothing compared greater) is reported as NaN, not −∞.
  for (let q = 0; q < out.length; q++) if (out[q] === Number.NEGATIVE_INFINITY) out[q] = Number.NaN;
  const spacing = volume.spacing;
  return { width, height, data: out, pixelSpacingMm: [spacing[colAxis], spacing[rowAxis]] };
}

/**
 * Coronal maximum-intensity projection: the maximum along the voxel axis most
 * aligned with the patient's anterior–posterior axis; rows run head (row 0)
 * to feet along the remaining axis most aligned with z, columns from the
 * patient's right to left. Pixels keep the voxel spacing of their axes.
 */
export function coronalMip(volume: Volume): Projection {
  return project(volume, CORONAL);
}

/**
 * Sagittal maximum-intensity projection: the maximum along the voxel axis most
 * aligned with the patient's left–right axis; rows run head (row 0) to feet,
 * columns from anterior to posterior.
 */
export function sagittalMip(volume: Volume): Projection {
  return project(volume, SAGITTAL);
}
