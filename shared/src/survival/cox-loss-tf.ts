import * as tf from '@tensorflow/tfjs';
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import type { CoxTies } from './cox-partial-likelihood.ts';
import { checkTimeEvent } from './survival-input.ts';
import { descendingTieGroups } from './tie-groups.ts';

/**
 * The Cox negative log partial likelihood as a differentiable TensorFlow.js
 * loss: mean over the batch's events of (log-denominator − η_i), with the
 * Breslow or Efron denominators of SCIENCE.md §3 (Breslow 1974; Efron 1977;
 * used as a mini-batch deep-learning loss by DeepSurv, Katzman et al. 2018).
 *
 * Only η carries a gradient. Times and events are labels: their tie structure
 * (the order by time, the groups of equal time, each event's Efron weight l/d_k)
 * is computed in JavaScript and enters as constant index and weight tensors.
 *
 * Risk sets: with rows sorted by time descending, R(t_k) is the prefix ending
 * at the last row of group k, so log Σ_{R(t_k)} exp(η) is an inclusive
 * cumulative log-sum-exp read at that position. The scan combines pairs with
 * logaddexp(a, b) = max + log(exp(a − max) + exp(b − max)) (Hillis & Steele
 * 1986 prefix scan, ⌈log₂ n⌉ steps), so nothing overflows or underflows in
 * float32 whatever the spread of η.
 *
 * Efron: log(S_k − (l/d_k)·S_{D_k}) = log S_k + log1p(−(l/d_k)·S_{D_k}/S_k),
 * where S_{D_k}/S_k = Σ_{i∈D_k} exp(η_i − log S_k) ≤ 1 and the log1p argument
 * stays ≥ 1/d_k − 1, so the logarithm is always finite.
 */

type Labels = tf.Tensor | ArrayLike<number>;

function labelValues(name: string, labels: Labels): ArrayLike<number> {
  if (labels instanceof tf.Tensor) {
    if (labels.rank > 2 || (labels.rank === 2 && labels.shape[1] !== 1)) {
      throw new FedpetError(
        ErrorCodes.invalidConfig,
        `coxLoss: ${name} must be a vector, got shape [${labels.shape}]`,
      );
    }
    return labels.dataSync();
  }
  return labels;
}

/** Inclusive cumulative log-sum-exp of a vector, by a log-depth prefix scan. */
export function cumulativeLogSumExp(x: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const n = x.shape[0];
    let scan = x;
    for (let offset = 1; offset < n; offset *= 2) {
      const a = scan.slice(offset, n - offset);
      const b = scan.slice(0, n - offset);
      const hi = tf.maximum(a, b);
      const combined = tf.add(hi, tf.log(tf.add(tf.exp(tf.sub(a, hi)), tf.exp(tf.sub(b, hi)))));
      scan = tf.concat([scan.slice(0, offset), combined]) as tf.Tensor1D;
    }
    return scan;
  });
}

/** Per-event index and weight tensors for the batch's tie structure. */
interface EventLayout {
  events: number;
  /** Row of each event (in input order). */
  eventRows: Int32Array;
  /** Sorted position of the last row of each event's risk set. */
  riskSetEnd: Int32Array;
  /** Index of each event's event-time group (0..groups−1). */
  eventGroup: Int32Array;
  groups: number;
  /** Efron weight l/d_k of each event (0 for Breslow, and for l = 0). */
  efronWeight: Float32Array;
  anyTiedEvents: boolean;
  /** Rows by time, descending. */
  order: Int32Array;
}

function eventLayout(time: ArrayLike<number>, event: ArrayLike<number>): EventLayout {
  const { order, groupStart, groupEnd, groupEvents } = descendingTieGroups(time, event);
  const events = groupEvents.reduce((total, d) => total + d, 0);
  const eventRows = new Int32Array(events);
  const riskSetEnd = new Int32Array(events);
  const eventGroup = new Int32Array(events);
  const efronWeight = new Float32Array(events);
  let next = 0;
  let groups = 0;
  let anyTiedEvents = false;
  for (let g = 0; g < groupStart.length; g++) {
    const d = groupEvents[g]!;
    if (d === 0) continue;
    if (d > 1) anyTiedEvents = true;
    let l = 0;
    for (let p = groupStart[g]!; p < groupEnd[g]!; p++) {
      const row = order[p]!;
      if (event[row] !== 1) continue;
      eventRows[next] = row;
      riskSetEnd[next] = groupEnd[g]! - 1;
      eventGroup[next] = groups;
      efronWeight[next] = l / d;
      l++;
      next++;
    }
    groups++;
  }
  return {
    events,
    eventRows,
    riskSetEnd,
    eventGroup,
    groups,
    efronWeight,
    anyTiedEvents,
    order: Int32Array.from(order),
  };
}

/**
 * Mean (over events) negative log partial likelihood of the batch. `eta` may
 * be [n] or a model's [n, 1] output. A batch without events returns 0 with a
 * zero gradient (0·Σ η keeps η on the tape, so tf.grad still answers).
 * Pass `time` as a JS array where times are not exact in float32: ties are
 * decided on the values given.
 */
export function coxLoss(eta: tf.Tensor, time: Labels, event: Labels, ties: CoxTies): tf.Scalar {
  if (ties !== 'breslow' && ties !== 'efron') {
    throw new FedpetError(
      ErrorCodes.invalidConfig,
      `coxLoss: ties must be 'breslow' or 'efron', got '${String(ties)}'`,
    );
  }
  if (eta.rank > 2 || (eta.rank === 2 && eta.shape[1] !== 1)) {
    throw new FedpetError(ErrorCodes.invalidConfig, `coxLoss: eta must be [n] or [n, 1], got [${eta.shape}]`);
  }
  const timeValues = labelValues('time', time);
  const eventValues = labelValues('event', event);
  const n = checkTimeEvent(timeValues, eventValues, {}, true);
  if (eta.size !== n) {
    throw new FedpetError(
      ErrorCodes.invalidConfig,
      `coxLoss: eta has ${eta.size} rows, time and event have ${n}`,
    );
  }
  const layout = eventLayout(timeValues, eventValues);
  return tf.tidy(() => {
    const flat = tf.reshape(eta, [n]) as tf.Tensor1D;
    if (layout.events === 0) return tf.mul(tf.sum(flat), 0) as tf.Scalar;
    const sorted = tf.gather(flat, tf.tensor1d(layout.order, 'int32'));
    const logRiskSum = tf.gather(cumulativeLogSumExp(sorted), tf.tensor1d(layout.riskSetEnd, 'int32'));
    const eventEta = tf.gather(flat, tf.tensor1d(layout.eventRows, 'int32'));
    let logDenominator: tf.Tensor1D = logRiskSum;
    if (ties === 'efron' && layout.anyTiedEvents) {
      const groupIds = tf.tensor1d(layout.eventGroup, 'int32');
      const shareOfRiskSet = tf.exp(tf.sub(eventEta, logRiskSum));
      const tiedShare = tf.gather(tf.unsortedSegmentSum(shareOfRiskSet, groupIds, layout.groups), groupIds);
      const weight = tf.tensor1d(layout.efronWeight, 'float32');
      logDenominator = tf.add(logRiskSum, tf.log1p(tf.neg(tf.mul(weight, tiedShare))));
    }
    return tf.div(tf.sum(tf.sub(logDenominator, eventEta)), layout.events) as tf.Scalar;
  });
}
