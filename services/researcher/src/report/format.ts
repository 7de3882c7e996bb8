/** Number and p-value formatting shared by the report's tables and charts. */

/**
 * A p-value as a clinician reads it: "< 0.001" below 0.001, three decimals
 * below 0.1 (so 0.049 and 0.051 stay apart), two decimals up to 0.99, "> 0.99"
 * above. "—" for anything that is not a probability.
 */
export function formatP(p: number | null | undefined): string {
  if (p === null || p === undefined || !Number.isFinite(p) || p < 0 || p > 1) return '—';
  if (p < 0.001) return '< 0.001';
  if (p < 0.1) return p.toFixed(3);
  if (p > 0.99) return '> 0.99';
  return p.toFixed(2);
}

/** "p = 0.003", "p < 0.001", "p > 0.99", or "p not available". */
export function formatPValue(p: number | null | undefined): string {
  const text = formatP(p);
  if (text === '—') return 'p not available';
  if (text.startsWith('<') || text.startsWith('>')) return `p ${text}`;
  return `p = ${text}`;
}

/**
 * A metric or coefficient for a table cell: three decimals for values under
 * 10 in magnitude (C-index, AUC, β), one under 1000, whole numbers above,
 * exponent notation for tiny non-zero values. "—" for null or non-finite.
 */
export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && magnitude < 0.001) return value.toExponential(2);
  if (magnitude < 10) return value.toFixed(3);
  if (magnitude < 1000) return value.toFixed(1);
  return Math.round(value).toString();
}

/** Sorted, de-duplicated integers written as ranges: [1,2,3,5,7,8] → "1–3, 5, 7–8". */
export function formatIntegerRanges(values: readonly number[]): string {
  const sorted = [...new Set(values)].sort((a, b) => a - b);
  const parts: string[] = [];
  let start: number | undefined;
  let previous: number | undefined;
  for (const value of sorted) {
    if (start !== undefined && previous !== undefined && value === previous + 1) {
      previous = value;
      continue;
    }
    if (start !== undefined && previous !== undefined) parts.push(rangeText(start, previous));
    start = value;
    previous = value;
  }
  if (start !== undefined && previous !== undefined) parts.push(rangeText(start, previous));
  return parts.join(', ');
}

function rangeText(start: number, end: number): string {
  return start === end ? String(start) : `${start}–${end}`;
}
