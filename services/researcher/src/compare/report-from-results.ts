import type { ReportInput, RoundMetrics, WithheldMetric } from '../report/report-model.ts';
import type { ExperimentResults } from '../results-writer.ts';

type Metrics = Record<string, number>;

/** fedpet's metric names → the report's: valCIndex → cIndex, valTdAuc365 → tdAuc365; valLoss and valAuc stay. */
function reportMetrics(metrics: Metrics | undefined): Metrics {
  const out: Metrics = {};
  if (!metrics) return out;
  for (const [name, value] of Object.entries(metrics)) {
    if (!Number.isFinite(value)) continue;
    if (name === 'valLoss' || name === 'valAuc') out[name] = value;
    else if (name === 'valCIndex') out.cIndex = value;
    else {
      const match = /^valTdAuc(\d+)$/.exec(name);
      if (match) out[`tdAuc${match[1]}`] = value;
    }
  }
  return out;
}

interface RoundLike {
  round: number;
  metrics: Metrics;
  hospitals: { hospital: string; status: string; metrics?: Metrics; code?: string; reason?: string }[];
}

/**
 * The per-round part of the report from a federated results.json: combined
 * and per-hospital validation metrics for every round (and the final
 * evaluation as the last point), plus a note for every metric a hospital
 * withheld (fewer than 5 events) or could not report.
 */
export function reportFromResults(
  results: ExperimentResults & {
    name?: string;
    spec?: { plan: { kind: string }; hospitals: string[]; rounds: number };
  },
  title: string,
): ReportInput {
  const rounds = results.rounds as unknown as RoundLike[];
  const final = results.finalEvaluation as unknown as RoundLike | null | undefined;
  const all: RoundLike[] = final ? [...rounds, { ...final, round: rounds.length + 1 }] : rounds;
  const withheld: WithheldMetric[] = [];
  const perRound: RoundMetrics[] = all.map((round) => {
    const hospitals: Record<string, Metrics> = {};
    for (const outcome of round.hospitals) {
      if (outcome.status !== 'ok') {
        withheld.push({
          round: round.round,
          hospital: outcome.hospital,
          metric: 'all',
          reason: `${outcome.code ?? outcome.status}: ${outcome.reason ?? ''}`,
        });
        continue;
      }
      if (outcome.metrics?.valWithheldFewEvents) {
        withheld.push({
          round: round.round,
          hospital: outcome.hospital,
          metric: 'loss, C-index, td-AUC',
          reason: 'fewer than 5 events in the held-out split',
        });
      }
      hospitals[outcome.hospital] = reportMetrics(outcome.metrics);
    }
    return { round: round.round, combined: reportMetrics(round.metrics), hospitals };
  });
  const rawProtection = (
    results.rounds[0] as unknown as { protection?: { mode: string; reason: string } } | undefined
  )?.protection;
  return {
    title,
    generatedAt: new Date().toISOString(),
    experiment: {
      id: results.experimentId,
      name: results.name ?? results.experimentId,
      plan: results.spec?.plan.kind ?? 'unknown plan',
      hospitals: results.spec?.hospitals ?? [],
      rounds: results.spec?.rounds ?? rounds.length,
      ...(rawProtection ? { protection: `${rawProtection.mode}: ${rawProtection.reason}` } : {}),
    },
    perRound,
    withheld,
    ...(final
      ? { notes: [`Round ${rounds.length + 1} is the final evaluation of the last global model.`] }
      : {}),
  };
}

/** The report of one experiment: per-round curves, or the Cox table of an exact fit. */
export function sandboxReport(results: ExperimentResults, name: string): ReportInput {
  const report = reportFromResults(results as never, `fedpet experiment: ${name}`);
  const cox = results.coxModel;
  if (cox) {
    report.coxModel = {
      covariates: cox.covariates,
      beta: cox.beta,
      se: cox.se,
      hr: cox.hr,
      ci95: cox.ci95,
      logLik: cox.logLik,
      logLikInitial: cox.logLikInitial,
      method: `exact federated Newton–Raphson, ${cox.method}, ${cox.ties} ties (${cox.iterations} iterations)`,
    };
    report.perRound = [];
  }
  return report;
}
