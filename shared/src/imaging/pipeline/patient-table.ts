import { ErrorCodes, FedpetError } from '../../errors/fedpet-error.ts';
import type { TabularColumns, TabularData } from '../../ml/tabular-dataset.ts';
import type { ClinicalRecord } from '../clinical/clinical-csv.ts';
import type { RadiomicFeatures } from '../radiomics/features.ts';
import type { DatasetPatient } from './pet-ct-dataset.ts';

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
): { clinical: ClinicalRecord; features: RadiomicFeatures }[] {
  return patients.flatMap((patient) =>
    patient.usable && patient.clinical && patient.imaging?.imaging
      ? [{ clinical: patient.clinical, features: patient.imaging.imaging.features }]
      : [],
  );
}

/**
 * The plan's columns over the usable patients. Unknown columns are an error
 * naming them and the available ones; rows with a missing value in a chosen
 * column are left out and counted.
 */
export function petCtTabular(
  patients: readonly DatasetPatient[],
  plan: TabularColumns,
  datasetName: string,
): { data: TabularData; rowsWithMissingValues: number } {
  const wanted = [...plan.features, plan.label];
  const unknown = wanted.filter((name) => !(name in PET_CT_COLUMNS));
  if (unknown.length > 0) {
    throw new FedpetError(
      ErrorCodes.datasetInvalid,
      `pet-ct dataset "${datasetName}" has no column ${unknown.map((u) => `'${u}'`).join(', ')} (it has: ${PET_CT_COLUMN_NAMES.join(', ')})`,
    );
  }
  if (plan.features.includes(plan.label)) {
    throw new FedpetError(ErrorCodes.invalidSpec, `label '${plan.label}' is also listed as a feature`);
  }
  const rows = usableRows(patients);
  const width = plan.features.length;
  const features: number[] = [];
  const labels: number[] = [];
  let rowsWithMissingValues = 0;
  for (const row of rows) {
    const values = wanted.map((name) => PET_CT_COLUMNS[name]!(row.clinical, row.features));
    if (values.some((value) => !Number.isFinite(value))) {
      rowsWithMissingValues++;
      continue;
    }
    features.push(...values.slice(0, width));
    labels.push(values[width]!);
  }
  if (labels.length === 0) {
    throw new FedpetError(
      ErrorCodes.datasetInvalid,
      `pet-ct dataset "${datasetName}": no usable patient has every column the plan needs`,
    );
  }
  if (plan.task === 'binary-classification' && labels.some((label) => label !== 0 && label !== 1)) {
    throw new FedpetError(
      ErrorCodes.datasetInvalid,
      `label '${plan.label}' is not 0/1 in dataset "${datasetName}"`,
    );
  }
  return {
    data: {
      features: Float32Array.from(features),
      labels: Float32Array.from(labels),
      rows: labels.length,
      featureCount: width,
    },
    rowsWithMissingValues,
  };
}

/** Usable patients and, among them, progression events: what counts can be shared (after the <5 rule). */
export function petCtCounts(patients: readonly DatasetPatient[]): { patients: number; events: number } {
  const rows = usableRows(patients);
  return { patients: rows.length, events: rows.filter((row) => row.clinical.pfsEvent === 1).length };
}
