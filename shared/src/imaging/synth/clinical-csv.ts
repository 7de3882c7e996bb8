import type { ClinicalCovariates, Outcome } from './hazard-model.ts';

/** The clinical table's header, exactly as trainers expect it. */
export const CLINICAL_CSV_HEADER =
  'patient_id,age,sex,ecog,pdl1_tps,histology,treatment_line,pfs_days,pfs_event,best_response';

export interface ClinicalRow {
  patientId: string;
  covariates: ClinicalCovariates;
  outcome: Outcome;
}

/**
 * One row per patient. Only observable data: the target MTV, the true linear
 * predictor and hazard ratio stay out (they are in ground-truth.json).
 */
export function clinicalCsv(rows: readonly ClinicalRow[]): string {
  const lines = rows.map(({ patientId, covariates: c, outcome: o }) => {
    if (!/^[A-Za-z0-9-]+$/.test(patientId)) throw new RangeError(`patient id "${patientId}" is not CSV-safe`);
    return [
      patientId,
      c.ageYears,
      c.sex,
      c.ecog,
      c.pdl1Tps,
      c.histology,
      c.treatmentLine,
      o.pfsDays,
      o.pfsEvent,
      o.bestResponse,
    ].join(',');
  });
  return `${[CLINICAL_CSV_HEADER, ...lines].join('\n')}\n`;
}
