/**
 * Series colours: Paul Tol's "muted" qualitative scheme, designed to stay
 * distinguishable under the common colour-vision deficiencies and in
 * greyscale print (P. Tol, "Colour schemes", SRON
 * technical note SRON/EPS/TN/09-002). Ordered so the first two (used for the
 * low- and high-risk Kaplan–Meier groups) contrast most; the pale sand is last.
 * Beyond nine series the colours repeat with a dash pattern, so every line
 * remains unique.
 */
export const SERIES_PALETTE = [
  '#332288', // indigo
  '#CC6677', // rose
  '#117733', // green
  '#88CCEE', // cyan
  '#882255', // wine
  '#44AA99', // teal
  '#999933', // olive
  '#AA4499', // purple
  '#DDCC77', // sand
] as const;

/** The colour of emphasised series (the combined curve). */
export const EMPHASIS_COLOUR = '#000000';

const REPEAT_DASHES = ['2 3', '8 3 2 3', '10 4'] as const;
const DASHED = '6 4';

export interface SeriesStyle {
  colour: string;
  dash: string | undefined;
}

/** The style of the index-th ordinary (non-emphasised) series. */
export function seriesStyle(index: number, dashed: boolean): SeriesStyle {
  const colour = SERIES_PALETTE[index % SERIES_PALETTE.length] ?? EMPHASIS_COLOUR;
  const cycle = Math.floor(index / SERIES_PALETTE.length);
  const repeatDash = cycle === 0 ? undefined : REPEAT_DASHES[(cycle - 1) % REPEAT_DASHES.length];
  return { colour, dash: dashed ? DASHED : repeatDash };
}

export function emphasisStyle(dashed: boolean): SeriesStyle {
  return { colour: EMPHASIS_COLOUR, dash: dashed ? DASHED : undefined };
}
