import type { HospitalOutcome } from '@fedpet/shared/contracts/messages';

/** Counts that are summed across hospitals rather than averaged. */
const SUMMED = new Set([
  'valSamples',
  'valEvents',
  'valCIndexConcordant',
  'valCIndexComparable',
  'valWithheldFewEvents',
]);

/**
 * Combines per-hospital metrics into one figure per metric. Validation
 * metrics ("val" prefix) are weighted by each hospital's validation size
 * (metrics.valSamples), training metrics by its training size; counts are
 * summed; the C-index is pooled from the summed pair counts, Σ concordant /
 * Σ comparable (Harrell's C over all comparable pairs within hospitals), not
 * averaged; timings ("ms." prefix) report the slowest hospital, which is what
 * bounds the round. Hospitals that withheld survival metrics (fewer than 5
 * events) simply contribute none.
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
      if (SUMMED.has(name)) {
        combined[name] = (combined[name] ?? 0) + value;
        continue;
      }
      if (name === 'valCIndex') continue; // pooled from the pair counts below
      const weight = name.startsWith('val') ? valSamples : trainSamples;
      if (weight <= 0) continue;
      const entry = sums.get(name) ?? { weighted: 0, weight: 0 };
      entry.weighted += value * weight;
      entry.weight += weight;
      sums.set(name, entry);
    }
  }
  for (const [name, { weighted, weight }] of sums) combined[name] = weighted / weight;
  const comparable = combined.valCIndexComparable ?? 0;
  if (comparable > 0) combined.valCIndex = (combined.valCIndexConcordant ?? 0) / comparable;
  return combined;
}
