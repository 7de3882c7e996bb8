import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FedpetError } from '../errors/fedpet-error.ts';
import { defaultThreshold, validateThreshold } from './threshold.ts';

test('the default threshold is a majority', () => {
  assert.deepEqual([3, 4, 5, 10, 11].map(defaultThreshold), [2, 3, 3, 6, 6]);
  for (const n of [3, 4, 5, 10, 11, 255])
    assert.doesNotThrow(() => validateThreshold(defaultThreshold(n), n));
});

test('thresholds at or below half, above n, or federations under 3 are refused', () => {
  for (const [t, n] of [
    [2, 4],
    [5, 10],
    [11, 10],
    [2.5, 4],
    [2, 2],
    [1, 1],
    [200, 256],
  ]) {
    assert.throws(() => validateThreshold(t!, n!), FedpetError, `t=${t} n=${n}`);
  }
});
