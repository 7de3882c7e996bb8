import { ErrorCodes, FedpetError } from '../../errors/fedpet-error.ts';
import type { Volume } from '../volume.ts';
import { CT_BODY_THRESHOLD_HU, cropVolume, findBodyBox, PET_BODY_THRESHOLD_SUV } from './body-crop.ts';
import { fitImage2D, fitVolume } from './fixed-size.ts';
import { clipSuv, windowCt } from './intensity.ts';
import { coronalMip, type Projection, sagittalMip } from './mip.ts';
import { type GridSpec, gridOf, isotropicGrid, resampleToGrid } from './resample.ts';
import { fullBox, type VoxelBox } from './voxel-box.ts';

/** Bumped whenever the pipeline's output changes for the same settings, so cached tensors are rebuilt. */
export const PREPROCESS_VERSION = 1;

/** CT value outside the CT's field of view once resampled into the PET frame: air. */
const CT_OUTSIDE_HU = -1000;

export interface PreprocessSettings {
  /** Isotropic voxel size both modalities are resampled to (mm). */
  voxelMm: number;
  /** SUV is clipped to [0, suvClipMax]. */
  suvClipMax: number;
  /** Divide clipped SUV by suvClipMax, so PET inputs lie in [0, 1]. */
  suvScale: boolean;
  /** CT window (HU) mapped onto [0, 1]. */
  ctWindowCenter: number;
  ctWindowWidth: number;
  /** Body mask: CT above this (HU) when a CT is given… */
  bodyThresholdHu: number;
  /** …otherwise PET above this (SUV). */
  bodyThresholdSuv: number;
  /** Margin around the body's bounding box (mm). */
  bodyMarginMm: number;
  /** Coronal and sagittal MIPs are mipSize × mipSize pixels. */
  mipSize: number;
  /** The 3D PET (and CT) crop is cropSize³ voxels. */
  cropSize: number;
}

export const DEFAULT_PREPROCESS_SETTINGS: Readonly<PreprocessSettings> = Object.freeze({
  voxelMm: 4,
  suvClipMax: 20,
  suvScale: true,
  // [−1000, 1000] HU: air, lung, fat, soft tissue and bone all stay distinguishable.
  ctWindowCenter: 0,
  ctWindowWidth: 2000,
  bodyThresholdHu: CT_BODY_THRESHOLD_HU,
  bodyThresholdSuv: PET_BODY_THRESHOLD_SUV,
  bodyMarginMm: 10,
  mipSize: 64,
  cropSize: 32,
});

/** A dense array ready to become a tensor: `data` is row-major for `shape` (last dimension fastest). */
export interface PreparedArray {
  shape: number[];
  data: Float32Array;
}

export interface PreparedPetCt {
  /** preprocessSettingsKey(settings) of the settings used. */
  settingsKey: string;
  /** Coronal SUV MIP, shape [mipSize, mipSize] (rows head → feet, columns patient right → left). */
  mipCoronal: PreparedArray;
  /** Sagittal SUV MIP, shape [mipSize, mipSize] (rows head → feet, columns anterior → posterior). */
  mipSagittal: PreparedArray;
  /** Fixed-size 3D PET (clipped SUV), shape [cropSize, cropSize, cropSize] = [k, j, i] of `cropGrid`. */
  pet: PreparedArray;
  /** The CT on the same grid as `pet` (windowed to [0, 1]); absent without a CT. */
  ct?: PreparedArray;
  geometry: {
    /** The isotropic grid, in the PET's frame, both modalities were resampled to. */
    grid: GridSpec;
    /** The body's box on `grid` (inclusive voxel indices). */
    bodyBox: VoxelBox;
    /** What the body box was found from ('none': nothing above threshold, the whole grid is kept). */
    bodyFrom: 'ct' | 'pet' | 'none';
    /** The grid of `pet` and `ct`: every voxel keeps its patient coordinates. */
    cropGrid: GridSpec;
  };
}

function checkSettings(settings: PreprocessSettings): void {
  const positive: (keyof PreprocessSettings)[] = ['voxelMm', 'suvClipMax', 'ctWindowWidth'];
  for (const key of positive) {
    const v = settings[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      throw new FedpetError(ErrorCodes.invalidConfig, `preprocess setting ${key} must be a positive number`);
    }
  }
  for (const key of ['mipSize', 'cropSize'] as const) {
    if (!Number.isInteger(settings[key]) || settings[key] < 1) {
      throw new FedpetError(ErrorCodes.invalidConfig, `preprocess setting ${key} must be a positive integer`);
    }
  }
  for (const key of ['ctWindowCenter', 'bodyThresholdHu', 'bodyThresholdSuv', 'bodyMarginMm'] as const) {
    if (!Number.isFinite(settings[key])) {
      throw new FedpetError(ErrorCodes.invalidConfig, `preprocess setting ${key} must be a finite number`);
    }
  }
  if (settings.bodyMarginMm < 0) {
    throw new FedpetError(ErrorCodes.invalidConfig, 'preprocess setting bodyMarginMm must be ≥ 0');
  }
  if (typeof settings.suvScale !== 'boolean') {
    throw new FedpetError(ErrorCodes.invalidConfig, 'preprocess setting suvScale must be true or false');
  }
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(entries.map(([k, v]) => [k, sortKeys(v)]));
  }
  return value;
}

/**
 * A cache key for prepared tensors: JSON of the settings with sorted keys and
 * the pipeline version, so equal settings give equal keys whatever their
 * property order.
 */
export function preprocessSettingsKey(settings: PreprocessSettings): string {
  return JSON.stringify(sortKeys({ ...settings, version: PREPROCESS_VERSION }));
}

function mipArray(mip: Projection, size: number): PreparedArray {
  const fitted = fitImage2D(mip, size, size, 0, mip.pixelSpacingMm);
  return { shape: [size, size], data: fitted.data };
}

/**
 * PET (SUV) and optional CT to fixed-size model inputs:
 * 1. both resampled (trilinear, patient coordinates) to one isotropic grid of
 *    settings.voxelMm in the PET's orientation and extent — the CT into the
 *    PET's frame, air (−1000 HU) outside the CT's field of view;
 * 2. cropped to the body (largest connected component of CT > bodyThresholdHu,
 *    or PET > bodyThresholdSuv without a CT) plus bodyMarginMm;
 * 3. SUV clipped to [0, suvClipMax] (scaled to [0, 1] if suvScale), CT windowed
 *    to [0, 1];
 * 4. coronal and sagittal MIPs of that SUV, fitted into mipSize²;
 * 5. the PET (and CT) fitted into cropSize³ (aspect ratio kept, zero padding).
 */
export function preparePetCt(
  petSuv: Volume,
  ct: Volume | undefined,
  settings: PreprocessSettings,
): PreparedPetCt {
  checkSettings(settings);
  const grid = isotropicGrid(petSuv, settings.voxelMm);
  const pet = resampleToGrid(petSuv, grid, 0);
  const ctOnGrid = ct === undefined ? undefined : resampleToGrid(ct, grid, CT_OUTSIDE_HU);

  const found =
    ctOnGrid === undefined
      ? findBodyBox(pet, { threshold: settings.bodyThresholdSuv, marginMm: settings.bodyMarginMm })
      : findBodyBox(ctOnGrid, { threshold: settings.bodyThresholdHu, marginMm: settings.bodyMarginMm });
  const bodyBox = found ?? fullBox(grid.dims);
  const bodyFrom = found === undefined ? 'none' : ctOnGrid === undefined ? 'pet' : 'ct';

  const suv = clipSuv(cropVolume(pet, bodyBox), settings.suvClipMax, { scale: settings.suvScale });
  const size = settings.cropSize;
  const petCrop = fitVolume(suv, [size, size, size], 0);
  const prepared: PreparedPetCt = {
    settingsKey: preprocessSettingsKey(settings),
    mipCoronal: mipArray(coronalMip(suv), settings.mipSize),
    mipSagittal: mipArray(sagittalMip(suv), settings.mipSize),
    pet: { shape: [size, size, size], data: petCrop.data },
    geometry: { grid, bodyBox, bodyFrom, cropGrid: gridOf(petCrop) },
  };
  if (ctOnGrid !== undefined) {
    const windowed = windowCt(cropVolume(ctOnGrid, bodyBox), settings.ctWindowCenter, settings.ctWindowWidth);
    // Padding is 0, the window's floor (air for the default window).
    prepared.ct = { shape: [size, size, size], data: fitVolume(windowed, [size, size, size], 0).data };
  }
  return prepared;
}
