import { readFile } from 'node:fs/promises';
import { ErrorCodes, FedpetError } from '../../errors/fedpet-error.ts';
import {
  CLINICAL_FIELDS,
  type ClinicalColumns,
  DEFAULT_CLINICAL_COLUMNS,
  OPTIONAL_CLINICAL_FIELDS,
} from './clinical-columns.ts';
import { parseCsvText } from './csv-text.ts';

export type Histology = 'adenocarcinoma' | 'squamous' | 'other';
export type RecistResponse = 'CR' | 'PR' | 'SD' | 'PD';

/** One patient's clinical row, validated. Optional fields are undefined when the cell was empty. */
export interface ClinicalRecord {
  patientId: string;
  /** 1-based line in the CSV, to point the hospital's operator at the row. */
  line: number;
  age: number;
  sex: 'M' | 'F';
  ecog: number;
  pdl1Tps: number | undefined;
  histology: Histology | undefined;
  treatmentLine: number | undefined;
  pfsDays: number;
  pfsEvent: 0 | 1;
  bestResponse: RecistResponse | undefined;
}

/** A row that could not be used. Names the line and column, never the cell's value. */
export interface ClinicalProblem {
  line: number;
  /** Present when the row had a readable patient id (shown only on the hospital's own screen). */
  patientId: string | undefined;
  reason: string;
}

export interface ClinicalTable {
  source: string;
  records: Map<string, ClinicalRecord>;
  problems: ClinicalProblem[];
}

const decimal = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const HISTOLOGY: Record<string, Histology> = {
  adenocarcinoma: 'adenocarcinoma',
  adeno: 'adenocarcinoma',
  squamous: 'squamous',
  'squamous cell carcinoma': 'squamous',
  other: 'other',
};
const SEX: Record<string, 'M' | 'F'> = { m: 'M', male: 'M', f: 'F', female: 'F' };

class RowError extends Error {}

function numberIn(cell: string, column: string, min: number, max: number, integer: boolean): number {
  if (!decimal.test(cell)) throw new RowError(`column '${column}': not a number`);
  const value = Number(cell);
  if (integer && !Number.isInteger(value)) throw new RowError(`column '${column}': must be a whole number`);
  if (value < min || value > max) throw new RowError(`column '${column}': outside ${min}–${max}`);
  return value;
}

/**
 * Parses and validates a clinical CSV. The header must hold every mapped
 * column; each data row is validated on its own, and a bad row becomes a
 * problem without stopping the others (a duplicated patient id makes every
 * row with that id a problem, since neither can be trusted).
 */
export function parseClinicalCsv(
  text: string,
  source: string,
  columns: ClinicalColumns = DEFAULT_CLINICAL_COLUMNS,
): ClinicalTable {
  let records: ReturnType<typeof parseCsvText>;
  try {
    records = parseCsvText(text, source);
  } catch (error) {
    throw new FedpetError(ErrorCodes.datasetInvalid, (error as Error).message);
  }
  const header = records[0];
  if (header === undefined)
    throw new FedpetError(ErrorCodes.datasetInvalid, `${source}: empty file, no header row`);
  const position = new Map<string, number>();
  header.cells.forEach((name, index) => {
    position.set(name.trim(), index);
  });
  const missing = CLINICAL_FIELDS.filter((field) => !position.has(columns[field]));
  if (missing.length > 0) {
    throw new FedpetError(
      ErrorCodes.datasetInvalid,
      `${source}: missing column${missing.length > 1 ? 's' : ''} ${missing.map((f) => `'${columns[f]}'`).join(', ')}` +
        ' (map other names with --column <field>=<name>)',
    );
  }
  const index = (field: keyof ClinicalColumns): number => position.get(columns[field])!;
  const parsed = new Map<string, ClinicalRecord>();
  const problems: ClinicalProblem[] = [];
  const duplicated = new Set<string>();
  for (const record of records.slice(1)) {
    const cell = (field: keyof ClinicalColumns): string => (record.cells[index(field)] ?? '').trim();
    const patientId = cell('patientId');
    try {
      if (record.cells.length !== header.cells.length) {
        throw new RowError(`has ${record.cells.length} fields, the header has ${header.cells.length}`);
      }
      for (const field of CLINICAL_FIELDS) {
        if (!OPTIONAL_CLINICAL_FIELDS.has(field) && cell(field) === '') {
          throw new RowError(`column '${columns[field]}': empty`);
        }
      }
      const optional = <T>(field: keyof ClinicalColumns, read: (text: string) => T): T | undefined =>
        cell(field) === '' ? undefined : read(cell(field));
      const sex = SEX[cell('sex').toLowerCase()];
      if (sex === undefined) throw new RowError(`column '${columns.sex}': must be M or F`);
      const event = numberIn(cell('pfsEvent'), columns.pfsEvent, 0, 1, true) as 0 | 1;
      const row: ClinicalRecord = {
        patientId,
        line: record.line,
        age: numberIn(cell('age'), columns.age, 0, 120, false),
        sex,
        ecog: numberIn(cell('ecog'), columns.ecog, 0, 4, true),
        pdl1Tps: optional('pdl1Tps', (t) => numberIn(t, columns.pdl1Tps, 0, 100, false)),
        histology: optional('histology', (t) => {
          const value = HISTOLOGY[t.toLowerCase()];
          if (value === undefined)
            throw new RowError(`column '${columns.histology}': must be adenocarcinoma, squamous or other`);
          return value;
        }),
        treatmentLine: optional('treatmentLine', (t) => numberIn(t, columns.treatmentLine, 1, 20, true)),
        pfsDays: numberIn(cell('pfsDays'), columns.pfsDays, 0, 36500, false),
        pfsEvent: event,
        bestResponse: optional('bestResponse', (t) => {
          const value = t.toUpperCase();
          if (value === 'NE') return undefined;
          if (value !== 'CR' && value !== 'PR' && value !== 'SD' && value !== 'PD') {
            throw new RowError(`column '${columns.bestResponse}': must be CR, PR, SD, PD or NE`);
          }
          return value;
        }),
      };
      if (row.pfsDays <= 0) throw new RowError(`column '${columns.pfsDays}': must be positive`);
      if (parsed.has(patientId) || duplicated.has(patientId)) {
        const earlier = parsed.get(patientId);
        if (earlier) {
          problems.push({ line: earlier.line, patientId, reason: 'patient id appears on more than one row' });
          parsed.delete(patientId);
        }
        duplicated.add(patientId);
        throw new RowError('patient id appears on more than one row');
      }
      parsed.set(patientId, row);
    } catch (error) {
      if (!(error instanceof RowError)) throw error;
      problems.push({
        line: record.line,
        patientId: patientId === '' ? undefined : patientId,
        reason: error.message,
      });
    }
  }
  problems.sort((a, b) => a.line - b.line);
  return { source, records: parsed, problems };
}

export async function loadClinicalCsv(path: string, columns?: ClinicalColumns): Promise<ClinicalTable> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new FedpetError(ErrorCodes.datasetMissing, `clinical file ${path}: cannot read (${code})`, {
      cause: error,
    });
  }
  return parseClinicalCsv(text, path, columns);
}
