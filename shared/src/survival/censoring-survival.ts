import { checkTimeEvent, orderByTime } from './survival-input.ts';

/**
 * Kaplan–Meier estimate of the censoring distribution, G(s) = P(C > s): the
 * product-limit estimator with the roles of event and censoring swapped. At a
 * time with both, events are taken to happen first (the usual convention, and
 * the one that makes "censored at t" mean "known alive at t"), so the rows at
 * risk of censoring at s_k are n_k − d_k:
 *   G(s) = Π_{s_k ≤ s} (1 − c_k / (n_k − d_k)).
 * Used for inverse-probability-of-censoring weights (Robins & Rotnitzky 1992;
 * Uno et al. 2007).
 */
export interface CensoringSurvival {
  /** Times with at least one censoring, ascending. */
  times: number[];
  /** G just after each time. */
  survival: number[];
}

export function censoringSurvival(time: ArrayLike<number>, event: ArrayLike<number>): CensoringSurvival {
  const n = checkTimeEvent(time, event);
  const order = orderByTime(time, 'ascending');
  const result: CensoringSurvival = { times: [], survival: [] };
  let g = 1;
  for (let start = 0; start < n; ) {
    const t = time[order[start]!]!;
    let end = start;
    let events = 0;
    while (end < n && time[order[end]!] === t) {
      if (event[order[end]!] === 1) events++;
      end++;
    }
    const censored = end - start - events;
    if (censored > 0) {
      g *= 1 - censored / (n - start - events);
      result.times.push(t);
      result.survival.push(g);
    }
    start = end;
  }
  return result;
}

/** G(t−) = P(C ≥ t): the product over censoring times strictly before t. */
export function censoringSurvivalBefore(curve: CensoringSurvival, t: number): number {
  let lo = 0;
  let hi = curve.times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (curve.times[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo === 0 ? 1 : curve.survival[lo - 1]!;
}
