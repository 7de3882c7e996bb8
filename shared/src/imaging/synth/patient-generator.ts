import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createRng, deriveSeed, type Rng } from '../../ml/random.ts';
import { type AcquisitionTimes, scanEnd, sliceTimings } from './acquisition-timeline.ts';
import type { ClinicalRow } from './clinical-csv.ts';
import { epochOfDay, SECONDS_PER_DAY, weekday } from './dicom-time.ts';
import { drawCovariates, drawOutcome } from './hazard-model.ts';
import type { HospitalPreset } from './hospital-presets.ts';
import type { Lesion } from './lesions.ts';
import { writePetCtStudy } from './pet-ct-writer.ts';
import { buildPhantom } from './phantom.ts';
import type { StudyPlan } from './study-plan.ts';
import { F18_HALF_LIFE_S } from './vendor-profiles.ts';
import { WritePool } from './write-pool.ts';

/** What ground-truth.json records per patient (never for trainers). */
export interface PatientTruth {
  patientId: string;
  linearPredictor: number;
  hazardRatio: number;
  /** Analytic Σ of the lesion sphere volumes (mL): the MTV the hazard used. */
  totalMtvMl: number;
  targetMtvMl: number;
  lesions: Lesion[];
  brainInFovMl: number;
  bladderMl: number;
}

/** One generated patient, after its DICOM files are on disk. */
export interface PatientResult {
  row: ClinicalRow;
  truth: PatientTruth;
  files: number;
  bytes: number;
}

/** One unit of work: plain data, so it can cross to a worker thread. */
export interface PatientTask {
  seed: number;
  preset: HospitalPreset;
  /** 1-based. */
  patientIndex: number;
  /** `<out>/<hospital>/dicom`. */
  dicomDirectory: string;
  writeConcurrency: number;
}

export function pseudonym(hospitalId: string, patientIndex: number): string {
  return `SYN-${hospitalId.toUpperCase()}-${String(patientIndex).padStart(4, '0')}`;
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}

function drawBody(rng: Rng, sex: 'M' | 'F'): { weightKg: number; heightM: number } {
  const male = sex === 'M';
  const weightKg = Math.round(clamp((male ? 80 : 66) + (male ? 14 : 12) * rng.normal(), 40, 140) * 10) / 10;
  const heightM = Math.round(clamp((male ? 1.75 : 1.62) + 0.07 * rng.normal(), 1.45, 2.0) * 100) / 100;
  return { weightKg, heightM };
}

/** Study day (a weekday in 2021–2023), injection between 07:30 and 14:30, the hospital's uptake time. */
function drawTimes(rng: Rng, preset: HospitalPreset) {
  let day = epochOfDay(2021, 1, 4) + rng.int(1000) * SECONDS_PER_DAY;
  while (weekday(day) === 0 || weekday(day) === 6) day += SECONDS_PER_DAY;
  const injectionTime = day + 7.5 * 3600 + rng.int(7 * 3600);
  const uptakeS = Math.round(
    60 * clamp(preset.uptakeMinutes + 4 * rng.normal(), preset.uptakeMinutes - 12, 90),
  );
  const scanStart = injectionTime + uptakeS;
  return {
    injectionTime,
    scanStart,
    // The low-dose CT runs just before the first PET bed.
    ctStart: scanStart - (90 + rng.int(150)),
    bedDurationS: preset.bedDurationS,
    reprocessDelayS: 1800 + rng.int(150 * 60),
  };
}

/**
 * Generates one patient in memory: covariates → phantom (whose lesions give
 * the true total MTV) → outcome from that truth → DICOM files. Every random
 * stream derives from (seed, hospital, patient), so patients are independent
 * and can be generated in any order or thread.
 */
export function generatePatient(seed: number, preset: HospitalPreset, patientIndex: number) {
  const patientSeed = deriveSeed(seed, preset.hospitalId, patientIndex);
  const patientId = pseudonym(preset.hospitalId, patientIndex);
  const covariates = drawCovariates(createRng(deriveSeed(patientSeed, 'clinical')), preset.caseMix);
  const acquisitionRng = createRng(deriveSeed(patientSeed, 'acquisition'));
  const body = drawBody(acquisitionRng, covariates.sex);
  const dosePerKg = preset.dosePerKgMBq * (1 + 0.05 * clamp(acquisitionRng.normal(), -2, 2));
  // Dose calibrators report 0.1 MBq.
  const injectedDoseBq = Math.round(dosePerKg * body.weightKg * 10) * 1e5;
  const { reprocessDelayS, ...timing } = drawTimes(acquisitionRng, preset);
  const topZMm = -(40 + acquisitionRng.int(160));

  const phantom = buildPhantom({
    seed: patientSeed,
    weightKg: body.weightKg,
    heightM: body.heightM,
    targetMtvMl: covariates.targetMtvMl,
    matrix: preset.petMatrix,
    pixelSpacingMm: preset.pixelSpacingMm,
    sliceThicknessMm: preset.sliceThicknessMm,
    ctMatrix: preset.ctMatrix,
    topZMm,
  });
  const outcome = drawOutcome(createRng(deriveSeed(patientSeed, 'outcome')), covariates, phantom.totalMtvMl);

  const { pet } = phantom;
  const sliceZ = Array.from({ length: pet.dims[2] }, (_, k) => pet.origin[2] + k * pet.spacing[2]);
  const draft: AcquisitionTimes = { ...timing, reprocessedAt: 0 };
  const end = scanEnd(draft, sliceTimings(preset.profile, draft, F18_HALF_LIFE_S, sliceZ));
  const plan: StudyPlan = {
    seed,
    hospitalId: preset.hospitalId,
    patientIndex,
    patientId,
    profile: preset.profile,
    layout: preset.layout,
    institutionName: preset.institutionName,
    stationName: preset.stationName,
    sex: covariates.sex,
    ageYears: covariates.ageYears,
    weightKg: body.weightKg,
    heightM: body.heightM,
    injectedDoseBq,
    halfLifeS: F18_HALF_LIFE_S,
    // A re-processed series (GE) is created 30 min to 3 h after the last bed.
    times: { ...timing, reprocessedAt: end + reprocessDelayS },
  };
  const truth: PatientTruth = {
    patientId,
    linearPredictor: outcome.linearPredictor,
    hazardRatio: outcome.hazardRatio,
    totalMtvMl: phantom.totalMtvMl,
    targetMtvMl: covariates.targetMtvMl,
    lesions: phantom.lesions,
    brainInFovMl: phantom.brainInFovMl,
    bladderMl: phantom.bladderMl,
  };
  return {
    row: { patientId, covariates, outcome } satisfies ClinicalRow,
    truth,
    plan,
    phantom,
    files: writePetCtStudy(plan, phantom),
  };
}

/** Generates a patient and writes its DICOM files below the task's directory. */
export async function runPatientTask(task: PatientTask): Promise<PatientResult> {
  const patient = generatePatient(task.seed, task.preset, task.patientIndex);
  const pool = new WritePool(task.writeConcurrency);
  const directories = new Set<string>();
  let bytes = 0;
  for (const file of patient.files) {
    const path = join(task.dicomDirectory, ...file.relativePath.split('/'));
    const directory = dirname(path);
    if (!directories.has(directory)) {
      await mkdir(directory, { recursive: true });
      directories.add(directory);
    }
    await pool.write(path, file.bytes);
    bytes += file.bytes.length;
  }
  await pool.drain();
  return { row: patient.row, truth: patient.truth, files: patient.files.length, bytes };
}
