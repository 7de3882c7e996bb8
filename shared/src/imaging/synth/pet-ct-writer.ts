import type { NaturalDataset } from 'dcmjs';
import { formatDecimalString, type PrivateElement, writePart10 } from '../dicom/part10-writer.ts';
import type { Volume } from '../volume.ts';
import { scanEnd, sliceTimings } from './acquisition-timeline.ts';
import { formatDa, formatDt, formatTm } from './dicom-time.ts';
import {
  instanceUid,
  relativeFilePath,
  type StudyPlan,
  type StudyUids,
  studyModules,
  studyUids,
} from './study-plan.ts';
import { petScaling } from './suv-encoding.ts';

export const PET_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.128';
export const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';

/** Largest stored PET value aimed for: a little under 65535 so DS rounding of the slope cannot overflow. */
const PET_STORED_CEILING = 65000;

export interface WrittenFile {
  /** Path below `<hospital>/dicom/`, '/'-separated. */
  relativePath: string;
  modality: 'PT' | 'CT';
  bytes: Uint8Array;
}

const ds = formatDecimalString;

function code(value: string, scheme: string, meaning: string): NaturalDataset {
  return { CodeValue: value, CodingSchemeDesignator: scheme, CodeMeaning: meaning };
}

/** Slice indices k of the volume in InstanceNumber order. */
function instanceOrder(plan: StudyPlan, slices: number): number[] {
  const bottomUp = Array.from({ length: slices }, (_, k) => k);
  return plan.profile.instanceOrder === 'feet-first' ? bottomUp : bottomUp.reverse();
}

/** Image Plane module values (PS3.3 C.7.6.2) for slice k of a volume with identity direction. */
function imagePlane(volume: Volume, k: number): NaturalDataset {
  const z = volume.origin[2] + k * volume.spacing[2];
  return {
    ImagePositionPatient: [ds(volume.origin[0]), ds(volume.origin[1]), ds(z)],
    SliceLocation: ds(z),
  };
}

function seriesGeometry(volume: Volume): NaturalDataset {
  return {
    ImageOrientationPatient: ['1', '0', '0', '0', '1', '0'],
    // PixelSpacing is (between rows, between columns) = (spacing[1], spacing[0]).
    PixelSpacing: [ds(volume.spacing[1]), ds(volume.spacing[0])],
    SliceThickness: ds(volume.spacing[2]),
    Rows: volume.dims[1],
    Columns: volume.dims[0],
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    BitsAllocated: 16,
    BitsStored: 16,
    HighBit: 15,
  };
}

function sliceValues(volume: Volume, k: number): Float32Array {
  const size = volume.dims[0] * volume.dims[1];
  return volume.data.subarray(k * size, (k + 1) * size);
}

function maxOf(values: Float32Array): number {
  let max = 0;
  for (const v of values) if (v > max) max = v;
  return max;
}

/** The DS-formatted slope (and its numeric value) that maps `max` to at most PET_STORED_CEILING. */
function slopeFor(max: number): { text: string; value: number } {
  const text = ds(max > 0 ? max / PET_STORED_CEILING : 1);
  return { text, value: Number(text) };
}

function petSeriesFiles(
  plan: StudyPlan,
  uids: StudyUids,
  pet: Volume,
  firstFileNumber: number,
): WrittenFile[] {
  const { profile, times } = plan;
  const slices = pet.dims[2];
  const sliceZ = Array.from({ length: slices }, (_, k) => pet.origin[2] + k * pet.spacing[2]);
  const timings = sliceTimings(profile, times, plan.halfLifeS, sliceZ);
  const scaling = petScaling(profile, {
    weightKg: plan.weightKg,
    injectedDoseBq: plan.injectedDoseBq,
    halfLifeS: plan.halfLifeS,
    injectionTime: times.injectionTime,
    scanStart: times.scanStart,
  });
  const seriesInstant = profile.seriesTime === 'reprocessed' ? times.reprocessedAt : times.scanStart;
  if (profile.seriesTime === 'reprocessed' && !(times.reprocessedAt > scanEnd(times, timings))) {
    throw new RangeError(`patient ${plan.patientId}: a re-processed series must be created after the scan`);
  }
  const privateElements: PrivateElement[] = [...scaling.privateElements];
  if (profile.gePrivateScanDateTime) {
    privateElements.push(
      { tag: '00090010', vr: 'LO', value: 'GEMS_PETD_01' },
      { tag: '0009100D', vr: 'DT', value: formatDt(times.scanStart) },
    );
  }

  const radiopharmaceutical: NaturalDataset = {
    Radiopharmaceutical: 'Fluorodeoxyglucose',
    RadiopharmaceuticalRoute: 'Intravenous route',
    RadiopharmaceuticalStartTime: formatTm(times.injectionTime),
    RadionuclideTotalDose: ds(plan.injectedDoseBq),
    RadionuclideHalfLife: ds(plan.halfLifeS),
    RadionuclidePositronFraction: '0.9673',
    RadionuclideCodeSequence: [code('C-111A1', 'SRT', '^18^Fluorine')],
    RadiopharmaceuticalCodeSequence: [code('C-B1031', 'SRT', 'Fluorodeoxyglucose F^18^')],
  };
  if (profile.writesStartDateTime)
    radiopharmaceutical.RadiopharmaceuticalStartDateTime = formatDt(times.injectionTime);

  const series: NaturalDataset = {
    ...studyModules(plan, uids),
    ...seriesGeometry(pet),
    SOPClassUID: PET_IMAGE_STORAGE,
    Modality: 'PT',
    SeriesInstanceUID: uids.petSeries,
    SeriesNumber: String(profile.petSeriesNumber),
    SeriesDescription: profile.petSeriesDescription,
    SeriesDate: formatDa(seriesInstant),
    SeriesTime: formatTm(seriesInstant),
    ContentDate: formatDa(seriesInstant),
    ContentTime: formatTm(seriesInstant),
    ImageType: ['ORIGINAL', 'PRIMARY'],
    // PET Series module (C.8.9.1).
    Units: profile.units,
    CountsSource: 'EMISSION',
    SeriesType: ['WHOLE BODY', 'IMAGE'],
    NumberOfSlices: slices,
    CorrectedImage: [...profile.correctedImage],
    DecayCorrection: profile.decayCorrection,
    CollimatorType: 'NONE',
    ReconstructionMethod: profile.reconstructionMethod,
    RandomsCorrectionMethod: 'DLYD',
    AttenuationCorrectionMethod: 'CT-based',
    ScatterCorrectionMethod: 'Model-based',
    ActualFrameDuration: String(times.bedDurationS * 1000),
    // PET Isotope module (C.8.9.2).
    RadiopharmaceuticalInformationSequence: [radiopharmaceutical],
    // NM/PET Patient Orientation module (C.8.4.6).
    PatientOrientationCodeSequence: [
      {
        ...code('F-10450', 'SRT', 'recumbent'),
        PatientOrientationModifierCodeSequence: [code('F-10340', 'SRT', 'supine')],
      },
    ],
    PatientGantryRelationshipCodeSequence: [code('F-10470', 'SRT', 'headfirst')],
    PixelRepresentation: 0,
    RescaleIntercept: '0',
    _vrMap: { PixelData: 'OW' },
  };

  const globalSlope = slopeFor(maxOf(pet.data) / scaling.suvPerUnit);
  return instanceOrder(plan, slices).map((k, position) => {
    const instanceNumber = position + 1;
    const timing = timings[k];
    if (!timing) throw new RangeError(`patient ${plan.patientId}: no timing for PET slice ${k}`);
    const values = sliceValues(pet, k);
    const slope = profile.perSliceRescaleSlope ? slopeFor(maxOf(values) / scaling.suvPerUnit) : globalSlope;
    const perStoredUnit = slope.value * scaling.suvPerUnit;
    const pixels = new Uint16Array(values.length);
    for (let n = 0; n < values.length; n++) {
      pixels[n] = Math.min(65535, Math.round((values[n] ?? 0) / perStoredUnit));
    }
    const dataset: NaturalDataset = {
      ...series,
      ...imagePlane(pet, k),
      SOPInstanceUID: instanceUid(plan, 'PT', instanceNumber),
      InstanceNumber: String(instanceNumber),
      ImageIndex: instanceNumber,
      AcquisitionDate: formatDa(timing.acquisitionStart),
      AcquisitionTime: formatTm(timing.acquisitionStart),
      FrameReferenceTime: ds(timing.frameReferenceTimeMs),
      DecayFactor: ds(timing.decayFactor),
      RescaleSlope: slope.text,
      PixelData: [pixels.buffer],
    };
    return {
      relativePath: relativeFilePath(plan, 'PT', profile.petSeriesNumber, firstFileNumber + position),
      modality: 'PT' as const,
      bytes: writePart10(dataset, privateElements),
    };
  });
}

function ctSeriesFiles(plan: StudyPlan, uids: StudyUids, ct: Volume, firstFileNumber: number): WrittenFile[] {
  const { profile, times } = plan;
  const intercept = profile.ctRescaleIntercept;
  const fieldOfView = ct.dims[0] * ct.spacing[0];
  const series: NaturalDataset = {
    ...studyModules(plan, uids),
    ...seriesGeometry(ct),
    SOPClassUID: CT_IMAGE_STORAGE,
    Modality: 'CT',
    SeriesInstanceUID: uids.ctSeries,
    SeriesNumber: String(profile.ctSeriesNumber),
    SeriesDescription: profile.ctSeriesDescription,
    SeriesDate: formatDa(times.ctStart),
    SeriesTime: formatTm(times.ctStart),
    ContentDate: formatDa(times.ctStart),
    ContentTime: formatTm(times.ctStart),
    AcquisitionDate: formatDa(times.ctStart),
    AcquisitionTime: formatTm(times.ctStart),
    AcquisitionNumber: '1',
    ImageType: ['ORIGINAL', 'PRIMARY', 'AXIAL'],
    // CT Image module (C.8.2.1).
    KVP: '120',
    XRayTubeCurrent: '80',
    ScanOptions: 'HELICAL MODE',
    ConvolutionKernel: profile.ctConvolutionKernel,
    DataCollectionDiameter: '500',
    ReconstructionDiameter: ds(fieldOfView),
    GantryDetectorTilt: '0',
    RotationDirection: 'CW',
    PixelRepresentation: 1,
    RescaleIntercept: String(intercept),
    RescaleSlope: '1',
    RescaleType: 'HU',
    WindowCenter: '40',
    WindowWidth: '400',
    _vrMap: { PixelData: 'OW' },
  };
  return instanceOrder(plan, ct.dims[2]).map((k, position) => {
    const instanceNumber = position + 1;
    const values = sliceValues(ct, k);
    const pixels = new Int16Array(values.length);
    for (let n = 0; n < values.length; n++) pixels[n] = Math.round(values[n] ?? 0) - intercept;
    const dataset: NaturalDataset = {
      ...series,
      ...imagePlane(ct, k),
      SOPInstanceUID: instanceUid(plan, 'CT', instanceNumber),
      InstanceNumber: String(instanceNumber),
      PixelData: [pixels.buffer],
    };
    return {
      relativePath: relativeFilePath(plan, 'CT', profile.ctSeriesNumber, firstFileNumber + position),
      modality: 'CT' as const,
      bytes: writePart10(dataset),
    };
  });
}

/**
 * Writes one patient's PET-CT study as single-frame DICOM Part-10 files: a CT
 * series (CT Image Storage, signed 16-bit HU via RescaleIntercept) and a PET
 * series (PET Image Storage, unsigned 16-bit) sharing the study and the frame
 * of reference. The PET pixels are encoded so that, with the vendor's SUV rules
 * (SCIENCE.md §1), (stored × RescaleSlope + RescaleIntercept) × factor gives
 * back the phantom's SUV up to half a stored unit.
 */
export function writePetCtStudy(plan: StudyPlan, volumes: { pet: Volume; ct: Volume }): WrittenFile[] {
  for (const volume of [volumes.pet, volumes.ct]) {
    const d = volume.direction;
    const identity = d[0].join() === '1,0,0' && d[1].join() === '0,1,0' && d[2].join() === '0,0,1';
    if (!identity)
      throw new RangeError(`patient ${plan.patientId}: synthetic volumes must be axial (identity direction)`);
  }
  if (volumes.pet.dims[2] !== volumes.ct.dims[2]) {
    throw new RangeError(`patient ${plan.patientId}: PET and CT must have the same slices`);
  }
  const uids = studyUids(plan);
  const ctFiles = ctSeriesFiles(plan, uids, volumes.ct, 1);
  // In the flat layout both series share one folder, so PET numbering continues after the CT.
  const petFirst = plan.layout === 'flat' ? ctFiles.length + 1 : 1;
  return [...ctFiles, ...petSeriesFiles(plan, uids, volumes.pet, petFirst)];
}
