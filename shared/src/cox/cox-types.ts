/**
 * Types shared by the exact (Newton–Raphson) Cox regression: what a hospital
 * holds, what it sends, and what the aggregator solves with.
 */

/** How tied event times enter the partial likelihood (the same two choices as R's coxph). */
export type CoxTies = 'breslow' | 'efron';

/**
 * Right-censored survival rows of one hospital (or the pooled rows).
 * `x` is either one Float64Array of covariates per row or one row-major n×p
 * matrix; p always comes from the coefficient vector β it is evaluated at.
 */
export interface CoxRows {
  readonly x: readonly Float64Array[] | Float64Array;
  readonly time: ArrayLike<number>;
  /** 1 or true: the event was observed at `time`; 0 or false: censored at `time`. */
  readonly event: ArrayLike<number | boolean>;
  /** Names the rows in error messages (a hospital or file name), never a value. */
  readonly label?: string;
  /** Names the covariates in error messages. */
  readonly covariateNames?: readonly string[];
}

/**
 * The log partial likelihood ℓ(β), its gradient and its Hessian (p×p,
 * row-major; negative semi-definite). For a stratified fit these are sums over
 * strata, so a sum over hospitals of their own terms is the exact global value.
 */
export interface NewtonTerms {
  logLik: number;
  gradient: Float64Array;
  hessian: Float64Array;
}

/** A hospital's stratified contribution: its own terms plus its event count. */
export interface SiteNewtonTerms extends NewtonTerms {
  events: number;
}

/**
 * Risk-set sums of one hospital (or, after combineRiskSetSums, of all) at each
 * global event time t_k (k = 0..K−1, ascending), for the pooled WebDISCO fit.
 * With w_j = exp(x_j·β) and R(t) = {j : T_j ≥ t}, D_k the events at t_k:
 *   s0[k] = Σ_{R(t_k)} w_j, s1[k·p + a] = Σ_{R(t_k)} x_ja w_j,
 *   s2[(k·p + a)·p + b] = Σ_{R(t_k)} x_ja x_jb w_j,
 *   eventCount[k] = |D_k| at this hospital,
 *   eventCovariateSum[a] = Σ over ALL this hospital's events of x_ia (one
 *   vector, not one per time: ℓ and its gradient only need the total).
 * Efron also needs the same three sums over D_k alone (`tied`); Breslow omits them.
 */
export interface RiskSetSums {
  ties: CoxTies;
  p: number;
  times: Float64Array;
  eventCount: Float64Array;
  eventCovariateSum: Float64Array;
  s0: Float64Array;
  s1: Float64Array;
  s2: Float64Array;
  tied?: { s0: Float64Array; s1: Float64Array; s2: Float64Array };
}
