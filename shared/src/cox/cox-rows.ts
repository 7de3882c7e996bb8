import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import type { CoxRows } from './cox-types.ts';

/** Rows checked and copied into flat arrays, with an index sorted by descending time. */
export interface PreparedRows {
  label: string;
  n: number;
  p: number;
  /** Row-major n×p covariates. */
  x: Float64Array;
  time: Float64Array;
  event: Uint8Array;
  /** Row indices by descending time, so risk sets grow as the index advances. */
  order: Uint32Array;
}

const invalid = (message: string): FedpetError => new FedpetError(ErrorCodes.datasetInvalid, message);

export function covariateName(names: readonly string[] | undefined, column: number): string {
  return names?.[column] ?? `x${column + 1}`;
}

/**
 * Checks the rows against p covariates and copies them. Errors name the rows'
 * label, the 1-based row and the field, never the offending value (it may be
 * clinical data).
 */
export function prepareRows(rows: CoxRows, p: number): PreparedRows {
  const label = rows.label ?? 'Cox rows';
  const n = rows.time.length;
  const x = new Float64Array(n * p);
  if (rows.x instanceof Float64Array) {
    if (rows.x.length !== n * p)
      throw invalid(`${label}: the covariate matrix has ${rows.x.length} values, expected ${n} rows × ${p}`);
    x.set(rows.x);
  } else {
    if (rows.x.length !== n) throw invalid(`${label}: ${rows.x.length} covariate rows for ${n} times`);
    rows.x.forEach((row, i) => {
      if (row.length !== p)
        throw invalid(`${label}: row ${i + 1} has ${row.length} covariates, expected ${p}`);
      x.set(row, i * p);
    });
  }
  const { time, event } = checkTimesAndEvents(rows);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < p; a++) {
      if (!Number.isFinite(x[i * p + a]!))
        throw invalid(
          `${label}: row ${i + 1}: covariate '${covariateName(rows.covariateNames, a)}' is not a finite number (NaN or infinite)`,
        );
    }
  }
  const order = Uint32Array.from({ length: n }, (_, i) => i).sort((i, j) => time[j]! - time[i]!);
  return { label, n, p, x, time, event, order };
}

/** Checks and copies times (finite) and events (0/1/false/true); the covariates are not read. */
export function checkTimesAndEvents(rows: CoxRows): { time: Float64Array; event: Uint8Array } {
  const label = rows.label ?? 'Cox rows';
  const n = rows.time.length;
  if (rows.event.length !== n)
    throw invalid(`${label}: ${rows.event.length} event values for ${n} times; they must match`);
  const time = new Float64Array(n);
  const event = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const t = rows.time[i]!;
    if (!Number.isFinite(t)) throw invalid(`${label}: row ${i + 1}: time is not a finite number`);
    time[i] = t;
    const e = rows.event[i];
    if (e === 1 || e === true) event[i] = 1;
    else if (e !== 0 && e !== false)
      throw invalid(`${label}: row ${i + 1}: event must be 0 or 1 (or false/true)`);
  }
  return { time, event };
}

/** β must be finite and of length p ≥ 1; a non-finite β means the server diverged. */
export function checkBeta(beta: Float64Array, where: string): void {
  if (beta.length < 1) throw new FedpetError(ErrorCodes.invalidConfig, `${where}: β has no coefficients`);
  for (let a = 0; a < beta.length; a++)
    if (!Number.isFinite(beta[a]!))
      throw new FedpetError(ErrorCodes.invalidConfig, `${where}: coefficient ${a + 1} of β is not finite`);
}

/** The rows at `indices` (for splitting pooled rows into strata or hospitals). */
export function selectRows(rows: CoxRows, indices: ArrayLike<number>, label?: string): CoxRows {
  const picked = Array.from(indices);
  let x: Float64Array[];
  if (rows.x instanceof Float64Array) {
    const flat = rows.x;
    const p = rows.time.length === 0 ? 0 : flat.length / rows.time.length;
    x = picked.map((i) => flat.slice(i * p, (i + 1) * p));
  } else {
    const list = rows.x;
    x = picked.map((i) => list[i]!);
  }
  return {
    x,
    time: picked.map((i) => rows.time[i]!),
    event: picked.map((i) => rows.event[i]!),
    label: label ?? rows.label,
    ...(rows.covariateNames ? { covariateNames: rows.covariateNames } : {}),
  };
}
