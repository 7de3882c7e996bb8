/** A point or direction in patient coordinates (DICOM LPS, millimetres). */
export type Vec3 = readonly [number, number, number];

/**
 * A 3D image on a regular grid, in DICOM patient coordinates.
 *
 * Voxel (i, j, k) — i along a row (column index), j down the rows (row index),
 * k through the slices — sits at `origin + i·spacing[0]·direction[0] +
 * j·spacing[1]·direction[1] + k·spacing[2]·direction[2]`. For a DICOM series,
 * direction[0] and direction[1] are the two triples of ImageOrientationPatient
 * (row direction, then column direction), spacing[0] is PixelSpacing[1]
 * (between columns) and spacing[1] is PixelSpacing[0] (between rows), and
 * direction[2] is their cross product, the slice normal. Values are stored
 * with i fastest: index = i + dims[0]·(j + dims[1]·k).
 */
export interface Volume {
  dims: Vec3;
  spacing: Vec3;
  origin: Vec3;
  direction: readonly [Vec3, Vec3, Vec3];
  data: Float32Array;
}

export function voxelCount(dims: Vec3): number {
  return dims[0] * dims[1] * dims[2];
}

export function voxelIndex(dims: Vec3, i: number, j: number, k: number): number {
  return i + dims[0] * (j + dims[1] * k);
}

/** Voxel volume in millilitres (mm³ / 1000). */
export function voxelVolumeMl(spacing: Vec3): number {
  return (spacing[0] * spacing[1] * spacing[2]) / 1000;
}

/** Patient coordinates of a voxel's centre (fractional indices allowed). */
export function voxelToWorld(volume: Volume, i: number, j: number, k: number): Vec3 {
  const [sx, sy, sz] = volume.spacing;
  const [r, c, n] = volume.direction;
  const o = volume.origin;
  return [
    o[0] + i * sx * r[0] + j * sy * c[0] + k * sz * n[0],
    o[1] + i * sx * r[1] + j * sy * c[1] + k * sz * n[1],
    o[2] + i * sx * r[2] + j * sy * c[2] + k * sz * n[2],
  ];
}

/**
 * Fractional voxel indices of a patient-coordinate point. The direction
 * vectors are orthonormal (checked when volumes are built), so the inverse is
 * the transpose.
 */
export function worldToVoxel(volume: Volume, point: Vec3): Vec3 {
  const d: Vec3 = [point[0] - volume.origin[0], point[1] - volume.origin[1], point[2] - volume.origin[2]];
  const [r, c, n] = volume.direction;
  return [
    (d[0] * r[0] + d[1] * r[1] + d[2] * r[2]) / volume.spacing[0],
    (d[0] * c[0] + d[1] * c[1] + d[2] * c[2]) / volume.spacing[1],
    (d[0] * n[0] + d[1] * n[1] + d[2] * n[2]) / volume.spacing[2],
  ];
}

export function cross(a: Vec3, b: Vec3): Vec3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

export function dot(a: Vec3, b: Vec3): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}
