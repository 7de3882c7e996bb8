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

test('the C-index is pooled from pair counts, and withheld hospitals contribute none', () => {
  const combined = combineMetrics([
    {
      hospital: 'h1',
      status: 'ok',
      numSamples: 10,
      metrics: {
        valSamples: 20,
        valCIndex: 0.9,
        valCIndexConcordant: 90,
        valCIndexComparable: 100,
        valEvents: 12,
      },
    },
    {
      hospital: 'h2',
      status: 'ok',
      numSamples: 10,
      metrics: {
        valSamples: 40,
        valCIndex: 0.5,
        valCIndexConcordant: 150,
        valCIndexComparable: 300,
        valEvents: 20,
      },
    },
    { hospital: 'h3', status: 'ok', numSamples: 5, metrics: { valSamples: 6, valWithheldFewEvents: 1 } },
  ]);
  // (90 + 150) / (100 + 300), not the mean of 0.9 and 0.5 weighted by samples.
  assert.equal(combined.valCIndex, 0.6);
  assert.equal(combined.valEvents, 32);
  assert.equal(combined.valWithheldFewEvents, 1);
  assert.equal(combined.valSamples, 66);
});
