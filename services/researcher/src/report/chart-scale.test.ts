import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixedAxis, formatTick, niceAxis, niceStep } from './chart-scale.ts';

test('nice steps are 1, 2 or 5 times a power of ten', () => {
  assert.equal(niceStep(1, 5), 0.2);
  assert.equal(niceStep(0.07, 5), 0.01);
  assert.equal(niceStep(1100, 6), 200);
  assert.equal(niceStep(3, 6, true), 1);
});

test('an automatic axis covers the data and ends on ticks', () => {
  const axis = niceAxis(0.613, 0.742, 5);
  assert.ok(axis.domain[0] <= 0.613 && axis.domain[1] >= 0.742);
  assert.equal(axis.ticks[0], axis.domain[0]);
  assert.equal(axis.ticks.at(-1), axis.domain[1]);
  assert.deepEqual(
    axis.ticks.map((tick) => formatTick(tick, axis.step)),
    ['0.60', '0.62', '0.64', '0.66', '0.68', '0.70', '0.72', '0.74', '0.76'].slice(0, axis.ticks.length),
  );
});

test('constant and single-value data get a padded, non-degenerate axis', () => {
  const constant = niceAxis(0.5, 0.5);
  assert.ok(constant.domain[0] < 0.5 && constant.domain[1] > 0.5);
  const round = niceAxis(1, 1, 6, true);
  assert.deepEqual(round.domain, [0, 2]);
  assert.ok(round.ticks.every(Number.isInteger));
  const nonFinite = niceAxis(Number.NaN, Number.NaN);
  assert.deepEqual(nonFinite.domain, [0, 1]);
});

test('a fixed axis keeps its domain and puts ticks inside it', () => {
  const axis = fixedAxis([0, 1]);
  assert.deepEqual(axis.domain, [0, 1]);
  assert.deepEqual(axis.ticks, [0, 0.2, 0.4, 0.6, 0.8, 1]);
  const inner = fixedAxis([0.45, 0.95]);
  assert.ok(inner.ticks.every((tick) => tick >= 0.45 && tick <= 0.95));
});
