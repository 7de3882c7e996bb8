import { ErrorCodes, FedpetError } from '../../errors/fedpet-error.ts';
import { dot, type Vec3, type Volume, voxelCount } from '../volume.ts';

/** A regular grid in patient coordinates: a Volume without its data (same conventions as volume.ts). */
export interface GridSpec {
  dims: Vec3;
  spacing: Vec3;
  origin: Vec3;
  direction: readonly [Vec3, Vec3, Vec3];
}

/** The grid a volume lives on. */
export function gridOf(volume: Volume): GridSpec {
  return { dims: volume.dims, spacing: volume.spacing, origin: volume.origin, direction: volume.direction };
}

type Axis = 0 | 1 | 2;

/** [f(0), f(1), f(2)]. */
function perAxis(f: (axis: Axis) => number): Vec3 {
  return [f(0), f(1), f(2)];
}

function checkGrid(grid: GridSpec, what: string): void {
  if (!grid.dims.every((n) => Number.isInteger(n) && n > 0)) {
    throw new FedpetError(ErrorCodes.invalidConfig, `${what}: dims must be positive integers`);
  }
  if (!grid.spacing.every((s) => Number.isFinite(s) && s > 0)) {
    throw new FedpetError(ErrorCodes.invalidConfig, `${what}: spacing must be positive`);
  }
}

/**
 * Resamples `source` onto `grid` by trilinear interpolation in patient
 * coordinates, whatever the two orientations: each target voxel centre is
 * mapped to the world, then into the source's fractional voxel indices
 * (the map is affine, so it is computed once and stepped along each row).
 *
 * Edges: a sample inside the source's physical extent — fractional index in
 * [−0.5, n − 0.5] on every axis, i.e. within the outer voxels' boundaries —
 * is interpolated, with the outermost voxels' values held over their outer
 * half; anything further out gets `outsideValue` (e.g. 0 SUV, −1000 HU air).
 * Linear functions of position are reproduced exactly between voxel centres.
 */
export function resampleToGrid(source: Volume, grid: GridSpec, outsideValue: number): Volume {
  checkGrid(source, 'resampleToGrid source');
  checkGrid(grid, 'resampleToGrid target grid');
  if (voxelCount(source.dims) !== source.data.length) {
    throw new FedpetError(
      ErrorCodes.datasetInvalid,
      'resampleToGrid: source data length does not match its dims',
    );
  }
  const [nx, ny, nz] = source.dims;
  const src = source.data;
  const [tx, ty, tz] = grid.dims;
  const out = new Float32Array(tx * ty * tz);

  // Source index = base + Σ_a step[a] · target index[a], with
  // step[a][b] = grid.spacing[a] · (grid.direction[a] · source.direction[b]) / source.spacing[b].
  const delta: Vec3 = [
    grid.origin[0] - source.origin[0],
    grid.origin[1] - source.origin[1],
    grid.origin[2] - source.origin[2],
  ];
  const [bx, by, bz] = perAxis((b) => dot(delta, source.direction[b]) / source.spacing[b]);
  const step = (a: Axis): Vec3 =>
    perAxis((b) => (grid.spacing[a] * dot(grid.direction[a], source.direction[b])) / source.spacing[b]);
  const [ix, iy, iz] = step(0);
  const [jx, jy, jz] = step(1);
  const [kx, ky, kz] = step(2);

  const eps = 1e-6;
  const loX = -0.5 - eps;
  const hiX = nx - 0.5 + eps;
  const loY = -0.5 - eps;
  const hiY = ny - 0.5 + eps;
  const loZ = -0.5 - eps;
  const hiZ = nz - 0.5 + eps;
  // Neighbour strides; zero along an axis of one voxel so x1 = x0 there.
  const sx = nx > 1 ? 1 : 0;
  const sy = ny > 1 ? nx : 0;
  const sz = nz > 1 ? nx * ny : 0;
  const nxy = nx * ny;

  let o = 0;
  for (let k = 0; k < tz; k++) {
    for (let j = 0; j < ty; j++) {
      let x = bx + j * jx + k * kx;
      let y = by + j * jy + k * ky;
      let z = bz + j * jz + k * kz;
      for (let i = 0; i < tx; i++, o++, x += ix, y += iy, z += iz) {
        if (x < loX || x > hiX || y < loY || y > hiY || z < loZ || z > hiZ) {
          out[o] = outsideValue;
          continue;
        }
        const cx = x < 0 ? 0 : Math.min(x, nx - 1);
        const cy = y < 0 ? 0 : Math.min(y, ny - 1);
        const cz = z < 0 ? 0 : Math.min(z, nz - 1);
        let x0 = Math.floor(cx);
        let y0 = Math.floor(cy);
        let z0 = Math.floor(cz);
        // Keep x0 + 1 inside the grid: at the last centre the weight moves fully onto x0 + 1.
        if (x0 > nx - 2) x0 = nx > 1 ? nx - 2 : 0;
        if (y0 > ny - 2) y0 = ny > 1 ? ny - 2 : 0;
        if (z0 > nz - 2) z0 = nz > 1 ? nz - 2 : 0;
        const fx = cx - x0;
        const fy = cy - y0;
        const fz = cz - z0;
        const p = x0 + nx * y0 + nxy * z0;
        const c00 = src[p]! + fx * (src[p + sx]! - src[p]!);
        const c10 = src[p + sy]! + fx * (src[p + sy + sx]! - src[p + sy]!);
        const c01 = src[p + sz]! + fx * (src[p + sz + sx]! - src[p + sz]!);
        const c11 = src[p + sz + sy]! + fx * (src[p + sz + sy + sx]! - src[p + sz + sy]!);
        const c0 = c00 + fy * (c10 - c00);
        const c1 = c01 + fy * (c11 - c01);
        out[o] = c0 + fz * (c1 - c0);
      }
    }
  }
  return {
    dims: grid.dims,
    spacing: grid.spacing,
    origin: grid.origin,
    direction: grid.direction,
    data: out,
  };
}

/**
 * An isotropic grid of `spacingMm` in the volume's orientation covering the
 * same physical extent: along each axis the extent (dims × spacing, voxel
 * boundary to boundary) is divided into round(extent / spacingMm) voxels (at
 * least one) and the new grid is centred on the old one, so any rounding
 * shows as at most half a voxel at each end.
 */
export function isotropicGrid(volume: GridSpec, spacingMm: number): GridSpec {
  checkGrid(volume, 'isotropicGrid');
  if (!Number.isFinite(spacingMm) || spacingMm <= 0) {
    throw new FedpetError(ErrorCodes.invalidConfig, 'isotropicGrid: spacingMm must be positive');
  }
  const dims = perAxis((a) => Math.max(1, Math.round((volume.dims[a] * volume.spacing[a]) / spacingMm)));
  // Shift along each axis, in mm, from the old first centre to the new one (centres coincide).
  const shift = perAxis((a) => ((volume.dims[a] - 1) * volume.spacing[a] - (dims[a] - 1) * spacingMm) / 2);
  const [r, c, n] = volume.direction;
  const origin: Vec3 = [
    volume.origin[0] + shift[0] * r[0] + shift[1] * c[0] + shift[2] * n[0],
    volume.origin[1] + shift[0] * r[1] + shift[1] * c[1] + shift[2] * n[1],
    volume.origin[2] + shift[0] * r[2] + shift[1] * c[2] + shift[2] * n[2],
  ];
  return { dims, spacing: [spacingMm, spacingMm, spacingMm], origin, direction: volume.direction };
}
