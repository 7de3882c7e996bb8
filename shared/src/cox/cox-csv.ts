/**
 * Builds Cox rows from a CSV with configurable time, event and covariate
 * columns. Rows missing any used column are left out (complete cases, as R's
 * default na.action) and counted; a cell that is present but not a number, or
 * an event code that is neither an event nor a censoring, is an error naming
 * the line and column, never the value.
 */
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import { parseCsvText } from '../imaging/clinical/csv-text.ts';
import type { CoxRows } from './cox-types.ts';

export interface CoxCsvColumns {
  time: string;
  event: string;
  covariates: readonly string[];
  /** Cell values that mean an event (default ['1']); R's lung data codes death as '2'. */
  eventValues?: readonly string[];
  /** Cell values that mean censored (default ['0']). */
  censoredValues?: readonly string[];
  /** More numeric columns to keep (and require), e.g. a hospital or stratum id. */
  extra?: readonly string[];
}

export interface CoxCsvTable {
  rows: CoxRows;
  /** The `extra` columns of the kept rows. */
  extra: Record<string, Float64Array>;
  /** 1-based CSV lines of the kept rows. */
  lines: number[];
  /** Rows left out because a used cell was empty or NA. */
  incomplete: number;
}

const MISSING = new Set(['', 'NA', 'NaN', 'na', 'nan', '.']);

export function coxRowsFromCsv(text: string, source: string, columns: CoxCsvColumns): CoxCsvTable {
  const invalid = (message: string): FedpetError =>
    new FedpetError(ErrorCodes.datasetInvalid, `${source}: ${message}`);
  const records = parseCsvText(text, source);
  const header = records[0]?.cells.map((cell) => cell.trim());
  if (!header) throw invalid('the file is empty');
  const extraNames = columns.extra ?? [];
  const wanted = [columns.time, columns.event, ...columns.covariates, ...extraNames];
  const index = new Map(wanted.map((name) => [name, header.indexOf(name)]));
  for (const [name, at] of index) if (at < 0) throw invalid(`column '${name}' is missing`);
  if (columns.covariates.length === 0) throw invalid('no covariate columns were chosen');
  const eventValues = new Set(columns.eventValues ?? ['1']);
  const censoredValues = new Set(columns.censoredValues ?? ['0']);

  const x: Float64Array[] = [];
  const time: number[] = [];
  const event: number[] = [];
  const lines: number[] = [];
  const extra: Record<string, number[]> = Object.fromEntries(extraNames.map((name) => [name, []]));
  let incomplete = 0;
  for (const record of records.slice(1)) {
    const cell = (name: string): string => (record.cells[index.get(name)!] ?? '').trim();
    if (wanted.some((name) => MISSING.has(cell(name)))) {
      incomplete++;
      continue;
    }
    const numeric = (name: string): number => {
      const value = Number(cell(name));
      if (!Number.isFinite(value))
        throw invalid(`line ${record.line}: column '${name}' is not a finite number`);
      return value;
    };
    const code = cell(columns.event);
    if (eventValues.has(code)) event.push(1);
    else if (censoredValues.has(code)) event.push(0);
    else
      throw invalid(
        `line ${record.line}: column '${columns.event}' is neither an event nor a censoring code`,
      );
    time.push(numeric(columns.time));
    x.push(Float64Array.from(columns.covariates, numeric));
    for (const name of extraNames) extra[name]!.push(numeric(name));
    lines.push(record.line);
  }
  return {
    rows: { x, time, event, label: source, covariateNames: [...columns.covariates] },
    extra: Object.fromEntries(
      Object.entries(extra).map(([name, values]) => [name, Float64Array.from(values)]),
    ),
    lines,
    incomplete,
  };
}
