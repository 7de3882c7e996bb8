import type { HospitalOutcome } from '@fedpet/shared/contracts/messages';

/**
 * Combines per-hospital metrics into one figure per metric. Validation
 * metrics ("val" prefix) are weighted by each hospital's validation size
 * (metrics.valSamples), training metrics by its training size; sample counts
 * are summed and timings ("ms." prefix) report the slowest hospital, which is
 * what bounds the round.
 */
export function combineMetrics(outcomes: readonly HospitalOutcome[]): Record<string, number> {
  const sums = new Map<string, { weighted: number; weight: number }>();
  const combined: Record<string, number> = {};
  for (const outcome of outcomes) {
    if (outcome.status !== 'ok' || !outcome.metrics) continue;
    const valSamples = outcome.metrics.valSamples ?? 0;
    const trainSamples = outcome.numSamples ?? 0;
    for (const [name, value] of Object.entries(outcome.metrics)) {
      if (!Number.isFinite(value)) continue;
      if (name.startsWith('ms.')) {
        combined[name] = Math.max(combined[name] ?? 0, value);
        continue;
      }
      if (name === 'valSamples') {
        combined[name] = (combined[name] ?? 0) + value;
        continue;
      }
      const weight = name.startsWith('val') ? valSamples : trainSamples;
      if (weight <= 0) continue;
      const entry = sums.get(name) ?? { weighted: 0, weight: 0 };
      entry.weighted += value * weight;
      entry.weight += weight;
      sums.set(name, entry);
    }
  }
  for (const [name, { weighted, weight }] of sums) combined[name] = weighted / weight;
  return combined;
}
