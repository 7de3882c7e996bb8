import { ErrorCodes, FedpetError } from '@fedpet/shared/errors/fedpet-error';
import { escapeHtml } from './escape-html.ts';
import { formatNumber, formatPValue } from './format.ts';
import type { KaplanMeierGroup, KaplanMeierSection } from './report-model.ts';
import { stepChart } from './svg-charts.ts';

/** The Kaplan–Meier section: curves of the predicted risk groups, the log-rank p, and a median-survival table. */

export function renderKaplanMeier(section: KaplanMeierSection): string {
  for (const group of section.groups) checkCurve(group);
  const unit = section.timeUnit ?? 'days';
  const pText = formatPValue(section.logRankP);
  const chart = stepChart({
    groups: section.groups,
    xLabel: `Time (${unit})`,
    yLabel: 'Survival probability',
    width: 780,
    height: 340,
    title: 'Kaplan–Meier survival by predicted risk group',
    ...(section.logRankP === undefined ? {} : { annotation: `Log-rank ${pText}` }),
  });
  const bands = section.groups.some((group) => group.lower !== undefined && group.upper !== undefined);
  const caption = [
    `Log-rank test: ${escapeHtml(pText)}.`,
    bands ? 'Shaded: pointwise 95% confidence bands.' : '',
    section.groups.some((group) => (group.censorTimes?.length ?? 0) > 0) ? 'Ticks: censored patients.' : '',
    section.note === undefined ? '' : escapeHtml(section.note),
  ]
    .filter((part) => part !== '')
    .join(' ');
  return (
    '<section id="kaplan-meier"><h2>Kaplan–Meier curves of predicted risk groups</h2>' +
    `<figure>${chart}<figcaption>${caption}</figcaption></figure>` +
    renderMedianTable(section.groups, unit) +
    '</section>'
  );
}

/** A survival curve must lie in [0, 1] and never rise; anything else is a bug upstream, not a figure to draw. */
function checkCurve(group: KaplanMeierGroup): void {
  let previous = 1;
  group.survival.forEach((value, index) => {
    if (!Number.isFinite(value)) return;
    if (value < 0 || value > 1 || value > previous + 1e-12)
      throw new FedpetError(
        ErrorCodes.invalidConfig,
        `report: Kaplan–Meier group "${group.label}": survival at index ${index} is outside [0, 1] or rises`,
      );
    previous = value;
  });
}

/** First time at which the curve reaches 0.5 or below; undefined when it never does ("not reached"). */
export function medianTime(times: readonly number[], values: readonly number[]): number | undefined {
  let best: number | undefined;
  times.forEach((time, index) => {
    const value = values[index];
    if (value !== undefined && Number.isFinite(time) && value <= 0.5 && (best === undefined || time < best))
      best = time;
  });
  return best;
}

function renderMedianTable(groups: readonly KaplanMeierGroup[], unit: string): string {
  const rows = groups.map((group) => {
    const median = medianTime(group.times, group.survival);
    // CI of the median: where the band's lower and upper limits cross 0.5 (Brookmeyer & Crowley 1982)
    const interval =
      group.lower !== undefined && group.upper !== undefined
        ? ` (${timeText(medianTime(group.times, group.lower))} to ${timeText(medianTime(group.times, group.upper))})`
        : '';
    const lastIndex = group.times.length - 1;
    const lastSurvival = group.survival[lastIndex];
    const lastTime = group.times[lastIndex];
    const atEnd =
      lastSurvival === undefined || lastTime === undefined
        ? '—'
        : `${formatNumber(lastSurvival)} at ${formatNumber(lastTime)}`;
    const size = group.atRisk?.[0];
    return (
      `<tr><th>${escapeHtml(group.label)}</th><td class="num">${size === undefined ? '—' : size}</td>` +
      `<td class="num">${timeText(median)}${interval}</td><td class="num">${atEnd}</td></tr>`
    );
  });
  return (
    `<table class="km-summary"><thead><tr><th>Group</th><th>At risk at start</th><th>Median (${escapeHtml(unit)}, 95% CI)</th>` +
    `<th>Survival at last event (${escapeHtml(unit)})</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
  );
}

function timeText(time: number | undefined): string {
  return time === undefined ? 'not reached' : formatNumber(time);
}
