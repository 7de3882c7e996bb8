import { ErrorCodes, FedpetError } from '@fedpet/shared/errors/fedpet-error';
import {
  checkSize,
  type Frame,
  type LegendEntry,
  layoutFrame,
  openSvg,
  renderAxes,
  renderLegend,
  renderNoData,
} from './chart-frame.ts';
import { emphasisStyle, type SeriesStyle, seriesStyle } from './chart-palette.ts';
import { coord, fixedAxis, niceAxis } from './chart-scale.ts';
import { escapeHtml } from './escape-html.ts';

/**
 * Pure functions from data to SVG markup, for inlining in the offline report.
 * Non-finite values never reach the markup: a NaN or infinite y breaks a line
 * (a gap shows a withheld metric honestly instead of bridging it), a
 * non-finite x drops the point.
 */

export interface LineSeries {
  label: string;
  points: readonly (readonly [number, number])[];
  dashed?: boolean;
  /** Drawn bold, in black, above the others and first in the legend (the combined curve). */
  emphasis?: boolean;
}

export interface LineChartOptions {
  series: readonly LineSeries[];
  xLabel: string;
  yLabel: string;
  /** Fixed y domain; values outside are clipped at the frame. Automatic when absent. */
  yRange?: readonly [number, number];
  width: number;
  height: number;
  /** Accessible title (also the tooltip); defaults to "yLabel by xLabel". */
  title?: string;
  /** Ticks on whole numbers only (rounds). */
  integerX?: boolean;
  /** A dotted horizontal reference, e.g. { y: 0.5, label: 'chance' } for a C-index; drawn when inside the y domain. */
  reference?: { y: number; label: string };
}

const MARKER_LIMIT = 25;

export function lineChart(options: LineChartOptions): string {
  checkSize('lineChart', options.width, options.height);
  const finite = options.series.flatMap((series) =>
    series.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)),
  );
  const xs = finite.map(([x]) => x);
  const ys = finite.map(([, y]) => y);
  const xAxis = niceAxis(minimum(xs, 0), maximum(xs, 1), 6, options.integerX ?? false);
  const yAxis = options.yRange ? fixedAxis(options.yRange) : niceAxis(minimum(ys, 0), maximum(ys, 1), 5);

  const styled = styleSeries(options.series);
  const legend: LegendEntry[] = [...styled]
    .sort((a, b) => Number(b.emphasis) - Number(a.emphasis))
    .map(({ series, style, strokeWidth }) => ({
      label: series.label,
      colour: style.colour,
      dash: style.dash,
      strokeWidth,
      ...(series.points.some(([x, y]) => Number.isFinite(x) && Number.isFinite(y))
        ? {}
        : { note: 'no data' }),
    }));
  const frame = layoutFrame(options.width, options.height, legend.length, xAxis, yAxis);
  const clipId = `fedpet-plot-${frame.left}-${frame.top}-${Math.round(frame.plotWidth)}-${Math.round(frame.plotHeight)}`;
  const title = options.title ?? `${options.yLabel} by ${options.xLabel}`;

  const drawOrder = [...styled].sort((a, b) => Number(a.emphasis) - Number(b.emphasis));
  return [
    openSvg(frame, title, 'line-chart'),
    `<defs><clipPath id="${clipId}"><rect x="${frame.left}" y="${frame.top}" width="${coord(frame.plotWidth)}" ` +
      `height="${coord(frame.plotHeight)}"/></clipPath></defs>`,
    renderAxes(frame, xAxis, yAxis, options.xLabel, options.yLabel),
    renderReference(frame, yAxis.domain, options.reference),
    `<g clip-path="url(#${clipId})">`,
    ...drawOrder.map(({ series, style, strokeWidth }) => renderLine(frame, series, style, strokeWidth)),
    '</g>',
    renderLegend(frame, legend),
    finite.length === 0 ? renderNoData(frame) : '',
    '</svg>',
  ].join('');
}

interface StyledSeries {
  series: LineSeries;
  style: SeriesStyle;
  strokeWidth: number;
  emphasis: boolean;
}

function styleSeries(series: readonly LineSeries[]): StyledSeries[] {
  let ordinary = 0;
  return series.map((entry) => {
    const emphasis = entry.emphasis === true;
    const style = emphasis
      ? emphasisStyle(entry.dashed === true)
      : seriesStyle(ordinary++, entry.dashed === true);
    return { series: entry, style, strokeWidth: emphasis ? 3 : 1.5, emphasis };
  });
}

function renderLine(frame: Frame, series: LineSeries, style: SeriesStyle, strokeWidth: number): string {
  const sorted = series.points.filter(([x]) => Number.isFinite(x)).sort((a, b) => a[0] - b[0]);
  const segments: (readonly [number, number])[][] = [[]];
  for (const point of sorted) {
    if (Number.isFinite(point[1])) segments[segments.length - 1]?.push(point);
    else if ((segments[segments.length - 1]?.length ?? 0) > 0) segments.push([]);
  }
  const drawn = segments.filter((segment) => segment.length > 0);
  const path = drawn
    .filter((segment) => segment.length > 1)
    .map((segment) =>
      segment
        .map(([x, y], index) => `${index === 0 ? 'M' : 'L'}${coord(frame.x(x))} ${coord(frame.y(y))}`)
        .join(''),
    )
    .join('');
  const pointCount = drawn.reduce((sum, segment) => sum + segment.length, 0);
  // markers on every point for short series, and always on isolated points, which a path cannot show
  const marked = pointCount <= MARKER_LIMIT ? drawn.flat() : drawn.filter((s) => s.length === 1).flat();
  const radius = strokeWidth > 2 ? 3.5 : 2.5;
  const dash = style.dash === undefined ? '' : ` stroke-dasharray="${style.dash}"`;
  return [
    `<g class="series" data-series="${escapeHtml(series.label)}">`,
    `<title>${escapeHtml(series.label)}</title>`,
    path === ''
      ? ''
      : `<path class="series-line" d="${path}" fill="none" stroke="${style.colour}" ` +
        `stroke-width="${strokeWidth}" stroke-linejoin="round"${dash}/>`,
    ...marked.map(
      ([x, y]) =>
        `<circle cx="${coord(frame.x(x))}" cy="${coord(frame.y(y))}" r="${radius}" fill="${style.colour}"/>`,
    ),
    '</g>',
  ].join('');
}

function renderReference(
  frame: Frame,
  domain: readonly [number, number],
  reference: LineChartOptions['reference'],
): string {
  if (!reference || !Number.isFinite(reference.y) || reference.y < domain[0] || reference.y > domain[1])
    return '';
  const y = coord(frame.y(reference.y));
  const right = coord(frame.left + frame.plotWidth);
  return (
    `<g class="reference"><line x1="${frame.left}" x2="${right}" y1="${y}" y2="${y}" stroke="#888" ` +
    `stroke-dasharray="1 3"/><text x="${coord(frame.left + frame.plotWidth - 4)}" y="${coord(frame.y(reference.y) - 4)}" ` +
    `text-anchor="end" fill="#666">${escapeHtml(reference.label)}</text></g>`
  );
}

export interface StepGroup {
  label: string;
  /** Event times; the curve starts at survival 1 at time 0. */
  times: readonly number[];
  /** Survival just after each time. */
  survival: readonly number[];
  lower?: readonly number[];
  upper?: readonly number[];
  censorTimes?: readonly number[];
}

export interface StepChartOptions {
  groups: readonly StepGroup[];
  xLabel: string;
  yLabel: string;
  width: number;
  height: number;
  title?: string;
  /** Text in the plot's top-right corner, e.g. "Log-rank p = 0.003". */
  annotation?: string;
  /** Extend the time axis to at least this value. */
  xMax?: number;
  /** Draw censoring tick marks (default true when censorTimes are given). */
  censorMarks?: boolean;
}

/**
 * Kaplan–Meier curves: right-continuous step functions from (0, 1), y fixed
 * to [0, 1], each group's last level carried to its last event or censoring
 * time; an optional confidence band as a light polygon of the same steps.
 */
export function stepChart(options: StepChartOptions): string {
  checkSize('stepChart', options.width, options.height);
  for (const group of options.groups) checkGroup(group);
  const allTimes = options.groups.flatMap((group) => [...group.times, ...(group.censorTimes ?? [])]);
  const finiteTimes = allTimes.filter(Number.isFinite);
  const start = Math.min(0, minimum(finiteTimes, 0));
  const end = Math.max(maximum(finiteTimes, 1), options.xMax ?? Number.NEGATIVE_INFINITY);
  const xAxis = niceAxis(start, end > start ? end : start + 1, 6);
  const yAxis = fixedAxis([0, 1]);
  const styles = options.groups.map((_, index) => seriesStyle(index, false));
  const legend: LegendEntry[] = options.groups.map((group, index) => ({
    label: group.label,
    colour: styles[index]?.colour ?? '#000000',
    dash: styles[index]?.dash,
    strokeWidth: 2,
  }));
  const frame = layoutFrame(options.width, options.height, legend.length, xAxis, yAxis);
  const hasData = options.groups.some((group) => group.times.some(Number.isFinite));
  const title = options.title ?? `${options.yLabel} by ${options.xLabel}`;
  const bands = options.groups.map((group, index) =>
    renderBand(frame, group, start, styles[index]?.colour ?? '#000000'),
  );
  const curves = options.groups.map((group, index) =>
    renderSteps(frame, group, start, styles[index] ?? seriesStyle(index, false), options.censorMarks ?? true),
  );
  return [
    openSvg(frame, title, 'step-chart'),
    renderAxes(frame, xAxis, yAxis, options.xLabel, options.yLabel),
    ...bands,
    ...curves,
    options.annotation === undefined
      ? ''
      : `<text class="annotation" x="${coord(frame.left + frame.plotWidth - 6)}" y="${frame.top + 16}" ` +
        `text-anchor="end" fill="#111">${escapeHtml(options.annotation)}</text>`,
    renderLegend(frame, legend),
    hasData ? '' : renderNoData(frame),
    '</svg>',
  ].join('');
}

function checkGroup(group: StepGroup): void {
  const expected = group.times.length;
  const lengths: [string, readonly number[] | undefined][] = [
    ['survival', group.survival],
    ['lower', group.lower],
    ['upper', group.upper],
  ];
  for (const [field, values] of lengths)
    if (values !== undefined && values.length !== expected)
      throw new FedpetError(
        ErrorCodes.invalidConfig,
        `stepChart: group "${group.label}" has ${expected} times but ${values.length} ${field} values`,
      );
}

/** Vertices of a right-continuous step function starting at (start, 1), ending at (end, last level). */
export function stepVertices(
  times: readonly number[],
  values: readonly number[],
  start: number,
  end: number,
): [number, number][] {
  const order = times
    .map((time, index) => ({ time, value: values[index] ?? Number.NaN }))
    .filter((entry) => Number.isFinite(entry.time))
    .sort((a, b) => a.time - b.time);
  let level = 1;
  const vertices: [number, number][] = [[start, level]];
  for (const { time, value } of order) {
    if (!Number.isFinite(value)) continue;
    const next = Math.min(1, Math.max(0, value));
    vertices.push([time, level], [time, next]);
    level = next;
  }
  vertices.push([Math.max(end, vertices[vertices.length - 1]?.[0] ?? start), level]);
  return vertices;
}

function groupEnd(group: StepGroup): number {
  return maximum([...group.times, ...(group.censorTimes ?? [])].filter(Number.isFinite), 0);
}

function renderSteps(
  frame: Frame,
  group: StepGroup,
  start: number,
  style: SeriesStyle,
  marks: boolean,
): string {
  const vertices = stepVertices(group.times, group.survival, start, groupEnd(group));
  const d = vertices
    .map(([t, s], index) => {
      if (index === 0) return `M${coord(frame.x(t))} ${coord(frame.y(s))}`;
      const previous = vertices[index - 1];
      // consecutive vertices differ in one coordinate only: H for a level, V for a drop
      return previous !== undefined && previous[1] === s ? `H${coord(frame.x(t))}` : `V${coord(frame.y(s))}`;
    })
    .join('');
  const dash = style.dash === undefined ? '' : ` stroke-dasharray="${style.dash}"`;
  const censor = marks ? renderCensorMarks(frame, group, style.colour) : '';
  return (
    `<g class="km-group" data-series="${escapeHtml(group.label)}"><title>${escapeHtml(group.label)}</title>` +
    `<path class="km-step" d="${d}" fill="none" stroke="${style.colour}" stroke-width="2"${dash}/>${censor}</g>`
  );
}

function renderCensorMarks(frame: Frame, group: StepGroup, colour: string): string {
  const censored = (group.censorTimes ?? []).filter(Number.isFinite);
  if (censored.length === 0) return '';
  const steps = stepVertices(group.times, group.survival, 0, 0).slice(1);
  const levelAt = (time: number): number => {
    let level = 1;
    for (let index = 1; index < steps.length; index += 2) {
      const vertex = steps[index];
      if (vertex !== undefined && vertex[0] <= time) level = vertex[1];
    }
    return level;
  };
  const d = censored
    .map((time) => {
      const x = coord(frame.x(time));
      const y = frame.y(levelAt(time));
      return `M${x} ${coord(y - 4)}V${coord(y + 4)}`;
    })
    .join('');
  return `<path class="km-censor" d="${d}" stroke="${colour}" stroke-width="1.2" fill="none"/>`;
}

function renderBand(frame: Frame, group: StepGroup, start: number, colour: string): string {
  if (group.lower === undefined || group.upper === undefined) return '';
  const end = groupEnd(group);
  const upper = stepVertices(group.times, group.upper, start, end);
  const lower = stepVertices(group.times, group.lower, start, end).reverse();
  const points = [...upper, ...lower].map(([t, s]) => `${coord(frame.x(t))},${coord(frame.y(s))}`).join(' ');
  return `<polygon class="km-band" points="${points}" fill="${colour}" fill-opacity="0.15" stroke="none"/>`;
}

function minimum(values: readonly number[], fallback: number): number {
  return values.length === 0 ? fallback : values.reduce((a, b) => Math.min(a, b));
}

function maximum(values: readonly number[], fallback: number): number {
  return values.length === 0 ? fallback : values.reduce((a, b) => Math.max(a, b));
}
