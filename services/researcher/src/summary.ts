import type { ExperimentResults } from './results-writer.ts';

function cell(value: number | undefined, digits: number): string {
  return value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(digits);
}

/** The per-round metrics of a finished experiment as an aligned table. */
export function formatSummary(results: ExperimentResults): string {
  const header = ['round', 'train loss', 'val loss', 'val acc', 'val auc', 'hospitals ok'];
  const rows = results.rounds.map((round) => [
    String(round.round),
    cell(round.metrics.trainLoss, 4),
    cell(round.metrics.valLoss, 4),
    cell(round.metrics.valAccuracy, 3),
    cell(round.metrics.valAuc, 3),
    `${round.hospitals.filter((hospital) => hospital.status === 'ok').length}/${round.hospitals.length}`,
  ]);
  if (results.finalEvaluation) {
    const metrics = results.finalEvaluation.metrics;
    rows.push([
      'final',
      '-',
      cell(metrics.valLoss, 4),
      cell(metrics.valAccuracy, 3),
      cell(metrics.valAuc, 3),
      '',
    ]);
  }
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (row: string[]) => row.map((text, column) => text.padStart(widths[column] ?? 0)).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

export function printSummary(out: NodeJS.WritableStream, results: ExperimentResults): void {
  out.write(`\n${results.experimentId} ${results.status} in ${(results.durationMs / 1000).toFixed(1)} s\n`);
  out.write(`${formatSummary(results)}\n\n`);
}
