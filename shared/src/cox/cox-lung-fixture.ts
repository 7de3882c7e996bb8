/** Test support: the NCCTG lung rows (test/fixtures/lung.csv) and relative-error checks. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { coxRowsFromCsv } from './cox-csv.ts';
import { lungSite, R_LUNG } from './cox-r-reference.ts';
import { selectRows } from './cox-rows.ts';
import type { CoxRows } from './cox-types.ts';

const LUNG_CSV = new URL('../../../test/fixtures/lung.csv', import.meta.url);

/**
 * Agreement with the R reference. The requirement is 1e-6 relative; the fits
 * take R's own Newton path (same start, step halving and stopping rule) and
 * agree to ~1e-14, so this tighter bound also catches a drift from R's rules.
 */
export const R_AGREEMENT = 1e-9;

export interface LungData {
  rows: CoxRows;
  /** Pseudo-hospital of each row (see cox-r-reference.ts). */
  site: string[];
  /** The rows of each pseudo-hospital, H1..H4. */
  hospitals: CoxRows[];
}

/** Rows complete on inst, time, status, age, sex, ph.ecog; status 2 = death (event), 1 = censored. */
export function loadLung(): LungData {
  const table = coxRowsFromCsv(readFileSync(LUNG_CSV, 'utf8'), 'lung.csv', {
    time: 'time',
    event: 'status',
    covariates: R_LUNG.covariates,
    eventValues: ['2'],
    censoredValues: ['1'],
    extra: ['inst'],
  });
  const site = Array.from(table.extra.inst!, lungSite);
  const hospitals = ['H1', 'H2', 'H3', 'H4'].map((name) =>
    selectRows(
      table.rows,
      site.flatMap((s, i) => (s === name ? [i] : [])),
      name,
    ),
  );
  return { rows: table.rows, site, hospitals };
}

/** |actual − expected| ≤ rel · |expected| elementwise, naming the quantity on failure. */
export function assertRelative(
  actual: ArrayLike<number> | number,
  expected: ArrayLike<number> | number,
  rel: number,
  what: string,
): void {
  const a = typeof actual === 'number' ? [actual] : Array.from(actual);
  const e = typeof expected === 'number' ? [expected] : Array.from(expected);
  assert.equal(a.length, e.length, `${what}: length`);
  e.forEach((value, i) => {
    const error = Math.abs(a[i]! - value);
    assert.ok(
      error <= rel * Math.abs(value),
      `${what}[${i}]: ${a[i]} vs ${value} (relative error ${error / Math.abs(value)} > ${rel})`,
    );
  });
}
