/**
 * A centralized Cox fit on pooled rows, optionally stratified, with the same
 * terms and Newton driver as the federated fits: the yardstick the federated
 * variants must reproduce.
 */
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import { type CoxFitOptions, type CoxFitResult, fitCoxSync } from './cox-newton.ts';
import { selectRows } from './cox-rows.ts';
import { siteNewtonTerms } from './cox-site.ts';
import type { CoxRows, CoxTies, NewtonTerms } from './cox-types.ts';

export interface CentralCoxOptions extends CoxFitOptions {
  ties: CoxTies;
  /** One stratum label per row; each stratum gets its own baseline hazard (R's `+ strata(...)`). */
  strata?: ArrayLike<string | number>;
}

/** Splits rows by stratum label, in order of first appearance. */
export function splitByStratum(rows: CoxRows, strata: ArrayLike<string | number>): CoxRows[] {
  const n = rows.time.length;
  if (strata.length !== n)
    throw new FedpetError(
      ErrorCodes.datasetInvalid,
      `${rows.label ?? 'Cox rows'}: ${strata.length} stratum labels for ${n} rows`,
    );
  const groups = new Map<string | number, number[]>();
  for (let i = 0; i < n; i++) {
    const key = strata[i]!;
    const group = groups.get(key);
    if (group) group.push(i);
    else groups.set(key, [i]);
  }
  return [...groups].map(([key, indices]) =>
    selectRows(rows, indices, `${rows.label ?? 'Cox rows'} stratum ${String(key)}`),
  );
}

/** ℓ, ∇ℓ, ∇²ℓ of the pooled rows at β: one stratum, or the sum over the given strata. */
export function centralNewtonTerms(
  rows: CoxRows,
  beta: Float64Array,
  ties: CoxTies,
  strata?: ArrayLike<string | number>,
): NewtonTerms {
  const groups = strata === undefined ? [rows] : splitByStratum(rows, strata);
  return sumTerms(groups.map((group) => siteNewtonTerms(group, beta, ties)));
}

/** Sum of terms (what the aggregator does with the stratified hospitals' replies). */
export function sumTerms(parts: readonly NewtonTerms[]): NewtonTerms {
  const first = parts[0];
  if (first === undefined) throw new FedpetError(ErrorCodes.noUpdates, 'no Newton terms to sum');
  const total: NewtonTerms = {
    logLik: 0,
    gradient: new Float64Array(first.gradient.length),
    hessian: new Float64Array(first.hessian.length),
  };
  for (const part of parts) {
    if (part.gradient.length !== total.gradient.length || part.hessian.length !== total.hessian.length)
      throw new FedpetError(ErrorCodes.invalidMessage, 'Newton terms of different sizes cannot be summed');
    total.logLik += part.logLik;
    part.gradient.forEach((value, a) => {
      total.gradient[a] = total.gradient[a]! + value;
    });
    part.hessian.forEach((value, ab) => {
      total.hessian[ab] = total.hessian[ab]! + value;
    });
  }
  return total;
}

/** Covariate count of the rows (from the first row, or the flat matrix size). */
function covariateCount(rows: CoxRows): number {
  const n = rows.time.length;
  if (rows.x instanceof Float64Array) return n === 0 ? 0 : rows.x.length / n;
  return rows.x[0]?.length ?? 0;
}

/** Centralized Newton–Raphson fit (stratified when `strata` is given). */
export function fitCoxCentral(rows: CoxRows, options: CentralCoxOptions): CoxFitResult {
  const groups = options.strata === undefined ? [rows] : splitByStratum(rows, options.strata);
  const p = covariateCount(rows);
  if (!Number.isInteger(p) || p < 1)
    throw new FedpetError(ErrorCodes.datasetInvalid, `${rows.label ?? 'Cox rows'}: no rows or no covariates`);
  const names = options.covariateNames ?? rows.covariateNames;
  return fitCoxSync(
    (beta) => sumTerms(groups.map((group) => siteNewtonTerms(group, beta, options.ties))),
    p,
    { ...options, ...(names ? { covariateNames: names } : {}) },
  );
}
