import type { ExperimentResults } from './results-writer.ts';

function cell(value: number | undefined, digits: number): string {
  return value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(digits);
}

function alignedTable(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (row: string[]) => row.map((text, column) => text.padStart(widths[column] ?? 0)).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

/** An exact Cox fit as clinicians read it: hazard ratios with 95% CIs and p-values. */
export function formatCoxModel(cox: NonNullable<ExperimentResults['coxModel']>): string {
  const rows = cox.covariates.map((name, i) => [
    name,
    cell(cox.beta[i], 6),
    cell(cox.se[i], 6),
    cell(cox.hr[i], 3),
    `${cell(cox.ci95[i]?.[0], 3)}–${cell(cox.ci95[i]?.[1], 3)}`,
    (cox.pValues[i] ?? 1) < 0.001 ? '<0.001' : cell(cox.pValues[i], 3),
  ]);
  return [
    `Cox model (${cox.method}, ${cox.ties} ties): log-likelihood ${cell(cox.logLikInitial, 4)} → ${cell(cox.logLik, 4)}, ${cox.iterations} Newton iterations${cox.converged ? '' : ' (NOT converged)'}`,
    alignedTable(['covariate', 'beta', 'se', 'HR', '95% CI', 'p'], rows),
  ].join('\n');
}

/** The per-round metrics of a finished experiment as an aligned table. */
export function formatSummary(results: ExperimentResults): string {
  if (results.coxModel) return formatCoxModel(results.coxModel);
  const survival = results.rounds.some(
    (round) => round.metrics.valCIndex !== undefined || round.metrics.valWithheldFewEvents,
  );
  if (survival) {
    const row = (label: string, metrics: Record<string, number>, train: string, ok: string) => [
      label,
      train,
      cell(metrics.valLoss, 4),
      cell(metrics.valCIndex, 3),
      cell(metrics.valTdAuc182, 3),
      cell(metrics.valTdAuc365, 3),
      ok,
    ];
    const rows = results.rounds.map((round) =>
      row(
        String(round.round),
        round.metrics,
        cell(round.metrics.trainLoss, 4),
        `${round.hospitals.filter((hospital) => hospital.status === 'ok').length}/${round.hospitals.length}`,
      ),
    );
    if (results.finalEvaluation) rows.push(row('final', results.finalEvaluation.metrics, '-', ''));
    return alignedTable(
      ['round', 'train loss', 'val loss', 'C-index', 'tdAUC 6m', 'tdAUC 12m', 'hospitals ok'],
      rows,
    );
  }
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
  return alignedTable(header, rows);
}

export function printSummary(out: NodeJS.WritableStream, results: ExperimentResults): void {
  const seconds = results.durationMs === undefined ? '' : ` in ${(results.durationMs / 1000).toFixed(1)} s`;
  out.write(`\n${results.experimentId} ${results.status}${seconds}\n`);
  out.write(`${formatSummary(results)}\n\n`);
}
