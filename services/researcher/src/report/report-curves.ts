import { escapeHtml } from './escape-html.ts';
import { formatNumber } from './format.ts';
import {
  COMBINED,
  compareMetrics,
  describeMetric,
  hospitalsOf,
  isChartedMetric,
  metricsPresent,
  withheldLookup,
} from './report-metrics.ts';
import type { ReportInput, RoundMetrics } from './report-model.ts';
import { type LineSeries, lineChart } from './svg-charts.ts';

/** The per-round section: one chart per metric (combined bold, one line per hospital) and the final round's table. */

const WIDTH = 780;
const HEIGHT = 300;

export function renderLearningCurves(input: ReportInput): string {
  const rounds = [...input.perRound].sort((a, b) => a.round - b.round);
  const metrics = metricsPresent(rounds).filter(isChartedMetric);
  if (metrics.length === 0)
    return '<section id="rounds"><h2>Per-round evaluation</h2><p class="note">No per-round metrics were reported.</p></section>';
  const hospitals = hospitalsOf(input);
  const figures = metrics.map((metric) => {
    const info = describeMetric(metric);
    const series: LineSeries[] = [
      { label: 'Combined', emphasis: true, points: pointsOf(rounds, (round) => round.combined[metric]) },
      ...hospitals.map((hospital) => ({
        label: hospital,
        points: pointsOf(rounds, (round) => round.hospitals[hospital]?.[metric]),
      })),
    ];
    const chart = lineChart({
      series,
      xLabel: 'Round',
      yLabel: info.axisLabel,
      width: WIDTH,
      height: HEIGHT,
      title: `${info.title} per round`,
      integerX: true,
      ...(info.reference ? { reference: info.reference } : {}),
    });
    return (
      `<figure class="metric-chart" data-metric="${escapeHtml(metric)}"><h3>${escapeHtml(info.title)}</h3>${chart}` +
      '<figcaption>Bold black: combined over all hospitals; one line per hospital on its own held-out split. ' +
      'A gap is a value that was withheld or not reported.</figcaption></figure>'
    );
  });
  return (
    '<section id="rounds"><h2>Per-round evaluation</h2>' +
    figures.join('') +
    renderFinalRoundTable(input, rounds, hospitals) +
    '</section>'
  );
}

function pointsOf(rounds: readonly RoundMetrics[], pick: (round: RoundMetrics) => number | undefined) {
  return rounds.map((round): [number, number] => [round.round, pick(round) ?? Number.NaN]);
}

function renderFinalRoundTable(
  input: ReportInput,
  rounds: readonly RoundMetrics[],
  hospitals: string[],
): string {
  const last = rounds[rounds.length - 1];
  if (last === undefined) return '';
  const metrics = [
    ...new Set([...Object.keys(last.combined), ...Object.values(last.hospitals).flatMap(Object.keys)]),
  ].sort(compareMetrics);
  const withheld = withheldLookup(input);
  const cell = (hospital: string, values: Record<string, number> | undefined, metric: string): string => {
    const value = values?.[metric];
    if (value !== undefined && Number.isFinite(value)) return `<td class="num">${formatNumber(value)}</td>`;
    const reason = withheld(last.round, hospital, metric);
    if (reason !== undefined) return `<td class="withheld" title="${escapeHtml(reason)}">withheld</td>`;
    return '<td class="num">—</td>';
  };
  const header = metrics.map((metric) => `<th>${escapeHtml(describeMetric(metric).title)}</th>`).join('');
  const rows = [
    `<tr><th>Combined</th>${metrics.map((metric) => cell(COMBINED, last.combined, metric)).join('')}</tr>`,
    ...hospitals.map(
      (hospital) =>
        `<tr><th>${escapeHtml(hospital)}</th>` +
        metrics.map((metric) => cell(hospital, last.hospitals[hospital], metric)).join('') +
        '</tr>',
    ),
  ];
  return (
    `<h3>Round ${last.round}: figures by hospital</h3><table class="final-round"><thead><tr><th>Hospital</th>` +
    `${header}</tr></thead><tbody>${rows.join('')}</tbody>` +
    '<caption>Withheld cells carry their reason as a tooltip and are listed under “Withheld metrics”.</caption></table>'
  );
}
