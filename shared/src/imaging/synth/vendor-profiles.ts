/**
 * How each hospital's scanner writes a PET-CT study. The conventions are the
 * ones the SUV rules of SCIENCE.md §1 (QIBA, Slicer, @cornerstonejs/calculate-suv)
 * have to cope with:
 *
 * - 'siemens': Units BQML, DecayCorrection START, SeriesDate/SeriesTime =
 *   scan start = the earliest AcquisitionTime; radiopharmaceutical start as
 *   both time and date-time; one RescaleSlope for the series.
 * - 'ge': Units BQML, DecayCorrection START, a re-processed series: SeriesTime
 *   is later than the acquisition, and the true scan start is in the GE private
 *   (0009,100D) DT under creator (0009,0010) "GEMS_PETD_01"; RescaleSlope
 *   differs slice to slice; radiopharmaceutical start time only.
 * - 'philips': Units CNTS (pixels in counts), private (7053,1000) SUV scale
 *   factor and (7053,1009) activity concentration scale factor under creator
 *   (7053,0010) "Philips PET Private Group".
 * - 'siemens-admin': as 'siemens' but decay-corrected to the injection
 *   (DecayCorrection ADMIN), so no further decay correction applies.
 */
export type VendorProfileName = 'siemens' | 'ge' | 'philips' | 'siemens-admin';

export const VENDOR_PROFILE_NAMES: readonly VendorProfileName[] = [
  'siemens',
  'ge',
  'philips',
  'siemens-admin',
];

export interface VendorProfile {
  name: VendorProfileName;
  manufacturer: string;
  modelName: string;
  softwareVersions: string;
  units: 'BQML' | 'CNTS';
  decayCorrection: 'START' | 'ADMIN';
  /** 'scan-start': SeriesTime = scan start; 'reprocessed': SeriesTime later than the acquisition. */
  seriesTime: 'scan-start' | 'reprocessed';
  /** Writes GE's private scan date-time (0009,100D). */
  gePrivateScanDateTime: boolean;
  /** Writes Philips' private SUV and activity-concentration scale factors (7053,1000/1009). */
  philipsScaleFactors: boolean;
  /** Bq/mL per count (CNTS only): the scanner's calibration. */
  activityPerCountBqml: number;
  perSliceRescaleSlope: boolean;
  /** Writes RadiopharmaceuticalStartDateTime (0018,1078) besides the start time. */
  writesStartDateTime: boolean;
  correctedImage: readonly string[];
  /** Bed acquisition order along the table. */
  bedOrder: 'craniocaudal' | 'caudocranial';
  /** Axial distance between consecutive bed positions (mm). */
  bedStepMm: number;
  /** InstanceNumber 1 at the head or at the feet. */
  instanceOrder: 'head-first' | 'feet-first';
  reconstructionMethod: string;
  petSeriesNumber: number;
  ctSeriesNumber: number;
  petSeriesDescription: string;
  ctSeriesDescription: string;
  ctConvolutionKernel: string;
  /** CT RescaleIntercept: stored = HU − intercept. */
  ctRescaleIntercept: -1024 | 0;
}

const SIEMENS: VendorProfile = {
  name: 'siemens',
  manufacturer: 'SIEMENS',
  modelName: 'Biograph mCT Flow',
  softwareVersions: 'VG60A',
  units: 'BQML',
  decayCorrection: 'START',
  seriesTime: 'scan-start',
  gePrivateScanDateTime: false,
  philipsScaleFactors: false,
  activityPerCountBqml: 1,
  perSliceRescaleSlope: false,
  writesStartDateTime: true,
  correctedImage: ['NORM', 'DTIM', 'ATTN', 'SCAT', 'DECY', 'RAN'],
  bedOrder: 'caudocranial',
  bedStepMm: 160,
  instanceOrder: 'feet-first',
  reconstructionMethod: 'PSF+TOF 2i21s',
  petSeriesNumber: 4,
  ctSeriesNumber: 2,
  petSeriesDescription: 'PET WB AC',
  ctSeriesDescription: 'CT WB 5.0 B30f',
  ctConvolutionKernel: 'B30f',
  ctRescaleIntercept: -1024,
};

const PROFILES: Readonly<Record<VendorProfileName, VendorProfile>> = {
  siemens: SIEMENS,
  'siemens-admin': {
    ...SIEMENS,
    name: 'siemens-admin',
    decayCorrection: 'ADMIN',
    petSeriesDescription: 'PET WB AC ADMIN',
  },
  ge: {
    name: 'ge',
    manufacturer: 'GE MEDICAL SYSTEMS',
    modelName: 'Discovery MI',
    softwareVersions: 'pet_coreload.46',
    units: 'BQML',
    decayCorrection: 'START',
    seriesTime: 'reprocessed',
    gePrivateScanDateTime: true,
    philipsScaleFactors: false,
    activityPerCountBqml: 1,
    perSliceRescaleSlope: true,
    writesStartDateTime: false,
    correctedImage: ['DECY', 'ATTN', 'SCAT', 'DTIM', 'RAN', 'DCAL', 'SLSENS', 'NORM'],
    bedOrder: 'craniocaudal',
    bedStepMm: 150,
    instanceOrder: 'head-first',
    reconstructionMethod: 'VPFXS',
    petSeriesNumber: 3,
    ctSeriesNumber: 2,
    petSeriesDescription: 'WB 3D MAC',
    ctSeriesDescription: 'CTAC 3.75 Thick',
    ctConvolutionKernel: 'STANDARD',
    ctRescaleIntercept: -1024,
  },
  philips: {
    name: 'philips',
    manufacturer: 'Philips Medical Systems',
    modelName: 'Vereos PET/CT',
    softwareVersions: '2.0.3',
    units: 'CNTS',
    decayCorrection: 'START',
    seriesTime: 'scan-start',
    gePrivateScanDateTime: false,
    philipsScaleFactors: true,
    activityPerCountBqml: 2.137,
    perSliceRescaleSlope: false,
    writesStartDateTime: true,
    correctedImage: ['DECY', 'ATTN', 'SCAT', 'DTIM', 'RAN', 'NORM'],
    bedOrder: 'craniocaudal',
    bedStepMm: 90,
    instanceOrder: 'head-first',
    reconstructionMethod: '3D-OSEM 3i15s',
    petSeriesNumber: 2,
    ctSeriesNumber: 1,
    petSeriesDescription: 'WB CTAC Body',
    ctSeriesDescription: 'CT for AC',
    ctConvolutionKernel: 'B',
    ctRescaleIntercept: 0,
  },
};

export function vendorProfile(name: VendorProfileName): VendorProfile {
  const profile = PROFILES[name];
  if (!profile) throw new RangeError(`unknown vendor profile "${String(name)}"`);
  return profile;
}

/** 18F half-life in seconds, as scanners write it (DICOM PS3.16 CID 4020: 109.77 min). */
export const F18_HALF_LIFE_S = 6586.2;
