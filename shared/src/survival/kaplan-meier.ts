import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import { chiSquareSurvival, normalCriticalValue } from './chi-square.ts';
import { checkBinary, checkTimeEvent, orderByTime } from './survival-input.ts';

/**
 * Kaplan–Meier product-limit estimate (Kaplan & Meier 1958):
 *   S(t) = Π_{t_k ≤ t} (1 − d_k / n_k)
 * with n_k the rows at risk (T ≥ t_k) and d_k the events at t_k, and
 * Greenwood's variance (Greenwood 1926):
 *   Var[S(t)] = S(t)² · Σ_{t_k ≤ t} d_k / (n_k (n_k − d_k)).
 *
 * Confidence intervals, by default on the log-log scale (Kalbfleisch &
 * Prentice 2002 §1.4; R survfit's conf.type = "log-log"), which stays inside
 * [0, 1] and is better behaved in the tails than the plain interval:
 *   θ = √Σ / |log S|,  lower = S^{exp(z·θ)},  upper = S^{exp(−z·θ)}.
 * 'log' gives exp(log S ± z·√Σ) and 'plain' S ± z·S·√Σ, both clipped to [0, 1]
 * as R does. Where S = 1 the interval is [1, 1]; where S = 0 the standard
 * error and both limits are NaN (undefined).
 */

export type ConfidenceTransform = 'log-log' | 'log' | 'plain';

export interface KaplanMeierOptions {
  /** Default 0.95. */
  confidenceLevel?: number;
  /** Default 'log-log'. */
  transform?: ConfidenceTransform;
}

export interface KaplanMeierCurve {
  /** Distinct observed times (events or censorings), ascending. */
  times: number[];
  /** S(t) just after each time (right-continuous step function). */
  survival: number[];
  atRisk: number[];
  events: number[];
  censored: number[];
  /** Greenwood standard error of S(t). */
  standardError: number[];
  lower: number[];
  upper: number[];
  /**
   * Smallest time with S(t) ≤ 0.5 (Klein & Moeschberger 2003 §4.5); null when
   * the curve stays above 0.5. Where S is exactly 0.5 over an interval, R's
   * survfit reports the interval's midpoint instead.
   */
  medianSurvival: number | null;
  confidenceLevel: number;
  transform: ConfidenceTransform;
}

/** Products of fractions like (9/10)(8/9)… can land a few ulps above 0.5. */
const medianTolerance = 1e-12;

function interval(
  s: number,
  greenwoodSum: number,
  z: number,
  transform: ConfidenceTransform,
): [number, number] {
  if (s === 0 || !Number.isFinite(greenwoodSum)) return [Number.NaN, Number.NaN];
  if (s === 1) return [1, 1];
  const root = Math.sqrt(greenwoodSum);
  if (transform === 'log-log') {
    const theta = root / Math.abs(Math.log(s));
    return [s ** Math.exp(z * theta), s ** Math.exp(-z * theta)];
  }
  if (transform === 'log')
    return [Math.exp(Math.log(s) - z * root), Math.min(1, Math.exp(Math.log(s) + z * root))];
  return [Math.max(0, s - z * s * root), Math.min(1, s + z * s * root)];
}

export function kaplanMeier(
  time: ArrayLike<number>,
  event: ArrayLike<number>,
  options: KaplanMeierOptions = {},
): KaplanMeierCurve {
  const n = checkTimeEvent(time, event);
  const confidenceLevel = options.confidenceLevel ?? 0.95;
  const transform = options.transform ?? 'log-log';
  if (transform !== 'log-log' && transform !== 'log' && transform !== 'plain') {
    throw new FedpetError(
      ErrorCodes.invalidConfig,
      `kaplanMeier: unknown confidence transform '${String(transform)}'`,
    );
  }
  const z = normalCriticalValue(confidenceLevel);
  const order = orderByTime(time, 'ascending');
  const curve: KaplanMeierCurve = {
    times: [],
    survival: [],
    atRisk: [],
    events: [],
    censored: [],
    standardError: [],
    lower: [],
    upper: [],
    medianSurvival: null,
    confidenceLevel,
    transform,
  };
  let s = 1;
  let greenwoodSum = 0;
  for (let start = 0; start < n; ) {
    const t = time[order[start]!]!;
    let end = start;
    let d = 0;
    while (end < n && time[order[end]!] === t) {
      if (event[order[end]!] === 1) d++;
      end++;
    }
    const atRisk = n - start;
    if (d > 0) {
      s *= 1 - d / atRisk;
      // d = n_k makes S = 0 and the Greenwood term infinite: the variance is undefined from here on.
      greenwoodSum += d === atRisk ? Number.POSITIVE_INFINITY : d / (atRisk * (atRisk - d));
    }
    const [lower, upper] = interval(s, greenwoodSum, z, transform);
    curve.times.push(t);
    curve.survival.push(s);
    curve.atRisk.push(atRisk);
    curve.events.push(d);
    curve.censored.push(end - start - d);
    curve.standardError.push(s === 0 ? Number.NaN : s * Math.sqrt(greenwoodSum));
    curve.lower.push(lower);
    curve.upper.push(upper);
    if (curve.medianSurvival === null && s <= 0.5 + medianTolerance) curve.medianSurvival = t;
    start = end;
  }
  return curve;
}

/**
 * S(t) of a curve at any time: 1 before the first time; with `leftLimit`,
 * S(t−), the value just before t (the step at t not yet taken).
 */
export function survivalAt(
  curve: Pick<KaplanMeierCurve, 'times' | 'survival'>,
  t: number,
  leftLimit = false,
): number {
  // Binary search for the last curve time ≤ t (or < t for the left limit).
  let lo = 0;
  let hi = curve.times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const before = leftLimit ? curve.times[mid]! < t : curve.times[mid]! <= t;
    if (before) lo = mid + 1;
    else hi = mid;
  }
  return lo === 0 ? 1 : curve.survival[lo - 1]!;
}

export interface LogRankResult {
  /** (O₁ − E₁)² / V, chi-square with 1 degree of freedom. NaN when V = 0 (e.g. one group empty). */
  chiSquare: number;
  pValue: number;
  /** Events observed in group 0 and group 1. */
  observed: [number, number];
  /** Events expected under equal hazards, for group 0 and group 1. */
  expected: [number, number];
  /** Hypergeometric variance V of O₁ − E₁. */
  variance: number;
}

/**
 * Log-rank test of two groups (Mantel 1966; Peto & Peto 1972; the same
 * statistic as R survdiff with rho = 0). At each distinct event time with n at
 * risk (n₁ in group 1) and d events:
 *   E₁ += d·n₁/n,   V += d·(n₁/n)(1 − n₁/n)(n − d)/(n − 1)
 * and χ² = (O₁ − E₁)²/V on 1 df.
 */
export function logRankTest(
  time: ArrayLike<number>,
  event: ArrayLike<number>,
  group: ArrayLike<0 | 1> | ArrayLike<number>,
): LogRankResult {
  const n = checkTimeEvent(time, event, { group });
  checkBinary('group', group);
  const order = orderByTime(time, 'ascending');
  let atRisk = n;
  let atRiskGroup1 = 0;
  for (let i = 0; i < n; i++) atRiskGroup1 += group[i]!;
  let observed0 = 0;
  let observed1 = 0;
  let expected1 = 0;
  let variance = 0;
  for (let start = 0; start < n; ) {
    const t = time[order[start]!]!;
    let end = start;
    let d = 0;
    let d1 = 0;
    let leaving1 = 0;
    while (end < n && time[order[end]!] === t) {
      const row = order[end]!;
      if (event[row] === 1) {
        d++;
        if (group[row] === 1) d1++;
      }
      if (group[row] === 1) leaving1++;
      end++;
    }
    if (d > 0) {
      const share = atRiskGroup1 / atRisk;
      expected1 += d * share;
      if (atRisk > 1) variance += (d * share * (1 - share) * (atRisk - d)) / (atRisk - 1);
      observed1 += d1;
      observed0 += d - d1;
    }
    atRisk -= end - start;
    atRiskGroup1 -= leaving1;
    start = end;
  }
  const totalEvents = observed0 + observed1;
  const chiSquare = variance > 0 ? (observed1 - expected1) ** 2 / variance : Number.NaN;
  return {
    chiSquare,
    pValue: Number.isNaN(chiSquare) ? Number.NaN : chiSquareSurvival(chiSquare, 1),
    observed: [observed0, observed1],
    expected: [totalEvents - expected1, expected1],
    variance,
  };
}
