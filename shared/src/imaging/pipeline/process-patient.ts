import { loadSeriesVolume } from '../dicom/series-volume.ts';
import { type PreprocessSettings, preparePetCt } from '../preprocess/prepare-pet-ct.ts';
import { computeRadiomics, type RadiomicFeatures } from '../radiomics/features.ts';
import { computeSuvFactor, type SuvDerivation } from '../suv/suv-factor.ts';
import type { Volume } from '../volume.ts';
import type { PatientStudies } from './patient-studies.ts';

/** The fixed-size arrays one patient contributes to imaging plans, in a fixed order. */
export interface PatientTensors {
  mipCoronal: Float32Array;
  mipSagittal: Float32Array;
  petCrop: Float32Array;
  ctCrop: Float32Array | undefined;
}

export interface ProcessedImaging {
  suvFactor: number;
  suvDerivation: SuvDerivation;
  petSlices: number;
  ctSlices: number;
  petGrid: { dims: readonly number[]; spacingMm: readonly number[] };
  features: RadiomicFeatures;
  tensors: PatientTensors;
  shapes: { mip: number[]; petCrop: number[]; ctCrop: number[] };
  warnings: string[];
}

function scaled(volume: Volume, factor: number): Volume {
  const data = new Float32Array(volume.data.length);
  for (let i = 0; i < data.length; i++) data[i] = volume.data[i]! * factor;
  return { ...volume, data };
}

/**
 * One patient, DICOM to features: PET volume in modality units → SUVbw
 * (SCIENCE.md §1) → radiomics on the native PET grid (so MTV does not depend
 * on resampling), then PET and CT resampled, cropped and projected into the
 * fixed-size arrays the imaging plans consume.
 */
export async function processPatientImaging(
  studies: PatientStudies,
  settings: PreprocessSettings,
): Promise<ProcessedImaging> {
  const pet = studies.pet;
  if (!pet) throw new Error('no PET series');
  const source = `PET series of patient ${studies.patientId}`;
  const suv = computeSuvFactor(pet.headers, source);
  const petVolume = await loadSeriesVolume(pet);
  const suvVolume = scaled(petVolume.volume, suv.factor);
  const warnings = [...studies.warnings, ...petVolume.warnings];
  let ctVolume: Volume | undefined;
  let ctSlices = 0;
  if (studies.ct) {
    try {
      const ct = await loadSeriesVolume(studies.ct);
      ctVolume = ct.volume;
      ctSlices = ct.frames.length;
      warnings.push(...ct.warnings);
    } catch (error) {
      warnings.push(`CT unusable, PET only: ${(error as Error).message}`);
    }
  }
  const features = computeRadiomics(suvVolume);
  const prepared = preparePetCt(suvVolume, ctVolume, settings);
  return {
    suvFactor: suv.factor,
    suvDerivation: suv.derivation,
    petSlices: petVolume.frames.length,
    ctSlices,
    petGrid: { dims: [...suvVolume.dims], spacingMm: [...suvVolume.spacing] },
    features,
    tensors: {
      mipCoronal: prepared.mipCoronal.data,
      mipSagittal: prepared.mipSagittal.data,
      petCrop: prepared.pet.data,
      ctCrop: prepared.ct?.data,
    },
    shapes: {
      mip: [2, ...prepared.mipCoronal.shape],
      petCrop: [...prepared.pet.shape],
      ctCrop: prepared.ct ? [...prepared.ct.shape] : [],
    },
    warnings,
  };
}
