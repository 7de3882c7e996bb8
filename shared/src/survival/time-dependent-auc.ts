import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import { censoringSurvival, censoringSurvivalBefore } from './censoring-survival.ts';
import { checkTimeEvent } from './survival-input.ts';

/**
 * Cumulative/dynamic time-dependent AUC at horizon t with inverse-probability-
 * of-censoring weights (Uno, Cai, Tian & Wei 2007, JASA 102:527; Hung &
 * Chiang 2010; the estimator of scikit-survival's cumulative_dynamic_auc):
 *
 *   AUC(t) = Σ_i Σ_j w_i · 1[T_i ≤ t, δ_i = 1] · 1[T_j > t] · c(η_i, η_j)
 *            ─────────────────────────────────────────────────────────────
 *                 (Σ_i w_i · 1[T_i ≤ t, δ_i = 1]) · (Σ_j 1[T_j > t])
 *
 * with c = 1 when η_i > η_j, 0.5 when equal, 0 otherwise, and case weights
 * w_i = 1/Ĝ(T_i−), Ĝ the Kaplan–Meier estimate of the censoring survival. The
 * controls' common weight 1/Ĝ(t) cancels. Rows censored before or at t are
 * neither cases nor controls; their loss is what the weights correct for.
 * Without censoring Ĝ ≡ 1 and this is the plain AUC of 1[T ≤ t] against η.
 */

export interface TimeDependentAucOptions {
  /**
   * Times and event indicators (1 = event, 0 = censored, the same coding as
   * `event`) of the data to estimate Ĝ from, e.g. the training split; by
   * default the evaluated data themselves.
   */
  censoringTime?: ArrayLike<number>;
  censoringEvent?: ArrayLike<number>;
}

export interface TimeDependentAucResult {
  /** NaN when there is no case or no control. */
  auc: number;
  /** Rows with T ≤ t and an event. */
  cases: number;
  /** Rows with T > t. */
  controls: number;
}

/** Number of sorted values < x, and ≤ x. */
function countBelow(sorted: Float64Array, x: number): [number, number] {
  const search = (inclusive: boolean): number => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const v = sorted[mid]!;
      if (v < x || (inclusive && v === x)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return [search(false), search(true)];
}

/** @param risk higher = expected to fail sooner. */
export function timeDependentAuc(
  risk: ArrayLike<number>,
  time: ArrayLike<number>,
  event: ArrayLike<number>,
  horizon: number,
  options: TimeDependentAucOptions = {},
): TimeDependentAucResult {
  const n = checkTimeEvent(time, event, { risk });
  if (!Number.isFinite(horizon)) {
    throw new FedpetError(ErrorCodes.invalidConfig, 'timeDependentAuc: horizon is not a finite number');
  }
  const { censoringTime, censoringEvent } = options;
  if ((censoringTime === undefined) !== (censoringEvent === undefined)) {
    throw new FedpetError(
      ErrorCodes.invalidConfig,
      'timeDependentAuc: censoringTime and censoringEvent must be given together',
    );
  }
  const g = censoringSurvival(censoringTime ?? time, censoringEvent ?? event);

  const controlRisks: number[] = [];
  for (let j = 0; j < n; j++) if (time[j]! > horizon) controlRisks.push(risk[j]!);
  const sortedControls = Float64Array.from(controlRisks).sort();
  const controls = sortedControls.length;

  let cases = 0;
  let denominator = 0;
  let numerator = 0;
  for (let i = 0; i < n; i++) {
    if (event[i] !== 1 || time[i]! > horizon) continue;
    const survivalBefore = censoringSurvivalBefore(g, time[i]!);
    if (!(survivalBefore > 0)) {
      throw new FedpetError(
        ErrorCodes.datasetInvalid,
        `timeDependentAuc: row ${i} is an event after all follow-up of the censoring data ended ` +
          '(estimated censoring survival is 0); use a shorter horizon',
      );
    }
    const weight = 1 / survivalBefore;
    const [lower, lowerOrEqual] = countBelow(sortedControls, risk[i]!);
    cases++;
    // Numerator and denominator accumulate the same way, so a perfect ranking gives exactly 1.
    denominator += weight * controls;
    numerator += weight * (lower + 0.5 * (lowerOrEqual - lower));
  }
  const auc = cases === 0 || controls === 0 ? Number.NaN : numerator / denominator;
  return { auc, cases, controls };
}
