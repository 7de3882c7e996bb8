import type { Vec3 } from '../volume.ts';

/**
 * A coarse analytic whole-body anatomy, skull base to mid-thigh, in DICOM
 * patient coordinates (LPS: +x patient left, +y posterior, +z superior; mm).
 * Organs are ellipsoids and cylinders; the body outline changes with the
 * axial fraction f (0 at the top slice, 1 at the bottom slice) so that the
 * anatomy stretches with the scan range, which itself follows the patient's
 * height. Values are typical 18F-FDG uptake (SUVbw) and CT numbers (HU).
 */

export interface Tissue {
  name: string;
  suv: number;
  hu: number;
}

export interface Ellipsoid {
  centre: Vec3;
  semiAxes: Vec3;
}

/** An ellipse in an axial plane. */
export interface Ellipse2D {
  cx: number;
  cy: number;
  ax: number;
  ay: number;
}

interface EllipsoidLayer {
  kind: 'ellipsoid';
  tissue: Tissue;
  shape: Ellipsoid;
}

interface CylinderLayer {
  kind: 'cylinder';
  tissue: Tissue;
  cx: number;
  cy: number;
  radius: number;
  zLow: number;
  zHigh: number;
}

/** One organ or bone painted over the body outline. */
export type Layer = EllipsoidLayer | CylinderLayer;

export const TISSUES = {
  air: { name: 'air', suv: 0, hu: -1000 },
  softTissue: { name: 'soft tissue', suv: 0.8, hu: 40 },
  fat: { name: 'subcutaneous fat', suv: 0.35, hu: -100 },
  lung: { name: 'lung', suv: 0.45, hu: -800 },
  bloodPool: { name: 'blood pool', suv: 1.6, hu: 40 },
  liver: { name: 'liver', suv: 2.0, hu: 55 },
  spine: { name: 'spine', suv: 1.0, hu: 400 },
  pelvicBone: { name: 'pelvic bone', suv: 1.0, hu: 350 },
  femur: { name: 'femur', suv: 0.9, hu: 500 },
} as const satisfies Record<string, Tissue>;

export interface AnatomyParameters {
  /** z (mm) of the centre of the most superior slice. */
  topZ: number;
  /** Distance (mm) between the centres of the top and bottom slices. */
  coverageMm: number;
  /** Body half-width (left–right) and half-depth (anterior–posterior) of the trunk, mm. */
  trunkHalfWidthMm: number;
  trunkHalfDepthMm: number;
  /** Brain SUV (cortex and basal ganglia averaged; 6–8 typical). */
  brainSuv: number;
  /** Bladder SUV (urinary 18F-FDG; 8–15 typical) and size scale (fullness). */
  bladderSuv: number;
  bladderScale: number;
  /** Height of the brain cap inside the scan range, from the top slice's centre down (mm). */
  brainDepthInFovMm: number;
}

export interface Anatomy {
  parameters: AnatomyParameters;
  /** z at axial fraction f (0 top slice centre, 1 bottom slice centre). */
  zAt(f: number): number;
  /** Body outline at z: a union of ellipses (two for the thighs), plus the fat rim thickness. */
  bodyAt(z: number): Ellipse2D[];
  fatRimMm: number;
  /** Tissue layers painted in order over the body (later wins). */
  layers: readonly Layer[];
  /** Named organs used to place lesions and check volumes. */
  organs: {
    brain: Ellipsoid;
    leftLung: Ellipsoid;
    rightLung: Ellipsoid;
    heart: Ellipsoid;
    liver: Ellipsoid;
    bladder: Ellipsoid;
    leftIliac: Ellipsoid;
    rightIliac: Ellipsoid;
    spine: { cx: number; cy: number; radius: number; zLow: number; zHigh: number };
    /** Centres of the left and right adrenal glands. */
    leftAdrenal: Vec3;
    rightAdrenal: Vec3;
  };
}

/** Axial fractions where the body outline changes. */
const HEAD_END = 0.1;
const NECK_END = 0.19;
const TRUNK_END = 0.72;
const PELVIS_END = 0.88;

export function ellipsoidVolumeMl(shape: Ellipsoid): number {
  const [a, b, c] = shape.semiAxes;
  return (4 / 3) * Math.PI * a * b * c * 1e-3;
}

/**
 * Volume (mL) of the part of an ellipsoid with z ≤ zCut: a cap of height h =
 * zCut − (zc − c) has volume π·a·b·h²·(3c − h) / (3c²).
 */
export function ellipsoidVolumeBelowMl(shape: Ellipsoid, zCut: number): number {
  const [a, b, c] = shape.semiAxes;
  const h = Math.min(2 * c, Math.max(0, zCut - (shape.centre[2] - c)));
  return ((Math.PI * a * b * h * h * (3 * c - h)) / (3 * c * c)) * 1e-3;
}

export function insideEllipsoid(shape: Ellipsoid, p: Vec3): boolean {
  const dx = (p[0] - shape.centre[0]) / shape.semiAxes[0];
  const dy = (p[1] - shape.centre[1]) / shape.semiAxes[1];
  const dz = (p[2] - shape.centre[2]) / shape.semiAxes[2];
  return dx * dx + dy * dy + dz * dz <= 1;
}

/** The axial cross-section of a layer at z, or undefined where it does not reach. */
export function layerSection(layer: Layer, z: number): Ellipse2D | undefined {
  if (layer.kind === 'cylinder') {
    if (z < layer.zLow || z > layer.zHigh) return undefined;
    return { cx: layer.cx, cy: layer.cy, ax: layer.radius, ay: layer.radius };
  }
  const { centre, semiAxes } = layer.shape;
  const t = (z - centre[2]) / semiAxes[2];
  if (t * t >= 1) return undefined;
  const s = Math.sqrt(1 - t * t);
  return { cx: centre[0], cy: centre[1], ax: semiAxes[0] * s, ay: semiAxes[1] * s };
}

export function buildAnatomy(p: AnatomyParameters): Anatomy {
  const a = p.trunkHalfWidthMm;
  const b = p.trunkHalfDepthMm;
  const L = p.coverageMm;
  const zAt = (f: number): number => p.topZ - f * L;

  // The top slice is at the skull base: only the lower brain (cerebellum,
  // temporal lobes) is inside the scan range.
  const brainSemi: Vec3 = [62, 78, 55];
  const brain: Ellipsoid = {
    centre: [0, 5, p.topZ + brainSemi[2] - p.brainDepthInFovMm],
    semiAxes: brainSemi,
  };
  const lungSemi: Vec3 = [0.3 * a, 0.62 * b, 0.15 * L];
  const rightLung: Ellipsoid = { centre: [-0.45 * a, 0.05 * b, zAt(0.34)], semiAxes: lungSemi };
  const leftLung: Ellipsoid = { centre: [0.45 * a, 0.05 * b, zAt(0.34)], semiAxes: lungSemi };
  const heart: Ellipsoid = {
    centre: [0.12 * a, -0.3 * b, zAt(0.43)],
    semiAxes: [0.28 * a, 0.38 * b, 0.06 * L],
  };
  const liver: Ellipsoid = {
    centre: [-0.42 * a, -0.05 * b, zAt(0.53)],
    semiAxes: [0.4 * a, 0.62 * b, 0.075 * L],
  };
  const bladderSemi: Vec3 = [45 * p.bladderScale, 38 * p.bladderScale, 35 * p.bladderScale];
  const bladder: Ellipsoid = { centre: [0, -0.3 * b, zAt(0.82)], semiAxes: bladderSemi };
  const iliacSemi: Vec3 = [0.12 * a, 0.35 * b, 0.05 * L];
  const leftIliac: Ellipsoid = { centre: [0.6 * a, 0.2 * b, zAt(0.75)], semiAxes: iliacSemi };
  const rightIliac: Ellipsoid = { centre: [-0.6 * a, 0.2 * b, zAt(0.75)], semiAxes: iliacSemi };
  const spine = { cx: 0, cy: 0.68 * b, radius: 0.1 * a, zLow: zAt(0.78), zHigh: zAt(0.08) };
  const thighCentreX = 0.52 * a;
  const femurZHigh = zAt(PELVIS_END - 0.02);

  const layers: Layer[] = [
    { kind: 'ellipsoid', tissue: { name: 'brain', suv: p.brainSuv, hu: 35 }, shape: brain },
    { kind: 'ellipsoid', tissue: TISSUES.lung, shape: rightLung },
    { kind: 'ellipsoid', tissue: TISSUES.lung, shape: leftLung },
    { kind: 'ellipsoid', tissue: TISSUES.bloodPool, shape: heart },
    { kind: 'ellipsoid', tissue: TISSUES.liver, shape: liver },
    { kind: 'cylinder', tissue: TISSUES.spine, ...spine },
    { kind: 'ellipsoid', tissue: TISSUES.pelvicBone, shape: leftIliac },
    { kind: 'ellipsoid', tissue: TISSUES.pelvicBone, shape: rightIliac },
    {
      kind: 'cylinder',
      tissue: TISSUES.femur,
      cx: thighCentreX,
      cy: 0,
      radius: 14,
      zLow: -Infinity,
      zHigh: femurZHigh,
    },
    {
      kind: 'cylinder',
      tissue: TISSUES.femur,
      cx: -thighCentreX,
      cy: 0,
      radius: 14,
      zLow: -Infinity,
      zHigh: femurZHigh,
    },
    { kind: 'ellipsoid', tissue: { name: 'bladder', suv: p.bladderSuv, hu: 5 }, shape: bladder },
  ];

  const bodyAt = (z: number): Ellipse2D[] => {
    const f = (p.topZ - z) / L;
    if (f < HEAD_END) return [{ cx: 0, cy: 5, ax: 75, ay: 92 }];
    // The neck sits posteriorly, around the cervical spine.
    if (f < NECK_END) return [{ cx: 0, cy: 25, ax: 60, ay: 68 }];
    if (f < TRUNK_END) return [{ cx: 0, cy: 0, ax: a, ay: b }];
    if (f < PELVIS_END) return [{ cx: 0, cy: 0, ax: 1.04 * a, ay: 0.95 * b }];
    const r = 0.45 * a;
    return [
      { cx: thighCentreX, cy: 0, ax: r, ay: r },
      { cx: -thighCentreX, cy: 0, ax: r, ay: r },
    ];
  };

  return {
    parameters: p,
    zAt,
    bodyAt,
    fatRimMm: 12,
    layers,
    organs: {
      brain,
      leftLung,
      rightLung,
      heart,
      liver,
      bladder,
      leftIliac,
      rightIliac,
      spine,
      leftAdrenal: [0.3 * a, 0.4 * b, zAt(0.6)],
      rightAdrenal: [-0.3 * a, 0.4 * b, zAt(0.6)],
    },
  };
}
