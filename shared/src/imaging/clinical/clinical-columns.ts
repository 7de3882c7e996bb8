/** The clinical fields fedpet understands, and the CSV column each is read from by default. */
export const DEFAULT_CLINICAL_COLUMNS = {
  patientId: 'patient_id',
  age: 'age',
  sex: 'sex',
  ecog: 'ecog',
  pdl1Tps: 'pdl1_tps',
  histology: 'histology',
  treatmentLine: 'treatment_line',
  pfsDays: 'pfs_days',
  pfsEvent: 'pfs_event',
  bestResponse: 'best_response',
} as const;

export type ClinicalField = keyof typeof DEFAULT_CLINICAL_COLUMNS;
export type ClinicalColumns = Record<ClinicalField, string>;

export const CLINICAL_FIELDS = Object.keys(DEFAULT_CLINICAL_COLUMNS) as ClinicalField[];

/** Fields a row may leave empty (PD-L1 is often not tested; response may be not evaluable). */
export const OPTIONAL_CLINICAL_FIELDS: ReadonlySet<ClinicalField> = new Set([
  'pdl1Tps',
  'histology',
  'treatmentLine',
  'bestResponse',
]);

/**
 * Overrides of the default column names, from "field=column" pairs where the
 * field is either fedpet's name (pfsDays) or the default column (pfs_days).
 */
export function resolveClinicalColumns(overrides: Readonly<Record<string, string>> = {}): ClinicalColumns {
  const columns: ClinicalColumns = { ...DEFAULT_CLINICAL_COLUMNS };
  for (const [key, column] of Object.entries(overrides)) {
    const field = CLINICAL_FIELDS.find((f) => f === key || DEFAULT_CLINICAL_COLUMNS[f] === key);
    if (field === undefined) {
      const known = CLINICAL_FIELDS.map((f) => DEFAULT_CLINICAL_COLUMNS[f]).join(', ');
      throw new Error(`unknown clinical field "${key}" (known: ${known})`);
    }
    if (column.trim() === '') throw new Error(`clinical field "${key}" is mapped to an empty column name`);
    columns[field] = column.trim();
  }
  return columns;
}
