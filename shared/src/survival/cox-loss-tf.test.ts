import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { FedpetError } from '../errors/fedpet-error.ts';
import { selectBackend } from '../ml/backend.ts';
import { createRng } from '../ml/random.ts';
import { coxLoss, cumulativeLogSumExp } from './cox-loss-tf.ts';
import { type CoxTies, coxGradient, coxNegLogPartialLikelihood } from './cox-partial-likelihood.ts';

before(async () => {
  await selectBackend('cpu');
});

const close = (actual: number, expected: number, tolerance: number, what = ''): void => {
  assert.ok(
    Math.abs(actual - expected) <= tolerance,
    `${what} ${actual} differs from ${expected} by > ${tolerance}`,
  );
};

function lossValue(eta: number[], time: ArrayLike<number>, event: ArrayLike<number>, ties: CoxTies): number {
  return tf.tidy(() => coxLoss(tf.tensor1d(eta), time, event, ties).dataSync()[0]!);
}

function tfGradient(
  eta: number[],
  time: ArrayLike<number>,
  event: ArrayLike<number>,
  ties: CoxTies,
): Float32Array {
  return tf.tidy(() => {
    const g = tf.grad((x: tf.Tensor) => coxLoss(x, time, event, ties));
    return g(tf.tensor1d(eta)).dataSync() as Float32Array;
  });
}

function tiedData(n: number, seed: number, scale = 1): { eta: number[]; time: number[]; event: number[] } {
  const rng = createRng(seed);
  const eta = Array.from({ length: n }, () => scale * rng.normal());
  const time = Array.from({ length: n }, () => 1 + rng.int(Math.max(2, Math.floor(n / 6))));
  const event = Array.from({ length: n }, () => (rng.next() < 0.65 ? 1 : 0));
  return { eta, time, event };
}

const eta5 = [0.1, 0.2, 0.3, 0.4, 0.5];

test('cumulative log-sum-exp equals the running log Σ exp, for lengths around powers of two', () => {
  for (const n of [1, 2, 3, 7, 8, 9, 33]) {
    const values = Array.from({ length: n }, (_, i) => Math.sin(i) * 3);
    const scan = tf.tidy(() => cumulativeLogSumExp(tf.tensor1d(values)).dataSync());
    let running = 0;
    for (let i = 0; i < n; i++) {
      running += Math.exp(values[i]!);
      close(scan[i]!, Math.log(running), 1e-5, `n=${n} i=${i}`);
    }
  }
});

test('SCIENCE.md §3 vectors: mean 1.0071 (times 1..5) and 1.0873 (times [1,2,2,4,5]) for Breslow and Efron', () => {
  for (const ties of ['breslow', 'efron'] as const) {
    close(lossValue(eta5, [1, 2, 3, 4, 5], [1, 0, 1, 0, 1], ties), 1.0071197, 2e-6, ties);
    // No two events share a time here (t = 2 is one event and one censoring), so Efron = Breslow.
    close(lossValue(eta5, [1, 2, 2, 4, 5], [1, 0, 1, 0, 1], ties), 1.0873173, 2e-6, ties);
  }
  // Tied events (R survival 3.5-3): summed 4.804487 Breslow, 4.549488 Efron over 4 events.
  close(lossValue(eta5, [1, 2, 2, 4, 5], [1, 1, 1, 0, 1], 'breslow'), 4.804487 / 4, 2e-6);
  close(lossValue(eta5, [1, 2, 2, 4, 5], [1, 1, 1, 0, 1], 'efron'), 4.549488 / 4, 2e-6);
});

test('equals the plain float64 loss on random data with many ties', () => {
  for (const [n, seed] of [
    [50, 1],
    [300, 2],
  ] as const) {
    const { eta, time, event } = tiedData(n, seed);
    for (const ties of ['breslow', 'efron'] as const) {
      const expected = coxNegLogPartialLikelihood(eta, time, event, ties).mean;
      close(lossValue(eta, time, event, ties), expected, 1e-5 * Math.max(1, expected), `${ties} n=${n}`);
    }
  }
});

test('stays finite and exact for widely spread η (float32 would underflow a plain exp-sum)', () => {
  const { eta, time, event } = tiedData(64, 5, 60);
  for (const ties of ['breslow', 'efron'] as const) {
    const expected = coxNegLogPartialLikelihood(eta, time, event, ties).mean;
    const actual = lossValue(eta, time, event, ties);
    close(actual, expected, 1e-5 * Math.max(1, expected), ties);
    const gradient = tfGradient(eta, time, event, ties);
    assert.ok(gradient.every(Number.isFinite), `${ties} gradient has a non-finite entry`);
  }
});

test('tf.grad equals the analytic gradient of the mean loss (which equals finite differences)', () => {
  const { eta, time, event } = tiedData(80, 9);
  for (const ties of ['breslow', 'efron'] as const) {
    const analytic = coxGradient(eta, time, event, ties, 'mean');
    const automatic = tfGradient(eta, time, event, ties);
    for (let i = 0; i < eta.length; i++) close(automatic[i]!, analytic[i]!, 2e-6, `${ties} ∂/∂η[${i}]`);
  }
  // And a direct finite-difference check of the tf loss itself on a small tied case.
  const t = [1, 2, 2, 2, 4, 5];
  const e = [1, 1, 1, 0, 1, 1];
  const x = [0.3, -0.4, 0.8, 0.1, -0.2, 0.5];
  const g = tfGradient(x, t, e, 'efron');
  const h = 1e-3;
  for (let i = 0; i < x.length; i++) {
    const up = x.map((v, j) => (j === i ? v + h : v));
    const down = x.map((v, j) => (j === i ? v - h : v));
    close(
      g[i]!,
      (lossValue(up, t, e, 'efron') - lossValue(down, t, e, 'efron')) / (2 * h),
      2e-3,
      `FD ∂/∂η[${i}]`,
    );
  }
});

test('a batch without events gives loss 0 and gradient 0', () => {
  const time = [3, 1, 2];
  const event = [0, 0, 0];
  assert.equal(lossValue([1, 2, 3], time, event, 'efron'), 0);
  assert.deepEqual([...tfGradient([1, 2, 3], time, event, 'breslow')], [0, 0, 0]);
});

test('accepts [n, 1] model output and tensor labels; leaks no tensors', () => {
  const { eta, time, event } = tiedData(40, 4);
  const expected = coxNegLogPartialLikelihood(eta, time, event, 'efron').mean;
  const before = tf.memory().numTensors;
  const etaColumn = tf.tensor2d(eta, [eta.length, 1]);
  const timeTensor = tf.tensor1d(time);
  const eventTensor = tf.tensor1d(event);
  const loss = coxLoss(etaColumn, timeTensor, eventTensor, 'efron');
  close(loss.dataSync()[0]!, expected, 1e-5);
  tf.dispose([loss, etaColumn, timeTensor, eventTensor]);
  assert.equal(tf.memory().numTensors, before);
});

test('refuses mismatched shapes and bad labels with FedpetError', () => {
  const eta = tf.tensor1d([1, 2, 3]);
  assert.throws(() => coxLoss(eta, [1, 2], [1, 0], 'breslow'), FedpetError);
  assert.throws(() => coxLoss(eta, [1, 2, 3], [1, 0, 5], 'breslow'), /event\[2\] must be 0 or 1/);
  assert.throws(() => coxLoss(eta, [1, 2, 3], [1, 0, 1], 'exact' as CoxTies), /ties must be/);
  const wide = tf.zeros([3, 2]);
  assert.throws(() => coxLoss(wide, [1, 2, 3], [1, 0, 1], 'breslow'), /eta must be \[n\] or \[n, 1\]/);
  tf.dispose([eta, wide]);
});

test('trains a linear Cox model through optimizer.minimize toward the true coefficient', () => {
  // Hazard exp(1.5·x): a higher x fails sooner, so the fitted weight must approach 1.5.
  const rng = createRng(21);
  const n = 300;
  const x: number[] = [];
  const time: number[] = [];
  const event: number[] = [];
  for (let i = 0; i < n; i++) {
    const xi = rng.normal();
    const eventTime = -Math.log(1 - rng.next()) / Math.exp(1.5 * xi);
    const censorTime = 2 * rng.next();
    x.push(xi);
    time.push(Math.min(eventTime, censorTime));
    event.push(eventTime <= censorTime ? 1 : 0);
  }
  const weight = tf.variable(tf.zeros([1, 1]));
  const xs = tf.tensor2d(x, [n, 1]);
  const optimizer = tf.train.adam(0.1);
  const losses: number[] = [];
  for (let step = 0; step < 60; step++) {
    const loss = optimizer.minimize(() => coxLoss(tf.matMul(xs, weight), time, event, 'efron'), true);
    losses.push(loss!.dataSync()[0]!);
    loss!.dispose();
  }
  const fitted = weight.dataSync()[0]!;
  assert.ok(fitted > 1.1 && fitted < 1.9, `fitted weight ${fitted}`);
  assert.ok(losses.at(-1)! < losses[0]! - 0.1, 'loss must fall');
  tf.dispose([weight, xs]);
  optimizer.dispose();
});
