/**
 * Evaluation metrics in plain JavaScript (double precision), so every backend
 * reports the same numbers for the same predictions.
 */

/** Keras' clipping constant (backend.epsilon()), so losses match tf.metrics.binaryCrossentropy. */
const epsilon = 1e-7;

function assertSameLength(labels: ArrayLike<number>, predictions: ArrayLike<number>): void {
  if (labels.length !== predictions.length) {
    throw new RangeError(`${labels.length} labels but ${predictions.length} predictions`);
  }
  if (labels.length === 0) throw new RangeError('metrics need at least one sample');
}

/** Mean of -(y·log p + (1-y)·log(1-p)) with p clipped to [ε, 1-ε]. */
export function binaryCrossEntropy(labels: ArrayLike<number>, probabilities: ArrayLike<number>): number {
  assertSameLength(labels, probabilities);
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    const p = Math.min(1 - epsilon, Math.max(epsilon, probabilities[i]!));
    sum -= y * Math.log(p) + (1 - y) * Math.log(1 - p);
  }
  return sum / labels.length;
}

/** Share of samples where (p ≥ threshold) equals the 0/1 label. */
export function binaryAccuracy(
  labels: ArrayLike<number>,
  probabilities: ArrayLike<number>,
  threshold = 0.5,
): number {
  assertSameLength(labels, probabilities);
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    if ((probabilities[i]! >= threshold ? 1 : 0) === labels[i]) correct++;
  }
  return correct / labels.length;
}

/**
 * Area under the ROC curve via the Mann–Whitney U statistic
 * (Hanley & McNeil 1982): AUC = (R₊ − n₊(n₊+1)/2) / (n₊·n₋), where R₊ is the
 * rank sum of the positives and tied scores share their average rank.
 * Undefined when only one class is present.
 */
export function rocAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): number | undefined {
  assertSameLength(labels, scores);
  const order = Array.from({ length: labels.length }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let positives = 0;
  let positiveRankSum = 0;
  for (let start = 0; start < order.length; ) {
    let end = start + 1;
    while (end < order.length && scores[order[end]!] === scores[order[start]!]) end++;
    const averageRank = (start + 1 + end) / 2; // ranks start+1..end, 1-based
    for (let k = start; k < end; k++) {
      if (labels[order[k]!] === 1) {
        positives++;
        positiveRankSum += averageRank;
      }
    }
    start = end;
  }
  const negatives = labels.length - positives;
  if (positives === 0 || negatives === 0) return undefined;
  return (positiveRankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

export function meanSquaredError(targets: ArrayLike<number>, predictions: ArrayLike<number>): number {
  assertSameLength(targets, predictions);
  let sum = 0;
  for (let i = 0; i < targets.length; i++) sum += (targets[i]! - predictions[i]!) ** 2;
  return sum / targets.length;
}

export function meanAbsoluteError(targets: ArrayLike<number>, predictions: ArrayLike<number>): number {
  assertSameLength(targets, predictions);
  let sum = 0;
  for (let i = 0; i < targets.length; i++) sum += Math.abs(targets[i]! - predictions[i]!);
  return sum / targets.length;
}
