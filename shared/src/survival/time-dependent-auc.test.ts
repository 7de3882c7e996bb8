import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FedpetError } from '../errors/fedpet-error.ts';
import { rocAuc } from '../ml/metrics.ts';
import { createRng } from '../ml/random.ts';
import { censoringSurvival, censoringSurvivalBefore } from './censoring-survival.ts';
import { timeDependentAuc } from './time-dependent-auc.ts';

const close = (actual: number, expected: number, tolerance: number, what = ''): void => {
  assert.ok(
    Math.abs(actual - expected) <= tolerance,
    `${what} ${actual} differs from ${expected} by > ${tolerance}`,
  );
};

// Hand example. Censorings at t = 2 (5 at risk) and t = 5 (2 at risk):
// Ĝ(2) = 1 − 1/5 = 0.8, Ĝ(5) = 0.8·(1 − 1/2) = 0.4.
// Horizon 4.5: cases rows 0 (t1), 2 (t3), 3 (t4) with weights 1/Ĝ(t−) = 1, 1.25, 1.25;
// controls rows 4 (t5, risk .6) and 5 (t6, risk .1).
const time = [1, 2, 3, 4, 5, 6];
const event = [1, 0, 1, 1, 0, 1];

test('censoring Kaplan–Meier of the hand example', () => {
  const g = censoringSurvival(time, event);
  assert.deepEqual(g.times, [2, 5]);
  close(g.survival[0]!, 0.8, 1e-15);
  close(g.survival[1]!, 0.4, 1e-15);
  assert.equal(censoringSurvivalBefore(g, 2), 1);
  assert.equal(censoringSurvivalBefore(g, 3), g.survival[0]);
  assert.equal(censoringSurvivalBefore(g, 5), g.survival[0]);
  assert.equal(censoringSurvivalBefore(g, 7), g.survival[1]);
  // Events precede censorings at a shared time: the event leaves the censoring risk set.
  const shared = censoringSurvival([1, 1, 2], [1, 0, 1]);
  close(shared.survival[0]!, 1 - 1 / 2, 1e-15);
});

test('hand-computed IPCW example', () => {
  // Case risks .2, .8, .5 beat controls {.6, .1} 1, 2 and 1 times:
  // (1·1 + 1.25·2 + 1.25·1) / ((1 + 1.25 + 1.25)·2) = 4.75 / 7.
  const risk = [0.2, 0.9, 0.8, 0.5, 0.6, 0.1];
  const result = timeDependentAuc(risk, time, event, 4.5);
  assert.equal(result.cases, 3);
  assert.equal(result.controls, 2);
  close(result.auc, 4.75 / 7, 1e-15);
  // A case–control risk tie counts one half: case row 3 at .6 now gives 1.5 → (1 + 2.5 + 1.875) / 7.
  const tied = timeDependentAuc([0.2, 0.9, 0.8, 0.6, 0.6, 0.1], time, event, 4.5);
  close(tied.auc, 5.375 / 7, 1e-15);
  // Ĝ from separate, uncensored data is ≡ 1: the plain 4/6.
  const plain = timeDependentAuc(risk, time, event, 4.5, {
    censoringTime: [1, 2, 3, 9],
    censoringEvent: [1, 1, 1, 1],
  });
  close(plain.auc, 4 / 6, 1e-15);
});

test('perfect ranking gives 1', () => {
  const rng = createRng(2);
  const n = 300;
  const t = Array.from({ length: n }, () => rng.next() * 24);
  const e = Array.from({ length: n }, () => (rng.next() < 0.7 ? 1 : 0));
  for (const horizon of [6, 12, 18]) {
    assert.equal(
      timeDependentAuc(
        t.map((x) => -x),
        t,
        e,
        horizon,
      ).auc,
      1,
    );
  }
});

test('without censoring it equals the plain AUC of (T ≤ t) against the risk', () => {
  const rng = createRng(4);
  const n = 400;
  const x = Array.from({ length: n }, () => rng.normal());
  const t = x.map((xi) => -Math.log(1 - rng.next()) / Math.exp(xi));
  const e = t.map(() => 1);
  for (const horizon of [0.3, 1, 2]) {
    const labels = t.map((ti) => (ti <= horizon ? 1 : 0));
    close(timeDependentAuc(x, t, e, horizon).auc, rocAuc(labels, x)!, 1e-12, `horizon ${horizon}`);
  }
});

test('random scores give about 0.5', () => {
  const rng = createRng(6);
  const n = 2000;
  const t = Array.from({ length: n }, () => rng.next() * 24);
  const e = Array.from({ length: n }, () => (rng.next() < 0.6 ? 1 : 0));
  const risk = Array.from({ length: n }, () => rng.next());
  close(timeDependentAuc(risk, t, e, 12).auc, 0.5, 0.04);
});

test('under independent censoring the IPCW estimate recovers the complete-data AUC', () => {
  // Exponential times with hazard exp(x); uniform censoring that removes ~40% of the rows.
  const rng = createRng(10);
  const n = 4000;
  const x = Array.from({ length: n }, () => rng.normal());
  const trueTime = x.map((xi) => -Math.log(1 - rng.next()) / Math.exp(xi));
  const censorTime = x.map(() => rng.next() * 3);
  const observed = trueTime.map((ti, i) => Math.min(ti, censorTime[i]!));
  const observedEvent = trueTime.map((ti, i) => (ti <= censorTime[i]! ? 1 : 0));
  const horizon = 1;
  const complete = rocAuc(
    trueTime.map((ti) => (ti <= horizon ? 1 : 0)),
    x,
  )!;
  const estimate = timeDependentAuc(x, observed, observedEvent, horizon);
  close(estimate.auc, complete, 0.02, 'IPCW AUC');
  assert.ok(estimate.cases + estimate.controls < n);
});

test('no case or no control gives NaN with the counts', () => {
  const early = timeDependentAuc([1, 2, 3], [5, 6, 7], [1, 1, 1], 2);
  assert.deepEqual({ cases: early.cases, controls: early.controls }, { cases: 0, controls: 3 });
  assert.ok(Number.isNaN(early.auc));
  const late = timeDependentAuc([1, 2, 3], [5, 6, 7], [1, 1, 1], 10);
  assert.ok(Number.isNaN(late.auc));
  assert.equal(late.cases, 3);
});

test('refuses a case beyond the censoring data follow-up, and half-given options', () => {
  // Separate censoring data end with a censoring at 3: Ĝ(4−) = 0.
  assert.throws(
    () =>
      timeDependentAuc([1, 2, 3], [4, 1, 9], [1, 1, 0], 5, {
        censoringTime: [1, 2, 3],
        censoringEvent: [1, 1, 0],
      }),
    (error: unknown) => error instanceof FedpetError && /row 0 .* shorter horizon/.test(error.message),
  );
  assert.throws(() => timeDependentAuc([1], [1], [1], 1, { censoringTime: [1] }), /given together/);
  assert.throws(() => timeDependentAuc([1], [1], [1], Number.NaN), /horizon is not a finite number/);
});
