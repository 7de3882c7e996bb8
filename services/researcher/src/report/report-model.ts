/**
 * What the HTML report shows. The researcher CLI builds one from results.json
 * (per-round federated evaluation, the Cox fit) and from the comparison runs;
 * the report itself computes nothing clinical beyond Wald p-values and the
 * likelihood-ratio test of the Cox table.
 */

/** Metric name → value. Known names: valLoss, cIndex, tdAuc<days> (e.g. tdAuc180), valAuc. */
export type MetricValues = Record<string, number>;

export interface ExperimentSummary {
  id: string;
  name: string;
  /** A one-line description of the training plan (e.g. "pet-mip-cnn, Cox loss, Efron ties"). */
  plan: string;
  hospitals: string[];
  rounds: number;
  /** How updates were protected, e.g. "secure aggregation (Bonawitz, t = 7 of 10)". */
  protection?: string;
}

export interface RoundMetrics {
  round: number;
  /** The aggregator's combined figures for this round. */
  combined: MetricValues;
  /** hospital → its own figures; a metric that was withheld is simply absent. */
  hospitals: Record<string, MetricValues>;
}

export interface WithheldMetric {
  round: number;
  /** A hospital name, or "combined". */
  hospital: string;
  metric: string;
  /** Why, e.g. "3 events in the held-out split (at least 5 needed)". */
  reason: string;
}

export interface KaplanMeierGroup {
  label: string;
  /** Distinct event times, ascending. */
  times: number[];
  /** Survival just after each time (non-increasing, in [0, 1]). */
  survival: number[];
  /** Pointwise 95% confidence band (e.g. Greenwood), same length as times. */
  lower?: number[];
  upper?: number[];
  /** Number at risk just before each time; atRisk[0] is shown as the group size. */
  atRisk?: number[];
  /** Censoring times, drawn as tick marks on the curve when present. */
  censorTimes?: number[];
}

export interface KaplanMeierSection {
  groups: KaplanMeierGroup[];
  logRankP?: number;
  /** Free text shown under the plot, e.g. how the risk groups were split. */
  note?: string;
  /** Unit of the time axis; "days" when absent. */
  timeUnit?: string;
}

export interface ComparisonTable {
  /** Headers of the value columns (the row-label column is headed by labelHeader). */
  columns: string[];
  rows: { label: string; values: (number | null)[]; note?: string }[];
  caption?: string;
  /** Header of the first (row label) column; "Model" when absent. */
  labelHeader?: string;
}

export interface CoxModelSummary {
  covariates: string[];
  beta: number[];
  se: number[];
  hr: number[];
  ci95: [number, number][];
  /** Log partial likelihood at the fit, and at β = 0 when known (for the likelihood-ratio test). */
  logLik: number;
  logLikInitial?: number;
  /** How it was fitted, e.g. "exact federated Newton–Raphson, stratified by hospital, Efron ties". */
  method: string;
}

export interface ReportInput {
  title: string;
  /** ISO 8601 time the report was generated (shown in the footer). */
  generatedAt: string;
  experiment: ExperimentSummary;
  perRound: RoundMetrics[];
  withheld?: WithheldMetric[];
  kaplanMeier?: KaplanMeierSection;
  comparison?: ComparisonTable;
  coxModel?: CoxModelSummary;
  notes?: string[];
}
