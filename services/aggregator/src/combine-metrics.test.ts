import assert from 'node:assert/strict';
import { test } from 'node:test';
import { combineMetrics } from './combine-metrics.ts';

test('validation metrics are weighted by validation size, training ones by training size', () => {
  const combined = combineMetrics([
    {
      hospital: 'h1',
      status: 'ok',
      numSamples: 100,
      metrics: { trainLoss: 1, valLoss: 0.5, valSamples: 10, 'ms.train': 40 },
    },
    {
      hospital: 'h2',
      status: 'ok',
      numSamples: 300,
      metrics: { trainLoss: 2, valLoss: 1.5, valSamples: 30, 'ms.train': 90 },
    },
    { hospital: 'h3', status: 'failed', code: 'ROUND_TIMEOUT', reason: 'late' },
  ]);
  assert.equal(combined.trainLoss, (1 * 100 + 2 * 300) / 400);
  assert.equal(combined.valLoss, (0.5 * 10 + 1.5 * 30) / 40);
  assert.equal(combined.valSamples, 40);
  assert.equal(combined['ms.train'], 90);
});

test('no successful hospital gives no metrics', () => {
  assert.deepEqual(combineMetrics([{ hospital: 'h1', status: 'failed', code: 'X', reason: 'y' }]), {});
});
