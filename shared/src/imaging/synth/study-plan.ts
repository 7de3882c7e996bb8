import type { NaturalDataset } from 'dcmjs';
import { formatDecimalString } from '../dicom/part10-writer.ts';
import type { AcquisitionTimes } from './acquisition-timeline.ts';
import { formatDa, formatTm } from './dicom-time.ts';
import { syntheticUid } from './uid.ts';
import type { VendorProfile } from './vendor-profiles.ts';

/**
 * Where a hospital's DICOM files go, below `<hospital>/dicom/`:
 * - 'nested': `<patient>/<study>/<PT|CT>_<series>/IM<nnnn>.dcm`
 * - 'deep':   `<patient>/<study>/DICOM/<PT|CT>_<series>/IM<nnnn>.dcm`
 * - 'flat':   `<patient>/IM<nnnn>.dcm` (CT then PT, numbered on)
 */
export type DicomLayout = 'nested' | 'deep' | 'flat';

/** Everything about one patient's PET-CT visit that goes into the headers. */
export interface StudyPlan {
  seed: number;
  hospitalId: string;
  /** 1-based index within the hospital. */
  patientIndex: number;
  /** Pseudonym, used as PatientID and PatientName. */
  patientId: string;
  profile: VendorProfile;
  layout: DicomLayout;
  institutionName: string;
  stationName: string;
  sex: 'M' | 'F';
  ageYears: number;
  weightKg: number;
  heightM: number;
  injectedDoseBq: number;
  halfLifeS: number;
  times: AcquisitionTimes;
}

/** The UIDs one study needs, derived from seed, hospital and patient. */
export interface StudyUids {
  study: string;
  frameOfReference: string;
  petSeries: string;
  ctSeries: string;
}

export function studyUids(plan: StudyPlan): StudyUids {
  const base = [plan.hospitalId, plan.patientIndex] as const;
  return {
    study: syntheticUid(plan.seed, ...base, 'study'),
    frameOfReference: syntheticUid(plan.seed, ...base, 'frame-of-reference'),
    petSeries: syntheticUid(plan.seed, ...base, 'series', 'PT'),
    ctSeries: syntheticUid(plan.seed, ...base, 'series', 'CT'),
  };
}

export function instanceUid(plan: StudyPlan, modality: 'PT' | 'CT', instanceNumber: number): string {
  return syntheticUid(plan.seed, plan.hospitalId, plan.patientIndex, 'instance', modality, instanceNumber);
}

/** Study folder name: the study date, as many PACS exports do. */
export function studyFolder(plan: StudyPlan): string {
  return `ST${formatDa(plan.times.ctStart)}`;
}

export function relativeFilePath(
  plan: StudyPlan,
  modality: 'PT' | 'CT',
  seriesNumber: number,
  fileNumber: number,
): string {
  const file = `IM${String(fileNumber).padStart(4, '0')}.dcm`;
  const series = `${modality}_${seriesNumber}`;
  switch (plan.layout) {
    case 'nested':
      return `${plan.patientId}/${studyFolder(plan)}/${series}/${file}`;
    case 'deep':
      return `${plan.patientId}/${studyFolder(plan)}/DICOM/${series}/${file}`;
    case 'flat':
      return `${plan.patientId}/${file}`;
  }
}

/**
 * Patient, General Study, Patient Study, Frame of Reference, General
 * Equipment and the shared parts of SOP Common (DICOM PS3.3 C.7.1.1, C.7.2.1,
 * C.7.2.2, C.7.4.1, C.7.5.1, C.12.1): identical in every file of the study.
 */
export function studyModules(plan: StudyPlan, uids: StudyUids): NaturalDataset {
  const studyNumber = String(1000 + plan.patientIndex);
  return {
    SpecificCharacterSet: 'ISO_IR 100',
    PatientName: plan.patientId,
    PatientID: plan.patientId,
    PatientBirthDate: '',
    PatientSex: plan.sex,
    PatientAge: `${String(plan.ageYears).padStart(3, '0')}Y`,
    PatientWeight: formatDecimalString(plan.weightKg),
    PatientSize: formatDecimalString(plan.heightM),
    PatientIdentityRemoved: 'YES',
    DeidentificationMethod: 'fedpet synthetic data, no real patient',
    StudyInstanceUID: uids.study,
    StudyDate: formatDa(plan.times.ctStart),
    StudyTime: formatTm(plan.times.ctStart),
    ReferringPhysicianName: '',
    StudyID: studyNumber,
    // SH allows 16 characters, so the hospital id stays out (it is in the PatientID already).
    AccessionNumber: `SYNACC${String(plan.patientIndex).padStart(6, '0')}`,
    StudyDescription: 'PET-CT FDG WHOLE BODY',
    FrameOfReferenceUID: uids.frameOfReference,
    PositionReferenceIndicator: '',
    Manufacturer: plan.profile.manufacturer,
    ManufacturerModelName: plan.profile.modelName,
    SoftwareVersions: plan.profile.softwareVersions,
    InstitutionName: plan.institutionName,
    StationName: plan.stationName,
    BodyPartExamined: 'WHOLEBODY',
    PatientPosition: 'HFS',
  };
}
