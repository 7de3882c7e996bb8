import { createRng, deriveSeed, type Rng } from '../../ml/random.ts';
import type { Vec3, Volume } from '../volume.ts';
import {
  type Anatomy,
  buildAnatomy,
  type Ellipse2D,
  ellipsoidVolumeBelowMl,
  ellipsoidVolumeMl,
  layerSection,
  TISSUES,
  type Tissue,
} from './anatomy.ts';
import { allocateLesionSizes, type Lesion, placeLesions } from './lesions.ts';

/** Scan range skull base → mid-thigh as a share of body height (≈ 0.42 · 170 cm = 71 cm). */
export const SCAN_RANGE_PER_HEIGHT = 0.42;

export interface PhantomOptions {
  /** Seed of this patient's phantom (anatomy, lesions and noise streams derive from it). */
  seed: number;
  weightKg: number;
  heightM: number;
  /** Tumour burden to aim for; the realised truth is in the result. */
  targetMtvMl: number;
  /** PET in-plane matrix (square) and pixel spacing; default 64 × 8.5 mm. */
  matrix?: number;
  pixelSpacingMm?: number;
  /** Slice thickness = spacing between slices (contiguous), default 8 mm. */
  sliceThicknessMm?: number;
  /** Number of slices; default covers SCAN_RANGE_PER_HEIGHT of the height. */
  slices?: number;
  /** CT in-plane matrix over the same field of view (CT is usually finer); default = matrix. */
  ctMatrix?: number;
  /** z (mm) of the top slice; default −100. */
  topZMm?: number;
}

export interface Phantom {
  anatomy: Anatomy;
  /** SUVbw on the PET grid (noise included): the values the DICOM must reproduce. */
  pet: Volume;
  /** Hounsfield units on the CT grid (same slices and field of view as the PET). */
  ct: Volume;
  /** The true tumours, and their analytic total volume (Σ sphere volumes), mL. */
  lesions: Lesion[];
  totalMtvMl: number;
  /** Analytic volumes of the physiological hot spots inside the scan range, mL. */
  brainInFovMl: number;
  bladderMl: number;
}

function uniform(rng: Rng, low: number, high: number): number {
  return low + (high - low) * rng.next();
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}

/** Number of contiguous slices that cover the scan range of a patient of this height. */
export function slicesForHeight(heightM: number, sliceThicknessMm: number): number {
  return Math.round((SCAN_RANGE_PER_HEIGHT * heightM * 1000) / sliceThicknessMm) + 1;
}

interface Grid {
  matrix: number;
  spacing: number;
  slices: number;
  thickness: number;
  topZ: number;
}

function gridVolume(grid: Grid): Volume {
  const half = ((grid.matrix - 1) / 2) * grid.spacing;
  const bottomZ = grid.topZ - (grid.slices - 1) * grid.thickness;
  return {
    dims: [grid.matrix, grid.matrix, grid.slices],
    spacing: [grid.spacing, grid.spacing, grid.thickness],
    origin: [-half, -half, bottomZ],
    direction: [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ],
    data: new Float32Array(grid.matrix * grid.matrix * grid.slices),
  };
}

function inside(e: Ellipse2D, x: number, y: number): number {
  const dx = (x - e.cx) / e.ax;
  const dy = (y - e.cy) / e.ay;
  return dx * dx + dy * dy;
}

/** Paints the organ background (no lesions, no noise) into the volume, SUV or HU. */
function paintAnatomy(anatomy: Anatomy, volume: Volume, pick: (tissue: Tissue) => number): void {
  const [nx, ny, nz] = volume.dims;
  const [sx, sy, sz] = volume.spacing;
  const [ox, oy, oz] = volume.origin;
  const air = pick(TISSUES.air);
  for (let k = 0; k < nz; k++) {
    const z = oz + k * sz;
    const body = anatomy.bodyAt(z);
    const sections: { section: Ellipse2D; value: number }[] = [];
    for (const layer of anatomy.layers) {
      const section = layerSection(layer, z);
      if (section) sections.push({ section, value: pick(layer.tissue) });
    }
    for (let j = 0; j < ny; j++) {
      const y = oy + j * sy;
      const row = nx * (j + ny * k);
      for (let i = 0; i < nx; i++) {
        const x = ox + i * sx;
        let value = air;
        for (const outline of body) {
          const r2 = inside(outline, x, y);
          if (r2 > 1) continue;
          const rim = 1 - anatomy.fatRimMm / Math.min(outline.ax, outline.ay);
          value = r2 > rim * rim ? pick(TISSUES.fat) : pick(TISSUES.softTissue);
          for (const { section, value: organ } of sections) if (inside(section, x, y) <= 1) value = organ;
          break;
        }
        volume.data[row + i] = value;
      }
    }
  }
}

const SUBSAMPLES = 4;

/**
 * Blends a sphere into the volume with its partial-volume fraction per voxel:
 * exact inside/outside away from the surface, a 4×4×4 subsample near it.
 */
function paintSphere(volume: Volume, centre: Vec3, radius: number, value: number): void {
  const [nx, ny, nz] = volume.dims;
  const [sx, sy, sz] = volume.spacing;
  const [ox, oy, oz] = volume.origin;
  const halfDiagonal = 0.5 * Math.hypot(sx, sy, sz);
  const range = (c: number, o: number, s: number, n: number): [number, number] => [
    Math.max(0, Math.floor((c - radius - o) / s)),
    Math.min(n - 1, Math.ceil((c + radius - o) / s)),
  ];
  const [i0, i1] = range(centre[0], ox, sx, nx);
  const [j0, j1] = range(centre[1], oy, sy, ny);
  const [k0, k1] = range(centre[2], oz, sz, nz);
  for (let k = k0; k <= k1; k++) {
    for (let j = j0; j <= j1; j++) {
      for (let i = i0; i <= i1; i++) {
        const x = ox + i * sx;
        const y = oy + j * sy;
        const z = oz + k * sz;
        const d = Math.hypot(x - centre[0], y - centre[1], z - centre[2]);
        let fraction: number;
        if (d <= radius - halfDiagonal) fraction = 1;
        else if (d >= radius + halfDiagonal) fraction = 0;
        else {
          let hits = 0;
          for (let a = 0; a < SUBSAMPLES; a++) {
            const px = x + ((a + 0.5) / SUBSAMPLES - 0.5) * sx - centre[0];
            for (let b = 0; b < SUBSAMPLES; b++) {
              const py = y + ((b + 0.5) / SUBSAMPLES - 0.5) * sy - centre[1];
              for (let c = 0; c < SUBSAMPLES; c++) {
                const pz = z + ((c + 0.5) / SUBSAMPLES - 0.5) * sz - centre[2];
                if (px * px + py * py + pz * pz <= radius * radius) hits++;
              }
            }
          }
          fraction = hits / SUBSAMPLES ** 3;
        }
        if (fraction === 0) continue;
        const index = i + nx * (j + ny * k);
        const current = volume.data[index] ?? 0;
        volume.data[index] = current + fraction * (value - current);
      }
    }
  }
}

/** CT number of a lesion: soft-tissue density, mixed lytic/sclerotic in bone. */
function lesionHu(lesion: Lesion): number {
  return lesion.site === 'bone' ? 250 : 35;
}

/**
 * Builds one patient's phantom. PET noise is Gaussian with SD 0.06·SUV + 0.02
 * (count statistics grow with activity; liver 2.0 ± 0.14 so it stays below
 * 2.5 except for a rare voxel), CT noise SD 10 HU in the body, 3 HU in air.
 */
export function buildPhantom(options: PhantomOptions): Phantom {
  const matrix = options.matrix ?? 64;
  const spacing = options.pixelSpacingMm ?? 8.5;
  const thickness = options.sliceThicknessMm ?? 8;
  const slices = options.slices ?? slicesForHeight(options.heightM, thickness);
  const ctMatrix = options.ctMatrix ?? matrix;
  const topZ = options.topZMm ?? -100;
  for (const [name, value] of Object.entries({ matrix, ctMatrix, slices })) {
    if (!Number.isInteger(value) || value < 2) throw new RangeError(`phantom ${name} must be an integer ≥ 2`);
  }
  if (!(spacing > 0 && thickness > 0)) throw new RangeError('phantom spacing and thickness must be positive');

  const anatomyRng = createRng(deriveSeed(options.seed, 'anatomy'));
  const bmi = options.weightKg / options.heightM ** 2;
  const build = Math.sqrt(bmi / 24);
  const anatomy = buildAnatomy({
    topZ,
    coverageMm: (slices - 1) * thickness,
    trunkHalfWidthMm: clamp(160 * build, 130, 215),
    trunkHalfDepthMm: clamp(105 * build, 85, 150),
    brainSuv: uniform(anatomyRng, 6, 8),
    bladderSuv: uniform(anatomyRng, 8, 15),
    bladderScale: uniform(anatomyRng, 0.9, 1.15),
    brainDepthInFovMm: uniform(anatomyRng, 35, 50),
  });

  const lesionRng = createRng(deriveSeed(options.seed, 'lesions'));
  const sizes = allocateLesionSizes(lesionRng, options.targetMtvMl);
  // Two PET voxels between lesions keep them separate connected components.
  const lesions = placeLesions(lesionRng, anatomy, sizes, 2 * Math.max(spacing, thickness));
  const totalMtvMl = lesions.reduce((sum, l) => sum + l.volumeMl, 0);

  const pet = gridVolume({ matrix, spacing, slices, thickness, topZ });
  paintAnatomy(anatomy, pet, (t) => t.suv);
  for (const lesion of lesions) paintSphere(pet, lesion.centreMm, lesion.radiusMm, lesion.suv);
  const petNoise = createRng(deriveSeed(options.seed, 'pet-noise'));
  for (let n = 0; n < pet.data.length; n++) {
    const v = pet.data[n] ?? 0;
    pet.data[n] = Math.max(0, v + (0.06 * v + 0.02) * petNoise.normal());
  }

  const ctSpacing = (spacing * matrix) / ctMatrix;
  const ct = gridVolume({ matrix: ctMatrix, spacing: ctSpacing, slices, thickness, topZ });
  // Same field of view as the PET (ctMatrix·ctSpacing = matrix·spacing, both centred on the axis).
  paintAnatomy(anatomy, ct, (t) => t.hu);
  for (const lesion of lesions) paintSphere(ct, lesion.centreMm, lesion.radiusMm, lesionHu(lesion));
  const ctNoise = createRng(deriveSeed(options.seed, 'ct-noise'));
  for (let n = 0; n < ct.data.length; n++) {
    const v = ct.data[n] ?? 0;
    ct.data[n] = clamp(v + (v <= -990 ? 3 : 10) * ctNoise.normal(), -1024, 3071);
  }

  return {
    anatomy,
    pet,
    ct,
    lesions,
    totalMtvMl,
    brainInFovMl: ellipsoidVolumeBelowMl(anatomy.organs.brain, topZ + thickness / 2),
    bladderMl: ellipsoidVolumeMl(anatomy.organs.bladder),
  };
}
