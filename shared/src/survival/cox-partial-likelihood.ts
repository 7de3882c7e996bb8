import { checkTimeEvent } from './survival-input.ts';
import { descendingTieGroups } from './tie-groups.ts';

/**
 * Cox negative log partial likelihood and its gradient w.r.t. the linear
 * predictor η, in double precision.
 *
 * With r_i = exp(η_i), risk set R(t) = {j : T_j ≥ t}, distinct event times t_k,
 * event set D_k and d_k = |D_k|:
 *   Breslow (Breslow 1974):  ℓ = −Σ_k [ Σ_{i∈D_k} η_i − d_k·log Σ_{j∈R(t_k)} r_j ]
 *   Efron   (Efron 1977):    the k-th log-denominator becomes
 *                            Σ_{l=0}^{d_k−1} log( Σ_{R(t_k)} r_j − (l/d_k)·Σ_{D_k} r_j )
 * (SCIENCE.md §3; Kalbfleisch & Prentice 2002 §4.2; the same quantities as
 * R survival's coxph loglik). Without tied event times both are the same.
 *
 * Numerics: sums of exp(η) are held as exp(m)·s with m the largest η seen so
 * far in the risk set (a running log-sum-exp), so no exp overflows and the
 * risk set of the last (latest) event never underflows, whatever the spread
 * of η. The Efron denominator is formed as (rows of R not in D_k) +
 * (1 − l/d_k)·Σ_{D_k} r_j, which never subtracts.
 */

export type CoxTies = 'breslow' | 'efron';

export interface CoxLikelihood {
  /** Negative log partial likelihood, summed over events. */
  sum: number;
  /** Number of events (event = 1). */
  events: number;
  /** sum / events; 0 when there is no event (the same convention as the tfjs loss). */
  mean: number;
}

function checkTies(ties: string): void {
  if (ties !== 'breslow' && ties !== 'efron') {
    throw new RangeError(`ties must be 'breslow' or 'efron', got '${ties}'`);
  }
}

/**
 * For each group of equal time in descending order, the quantities of its
 * risk set, with every sum scaled by exp(−m) for that group's m.
 */
interface GroupPass {
  /** m_k: the shift (largest η in R(t_k)). */
  shift: Float64Array;
  /** Σ over R(t_k) \ D_k of exp(η − m_k). */
  rest: Float64Array;
  /** Σ over D_k of exp(η − m_k). */
  eventSum: Float64Array;
}

function passOverGroups(
  eta: ArrayLike<number>,
  event: ArrayLike<number>,
  groups: ReturnType<typeof descendingTieGroups>,
): GroupPass {
  const { order, groupStart, groupEnd } = groups;
  const count = groupStart.length;
  const shift = new Float64Array(count);
  const rest = new Float64Array(count);
  const eventSum = new Float64Array(count);
  let m = Number.NEGATIVE_INFINITY;
  let scaled = 0; // Σ_{T_j > t_k} exp(η_j − m)
  for (let g = 0; g < count; g++) {
    const start = groupStart[g]!;
    const end = groupEnd[g]!;
    let groupMax = Number.NEGATIVE_INFINITY;
    for (let p = start; p < end; p++) groupMax = Math.max(groupMax, eta[order[p]!]!);
    if (groupMax > m) {
      // Re-express the running sum on the larger shift (exp(−∞) = 0 for the first group).
      scaled = scaled === 0 ? 0 : scaled * Math.exp(m - groupMax);
      m = groupMax;
    }
    let censoredSum = 0;
    let deathSum = 0;
    for (let p = start; p < end; p++) {
      const row = order[p]!;
      const term = Math.exp(eta[row]! - m);
      if (event[row] === 1) deathSum += term;
      else censoredSum += term;
    }
    shift[g] = m;
    rest[g] = scaled + censoredSum;
    eventSum[g] = deathSum;
    scaled = rest[g]! + deathSum;
  }
  return { shift, rest, eventSum };
}

/** log A_kl, the log of the l-th denominator term of group k (Breslow: A_kl = Σ_R r_j). */
function logDenominator(pass: GroupPass, g: number, l: number, d: number, ties: CoxTies): number {
  const fraction = ties === 'efron' ? l / d : 0;
  return pass.shift[g]! + Math.log(pass.rest[g]! + (1 - fraction) * pass.eventSum[g]!);
}

export function coxNegLogPartialLikelihood(
  eta: ArrayLike<number>,
  time: ArrayLike<number>,
  event: ArrayLike<number>,
  ties: CoxTies,
): CoxLikelihood {
  checkTies(ties);
  checkTimeEvent(time, event, { eta }, true);
  const groups = descendingTieGroups(time, event);
  const pass = passOverGroups(eta, event, groups);
  let sum = 0;
  let events = 0;
  for (let g = 0; g < groups.groupStart.length; g++) {
    const d = groups.groupEvents[g]!;
    if (d === 0) continue;
    events += d;
    for (let p = groups.groupStart[g]!; p < groups.groupEnd[g]!; p++) {
      const row = groups.order[p]!;
      if (event[row] === 1) sum -= eta[row]!;
    }
    if (ties === 'breslow') sum += d * logDenominator(pass, g, 0, d, ties);
    else for (let l = 0; l < d; l++) sum += logDenominator(pass, g, l, d, ties);
  }
  return { sum, events, mean: events === 0 ? 0 : sum / events };
}

function logAddExp(a: number, b: number): number {
  if (a === Number.NEGATIVE_INFINITY) return b;
  if (b === Number.NEGATIVE_INFINITY) return a;
  const hi = Math.max(a, b);
  return hi + Math.log1p(Math.exp(-Math.abs(a - b)));
}

/**
 * ∂ℓ/∂η_i of the summed (or, with reduction 'mean', the per-event) loss:
 *   ∂ℓ/∂η_i = −δ_i + r_i·Σ_{k: t_k ≤ T_i} Σ_l 1/A_kl − δ_i·r_i·Σ_l (l/d_k)/A_{k(i),l}
 * where A_kl is the l-th denominator of event time k (A_kl = Σ_R r_j for
 * Breslow, whose last term vanishes) and k(i) the event time of row i. It is
 * the differentiation of the formulas above (cf. Therneau & Grambsch 2000,
 * §3.3, the score residuals). Sums are taken in the log domain.
 */
export function coxGradient(
  eta: ArrayLike<number>,
  time: ArrayLike<number>,
  event: ArrayLike<number>,
  ties: CoxTies,
  reduction: 'sum' | 'mean' = 'sum',
): Float64Array {
  checkTies(ties);
  const n = checkTimeEvent(time, event, { eta }, true);
  const groups = descendingTieGroups(time, event);
  const pass = passOverGroups(eta, event, groups);
  const { order, groupStart, groupEnd, groupEvents } = groups;
  const gradient = new Float64Array(n);
  let events = 0;
  // Walk groups from the earliest time up, accumulating log Σ_{t_k ≤ T} Σ_l 1/A_kl.
  let logHazard = Number.NEGATIVE_INFINITY;
  for (let g = groupStart.length - 1; g >= 0; g--) {
    const d = groupEvents[g]!;
    let logTieCorrection = Number.NEGATIVE_INFINITY; // log Σ_l (l/d)/A_kl, Efron only
    if (d > 0) {
      events += d;
      for (let l = 0; l < (ties === 'breslow' ? 1 : d); l++) {
        const logA = logDenominator(pass, g, l, d, ties);
        logHazard = logAddExp(logHazard, ties === 'breslow' ? Math.log(d) - logA : -logA);
        if (ties === 'efron' && l > 0) logTieCorrection = logAddExp(logTieCorrection, Math.log(l / d) - logA);
      }
    }
    for (let p = groupStart[g]!; p < groupEnd[g]!; p++) {
      const row = order[p]!;
      const isEvent = event[row] === 1;
      let value = Math.exp(eta[row]! + logHazard);
      if (isEvent) value -= 1 + Math.exp(eta[row]! + logTieCorrection);
      gradient[row] = value;
    }
  }
  if (reduction === 'mean') {
    for (let i = 0; i < n; i++) gradient[i] = events === 0 ? 0 : gradient[i]! / events;
  }
  return gradient;
}
