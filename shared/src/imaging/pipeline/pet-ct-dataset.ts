import { stat } from 'node:fs/promises';
import { ErrorCodes, FedpetError } from '../../errors/fedpet-error.ts';
import type { ClinicalColumns } from '../clinical/clinical-columns.ts';
import { type ClinicalProblem, type ClinicalRecord, loadClinicalCsv } from '../clinical/clinical-csv.ts';
import { scanDicomTree } from '../dicom/scan-tree.ts';
import {
  DEFAULT_PREPROCESS_SETTINGS,
  type PreprocessSettings,
  preprocessSettingsKey,
} from '../preprocess/prepare-pet-ct.ts';
import { digestInputs } from './content-hash.ts';
import { ImagingCache } from './dataset-cache.ts';
import {
  IMAGING_PIPELINE_VERSION,
  type ImagingManifest,
  type PatientImagingRecord,
} from './imaging-manifest.ts';
import { groupSeriesByPatient } from './patient-studies.ts';
import { processPatientImaging } from './process-patient.ts';

export type LoadProgress =
  | { phase: 'hash'; done: number; total: number }
  | { phase: 'scan'; done: number }
  | { phase: 'process'; done: number; total: number }
  | { phase: 'cache-hit' }
  | { phase: 'cache-written' };

export interface PetCtLoadOptions {
  dicomDirectory: string;
  /** Without a clinical file only the imaging is read (for inspecting a folder); no patient is usable. */
  clinicalFile: string | undefined;
  columns?: ClinicalColumns;
  /** Where preprocessed results are kept; undefined processes without caching. */
  cacheDirectory: string | undefined;
  settings?: PreprocessSettings;
  onProgress?: (progress: LoadProgress) => void;
}

/** One patient after joining imaging and clinical data. */
export interface DatasetPatient {
  patientId: string;
  /** Imaging and clinical row both valid: the patient takes part in training. */
  usable: boolean;
  problems: string[];
  warnings: string[];
  imaging: PatientImagingRecord | undefined;
  clinical: ClinicalRecord | undefined;
}

export interface PetCtDataset {
  manifest: ImagingManifest;
  /** Every patient seen in the DICOM tree or the clinical file, sorted by id. */
  patients: DatasetPatient[];
  clinicalProblems: ClinicalProblem[];
  /** Every patient's arrays back to back; offsets in `imaging.tensors`. */
  tensors: Float32Array;
  fromCache: boolean;
  seconds: number;
}

async function requireDirectory(path: string, what: string): Promise<void> {
  try {
    const info = await stat(path);
    if (info.isDirectory() === (what === 'DICOM folder')) return;
    throw new Error(what === 'DICOM folder' ? 'not a directory' : 'not a file');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new FedpetError(ErrorCodes.datasetMissing, `${what} ${path}: cannot read (${reason})`);
  }
}

/** DICOM tree → per-patient SUV, radiomics and tensors (one pass, nothing thrown for one bad patient). */
async function buildManifest(
  options: PetCtLoadOptions,
  settings: PreprocessSettings,
  digest: { hash: string; files: number; bytes: number },
): Promise<{ manifest: ImagingManifest; tensors: Float32Array }> {
  const started = performance.now();
  const scan = await scanDicomTree(options.dicomDirectory, {
    onProgress: (done) => options.onProgress?.({ phase: 'scan', done }),
  });
  const { patients, seriesWithoutPatient } = groupSeriesByPatient(scan.series);
  const records: PatientImagingRecord[] = [];
  const chunks: Float32Array[] = [];
  let offset = 0;
  let slicesRead = 0;
  let shapes: ImagingManifest['tensorShapes'] = { mip: [], petCrop: [], ctCrop: [] };
  const place = (array: Float32Array): number => {
    chunks.push(array);
    const at = offset;
    offset += array.length;
    return at;
  };
  for (const [index, studies] of patients.entries()) {
    const record: PatientImagingRecord = {
      patientId: studies.patientId,
      seriesFound: studies.seriesFound,
      errors: [...studies.errors],
      warnings: [...studies.warnings],
    };
    if (record.errors.length === 0) {
      try {
        const result = await processPatientImaging(studies, settings);
        slicesRead += result.petSlices + result.ctSlices;
        // Every patient has the same MIP and PET shapes; the CT shape is known once any patient has a CT.
        shapes = {
          ...result.shapes,
          ctCrop: result.shapes.ctCrop.length > 0 ? result.shapes.ctCrop : shapes.ctCrop,
        };
        record.warnings = result.warnings;
        record.imaging = {
          suvFactor: result.suvFactor,
          suvDerivation: result.suvDerivation,
          petSlices: result.petSlices,
          ctSlices: result.ctSlices,
          petGrid: result.petGrid,
          features: result.features,
          tensors: {
            mipCoronal: place(result.tensors.mipCoronal),
            mipSagittal: place(result.tensors.mipSagittal),
            petCrop: place(result.tensors.petCrop),
            ctCrop: result.tensors.ctCrop ? place(result.tensors.ctCrop) : undefined,
          },
        };
      } catch (error) {
        record.errors.push((error as Error).message);
      }
    }
    records.push(record);
    options.onProgress?.({ phase: 'process', done: index + 1, total: patients.length });
  }
  const tensors = new Float32Array(offset);
  let at = 0;
  for (const chunk of chunks) {
    tensors.set(chunk, at);
    at += chunk.length;
  }
  const manifest: ImagingManifest = {
    hash: digest.hash,
    pipelineVersion: IMAGING_PIPELINE_VERSION,
    settings,
    createdAt: new Date().toISOString(),
    files: digest.files,
    bytes: digest.bytes,
    slicesRead,
    secondsToBuild: (performance.now() - started) / 1000,
    fileProblems: scan.problems,
    seriesWithoutPatient,
    patients: records,
    tensorShapes: shapes,
    tensorFloats: tensors.length,
  };
  return { manifest, tensors };
}

/**
 * Loads a hospital's PET-CT dataset: a DICOM tree plus a clinical CSV. The
 * imaging part is keyed by a content hash of the tree and the preprocessing
 * settings and cached on disk, so DICOM is parsed once per dataset version;
 * the clinical CSV is small and re-read every time. A patient with bad
 * imaging or a bad clinical row is reported and left out; the rest stay usable.
 */
export async function loadPetCtDataset(options: PetCtLoadOptions): Promise<PetCtDataset> {
  const started = performance.now();
  await requireDirectory(options.dicomDirectory, 'DICOM folder');
  if (options.clinicalFile !== undefined) await requireDirectory(options.clinicalFile, 'clinical file');
  const settings = options.settings ?? DEFAULT_PREPROCESS_SETTINGS;
  const settingsKey = `v${IMAGING_PIPELINE_VERSION}:${preprocessSettingsKey(settings)}`;
  const digest = await digestInputs(options.dicomDirectory, settingsKey, (done, total) =>
    options.onProgress?.({ phase: 'hash', done, total }),
  );
  const cache = options.cacheDirectory ? new ImagingCache(options.cacheDirectory) : undefined;
  let cached = cache ? await cache.read(digest.hash) : undefined;
  const fromCache = cached !== undefined;
  if (cached) options.onProgress?.({ phase: 'cache-hit' });
  else {
    cached = await buildManifest(options, settings, digest);
    if (cache) {
      await cache.write(cached.manifest, cached.tensors);
      options.onProgress?.({ phase: 'cache-written' });
    }
  }
  const clinical =
    options.clinicalFile === undefined
      ? undefined
      : await loadClinicalCsv(options.clinicalFile, options.columns);
  const patients = clinical
    ? joinClinical(cached.manifest.patients, clinical.records, clinical.problems)
    : cached.manifest.patients.map((record) => ({
        patientId: record.patientId,
        usable: false,
        problems: [...record.errors, 'no clinical file given (pass --clinical <file.csv> to join one)'],
        warnings: record.warnings,
        imaging: record,
        clinical: undefined,
      }));
  return {
    manifest: cached.manifest,
    patients,
    clinicalProblems: clinical?.problems ?? [],
    tensors: cached.tensors,
    fromCache,
    seconds: (performance.now() - started) / 1000,
  };
}

function joinClinical(
  imaging: readonly PatientImagingRecord[],
  clinical: ReadonlyMap<string, ClinicalRecord>,
  clinicalProblems: readonly ClinicalProblem[],
): DatasetPatient[] {
  const rowProblem = new Map<string, string>();
  for (const problem of clinicalProblems) {
    if (problem.patientId !== undefined)
      rowProblem.set(problem.patientId, `clinical row (line ${problem.line}): ${problem.reason}`);
  }
  const byId = new Map<string, DatasetPatient>();
  for (const record of imaging) {
    const row = clinical.get(record.patientId);
    const problems = [...record.errors];
    if (!row) problems.push(rowProblem.get(record.patientId) ?? 'no clinical row for this patient');
    byId.set(record.patientId, {
      patientId: record.patientId,
      usable: problems.length === 0 && record.imaging !== undefined,
      problems,
      warnings: record.warnings,
      imaging: record,
      clinical: row,
    });
  }
  const orphans = new Set<string>([...clinical.keys(), ...rowProblem.keys()]);
  for (const patientId of orphans) {
    if (byId.has(patientId)) continue;
    const problems = ['no imaging for this patient in the DICOM folder'];
    const problem = rowProblem.get(patientId);
    if (problem) problems.push(problem);
    byId.set(patientId, {
      patientId,
      usable: false,
      problems,
      warnings: [],
      imaging: undefined,
      clinical: clinical.get(patientId),
    });
  }
  return [...byId.values()].sort((a, b) => a.patientId.localeCompare(b.patientId));
}
