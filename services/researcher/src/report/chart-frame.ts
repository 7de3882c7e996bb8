import { ErrorCodes, FedpetError } from '@fedpet/shared/errors/fedpet-error';
import { type Axis, coord, formatTick, linearScale } from './chart-scale.ts';
import { escapeHtml } from './escape-html.ts';

/**
 * The parts every chart shares: the outer <svg>, the plot frame with grid,
 * ticks and axis titles, the legend and the "no data" notice. SVGs are meant
 * to be inlined in HTML5, which places <svg> in the SVG namespace by itself,
 * so no xmlns (a URL) is written.
 */

export interface Frame {
  width: number;
  height: number;
  left: number;
  top: number;
  plotWidth: number;
  plotHeight: number;
  x: (value: number) => number;
  y: (value: number) => number;
}

export interface LegendEntry {
  label: string;
  colour: string;
  dash: string | undefined;
  strokeWidth: number;
  /** Shown greyed after the label, e.g. "no data" for a hospital whose values were all withheld. */
  note?: string;
}

const LEGEND_ROW = 16;
const LEGEND_WIDTH = 170;
const LEGEND_LABEL_CHARS = 24;
const MARGIN = { left: 60, right: 14, top: 14, bottom: 46 };

/** Rejects sizes that cannot hold a chart; names the chart so the caller can find it. */
export function checkSize(chart: string, width: number, height: number): void {
  if (!Number.isFinite(width) || !Number.isFinite(height) || width < 200 || height < 120)
    throw new FedpetError(
      ErrorCodes.invalidConfig,
      `${chart}: width and height must be at least 200 × 120 (got ${width} × ${height})`,
    );
}

/** Lays out the plot area, leaving room on the right for a legend of `legendRows` entries. */
export function layoutFrame(
  requestedWidth: number,
  requestedHeight: number,
  legendRows: number,
  xAxis: Axis,
  yAxis: Axis,
): Frame {
  const legendWidth = legendRows > 0 ? LEGEND_WIDTH : 0;
  // a plot narrower than ~120 px says nothing: widen the chart rather than squash it
  const width = Math.max(requestedWidth, MARGIN.left + MARGIN.right + legendWidth + 120);
  const height = Math.max(requestedHeight, MARGIN.top + legendRows * LEGEND_ROW + 8);
  const left = MARGIN.left;
  const top = MARGIN.top;
  const plotWidth = width - left - MARGIN.right - legendWidth;
  const plotHeight = height - top - MARGIN.bottom;
  return {
    width,
    height,
    left,
    top,
    plotWidth,
    plotHeight,
    x: linearScale(xAxis.domain, [left, left + plotWidth]),
    y: linearScale(yAxis.domain, [top + plotHeight, top]),
  };
}

export function openSvg(frame: Frame, title: string, className: string): string {
  const label = escapeHtml(title);
  return (
    `<svg class="chart ${className}" viewBox="0 0 ${frame.width} ${frame.height}" width="${frame.width}" ` +
    `height="${frame.height}" role="img" aria-label="${label}" font-size="11"><title>${label}</title>`
  );
}

/** Grid lines, tick marks and labels, the frame, and both axis titles. */
export function renderAxes(frame: Frame, xAxis: Axis, yAxis: Axis, xLabel: string, yLabel: string): string {
  const bottom = frame.top + frame.plotHeight;
  const right = frame.left + frame.plotWidth;
  const parts: string[] = ['<g class="axes">'];
  for (const tick of yAxis.ticks) {
    const y = coord(frame.y(tick));
    parts.push(
      `<line x1="${frame.left}" x2="${coord(right)}" y1="${y}" y2="${y}" stroke="#e3e3e3"/>`,
      `<text x="${frame.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" fill="#333">` +
        `${formatTick(tick, yAxis.step)}</text>`,
    );
  }
  for (const tick of xAxis.ticks) {
    const x = coord(frame.x(tick));
    parts.push(
      `<line x1="${x}" x2="${x}" y1="${coord(bottom)}" y2="${coord(bottom + 5)}" stroke="#555"/>`,
      `<text x="${x}" y="${coord(bottom + 17)}" text-anchor="middle" fill="#333">` +
        `${formatTick(tick, xAxis.step)}</text>`,
    );
  }
  parts.push(
    `<rect x="${frame.left}" y="${frame.top}" width="${coord(frame.plotWidth)}" height="${coord(frame.plotHeight)}" ` +
      'fill="none" stroke="#555"/>',
    `<text x="${coord(frame.left + frame.plotWidth / 2)}" y="${coord(frame.height - 8)}" text-anchor="middle" ` +
      `fill="#111">${escapeHtml(xLabel)}</text>`,
    `<text transform="translate(14 ${coord(frame.top + frame.plotHeight / 2)}) rotate(-90)" text-anchor="middle" ` +
      `fill="#111">${escapeHtml(yLabel)}</text>`,
    '</g>',
  );
  return parts.join('');
}

/** One row per entry, to the right of the plot; long labels are shortened, the full text kept as a tooltip. */
export function renderLegend(frame: Frame, entries: readonly LegendEntry[]): string {
  if (entries.length === 0) return '';
  const x = frame.left + frame.plotWidth + 12;
  const parts: string[] = ['<g class="legend">'];
  entries.forEach((entry, index) => {
    const y = frame.top + 8 + index * LEGEND_ROW;
    const dash = entry.dash === undefined ? '' : ` stroke-dasharray="${entry.dash}"`;
    const room = LEGEND_LABEL_CHARS - (entry.note === undefined ? 0 : entry.note.length + 1);
    const short = entry.label.length > room ? `${entry.label.slice(0, Math.max(1, room - 1))}…` : entry.label;
    const note = entry.note === undefined ? '' : ` <tspan fill="#777">${escapeHtml(entry.note)}</tspan>`;
    const title = entry.note === undefined ? entry.label : `${entry.label} (${entry.note})`;
    parts.push(
      `<g><title>${escapeHtml(title)}</title>`,
      `<line x1="${x}" x2="${x + 22}" y1="${y}" y2="${y}" stroke="${entry.colour}" ` +
        `stroke-width="${entry.strokeWidth}"${dash}/>`,
      `<text x="${x + 28}" y="${y}" dominant-baseline="middle" fill="#111">${escapeHtml(short)}${note}</text></g>`,
    );
  });
  parts.push('</g>');
  return parts.join('');
}

export function renderNoData(frame: Frame, message = 'No data'): string {
  return (
    `<text class="no-data" x="${coord(frame.left + frame.plotWidth / 2)}" ` +
    `y="${coord(frame.top + frame.plotHeight / 2)}" text-anchor="middle" fill="#777">${escapeHtml(message)}</text>`
  );
}
