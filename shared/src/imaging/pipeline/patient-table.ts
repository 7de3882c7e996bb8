import { ErrorCodes, FedpetError } from '../../errors/fedpet-error.ts';
import { columnsRead, type ImageInput, type ModelSpec } from '../../ml/plans/model-spec.ts';
import { applyScaling, checkTarget } from '../../ml/plans/plan-columns.ts';
import type { PlanData } from '../../ml/plans/plan-data.ts';
import { imageShapeOf } from '../../ml/plans/plan-model.ts';
import type { ClinicalRecord } from '../clinical/clinical-csv.ts';
import type { RadiomicFeatures } from '../radiomics/features.ts';
import type { DatasetPatient, PetCtDataset } from './pet-ct-dataset.ts';

type Column = (clinical: ClinicalRecord, features: RadiomicFeatures) => number;

const optional = (value: number | undefined): number => value ?? Number.NaN;

/**
 * The per-patient columns a PET-CT dataset offers to tabular plans: clinical
 * covariates (categories one-hot or 0/1), outcomes, and radiomics (41%
 * isocontour unless the name says ≥2.5 or ≥4.0 SUV). A missing optional
 * clinical value is NaN, and a plan that uses that column leaves the row out.
 */
export const PET_CT_COLUMNS: Readonly<Record<string, Column>> = {
  age: (c) => c.age,
  sex_male: (c) => (c.sex === 'M' ? 1 : 0),
  ecog: (c) => c.ecog,
  pdl1_tps: (c) => optional(c.pdl1Tps),
  pdl1_high: (c) => (c.pdl1Tps === undefined ? Number.NaN : c.pdl1Tps >= 50 ? 1 : 0),
  histology_squamous: (c) => (c.histology === undefined ? Number.NaN : c.histology === 'squamous' ? 1 : 0),
  histology_other: (c) => (c.histology === undefined ? Number.NaN : c.histology === 'other' ? 1 : 0),
  treatment_line: (c) => optional(c.treatmentLine),
  pfs_days: (c) => c.pfsDays,
  pfs_event: (c) => c.pfsEvent,
  /** RECIST complete or partial response. */
  responder: (c) =>
    c.bestResponse === undefined ? Number.NaN : c.bestResponse === 'CR' || c.bestResponse === 'PR' ? 1 : 0,
  /** Durable clinical benefit: no progression for 6 months (182 days); unknown if censored before. */
  durable_benefit: (c) => (c.pfsDays >= 182 ? 1 : c.pfsEvent === 1 ? 0 : Number.NaN),
  suv_max: (_, f) => f.suvMax,
  suv_mean: (_, f) => f.suvMean,
  suv_peak: (_, f) => f.suvPeak,
  lesion_count: (_, f) => f.segmentations.isocontour.lesionCount,
  mtv_ml: (_, f) => f.segmentations.isocontour.totalMtvMl,
  tlg: (_, f) => f.segmentations.isocontour.totalTlg,
  log_mtv: (_, f) => Math.log1p(f.segmentations.isocontour.totalMtvMl),
  log_tlg: (_, f) => Math.log1p(f.segmentations.isocontour.totalTlg),
  mtv25_ml: (_, f) => f.segmentations.fixedLow.totalMtvMl,
  tlg25: (_, f) => f.segmentations.fixedLow.totalTlg,
  lesion_count25: (_, f) => f.segmentations.fixedLow.lesionCount,
  mtv40_ml: (_, f) => f.segmentations.fixedHigh.totalMtvMl,
  tlg40: (_, f) => f.segmentations.fixedHigh.totalTlg,
  lesion_count40: (_, f) => f.segmentations.fixedHigh.lesionCount,
};

export const PET_CT_COLUMN_NAMES = Object.keys(PET_CT_COLUMNS);

/** Usable patients in id order, with the values they contribute. */
function usableRows(
  patients: readonly DatasetPatient[],
): { patient: DatasetPatient; clinical: ClinicalRecord; features: RadiomicFeatures }[] {
  return patients.flatMap((patient) =>
    patient.usable && patient.clinical && patient.imaging?.imaging
      ? [{ patient, clinical: patient.clinical, features: patient.imaging.imaging.features }]
      : [],
  );
}

/** Throws, naming them and the columns there are, if any of `names` is not a PET-CT column. */
export function requirePetCtColumns(names: readonly string[], datasetName: string): void {
  const unknown = names.filter((name) => !(name in PET_CT_COLUMNS));
  if (unknown.length > 0) {
    throw new FedpetError(
      ErrorCodes.datasetInvalid,
      `pet-ct dataset "${datasetName}" has no column ${unknown.map((u) => `'${u}'`).join(', ')} (it has: ${PET_CT_COLUMN_NAMES.join(', ')})`,
    );
  }
}

/** Copies one patient's image for the plan into `out` at `offset` (channels last); false when a modality is missing. */
function writeImage(
  dataset: PetCtDataset,
  slots: NonNullable<NonNullable<DatasetPatient['imaging']>['imaging']>['tensors'],
  image: ImageInput,
  out: Float32Array,
  offset: number,
): boolean {
  if (image.kind === 'mip') {
    const pixels = image.size * image.size;
    for (let i = 0; i < pixels; i++) {
      out[offset + 2 * i] = dataset.tensors[slots.mipCoronal + i]!;
      out[offset + 2 * i + 1] = dataset.tensors[slots.mipSagittal + i]!;
    }
    return true;
  }
  const voxels = image.size ** 3;
  const channels = image.channels;
  for (const [c, channel] of channels.entries()) {
    const start = channel === 'pet' ? slots.petCrop : slots.ctCrop;
    if (start === undefined) return false;
    for (let i = 0; i < voxels; i++) out[offset + i * channels.length + c] = dataset.tensors[start + i]!;
  }
  return true;
}

/**
 * A plan's examples from a PET-CT dataset: its tabular columns (clinical and
 * radiomic, scaled by the plan), its images from the preprocessing cache and
 * its target, for every usable patient. Unknown columns, or images of another
 * size than the hospital's preprocessing produced, are errors naming them;
 * patients with an empty value in a column the plan uses, or without the
 * modality it needs, are left out and counted.
 */
export function petCtPlanData(
  dataset: PetCtDataset,
  spec: ModelSpec,
  datasetName: string,
): { data: PlanData; patientsLeftOut: number } {
  const wanted = columnsRead(spec);
  requirePetCtColumns(wanted, datasetName);
  if (spec.target.kind === 'label' && spec.columns.includes(spec.target.column)) {
    throw new FedpetError(
      ErrorCodes.invalidSpec,
      `label '${spec.target.column}' is also listed as a feature`,
    );
  }
  const shapes = dataset.manifest.tensorShapes;
  const image = spec.image;
  if (image) {
    const have = image.kind === 'mip' ? shapes.mip[1] : shapes.petCrop[0];
    if (have !== image.size) {
      throw new FedpetError(
        ErrorCodes.datasetInvalid,
        `pet-ct dataset "${datasetName}" has ${image.kind === 'mip' ? 'MIPs' : 'crops'} of ${String(have)}, the plan wants ${image.size} (the hospital's preprocessing settings decide the size)`,
      );
    }
    if (image.kind === 'crop' && image.channels.includes('ct') && shapes.ctCrop.length === 0) {
      throw new FedpetError(
        ErrorCodes.datasetInvalid,
        `pet-ct dataset "${datasetName}" has no CT: the plan needs one`,
      );
    }
  }
  const imageShape = image ? imageShapeOf(spec) : undefined;
  const imageSize = (imageShape ?? []).reduce((a, b) => a * b, 1);
  const rows = usableRows(dataset.patients);
  const width = spec.columns.length;
  const targetWidth = spec.target.kind === 'label' ? 1 : 2;
  const tabular = new Float32Array(rows.length * width);
  const target = new Float32Array(rows.length * targetWidth);
  const images = image ? new Float32Array(rows.length * imageSize) : undefined;
  let kept = 0;
  const rowIds: string[] = [];
  for (const row of rows) {
    const values = wanted.map((name) => PET_CT_COLUMNS[name]!(row.clinical, row.features));
    if (values.some((value) => !Number.isFinite(value))) continue;
    if (
      images &&
      !writeImage(dataset, row.patient.imaging!.imaging!.tensors, image!, images, kept * imageSize)
    )
      continue;
    tabular.set(values.slice(0, width), kept * width);
    target.set(values.slice(width), kept * targetWidth);
    rowIds.push(row.patient.patientId);
    kept++;
  }
  if (kept === 0) {
    throw new FedpetError(
      ErrorCodes.datasetInvalid,
      `pet-ct dataset "${datasetName}": no usable patient has every column the plan needs`,
    );
  }
  const data: PlanData = {
    rows: kept,
    tabular: tabular.slice(0, kept * width),
    tabularWidth: width,
    images: images?.slice(0, kept * imageSize),
    imageShape,
    target: target.slice(0, kept * targetWidth),
    targetWidth,
    rowIds,
  };
  checkTarget(data, spec, datasetName);
  return { data: applyScaling(data, spec), patientsLeftOut: rows.length - kept };
}

/** Usable patients and, among them, progression events: what counts can be shared (after the <5 rule). */
export function petCtCounts(patients: readonly DatasetPatient[]): { patients: number; events: number } {
  const rows = usableRows(patients);
  return { patients: rows.length, events: rows.filter((row) => row.clinical.pfsEvent === 1).length };
}
