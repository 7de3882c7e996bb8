import type { Vec3, Volume } from '../volume.ts';

/**
 * Radius of a 1 cm³ sphere: (3 / (4π))^(1/3) cm = 6.2035 mm (PERCIST's SUVpeak
 * sphere, Wahl et al., J Nucl Med 2009).
 */
export const SUV_PEAK_RADIUS_MM = 6.2035;

export interface SuvPeak {
  /** Mean SUV in the best-placed sphere. */
  value: number;
  /** Voxel index of the best sphere's centre. */
  centerIndex: number;
  /** Number of voxels averaged (the discretised sphere, less any part outside the grid). */
  sphereVoxels: number;
}

/**
 * Offsets (di, dj, dk) of the voxels whose centres lie within `radiusMm` of a
 * voxel centre, for the grid's spacing (anisotropic voxels give an
 * ellipsoid in index space, a sphere in millimetres).
 */
export function sphereOffsets(spacing: Vec3, radiusMm: number): Vec3[] {
  const steps = (s: number): number => Math.floor(radiusMm / s + 1e-9);
  const reach: Vec3 = [steps(spacing[0]), steps(spacing[1]), steps(spacing[2])];
  const r2 = radiusMm * radiusMm * (1 + 1e-12);
  const offsets: Vec3[] = [];
  for (let dk = -reach[2]; dk <= reach[2]; dk++) {
    for (let dj = -reach[1]; dj <= reach[1]; dj++) {
      for (let di = -reach[0]; di <= reach[0]; di++) {
        const d2 = (di * spacing[0]) ** 2 + (dj * spacing[1]) ** 2 + (dk * spacing[2]) ** 2;
        if (d2 <= r2) offsets.push([di, dj, dk]);
      }
    }
  }
  return offsets;
}

/**
 * SUVpeak: the highest mean SUV of a 1 cm³ sphere.
 *
 * Placement rule: the sphere is centred on a voxel centre, and every voxel of
 * `candidates` (in fedpet, every voxel of the lesion) is tried as a centre;
 * the best mean wins, ties going to the first candidate. A voxel belongs to
 * the sphere when its centre is within the radius of the sphere's centre, in
 * millimetres from the volume's spacing. The sphere is not restricted to the
 * lesion mask (PERCIST). Voxels of the sphere that fall outside the grid are
 * left out of the mean. Returns undefined when there are no candidates.
 */
export function suvPeak(
  suv: Volume,
  candidates: ArrayLike<number>,
  radiusMm: number = SUV_PEAK_RADIUS_MM,
): SuvPeak | undefined {
  if (candidates.length === 0) return undefined;
  const [nx, ny, nz] = suv.dims;
  const nxy = nx * ny;
  const data = suv.data;
  const offsets = sphereOffsets(suv.spacing, radiusMm);
  const oi = new Int32Array(offsets.map((o) => o[0]));
  const oj = new Int32Array(offsets.map((o) => o[1]));
  const ok = new Int32Array(offsets.map((o) => o[2]));
  const linear = new Int32Array(offsets.map((o) => o[0] + nx * o[1] + nxy * o[2]));
  const reach = [Math.max(...oi), Math.max(...oj), Math.max(...ok)] as const;
  const m = offsets.length;

  let best: SuvPeak | undefined;
  for (let c = 0; c < candidates.length; c++) {
    const p = candidates[c]!;
    const i = p % nx;
    const rest = (p - i) / nx;
    const j = rest % ny;
    const k = (rest - j) / ny;
    const inside =
      i >= reach[0] &&
      j >= reach[1] &&
      k >= reach[2] &&
      i < nx - reach[0] &&
      j < ny - reach[1] &&
      k < nz - reach[2];
    let sum = 0;
    let n = 0;
    if (inside) {
      for (let s = 0; s < m; s++) sum += data[p + linear[s]!]!;
      n = m;
    } else {
      for (let s = 0; s < m; s++) {
        const a = i + oi[s]!;
        const b = j + oj[s]!;
        const d = k + ok[s]!;
        if (a < 0 || b < 0 || d < 0 || a >= nx || b >= ny || d >= nz) continue;
        sum += data[p + linear[s]!]!;
        n++;
      }
    }
    const mean = sum / n;
    if (best === undefined || mean > best.value) best = { value: mean, centerIndex: p, sphereVoxels: n };
  }
  return best;
}
