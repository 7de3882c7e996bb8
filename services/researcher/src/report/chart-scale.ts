/** Axis arithmetic for the SVG charts: "nice" tick steps and linear scales. */

export interface Axis {
  domain: [number, number];
  ticks: number[];
  step: number;
}

/** A step of 1, 2 or 5 × 10^k giving about `targetCount` intervals over `span`. */
export function niceStep(span: number, targetCount: number, integer = false): number {
  const raw = span / Math.max(1, targetCount);
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / magnitude;
  const nice = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10;
  const step = nice * magnitude;
  return integer ? Math.max(1, Math.round(step)) : step;
}

/**
 * An axis covering [min, max], widened to whole steps so the frame ends on a
 * tick. A zero or empty span (a constant series, a single point) is padded
 * first so the data sits mid-axis instead of on the frame.
 */
export function niceAxis(min: number, max: number, targetCount = 5, integer = false): Axis {
  let low = min;
  let high = max;
  if (!Number.isFinite(low) || !Number.isFinite(high)) {
    low = 0;
    high = 1;
  }
  if (high < low) [low, high] = [high, low];
  if (high === low) {
    const pad = integer ? 1 : Math.abs(low) * 0.1 || 1;
    low -= pad;
    high += pad;
  }
  const step = niceStep(high - low, targetCount, integer);
  const start = Math.floor(low / step + 1e-9) * step;
  const end = Math.ceil(high / step - 1e-9) * step;
  return { domain: [clean(start, step), clean(end, step)], ticks: ticksBetween(start, end, step), step };
}

/** An axis over a fixed domain (a caller's yRange), with nice ticks inside it. */
export function fixedAxis(domain: readonly [number, number], targetCount = 5): Axis {
  const [low, high] = domain[0] <= domain[1] ? domain : [domain[1], domain[0]];
  const span = high - low || 1;
  const step = niceStep(span, targetCount);
  const first = Math.ceil(low / step - 1e-9) * step;
  const last = Math.floor(high / step + 1e-9) * step;
  return { domain: [low, high === low ? low + 1 : high], ticks: ticksBetween(first, last, step), step };
}

function ticksBetween(start: number, end: number, step: number): number[] {
  const count = Math.round((end - start) / step);
  const ticks: number[] = [];
  for (let i = 0; i <= count && i <= 100; i += 1) ticks.push(clean(start + i * step, step));
  return ticks;
}

/** Removes floating-point dust (0.30000000000000004 → 0.3) at the step's precision. */
function clean(value: number, step: number): number {
  const decimals = Math.min(12, Math.max(0, decimalsFor(step) + 2));
  return Number.parseFloat(value.toFixed(decimals));
}

function decimalsFor(step: number): number {
  return Math.max(0, Math.ceil(-Math.log10(step) - 1e-9));
}

/** A tick label with as many decimals as the step needs (step 0.05 → "0.65", step 200 → "1200"). */
export function formatTick(value: number, step: number): string {
  const text = value.toFixed(Math.min(10, decimalsFor(step)));
  return text === '-0' || /^-0\.0*$/.test(text) ? text.slice(1) : text;
}

/** Maps [d0, d1] onto [r0, r1]. */
export function linearScale(domain: readonly [number, number], range: readonly [number, number]) {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const ratio = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  return (value: number): number => r0 + (value - d0) * ratio;
}

/** Coordinates in SVG with at most two decimals: smaller files, no visible change. */
export function coord(value: number): string {
  return String(Math.round(value * 100) / 100);
}
