import { concordanceIndex } from '../../survival/concordance.ts';
import { coxNegLogPartialLikelihood } from '../../survival/cox-partial-likelihood.ts';
import { timeDependentAuc } from '../../survival/time-dependent-auc.ts';
import { type PlanData, survivalColumns } from './plan-data.ts';

/** Survival metrics over fewer events than this are withheld: too few to mean anything, and too identifying. */
export const MIN_EVENTS_FOR_METRICS = 5;
/** Horizons of the time-dependent AUCs: 6 and 12 months. */
export const AUC_HORIZONS_DAYS = [182, 365] as const;

/**
 * A Cox model's metrics on one hospital's split, from its risk scores (the
 * linear predictor): mean negative partial log-likelihood, Harrell's C-index
 * with its concordant and comparable pair counts (so the aggregator can pool
 * them: C = Σ concordant / Σ comparable), and Uno's time-dependent AUC at 6
 * and 12 months. With fewer than 5 events everything but the withheld flag
 * is left out.
 */
export function survivalMetrics(
  risk: Float32Array,
  data: PlanData,
  ties: 'breslow' | 'efron',
): Record<string, number> {
  const { time, event } = survivalColumns(data);
  const events = event.reduce((sum, value) => sum + value, 0);
  if (events < MIN_EVENTS_FOR_METRICS) return { withheldFewEvents: 1 };
  const likelihood = coxNegLogPartialLikelihood(risk, time, event, ties);
  const concordance = concordanceIndex(risk, time, event);
  const metrics: Record<string, number> = {
    loss: likelihood.mean,
    events,
    cIndex: concordance.cIndex,
    cIndexConcordant: concordance.concordant,
    cIndexComparable: concordance.comparable,
  };
  for (const horizon of AUC_HORIZONS_DAYS) {
    const auc = timeDependentAuc(risk, time, event, horizon);
    if (Number.isFinite(auc.auc)) metrics[`tdAuc${horizon}`] = auc.auc;
  }
  return metrics;
}
