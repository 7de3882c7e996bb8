import { escapeHtml } from './escape-html.ts';
import { formatNumber } from './format.ts';
import { REPORT_CSS } from './report-css.ts';
import { renderLearningCurves } from './report-curves.ts';
import { describeMetric, hospitalsOf, isChartedMetric, metricsPresent } from './report-metrics.ts';
import type { ReportInput } from './report-model.ts';
import { renderKaplanMeier } from './report-survival.ts';
import { renderComparison, renderCoxModel, renderWithheld } from './report-tables.ts';

/**
 * The whole report as one HTML5 document: inline CSS, inline SVG, no script,
 * no reference to anything outside the file, so it opens offline and prints.
 * Every string from the input is escaped; inconsistent input (array lengths
 * that disagree, a rising survival curve) is an INVALID_CONFIG error naming the field.
 */
export function renderReport(input: ReportInput): string {
  const sections = [
    renderHeader(input),
    '<main>',
    renderLearningCurves(input),
    input.kaplanMeier === undefined ? '' : renderKaplanMeier(input.kaplanMeier),
    input.comparison === undefined ? '' : renderComparison(input.comparison),
    input.coxModel === undefined ? '' : renderCoxModel(input.coxModel),
    renderWithheld(input.withheld ?? []),
    renderNotes(input.notes ?? []),
    '</main>',
    `<footer>Generated ${escapeHtml(input.generatedAt)} by fedpet for experiment ` +
      `${escapeHtml(input.experiment.id)}. This file is self-contained and needs no network.</footer>`,
  ];
  return (
    '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<title>${escapeHtml(input.title)}</title><style>${REPORT_CSS}</style></head>` +
    `<body>${sections.join('\n')}</body></html>\n`
  );
}

function renderHeader(input: ReportInput): string {
  const experiment = input.experiment;
  const hospitals = hospitalsOf(input);
  const rows: [string, string][] = [
    ['Experiment', `${escapeHtml(experiment.name)} (<code>${escapeHtml(experiment.id)}</code>)`],
    ['Plan', escapeHtml(experiment.plan)],
    [`Hospitals (${hospitals.length})`, hospitals.map(escapeHtml).join(', ')],
    ['Rounds', String(experiment.rounds)],
  ];
  if (experiment.protection !== undefined) rows.push(['Protection', escapeHtml(experiment.protection)]);
  const summary = rows.map(([term, detail]) => `<dt>${escapeHtml(term)}</dt><dd>${detail}</dd>`).join('');
  return (
    `<header><h1>${escapeHtml(input.title)}</h1>` +
    `<dl class="summary">${summary}</dl>` +
    `${renderKeyFigures(input)}</header>`
  );
}

/** The last round's combined figures, the numbers a reader looks for first. */
function renderKeyFigures(input: ReportInput): string {
  const last = [...input.perRound].sort((a, b) => a.round - b.round).at(-1);
  if (last === undefined) return '';
  const items = metricsPresent([{ ...last, hospitals: {} }])
    .filter(isChartedMetric)
    .map(
      (metric) =>
        `<li><span class="value">${formatNumber(last.combined[metric])}</span>` +
        `${escapeHtml(describeMetric(metric).title)}</li>`,
    );
  if (items.length === 0) return '';
  return `<h2>Combined figures after round ${last.round}</h2><ul class="key-figures">${items.join('')}</ul>`;
}

function renderNotes(notes: readonly string[]): string {
  if (notes.length === 0) return '';
  return `<section id="notes"><h2>Notes</h2><ul>${notes.map((note) => `<li>${escapeHtml(note)}</li>`).join('')}</ul></section>`;
}
