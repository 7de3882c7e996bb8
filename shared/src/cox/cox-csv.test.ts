import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FedpetError } from '../errors/fedpet-error.ts';
import { coxRowsFromCsv } from './cox-csv.ts';

const COLUMNS = { time: 'pfs_days', event: 'pfs_event', covariates: ['age', 'suvmax'], extra: ['site'] };

test('chosen columns become Cox rows; rows with an empty or NA used cell are left out and counted', () => {
  const table = coxRowsFromCsv(
    [
      'patient,site,age,suvmax,pfs_days,pfs_event,unused',
      'P1,1,64,12.5,210,1,x',
      'P2,1,70,,400,0,',
      'P3,2,58,8.25,95,0,',
      'P4,2,NA,3,120,1,',
      'P5,2,61,4,30,1,',
    ].join('\n'),
    'h1.csv',
    COLUMNS,
  );
  assert.equal(table.incomplete, 2);
  assert.deepEqual(table.lines, [2, 4, 6]);
  assert.deepEqual(Array.from(table.rows.time), [210, 95, 30]);
  assert.deepEqual(Array.from(table.rows.event), [1, 0, 1]);
  assert.deepEqual(
    (table.rows.x as Float64Array[]).map((row) => Array.from(row)),
    [
      [64, 12.5],
      [58, 8.25],
      [61, 4],
    ],
  );
  assert.deepEqual(Array.from(table.extra.site!), [1, 2, 2]);
  assert.deepEqual(table.rows.covariateNames, ['age', 'suvmax']);
  assert.equal(table.rows.label, 'h1.csv');
});

test('custom event codes (R lung: 2 = death, 1 = censored)', () => {
  const table = coxRowsFromCsv('time,status,age\n306,2,74\n1010,1,56\n', 'lung.csv', {
    time: 'time',
    event: 'status',
    covariates: ['age'],
    eventValues: ['2'],
    censoredValues: ['1'],
  });
  assert.deepEqual(Array.from(table.rows.event), [1, 0]);
});

test('a missing column, a non-numeric cell or an unknown event code is an error naming line and column, not the value', () => {
  const header = 'site,age,suvmax,pfs_days,pfs_event';
  assert.throws(
    () => coxRowsFromCsv('site,age,pfs_days,pfs_event\n1,60,10,1', 'h2.csv', COLUMNS),
    (error: unknown) =>
      error instanceof FedpetError && /^h2\.csv: column 'suvmax' is missing$/.test(error.message),
  );
  assert.throws(
    () => coxRowsFromCsv(`${header}\n1,60,7,10,1\n1,sixty-two,7,10,1`, 'h2.csv', COLUMNS),
    (error: unknown) =>
      error instanceof Error &&
      /h2\.csv: line 3: column 'age' is not a finite number/.test(error.message) &&
      !error.message.includes('sixty'),
  );
  assert.throws(
    () => coxRowsFromCsv(`${header}\n1,60,7,10,yes`, 'h2.csv', COLUMNS),
    /line 2: column 'pfs_event' is neither an event nor a censoring code/,
  );
  assert.throws(() => coxRowsFromCsv('', 'h2.csv', COLUMNS), /the file is empty/);
});
