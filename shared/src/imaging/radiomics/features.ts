import { ErrorCodes, FedpetError } from '../../errors/fedpet-error.ts';
import { dilateBox, type VoxelBox } from '../preprocess/voxel-box.ts';
import { type Vec3, type Volume, voxelCount, voxelToWorld, voxelVolumeMl } from '../volume.ts';
import { componentIndices, growRegion, labelComponents } from './connected-components.ts';
import { SUV_PEAK_RADIUS_MM, suvPeak } from './suv-peak.ts';

/** Options of {@link computeRadiomics}; every field has a default (see docs/radiomics.md). */
export interface RadiomicsOptions {
  /** Candidate lesions are 26-connected components of SUV ≥ this (also segmentation (b)). Default 2.5. */
  lesionThreshold?: number;
  /** Segmentation (c): components of SUV ≥ this inside the candidate lesions. Default 4.0. */
  highThreshold?: number;
  /** Segmentation (a): fraction of each lesion's SUVmax. Default 0.41. */
  isocontourFraction?: number;
  /** Segmentation (a) is restricted to the lesion's bounding box grown by this margin. Default 10 mm. */
  isocontourMarginMm?: number;
  /**
   * Segmentation (a) never goes below this SUV: the threshold is
   * max(fraction × SUVmax, floor). Without a floor, a lesion with SUVmax 5
   * gets a 41% threshold of 2.05, liver and blood-pool uptake, and its region
   * leaks into them (seen on fedpet's synthetic cohort: MTV 5–8× the truth).
   * "41% of SUVmax or SUV 2.5, whichever is higher" is a common TMTV rule.
   * Default 2.5; 0 gives the plain 41% isocontour.
   */
  isocontourFloorSuv?: number;
  /**
   * Physiological-uptake rule: candidates larger than this are excluded
   * (brain, full bladder). Default 150 mL.
   */
  maxLesionMl?: number;
  /** Candidates with fewer voxels are noise. Default 2. */
  minLesionVoxels?: number;
  /** SUVpeak sphere radius. Default 6.2035 mm (1 cm³). */
  peakRadiusMm?: number;
}

export const DEFAULT_RADIOMICS_OPTIONS: Readonly<Required<RadiomicsOptions>> = Object.freeze({
  lesionThreshold: 2.5,
  highThreshold: 4.0,
  isocontourFraction: 0.41,
  isocontourMarginMm: 10,
  isocontourFloorSuv: 2.5,
  maxLesionMl: 150,
  minLesionVoxels: 2,
  peakRadiusMm: SUV_PEAK_RADIUS_MM,
});

/** One lesion's measures under one segmentation. */
export interface LesionMeasure {
  /** Id (1-based) of the candidate lesion this region belongs to. */
  lesion: number;
  voxels: number;
  mtvMl: number;
  suvMax: number;
  suvMean: number;
  /** Total lesion glycolysis = MTV (mL) × SUVmean. */
  tlg: number;
  /** Geometric centre of the region's voxel centres, patient coordinates (LPS, mm). */
  centroidMm: Vec3;
}

export type SegmentationRule =
  | { kind: 'isocontour'; fraction: number; floorSuv: number; marginMm: number }
  | { kind: 'fixed'; threshold: number };

export interface SegmentationSummary {
  rule: SegmentationRule;
  lesionCount: number;
  /** Σ MTV over lesions (mL). */
  totalMtvMl: number;
  /** Σ MTV × SUVmean over lesions. */
  totalTlg: number;
  /** Mean SUV over every segmented voxel (0 when nothing is segmented). */
  suvMean: number;
  lesions: LesionMeasure[];
}

/** A candidate lesion: a 26-connected component of SUV ≥ lesionThreshold that passed the size rules. */
export interface CandidateLesion {
  /** 1-based, in scan order of the component's first voxel. */
  lesion: number;
  voxels: number;
  volumeMl: number;
  suvMax: number;
  suvPeak: number;
  /** Patient coordinates of the hottest voxel (first in scan order on ties). */
  hottestMm: Vec3;
  /** Patient coordinates of the SUVpeak sphere's centre. */
  peakCenterMm: Vec3;
  /** For segmentation (a): the id of a hotter lesion whose isocontour region already took this lesion's hottest voxel. */
  mergedInto?: number;
}

export interface ExcludedComponent {
  voxels: number;
  volumeMl: number;
  suvMax: number;
  centroidMm: Vec3;
}

export interface RadiomicFeatures {
  /** Hottest voxel over the candidate lesions (0 without lesions). */
  suvMax: number;
  /** Mean SUV over the isocontour (41 %) lesion voxels (0 without lesions). */
  suvMean: number;
  /** Best SUVpeak over the candidate lesions (0 without lesions). */
  suvPeak: number;
  lesionCount: number;
  lesions: CandidateLesion[];
  segmentations: {
    /** (a) per lesion, SUV ≥ fraction × the lesion's SUVmax. */
    isocontour: SegmentationSummary;
    /** (b) SUV ≥ lesionThreshold. */
    fixedLow: SegmentationSummary;
    /** (c) SUV ≥ highThreshold inside the candidate lesions. */
    fixedHigh: SegmentationSummary;
  };
  excluded: {
    /** Components above maxLesionMl, taken as physiological uptake. */
    physiological: { count: number; voxels: number; volumeMl: number; components: ExcludedComponent[] };
    /** Components below minLesionVoxels. */
    noise: { count: number; voxels: number };
  };
  voxelVolumeMl: number;
  options: Required<RadiomicsOptions>;
}

function resolveOptions(options: RadiomicsOptions): Required<RadiomicsOptions> {
  const o = { ...DEFAULT_RADIOMICS_OPTIONS, ...stripUndefined(options) };
  const positive: (keyof RadiomicsOptions)[] = [
    'lesionThreshold',
    'highThreshold',
    'maxLesionMl',
    'peakRadiusMm',
  ];
  for (const key of positive) {
    if (!Number.isFinite(o[key]) || o[key] <= 0) {
      throw new FedpetError(ErrorCodes.invalidConfig, `radiomics option ${key} must be a positive number`);
    }
  }
  if (!(o.isocontourFraction > 0 && o.isocontourFraction <= 1)) {
    throw new FedpetError(ErrorCodes.invalidConfig, 'radiomics option isocontourFraction must be in (0, 1]');
  }
  if (!Number.isFinite(o.isocontourFloorSuv) || o.isocontourFloorSuv < 0) {
    throw new FedpetError(ErrorCodes.invalidConfig, 'radiomics option isocontourFloorSuv must be ≥ 0');
  }
  if (!Number.isFinite(o.isocontourMarginMm) || o.isocontourMarginMm < 0) {
    throw new FedpetError(ErrorCodes.invalidConfig, 'radiomics option isocontourMarginMm must be ≥ 0');
  }
  if (!Number.isInteger(o.minLesionVoxels) || o.minLesionVoxels < 1) {
    throw new FedpetError(
      ErrorCodes.invalidConfig,
      'radiomics option minLesionVoxels must be an integer ≥ 1',
    );
  }
  return o;
}

function stripUndefined(options: RadiomicsOptions): RadiomicsOptions {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as RadiomicsOptions;
}

function checkVolume(suv: Volume): void {
  if (!suv.dims.every((n) => Number.isInteger(n) && n > 0) || voxelCount(suv.dims) !== suv.data.length) {
    throw new FedpetError(
      ErrorCodes.datasetInvalid,
      'radiomics: SUV volume data length does not match its dims',
    );
  }
  if (!suv.spacing.every((s) => Number.isFinite(s) && s > 0)) {
    throw new FedpetError(ErrorCodes.datasetInvalid, 'radiomics: SUV volume spacing must be positive');
  }
}

/** Measures of a set of voxels (indices into the volume). */
function measure(suv: Volume, indices: ArrayLike<number>, lesion: number, voxelMl: number): LesionMeasure {
  const [nx, ny] = suv.dims;
  const data = suv.data;
  let sum = 0;
  let max = Number.NEGATIVE_INFINITY;
  let si = 0;
  let sj = 0;
  let sk = 0;
  const n = indices.length;
  for (let s = 0; s < n; s++) {
    const p = indices[s]!;
    const v = data[p]!;
    sum += v;
    if (v > max) max = v;
    const i = p % nx;
    const rest = (p - i) / nx;
    const j = rest % ny;
    si += i;
    sj += j;
    sk += (rest - j) / ny;
  }
  const mtvMl = n * voxelMl;
  const suvMean = n > 0 ? sum / n : 0;
  return {
    lesion,
    voxels: n,
    mtvMl,
    suvMax: n > 0 ? max : 0,
    suvMean,
    tlg: mtvMl * suvMean,
    centroidMm: n > 0 ? voxelToWorld(suv, si / n, sj / n, sk / n) : [0, 0, 0],
  };
}

function summarise(rule: SegmentationRule, lesions: LesionMeasure[]): SegmentationSummary {
  let mtv = 0;
  let tlg = 0;
  let voxels = 0;
  let suvSum = 0;
  for (const l of lesions) {
    mtv += l.mtvMl;
    tlg += l.tlg;
    voxels += l.voxels;
    suvSum += l.suvMean * l.voxels;
  }
  return {
    rule,
    lesionCount: lesions.length,
    totalMtvMl: mtv,
    totalTlg: tlg,
    suvMean: voxels > 0 ? suvSum / voxels : 0,
    lesions,
  };
}

function indexToWorld(suv: Volume, p: number): Vec3 {
  const [nx, ny] = suv.dims;
  const i = p % nx;
  const rest = (p - i) / nx;
  const j = rest % ny;
  return voxelToWorld(suv, i, j, (rest - j) / ny);
}

interface Candidate {
  lesion: number;
  indices: Int32Array;
  box: VoxelBox;
  hottest: number;
  suvMax: number;
}

/**
 * PET biomarkers of a whole-body SUV volume (SCIENCE.md §2; rules and their
 * limits in docs/radiomics.md).
 *
 * 1. Candidates: 26-connected components of SUV ≥ lesionThreshold. Those
 *    larger than maxLesionMl are taken as physiological uptake and excluded
 *    (brain, full bladder: far larger than fedpet's synthetic lesions and
 *    typical metastases; sites with expert masks will supply them later);
 *    those under minLesionVoxels are noise.
 * 2. Three segmentations of the remaining lesions: (a) per lesion, SUV ≥
 *    isocontourFraction × its SUVmax, connected to its hottest voxel, within
 *    its bounding box grown by isocontourMarginMm — hotter lesions claim
 *    voxels first, and physiological components are never entered, so no
 *    voxel counts twice; (b) the candidate components themselves (SUV ≥
 *    lesionThreshold); (c) 26-connected components of SUV ≥ highThreshold
 *    inside the candidates.
 * 3. Per lesion and segmentation: voxels, MTV, SUVmax, SUVmean, TLG,
 *    centroid; totals; patient-level SUVmax, SUVmean (over (a)), SUVpeak.
 *
 * Deterministic (scan-order labels, fixed tie rules) and JSON-serialisable.
 */
export function computeRadiomics(suv: Volume, options: RadiomicsOptions = {}): RadiomicFeatures {
  checkVolume(suv);
  const o = resolveOptions(options);
  const { dims, data } = suv;
  const total = data.length;
  const voxelMl = voxelVolumeMl(suv.spacing);

  const mask = new Uint8Array(total);
  for (let p = 0; p < total; p++) if (data[p]! >= o.lesionThreshold) mask[p] = 1;
  const labelling = labelComponents(mask, dims, 26);
  const groups = componentIndices(labelling);

  // owner: 0 free, −1 physiological uptake, otherwise the lesion id whose isocontour region took the voxel.
  const owner = new Int32Array(total);
  const candidates: Candidate[] = [];
  const physiological: ExcludedComponent[] = [];
  let physiologicalVoxels = 0;
  let noiseCount = 0;
  let noiseVoxels = 0;
  for (const component of labelling.components) {
    const indices = groups.indices.subarray(
      groups.start[component.label - 1]!,
      groups.start[component.label]!,
    );
    const volumeMl = component.voxels * voxelMl;
    if (volumeMl > o.maxLesionMl) {
      const m = measure(suv, indices, 0, voxelMl);
      physiological.push({ voxels: m.voxels, volumeMl, suvMax: m.suvMax, centroidMm: m.centroidMm });
      physiologicalVoxels += component.voxels;
      for (const p of indices) owner[p] = -1;
      continue;
    }
    if (component.voxels < o.minLesionVoxels) {
      noiseCount++;
      noiseVoxels += component.voxels;
      continue;
    }
    let hottest = indices[0]!;
    for (const p of indices) if (data[p]! > data[hottest]!) hottest = p;
    candidates.push({
      lesion: candidates.length + 1,
      indices,
      box: component.box,
      hottest,
      suvMax: data[hottest]!,
    });
  }

  // (b) fixed low threshold: the candidate components.
  const fixedLow = candidates.map((c) => measure(suv, c.indices, c.lesion, voxelMl));

  // (a) isocontour, hottest lesion first (ties: lower id first) so regions never overlap.
  const isoById = new Map<number, LesionMeasure>();
  const mergedInto = new Map<number, number>();
  const byHeat = [...candidates].sort((a, b) => b.suvMax - a.suvMax || a.lesion - b.lesion);
  for (const c of byHeat) {
    const taken = owner[c.hottest]!;
    if (taken > 0) {
      mergedInto.set(c.lesion, taken);
      continue;
    }
    const box = dilateBox(c.box, o.isocontourMarginMm, suv.spacing, dims);
    const region = growRegion(
      data,
      dims,
      c.hottest,
      Math.max(o.isocontourFraction * c.suvMax, o.isocontourFloorSuv),
      box,
      {
        blocked: owner,
      },
    );
    for (const p of region) owner[p] = c.lesion;
    isoById.set(c.lesion, measure(suv, region, c.lesion, voxelMl));
  }
  const isocontour = candidates.flatMap((c) => {
    const m = isoById.get(c.lesion);
    return m === undefined ? [] : [m];
  });

  // (c) fixed high threshold, inside the candidates only.
  const highMask = new Uint8Array(total);
  for (const c of candidates) for (const p of c.indices) if (data[p]! >= o.highThreshold) highMask[p] = 1;
  const high = labelComponents(highMask, dims, 26);
  const highGroups = componentIndices(high);
  const lesionOfLabel = new Int32Array(labelling.components.length + 1);
  for (const c of candidates) lesionOfLabel[labelling.labels[c.hottest]!] = c.lesion;
  const fixedHigh = high.components.map((component) =>
    measure(
      suv,
      highGroups.indices.subarray(highGroups.start[component.label - 1]!, highGroups.start[component.label]!),
      lesionOfLabel[labelling.labels[component.firstIndex]!]!,
      voxelMl,
    ),
  );

  const lesions: CandidateLesion[] = candidates.map((c, n) => {
    const peak = suvPeak(suv, c.indices, o.peakRadiusMm)!;
    const lesion: CandidateLesion = {
      lesion: c.lesion,
      voxels: c.indices.length,
      volumeMl: fixedLow[n]!.mtvMl,
      suvMax: c.suvMax,
      suvPeak: peak.value,
      hottestMm: indexToWorld(suv, c.hottest),
      peakCenterMm: indexToWorld(suv, peak.centerIndex),
    };
    const merged = mergedInto.get(c.lesion);
    if (merged !== undefined) lesion.mergedInto = merged;
    return lesion;
  });

  const iso = summarise(
    {
      kind: 'isocontour',
      fraction: o.isocontourFraction,
      floorSuv: o.isocontourFloorSuv,
      marginMm: o.isocontourMarginMm,
    },
    isocontour,
  );
  return {
    suvMax: lesions.reduce((m, l) => Math.max(m, l.suvMax), 0),
    suvMean: iso.suvMean,
    suvPeak: lesions.reduce((m, l) => Math.max(m, l.suvPeak), 0),
    lesionCount: lesions.length,
    lesions,
    segmentations: {
      isocontour: iso,
      fixedLow: summarise({ kind: 'fixed', threshold: o.lesionThreshold }, fixedLow),
      fixedHigh: summarise({ kind: 'fixed', threshold: o.highThreshold }, fixedHigh),
    },
    excluded: {
      physiological: {
        count: physiological.length,
        voxels: physiologicalVoxels,
        volumeMl: physiologicalVoxels * voxelMl,
        components: physiological,
      },
      noise: { count: noiseCount, voxels: noiseVoxels },
    },
    voxelVolumeMl: voxelMl,
    options: { ...o },
  };
}
