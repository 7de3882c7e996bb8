import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatIntegerRanges, formatNumber, formatP, formatPValue } from './format.ts';

test('log-rank p formatting: thresholds, decimals and non-probabilities', () => {
  assert.equal(formatPValue(0.003), 'p = 0.003');
  assert.equal(formatPValue(0.0004), 'p < 0.001');
  assert.equal(formatPValue(1e-12), 'p < 0.001');
  assert.equal(formatPValue(0.001), 'p = 0.001');
  assert.equal(formatPValue(0.0496), 'p = 0.050');
  assert.equal(formatPValue(0.0512), 'p = 0.051');
  assert.equal(formatPValue(0.27), 'p = 0.27');
  assert.equal(formatPValue(0.999), 'p > 0.99');
  assert.equal(formatPValue(1), 'p > 0.99');
  assert.equal(formatPValue(undefined), 'p not available');
  assert.equal(formatPValue(Number.NaN), 'p not available');
  assert.equal(formatPValue(-0.1), 'p not available');
  assert.equal(formatP(0.0004), '< 0.001');
  assert.equal(formatP(0.5), '0.50');
});

test('numbers for table cells', () => {
  assert.equal(formatNumber(0.71234), '0.712');
  assert.equal(formatNumber(-0.556593), '-0.557');
  assert.equal(formatNumber(0), '0.000');
  assert.equal(formatNumber(0.0000123), '1.23e-5');
  assert.equal(formatNumber(123.456), '123.5');
  assert.equal(formatNumber(-739.375), '-739.4');
  assert.equal(formatNumber(12345.6), '12346');
  assert.equal(formatNumber(null), '—');
  assert.equal(formatNumber(Number.POSITIVE_INFINITY), '—');
});

test('integer ranges', () => {
  assert.equal(formatIntegerRanges([5, 1, 2, 3, 7, 8, 8]), '1–3, 5, 7–8');
  assert.equal(formatIntegerRanges([4]), '4');
  assert.equal(formatIntegerRanges([]), '');
});
