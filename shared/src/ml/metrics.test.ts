import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  binaryAccuracy,
  binaryCrossEntropy,
  meanAbsoluteError,
  meanSquaredError,
  rocAuc,
} from './metrics.ts';

test('ROC AUC on known vectors', () => {
  // scikit-learn's roc_auc_score documentation example: 0.75.
  assert.equal(rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 0.75);
  assert.equal(rocAuc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4]), 1);
  assert.equal(rocAuc([1, 1, 0, 0], [0.1, 0.2, 0.3, 0.4]), 0);
  // Ties count one half: every (positive, negative) pair is tied.
  assert.equal(rocAuc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]), 0.5);
  // One tied pair out of four: (3 + 0.5) / 4.
  assert.equal(rocAuc([0, 0, 1, 1], [0.2, 0.6, 0.6, 0.9]), 0.875);
  assert.equal(rocAuc([1, 1, 1], [0.2, 0.4, 0.9]), undefined);
});

test('binary cross-entropy and accuracy', () => {
  assert.ok(Math.abs(binaryCrossEntropy([1, 0], [0.5, 0.5]) - Math.LN2) < 1e-12);
  assert.ok(Math.abs(binaryCrossEntropy([1, 0], [0.9, 0.2]) - -(Math.log(0.9) + Math.log(0.8)) / 2) < 1e-12);
  // Clipping keeps a confident mistake finite: -log(1e-7).
  assert.ok(Math.abs(binaryCrossEntropy([1], [0]) - -Math.log(1e-7)) < 1e-6);
  assert.equal(binaryAccuracy([1, 0, 1, 0], [0.9, 0.1, 0.4, 0.5]), 0.5);
});

test('regression errors', () => {
  assert.equal(meanSquaredError([1, 2, 3], [1, 2, 5]), 4 / 3);
  assert.equal(meanAbsoluteError([1, 2, 3], [0, 2, 5]), 1);
  assert.throws(() => meanSquaredError([1], [1, 2]), RangeError);
  assert.throws(() => rocAuc([], []), RangeError);
});
