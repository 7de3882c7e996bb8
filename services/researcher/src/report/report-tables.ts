import { ErrorCodes, FedpetError } from '@fedpet/shared/errors/fedpet-error';
import { chiSquareSurvival, normalTwoSidedP } from '@fedpet/shared/survival/chi-square';
import { escapeHtml } from './escape-html.ts';
import { formatIntegerRanges, formatNumber, formatP, formatPValue } from './format.ts';
import { describeMetric } from './report-metrics.ts';
import type { ComparisonTable, CoxModelSummary, WithheldMetric } from './report-model.ts';

/** The report's tables: the model comparison, the Cox fit and the withheld metrics. */

export function renderComparison(table: ComparisonTable): string {
  table.rows.forEach((row) => {
    if (row.values.length !== table.columns.length)
      throw new FedpetError(
        ErrorCodes.invalidConfig,
        `report: comparison row "${row.label}" has ${row.values.length} values for ${table.columns.length} columns`,
      );
  });
  const withNotes = table.rows.some((row) => row.note !== undefined && row.note !== '');
  const header =
    `<th>${escapeHtml(table.labelHeader ?? 'Model')}</th>` +
    table.columns.map((column) => `<th>${escapeHtml(column)}</th>`).join('') +
    (withNotes ? '<th>Note</th>' : '');
  const rows = table.rows.map(
    (row) =>
      `<tr><th>${escapeHtml(row.label)}</th>` +
      row.values.map((value) => `<td class="num">${formatNumber(value)}</td>`).join('') +
      (withNotes ? `<td class="note">${escapeHtml(row.note ?? '')}</td>` : '') +
      '</tr>',
  );
  const caption = table.caption === undefined ? '' : `<caption>${escapeHtml(table.caption)}</caption>`;
  return (
    '<section id="comparison"><h2>Federated, centralized and local-only models</h2>' +
    `<table class="comparison"><thead><tr>${header}</tr></thead><tbody>${rows.join('')}</tbody>${caption}</table>` +
    '</section>'
  );
}

export interface CoxRow {
  covariate: string;
  beta: number;
  se: number;
  hr: number;
  ci95: readonly [number, number];
  z: number;
  p: number;
}

/** Wald z = β/SE and its two-sided normal p-value per covariate; NaN where SE is not positive. */
export function coxRows(model: CoxModelSummary): CoxRow[] {
  const n = model.covariates.length;
  const fields = { beta: model.beta, se: model.se, hr: model.hr, ci95: model.ci95 };
  for (const [field, values] of Object.entries(fields))
    if (values.length !== n)
      throw new FedpetError(
        ErrorCodes.invalidConfig,
        `report: Cox model has ${n} covariates but ${values.length} entries in ${field}`,
      );
  return model.covariates.map((covariate, index) => {
    const beta = model.beta[index] ?? Number.NaN;
    const se = model.se[index] ?? Number.NaN;
    const z = se > 0 && Number.isFinite(se) ? beta / se : Number.NaN;
    return {
      covariate,
      beta,
      se,
      hr: model.hr[index] ?? Number.NaN,
      ci95: model.ci95[index] ?? [Number.NaN, Number.NaN],
      z,
      p: normalTwoSidedP(z),
    };
  });
}

export function renderCoxModel(model: CoxModelSummary): string {
  const rows = coxRows(model).map(
    (row) =>
      `<tr><th>${escapeHtml(row.covariate)}</th><td class="num">${formatNumber(row.beta)}</td>` +
      `<td class="num">${formatNumber(row.se)}</td>` +
      `<td class="num">${formatNumber(row.hr)} (${formatNumber(row.ci95[0])}–${formatNumber(row.ci95[1])})</td>` +
      `<td class="num">${Number.isFinite(row.z) ? row.z.toFixed(2) : '—'}</td><td class="num">${escapeHtml(formatP(row.p))}</td></tr>`,
  );
  const fit = [`Log partial likelihood ${formatLogLik(model.logLik)}`];
  if (model.logLikInitial !== undefined && Number.isFinite(model.logLikInitial)) {
    // likelihood-ratio test of all coefficients against β = 0: 2(ℓ(β̂) − ℓ(0)) ~ χ² with one df per covariate
    const statistic = 2 * (model.logLik - model.logLikInitial);
    const df = model.covariates.length;
    fit[0] = `Log partial likelihood ${formatLogLik(model.logLikInitial)} at β = 0 → ${formatLogLik(model.logLik)}`;
    fit.push(
      `likelihood-ratio χ² = ${statistic.toFixed(2)} on ${df} df, ` +
        escapeHtml(formatPValue(df >= 1 ? chiSquareSurvival(statistic, df) : Number.NaN)),
    );
  }
  return (
    '<section id="cox-model"><h2>Cox proportional hazards model</h2>' +
    `<p>${escapeHtml(model.method)}</p>` +
    '<table class="cox"><thead><tr><th>Covariate</th><th>β</th><th>SE</th><th>HR (95% CI)</th><th>z</th><th>p</th>' +
    `</tr></thead><tbody>${rows.join('')}</tbody>` +
    '<caption>Wald tests: z = β / SE, two-sided p under the standard normal.</caption></table>' +
    `<p>${fit.join('; ')}.</p></section>`
  );
}

function formatLogLik(value: number): string {
  return Number.isFinite(value) ? value.toFixed(4) : '—';
}

/** Withheld metrics grouped by hospital, metric and reason, rounds written as ranges. */
export function renderWithheld(entries: readonly WithheldMetric[]): string {
  if (entries.length === 0) return '';
  const groups = new Map<string, { hospital: string; metric: string; reason: string; rounds: number[] }>();
  for (const entry of entries) {
    const key = `${entry.hospital}\u0000${entry.metric}\u0000${entry.reason}`;
    const group = groups.get(key) ?? {
      hospital: entry.hospital,
      metric: entry.metric,
      reason: entry.reason,
      rounds: [],
    };
    group.rounds.push(entry.round);
    groups.set(key, group);
  }
  const rows = [...groups.values()]
    .sort((a, b) => a.hospital.localeCompare(b.hospital) || a.metric.localeCompare(b.metric))
    .map(
      (group) =>
        `<tr><th>${escapeHtml(group.hospital)}</th><td>${escapeHtml(describeMetric(group.metric).title)}</td>` +
        `<td>${formatIntegerRanges(group.rounds)}</td><td>${escapeHtml(group.reason)}</td></tr>`,
    );
  return (
    '<section id="withheld"><h2>Withheld metrics</h2>' +
    '<p>These values were not computed or not released; the curves show gaps there.</p>' +
    '<table class="withheld"><thead><tr><th>Hospital</th><th>Metric</th><th>Rounds</th><th>Reason</th></tr></thead>' +
    `<tbody>${rows.join('')}</tbody></table></section>`
  );
}
