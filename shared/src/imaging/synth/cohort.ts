import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, FedpetError } from '../../errors/fedpet-error.ts';
import { clinicalCsv } from './clinical-csv.ts';
import { HAZARD_MODEL } from './hazard-model.ts';
import { type GridOverride, type HospitalPreset, hospitalPreset } from './hospital-presets.ts';
import type { PatientResult, PatientTask, PatientTruth } from './patient-generator.ts';
import { runPatientTasks } from './patient-runner.ts';
import type { VendorProfileName } from './vendor-profiles.ts';

/**
 * Name of the ground-truth file at the top of the output directory, outside
 * every hospital directory. TRAINERS MUST NEVER READ IT (see GroundTruth).
 */
export const GROUND_TRUTH_FILE = 'ground-truth.json';

export interface CohortOptions {
  outDirectory: string;
  /** Hospital ids, e.g. ['h1', 'h2', 'h3']: 1–16 letters, digits or '-'. */
  hospitals: string[];
  patientsPerHospital: number[];
  seed: number;
  /** After each patient: `patient` of `of` of that hospital's patients are on disk. */
  onProgress?: (event: { hospital: string; patient: number; of: number }) => void;
  /** Vendor profile per hospital; default cycles siemens, ge, philips. */
  vendors?: VendorProfileName[];
  /** Coarser grids for fast tests (field of view and anatomy unchanged). */
  grid?: GridOverride;
  /**
   * Worker threads generating patients in parallel; 0 generates in this
   * thread. Default: up to 4 (the machine's cores) for cohorts of 8 patients
   * or more, else 0. The output does not depend on it.
   */
  workers?: number;
  /** Files each generator writes at once (default 16). */
  writeConcurrency?: number;
}

export interface HospitalSummary {
  hospital: string;
  vendor: VendorProfileName;
  layout: HospitalPreset['layout'];
  caseMix: HospitalPreset['caseMix'];
  patients: number;
  events: number;
  censored: number;
  /** DICOM files and their bytes (the clinical CSV not included). */
  files: number;
  bytes: number;
  dicomDirectory: string;
  clinicalCsv: string;
}

export interface CohortSummary {
  outDirectory: string;
  /** Worker threads that generated patients (0: this thread). */
  workers: number;
  groundTruthFile: string;
  patients: number;
  files: number;
  bytes: number;
  hospitals: HospitalSummary[];
}

/**
 * The content of ground-truth.json. TRAINERS MUST NEVER READ IT: it holds the
 * true linear predictors, hazard ratios and tumour volumes the outcomes were
 * simulated from. Only evaluation code (does a model recover the simulated
 * effect?) may use it; it sits outside every hospital directory so that no
 * hospital's data root contains it.
 */
export interface GroundTruth {
  notice: string;
  seed: number;
  model: typeof HAZARD_MODEL;
  hospitals: { hospital: string; vendor: VendorProfileName; caseMix: string; patients: PatientTruth[] }[];
}

const HOSPITAL_ID = /^[A-Za-z0-9][A-Za-z0-9-]{0,15}$/;
const MAX_PATIENTS = 9999;

function fail(message: string): never {
  throw new FedpetError(ErrorCodes.invalidConfig, `synthetic PET-CT cohort: ${message}`);
}

function validate(options: CohortOptions): void {
  const { hospitals, patientsPerHospital, outDirectory, seed } = options;
  if (typeof outDirectory !== 'string' || outDirectory === '') fail('outDirectory is required');
  if (!Number.isFinite(seed)) fail('seed must be a finite number');
  if (hospitals.length === 0) fail('needs at least one hospital');
  for (const id of hospitals) {
    if (!HOSPITAL_ID.test(id)) fail(`hospital id "${id}" must be 1–16 letters, digits or '-'`);
  }
  if (new Set(hospitals.map((h) => h.toLowerCase())).size !== hospitals.length)
    fail('hospital ids must be unique');
  if (patientsPerHospital.length !== hospitals.length)
    fail('patientsPerHospital needs one count per hospital');
  for (const [i, count] of patientsPerHospital.entries()) {
    if (!Number.isInteger(count) || count < 1 || count > MAX_PATIENTS) {
      fail(`hospital ${hospitals[i]}: patient count must be an integer 1–${MAX_PATIENTS}`);
    }
  }
  if (options.vendors && options.vendors.length !== hospitals.length)
    fail('vendors needs one profile per hospital');
  if (options.workers !== undefined && !(Number.isInteger(options.workers) && options.workers >= 0)) {
    fail('workers must be a non-negative integer');
  }
}

function defaultWorkers(patients: number): number {
  return patients >= 8 ? Math.min(4, availableParallelism()) : 0;
}

/**
 * Generates a multicentric synthetic 18F-FDG PET-CT cohort: per hospital a
 * DICOM tree `<hospital>/dicom/…` and `<hospital>/clinical.csv`, and at the
 * top `ground-truth.json` (never for trainers). Same seed, same bytes,
 * whatever the number of workers. Existing files with the same names are
 * overwritten; nothing else in outDirectory is touched.
 */
export async function generatePetCtCohort(options: CohortOptions): Promise<CohortSummary> {
  validate(options);
  const presets = options.hospitals.map((hospitalId, index) =>
    hospitalPreset(options.seed, hospitalId, index, {
      ...(options.vendors?.[index] ? { vendor: options.vendors[index] } : {}),
      ...(options.grid ? { grid: options.grid } : {}),
    }),
  );
  const tasks: PatientTask[] = presets.flatMap((preset, index) =>
    Array.from({ length: options.patientsPerHospital[index] ?? 0 }, (_, i) => ({
      seed: options.seed,
      preset,
      patientIndex: i + 1,
      dicomDirectory: join(options.outDirectory, preset.hospitalId, 'dicom'),
      writeConcurrency: options.writeConcurrency ?? 16,
    })),
  );

  await mkdir(options.outDirectory, { recursive: true });
  const results = new Map<string, (PatientResult | undefined)[]>(
    presets.map((preset, index) => [preset.hospitalId, new Array(options.patientsPerHospital[index] ?? 0)]),
  );
  const done = new Map<string, number>();
  const workers = await runPatientTasks(
    tasks,
    options.workers ?? defaultWorkers(tasks.length),
    (task, result) => {
      const hospital = task.preset.hospitalId;
      const slots = results.get(hospital) ?? [];
      slots[task.patientIndex - 1] = result;
      const count = (done.get(hospital) ?? 0) + 1;
      done.set(hospital, count);
      options.onProgress?.({ hospital, patient: count, of: slots.length });
    },
  );

  const summaries: HospitalSummary[] = [];
  const truth: GroundTruth = {
    notice:
      'Ground truth of a synthetic cohort. Trainers must never read this file: it holds the true ' +
      'hazards and tumour volumes the outcomes were simulated from. Evaluation code only.',
    seed: options.seed,
    model: HAZARD_MODEL,
    hospitals: [],
  };
  for (const preset of presets) {
    const hospital = preset.hospitalId;
    const patients = (results.get(hospital) ?? []).map((result, i) => {
      if (!result) throw new Error(`synthetic cohort: ${hospital} patient ${i + 1} was not generated`);
      return result;
    });
    const hospitalDirectory = join(options.outDirectory, hospital);
    const csvPath = join(hospitalDirectory, 'clinical.csv');
    await writeFile(csvPath, clinicalCsv(patients.map((p) => p.row)));
    const events = patients.filter((p) => p.row.outcome.pfsEvent === 1).length;
    summaries.push({
      hospital,
      vendor: preset.profile.name,
      layout: preset.layout,
      caseMix: preset.caseMix,
      patients: patients.length,
      events,
      censored: patients.length - events,
      files: patients.reduce((sum, p) => sum + p.files, 0),
      bytes: patients.reduce((sum, p) => sum + p.bytes, 0),
      dicomDirectory: join(hospitalDirectory, 'dicom'),
      clinicalCsv: csvPath,
    });
    truth.hospitals.push({
      hospital,
      vendor: preset.profile.name,
      caseMix: preset.caseMix,
      patients: patients.map((p) => p.truth),
    });
  }

  const groundTruthFile = join(options.outDirectory, GROUND_TRUTH_FILE);
  await writeFile(groundTruthFile, `${JSON.stringify(truth, null, 2)}\n`);
  return {
    outDirectory: options.outDirectory,
    workers,
    groundTruthFile,
    patients: tasks.length,
    files: summaries.reduce((sum, h) => sum + h.files, 0),
    bytes: summaries.reduce((sum, h) => sum + h.bytes, 0),
    hospitals: summaries,
  };
}
