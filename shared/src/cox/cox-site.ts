/**
 * What one hospital computes on its own rows for the exact federated Cox fit.
 *
 * What each variant reveals to the aggregator (per round, at the β it sent):
 *
 * - Stratified (each hospital its own stratum; siteNewtonTerms): ℓ_s(β), the
 *   p-vector ∇ℓ_s(β), the p×p Hessian ∇²ℓ_s(β) and the event count. No times,
 *   no per-patient quantity; with secure aggregation only the sums over
 *   hospitals. Exact because the stratified log-likelihood is a sum over strata.
 *
 * - Pooled (one baseline hazard for everyone; WebDISCO, Lu et al. 2015,
 *   siteEventTimes + siteRiskSetSums): first the hospital's own list of
 *   distinct event times (the union, the global grid, goes back to every
 *   hospital); then per round and for every global event time t_k: the number
 *   of this hospital's events at t_k, the risk-set sums S0, S1 (p), S2 (p×p)
 *   over its rows still at risk at t_k, for Efron the same three sums over its
 *   events at t_k, and one total Σ x over all its events. Without secure
 *   aggregation this is far more than the stratified variant: successive
 *   differences S(t_k) − S(t_{k+1}) are sums over the patients whose times lie
 *   in [t_k, t_{k+1}), so a lone patient there has x exp(x·β) and hence x
 *   disclosed; a lone event at t_k discloses its x through the Efron tied sums;
 *   and every event time is disclosed. Use it only when the experiment opts in.
 */

import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import { EventTermsAccumulator, type TiedSums } from './cox-event-terms.ts';
import { checkBeta, checkTimesAndEvents, type PreparedRows, prepareRows } from './cox-rows.ts';
import type { CoxRows, CoxTies, RiskSetSums, SiteNewtonTerms } from './cox-types.ts';

/** Linear predictors η_i = x_i·β. */
function linearPredictors(rows: PreparedRows, beta: Float64Array): Float64Array {
  const { n, p, x } = rows;
  const eta = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let a = 0; a < p; a++) sum += x[i * p + a]! * beta[a]!;
    eta[i] = sum;
  }
  return eta;
}

/** Adds w, w x and w x xᵀ of row i to running sums (s2 full p×p, row-major). */
function addRow(
  rows: PreparedRows,
  i: number,
  w: number,
  s1: Float64Array,
  s2: Float64Array,
  offset1 = 0,
  offset2 = 0,
): void {
  const { p, x } = rows;
  for (let a = 0; a < p; a++) {
    const xa = x[i * p + a]! * w;
    s1[offset1 + a] = s1[offset1 + a]! + xa;
    for (let b = 0; b < p; b++) s2[offset2 + a * p + b] = s2[offset2 + a * p + b]! + xa * x[i * p + b]!;
  }
}

/**
 * ℓ, ∇ℓ and ∇²ℓ of this hospital's rows taken as one stratum. Summed over
 * hospitals they are exactly the centralized fit stratified by hospital.
 * Weights are exp(η − max η): the terms are unchanged by a common shift of η
 * within a stratum (it cancels between numerator and denominator), and no
 * weight can overflow.
 */
export function siteNewtonTerms(rows: CoxRows, beta: Float64Array, ties: CoxTies): SiteNewtonTerms {
  checkBeta(beta, 'siteNewtonTerms');
  const prepared = prepareRows(rows, beta.length);
  const { n, p, order, time, event } = prepared;
  const eta = linearPredictors(prepared, beta);
  let shift = 0;
  if (n > 0) shift = eta.reduce((max, value) => Math.max(max, value), Number.NEGATIVE_INFINITY);

  const accumulator = new EventTermsAccumulator(p, ties);
  const eventSum = new Float64Array(p);
  const s1 = new Float64Array(p);
  const s2 = new Float64Array(p * p);
  const tied: TiedSums = { s0: 0, s1: new Float64Array(p), s2: new Float64Array(p * p) };
  let s0 = 0;
  let events = 0;
  for (let start = 0; start < n; ) {
    // One distinct time: every row with it joins the risk set before its events are scored.
    const t = time[order[start]!]!;
    let end = start;
    let d = 0;
    tied.s0 = 0;
    tied.s1.fill(0);
    tied.s2.fill(0);
    for (; end < n && time[order[end]!] === t; end++) {
      const i = order[end]!;
      const w = Math.exp(eta[i]! - shift);
      s0 += w;
      addRow(prepared, i, w, s1, s2);
      if (event[i] === 1) {
        d++;
        for (let a = 0; a < p; a++) eventSum[a] = eventSum[a]! + prepared.x[i * p + a]!;
        if (ties === 'efron') {
          tied.s0 += w;
          addRow(prepared, i, w, tied.s1, tied.s2);
        }
      }
    }
    accumulator.addEventTime(d, s0, s1, s2, ties === 'efron' ? tied : undefined);
    events += d;
    start = end;
  }
  const terms = accumulator.finish(beta, eventSum);
  // The denominators were computed with weights scaled by exp(−shift): each of the events adds `shift`.
  return { ...terms, logLik: terms.logLik - events * shift, events };
}

/** This hospital's distinct event times, ascending: its contribution to the global grid (pooled only). */
export function siteEventTimes(rows: CoxRows): number[] {
  const { time, event } = checkTimesAndEvents(rows);
  const times = new Set<number>();
  for (let i = 0; i < time.length; i++) if (event[i] === 1) times.add(time[i]!);
  return [...times].sort((a, b) => a - b);
}

/** The union of the hospitals' event-time lists: the global grid the aggregator sends back. */
export function mergeEventTimes(siteTimes: readonly (readonly number[])[]): Float64Array {
  const times = new Set<number>();
  for (const list of siteTimes) for (const t of list) times.add(t);
  return Float64Array.from([...times].sort((a, b) => a - b));
}

function checkGrid(times: ArrayLike<number>): void {
  for (let k = 0; k < times.length; k++) {
    const t = times[k]!;
    if (!Number.isFinite(t) || (k > 0 && !(t > times[k - 1]!)))
      throw new FedpetError(
        ErrorCodes.invalidMessage,
        `global event-time grid: entry ${k + 1} is not finite or not strictly increasing`,
      );
  }
}

/**
 * This hospital's risk-set sums at every global event time (see RiskSetSums).
 * Weights are exp(x·β) unshifted: the sums are added across hospitals, so no
 * hospital may rescale alone. Covariates centered at constants agreed by all
 * hospitals (e.g. age − 60) change nothing in ℓ, ∇ℓ or ∇²ℓ and keep exp() in range.
 */
export function siteRiskSetSums(
  rows: CoxRows,
  beta: Float64Array,
  globalEventTimes: ArrayLike<number>,
  ties: CoxTies,
): RiskSetSums {
  checkBeta(beta, 'siteRiskSetSums');
  checkGrid(globalEventTimes);
  const prepared = prepareRows(rows, beta.length);
  const { n, p, order, time, event, label } = prepared;
  const eta = linearPredictors(prepared, beta);
  const K = globalEventTimes.length;
  const sums: RiskSetSums = {
    ties,
    p,
    times: Float64Array.from(globalEventTimes),
    eventCount: new Float64Array(K),
    eventCovariateSum: new Float64Array(p),
    s0: new Float64Array(K),
    s1: new Float64Array(K * p),
    s2: new Float64Array(K * p * p),
    ...(ties === 'efron'
      ? { tied: { s0: new Float64Array(K), s1: new Float64Array(K * p), s2: new Float64Array(K * p * p) } }
      : {}),
  };
  const running = { s0: 0, s1: new Float64Array(p), s2: new Float64Array(p * p) };
  let next = 0;
  const notOnGrid = (i: number): FedpetError =>
    new FedpetError(
      ErrorCodes.invalidMessage,
      `${label}: row ${i + 1}: its event time is not on the global event-time grid (was this hospital's list merged?)`,
    );
  for (let k = K - 1; k >= 0; k--) {
    const tk = globalEventTimes[k]!;
    // Rows with T ≥ t_k join the risk set; the events among them must sit exactly on t_k.
    for (; next < n && time[order[next]!]! >= tk; next++) {
      const i = order[next]!;
      const w = Math.exp(eta[i]!);
      running.s0 += w;
      addRow(prepared, i, w, running.s1, running.s2);
      if (event[i] !== 1) continue;
      if (time[i] !== tk) throw notOnGrid(i);
      sums.eventCount[k] = sums.eventCount[k]! + 1;
      for (let a = 0; a < p; a++)
        sums.eventCovariateSum[a] = sums.eventCovariateSum[a]! + prepared.x[i * p + a]!;
      if (sums.tied) {
        sums.tied.s0[k] = sums.tied.s0[k]! + w;
        addRow(prepared, i, w, sums.tied.s1, sums.tied.s2, k * p, k * p * p);
      }
    }
    sums.s0[k] = running.s0;
    sums.s1.set(running.s1, k * p);
    sums.s2.set(running.s2, k * p * p);
  }
  for (; next < n; next++) if (event[order[next]!] === 1) throw notOnGrid(order[next]!);
  return sums;
}
