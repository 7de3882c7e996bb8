import type { Rng } from '../../ml/random.ts';
import type { Vec3 } from '../volume.ts';
import { type Anatomy, type Ellipsoid, insideEllipsoid } from './anatomy.ts';

export type LesionSite = 'lung-primary' | 'node' | 'bone' | 'liver' | 'adrenal';

/** One true tumour: a uniform-uptake sphere. */
export interface Lesion {
  site: LesionSite;
  centreMm: Vec3;
  radiusMm: number;
  suv: number;
  /** (4/3)·π·r³ in mL. */
  volumeMl: number;
}

/** Size limits (mm) of the primary tumour and of metastases. */
export const PRIMARY_RADIUS_MM = { min: 8, max: 30 } as const;
export const METASTASIS_RADIUS_MM = { min: 5, max: 20 } as const;
export const PRIMARY_SUV = { min: 5, max: 15 } as const;
export const METASTASIS_SUV = { min: 3, max: 12 } as const;
export const MAX_METASTASES = 14;

export function sphereVolumeMl(radiusMm: number): number {
  return ((4 / 3) * Math.PI * radiusMm ** 3) / 1000;
}

function sphereRadiusMm(volumeMl: number): number {
  return Math.cbrt((volumeMl * 1000 * 3) / (4 * Math.PI));
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}

function poisson(rng: Rng, mean: number): number {
  // Knuth's multiplication method: fine for the small means used here.
  const limit = Math.exp(-mean);
  let count = 0;
  let product = rng.next();
  while (product > limit) {
    count++;
    product *= rng.next();
  }
  return count;
}

export interface LesionSizes {
  primaryRadiusMm: number;
  metastasisRadiiMm: number[];
}

/**
 * Splits a target total MTV into a primary tumour and metastases. More
 * tumour burden means more metastases (Poisson mean 0.6 + 1.6·ln(MTV/10 mL)
 * above 10 mL); the primary takes 35–75 % of the volume (all of it without
 * metastases) and the rest is shared by exponential weights. Radii are clipped
 * to the size limits, so the realised total (the truth) can differ from the
 * target; extra metastases are added when the rest would not fit.
 */
export function allocateLesionSizes(rng: Rng, targetMtvMl: number): LesionSizes {
  if (!(targetMtvMl > 0)) throw new RangeError('target MTV must be positive');
  let count = Math.min(MAX_METASTASES, poisson(rng, 0.6 + 1.6 * Math.max(0, Math.log(targetMtvMl / 10))));
  const primaryShare = count === 0 ? 1 : 0.35 + 0.4 * rng.next();
  const primaryRadiusMm = clamp(
    sphereRadiusMm(primaryShare * targetMtvMl),
    PRIMARY_RADIUS_MM.min,
    PRIMARY_RADIUS_MM.max,
  );
  const rest = targetMtvMl - sphereVolumeMl(primaryRadiusMm);
  const largestMetastasisMl = sphereVolumeMl(METASTASIS_RADIUS_MM.max);
  if (rest > 0) count = Math.min(MAX_METASTASES, Math.max(count, Math.ceil(rest / largestMetastasisMl)));
  const weights = Array.from({ length: count }, () => -Math.log(1 - rng.next()));
  const weightSum = weights.reduce((sum, w) => sum + w, 0);
  const metastasisRadiiMm = weights.map((w) =>
    clamp(
      sphereRadiusMm(Math.max(0, rest) * (w / weightSum)),
      METASTASIS_RADIUS_MM.min,
      METASTASIS_RADIUS_MM.max,
    ),
  );
  return { primaryRadiusMm, metastasisRadiiMm };
}

function uniform(rng: Rng, low: number, high: number): number {
  return low + (high - low) * rng.next();
}

/** A uniform point in an ellipsoid shrunk by `marginMm` on every axis (at least 30 % of each axis kept). */
function pointInEllipsoid(rng: Rng, shape: Ellipsoid, marginMm: number): Vec3 {
  for (;;) {
    const u: Vec3 = [uniform(rng, -1, 1), uniform(rng, -1, 1), uniform(rng, -1, 1)];
    if (u[0] * u[0] + u[1] * u[1] + u[2] * u[2] > 1) continue;
    const axes = shape.semiAxes.map((s) => Math.max(0.3 * s, s - marginMm));
    return [
      shape.centre[0] + u[0] * (axes[0] ?? 0),
      shape.centre[1] + u[1] * (axes[1] ?? 0),
      shape.centre[2] + u[2] * (axes[2] ?? 0),
    ];
  }
}

type MetastasisSite = Exclude<LesionSite, 'lung-primary'>;

function proposeCentre(rng: Rng, anatomy: Anatomy, site: LesionSite, radiusMm: number): Vec3 {
  const o = anatomy.organs;
  const a = anatomy.parameters.trunkHalfWidthMm;
  const b = anatomy.parameters.trunkHalfDepthMm;
  switch (site) {
    case 'lung-primary': {
      const lung = rng.next() < 0.55 ? o.rightLung : o.leftLung;
      return pointInEllipsoid(rng, lung, radiusMm);
    }
    case 'node': {
      const region = rng.next();
      if (region < 0.6) {
        // Mediastinal stations (paratracheal, subcarinal).
        return [
          uniform(rng, -0.12 * a, 0.12 * a),
          uniform(rng, -0.25 * b, 0.3 * b),
          anatomy.zAt(uniform(rng, 0.25, 0.4)),
        ];
      }
      if (region < 0.85) {
        // Hilar.
        const side = rng.next() < 0.5 ? -1 : 1;
        return [
          side * uniform(rng, 0.18 * a, 0.25 * a),
          uniform(rng, -0.05 * b, 0.15 * b),
          anatomy.zAt(uniform(rng, 0.32, 0.4)),
        ];
      }
      // Supraclavicular.
      const side = rng.next() < 0.5 ? -1 : 1;
      return [
        side * uniform(rng, 0.25 * a, 0.35 * a),
        uniform(rng, -0.15 * b, 0),
        anatomy.zAt(uniform(rng, 0.2, 0.23)),
      ];
    }
    case 'bone': {
      if (rng.next() < 0.7) {
        const s = o.spine;
        return [s.cx, s.cy, anatomy.zAt(uniform(rng, 0.2, 0.7))];
      }
      return pointInEllipsoid(rng, rng.next() < 0.5 ? o.leftIliac : o.rightIliac, 0);
    }
    case 'liver':
      return pointInEllipsoid(rng, o.liver, radiusMm);
    case 'adrenal': {
      const c = rng.next() < 0.5 ? o.leftAdrenal : o.rightAdrenal;
      return [c[0] + uniform(rng, -5, 5), c[1] + uniform(rng, -5, 5), c[2] + uniform(rng, -5, 5)];
    }
  }
}

function drawMetastasisSite(rng: Rng): MetastasisSite {
  const u = rng.next();
  if (u < 0.45) return 'node';
  if (u < 0.7) return 'bone';
  if (u < 0.88) return 'liver';
  return 'adrenal';
}

function distance(p: Vec3, q: Vec3): number {
  return Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]);
}

/** True when a sphere lies at least gapMm outside an ellipsoid (conservative: uses its largest semi-axis). */
function clearOf(shape: Ellipsoid, centre: Vec3, radiusMm: number, gapMm: number): boolean {
  return distance(centre, shape.centre) >= Math.max(...shape.semiAxes) + radiusMm + gapMm;
}

/**
 * Places the lesions as non-overlapping spheres, at least `gapMm` apart (so
 * each stays its own connected component on a PET grid with voxels about
 * gapMm/2 wide), clear of the brain and the bladder, with the primary's
 * centre in a lung and outside the heart. A lesion that cannot be placed
 * after repeated tries with a shrinking gap is dropped: the returned list is
 * the truth.
 */
export function placeLesions(rng: Rng, anatomy: Anatomy, sizes: LesionSizes, gapMm: number): Lesion[] {
  const placed: Lesion[] = [];
  const requests: { site: LesionSite; radiusMm: number; suv: number }[] = [
    {
      site: 'lung-primary',
      radiusMm: sizes.primaryRadiusMm,
      suv: uniform(rng, PRIMARY_SUV.min, PRIMARY_SUV.max),
    },
    ...sizes.metastasisRadiiMm.map((radiusMm) => ({
      site: drawMetastasisSite(rng),
      radiusMm,
      suv: uniform(rng, METASTASIS_SUV.min, METASTASIS_SUV.max),
    })),
  ];
  const { brain, bladder, heart } = anatomy.organs;
  for (const request of requests) {
    for (let attempt = 0; attempt < 240; attempt++) {
      const gap = gapMm * (attempt < 80 ? 1 : attempt < 160 ? 0.5 : 0.2);
      const centre = proposeCentre(rng, anatomy, request.site, request.radiusMm);
      if (request.site === 'lung-primary' && insideEllipsoid(heart, centre)) continue;
      if (
        !clearOf(brain, centre, request.radiusMm, gap) ||
        !clearOf(bladder, centre, request.radiusMm, gap)
      ) {
        continue;
      }
      const overlaps = placed.some((l) => distance(l.centreMm, centre) < l.radiusMm + request.radiusMm + gap);
      if (overlaps) continue;
      placed.push({ ...request, centreMm: centre, volumeMl: sphereVolumeMl(request.radiusMm) });
      break;
    }
  }
  return placed;
}
