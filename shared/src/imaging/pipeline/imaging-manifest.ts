import type { FileProblem } from '../dicom/scan-tree.ts';
import type { PreprocessSettings } from '../preprocess/prepare-pet-ct.ts';
import type { RadiomicFeatures } from '../radiomics/features.ts';
import type { SuvDerivation } from '../suv/suv-factor.ts';

/** Bump when preprocessing or radiomics change meaning, so old cache entries are not reused. */
export const IMAGING_PIPELINE_VERSION = 1;

/** Where one patient's arrays sit in the dataset's tensor buffer (offsets in floats). */
export interface TensorSlots {
  mipCoronal: number;
  mipSagittal: number;
  petCrop: number;
  ctCrop: number | undefined;
}

export interface PatientImagingRecord {
  patientId: string;
  seriesFound: { seriesInstanceUid: string; modality: string; files: number }[];
  /** Why the imaging cannot be used; empty when it can. */
  errors: string[];
  warnings: string[];
  imaging?: {
    suvFactor: number;
    suvDerivation: SuvDerivation;
    petSlices: number;
    ctSlices: number;
    petGrid: { dims: readonly number[]; spacingMm: readonly number[] };
    features: RadiomicFeatures;
    tensors: TensorSlots;
  };
}

/** Everything derived from one version of a DICOM tree with one set of preprocessing settings. */
export interface ImagingManifest {
  hash: string;
  pipelineVersion: number;
  settings: PreprocessSettings;
  createdAt: string;
  files: number;
  bytes: number;
  slicesRead: number;
  secondsToBuild: number;
  fileProblems: FileProblem[];
  seriesWithoutPatient: number;
  patients: PatientImagingRecord[];
  /** Shapes of each patient's arrays. */
  tensorShapes: { mip: number[]; petCrop: number[]; ctCrop: number[] };
  tensorFloats: number;
}
