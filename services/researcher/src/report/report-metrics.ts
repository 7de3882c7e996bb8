import type { ReportInput, RoundMetrics } from './report-model.ts';

/** How each metric is named and drawn; unknown metrics fall back to their key. */

export interface MetricInfo {
  key: string;
  title: string;
  axisLabel: string;
  /** A chance line where one exists (0.5 for a C-index or an AUC). */
  reference?: { y: number; label: string };
}

const TD_AUC = /^tdAuc(\d+(?:\.\d+)?)$/;
const DAYS_PER_MONTH = 365.25 / 12;

export function describeMetric(key: string): MetricInfo {
  const chance = { y: 0.5, label: 'chance (0.5)' };
  if (key === 'valLoss') return { key, title: 'Validation loss', axisLabel: 'Loss' };
  if (key === 'cIndex') return { key, title: "Harrell's C-index", axisLabel: 'C-index', reference: chance };
  if (key === 'valAuc')
    return { key, title: 'Validation AUC (response)', axisLabel: 'AUC', reference: chance };
  const horizon = TD_AUC.exec(key)?.[1];
  if (horizon !== undefined) {
    const months = Math.round(Number(horizon) / DAYS_PER_MONTH);
    return {
      key,
      title: `Time-dependent AUC at ${horizon} days (≈ ${months} months)`,
      axisLabel: 'AUC(t)',
      reference: chance,
    };
  }
  return { key, title: key, axisLabel: key };
}

/** Display order: loss, C-index, td-AUC by horizon, response AUC, then anything else alphabetically. */
export function compareMetrics(a: string, b: string): number {
  return rank(a) - rank(b) || horizonOf(a) - horizonOf(b) || a.localeCompare(b);
}

function rank(key: string): number {
  if (key === 'valLoss') return 0;
  if (key === 'cIndex') return 1;
  if (TD_AUC.test(key)) return 2;
  if (key === 'valAuc') return 3;
  return 4;
}

function horizonOf(key: string): number {
  const horizon = TD_AUC.exec(key)?.[1];
  return horizon === undefined ? 0 : Number(horizon);
}

export function isChartedMetric(key: string): boolean {
  return rank(key) < 4;
}

/** Every metric with at least one finite value, combined or per hospital, in display order. */
export function metricsPresent(rounds: readonly RoundMetrics[]): string[] {
  const keys = new Set<string>();
  for (const round of rounds)
    for (const values of [round.combined, ...Object.values(round.hospitals)])
      for (const [key, value] of Object.entries(values)) if (Number.isFinite(value)) keys.add(key);
  return [...keys].sort(compareMetrics);
}

/** The listed hospitals first, in their order, then any that only appear in the rounds. */
export function hospitalsOf(input: ReportInput): string[] {
  const names = [...input.experiment.hospitals];
  const seen = new Set(names);
  for (const round of input.perRound)
    for (const name of Object.keys(round.hospitals))
      if (!seen.has(name)) {
        seen.add(name);
        names.push(name);
      }
  return names;
}

/** The label and lookup key of the aggregator's combined figures. */
export const COMBINED = 'combined';

/** reason for a (round, hospital, metric) that was withheld, if it was. */
export function withheldLookup(
  input: ReportInput,
): (round: number, hospital: string, metric: string) => string | undefined {
  const reasons = new Map<string, string>();
  for (const entry of input.withheld ?? [])
    reasons.set(`${entry.round}\u0000${entry.hospital}\u0000${entry.metric}`, entry.reason);
  return (round, hospital, metric) => reasons.get(`${round}\u0000${hospital}\u0000${metric}`);
}
