import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FedpetError } from '../errors/fedpet-error.ts';
import { createRng } from '../ml/random.ts';
import { type CoxTies, coxGradient, coxNegLogPartialLikelihood } from './cox-partial-likelihood.ts';

const close = (actual: number, expected: number, tolerance: number, what = ''): void => {
  assert.ok(
    Math.abs(actual - expected) <= tolerance,
    `${what} ${actual} differs from ${expected} by > ${tolerance}`,
  );
};

/** The formulas of SCIENCE.md §3 written out directly, O(n²), in the naive way (no shifting). */
function bruteForce(eta: number[], time: number[], event: number[], ties: CoxTies): number {
  const eventTimes = [...new Set(time.filter((_, i) => event[i] === 1))];
  let total = 0;
  for (const tk of eventTimes) {
    const deaths = eta.map((_, i) => i).filter((i) => time[i] === tk && event[i] === 1);
    const riskSum = eta.reduce((s, e, j) => (time[j]! >= tk ? s + Math.exp(e) : s), 0);
    const deathSum = deaths.reduce((s, i) => s + Math.exp(eta[i]!), 0);
    const d = deaths.length;
    for (const i of deaths) total -= eta[i]!;
    for (let l = 0; l < d; l++) {
      total += Math.log(riskSum - (ties === 'efron' ? (l / d) * deathSum : 0));
    }
  }
  return total;
}

/** Random data with many tied times (integer times 1..8) and ~30% censoring. */
function tiedData(n: number, seed: number): { eta: number[]; time: number[]; event: number[] } {
  const rng = createRng(seed);
  const eta = Array.from({ length: n }, () => rng.normal());
  const time = Array.from({ length: n }, () => 1 + rng.int(8));
  const event = Array.from({ length: n }, () => (rng.next() < 0.7 ? 1 : 0));
  return { eta, time, event };
}

const eta5 = [0.1, 0.2, 0.3, 0.4, 0.5];

test('SCIENCE.md §3 vector: times 1..5 give summed loss 3.0214, mean 1.0071 (both ties methods)', () => {
  for (const ties of ['breslow', 'efron'] as const) {
    const result = coxNegLogPartialLikelihood(eta5, [1, 2, 3, 4, 5], [1, 0, 1, 0, 1], ties);
    close(result.sum, 3.0213591797, 1e-9, ties);
    close(result.mean, 1.0071197266, 1e-9, ties);
    assert.equal(result.events, 3);
  }
});

test('SCIENCE.md §3 vector: times [1,2,2,4,5] give mean 1.0873 with Breslow AND Efron (the tie is event vs censoring)', () => {
  // The two rows at t = 2 are one censoring and one event: no tied events,
  // so Efron equals Breslow. R survival 3.5-3: coxph(... ~ offset(eta)) gives 3.261952 for both.
  for (const ties of ['breslow', 'efron'] as const) {
    const result = coxNegLogPartialLikelihood(eta5, [1, 2, 2, 4, 5], [1, 0, 1, 0, 1], ties);
    close(result.sum, 3.261951861, 1e-8, ties);
    close(result.mean, 1.087317287, 1e-9, ties);
  }
});

test('tied events: Breslow and Efron differ as R survival says', () => {
  // R survival 3.5-3, -coxph(Surv(t, e) ~ offset(eta), ties = ...)$loglik[1].
  const time = [1, 2, 2, 4, 5];
  const event = [1, 1, 1, 0, 1];
  close(coxNegLogPartialLikelihood(eta5, time, event, 'breslow').sum, 4.804487, 1e-6);
  close(coxNegLogPartialLikelihood(eta5, time, event, 'efron').sum, 4.549488, 1e-6);

  const t20 = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4];
  const e20 = [1, 1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1, 0, 1];
  const x20 = [
    0.5, -1.2, 0.3, 2, -0.7, 0.1, 1.1, -0.4, 0.9, -2, 0, 0.6, -0.3, 1.5, -1.1, 0.2, 0.8, -0.6, 1.3, -0.9,
  ];
  const breslow = coxNegLogPartialLikelihood(x20, t20, e20, 'breslow');
  const efron = coxNegLogPartialLikelihood(x20, t20, e20, 'efron');
  close(breslow.sum, 39.637723186075, 1e-10);
  close(efron.sum, 38.7231361502085, 1e-10);
  assert.equal(efron.events, 15);
});

test('matches the direct formula on random tied data, in any row order', () => {
  const { eta, time, event } = tiedData(120, 7);
  for (const ties of ['breslow', 'efron'] as const) {
    const expected = bruteForce(eta, time, event, ties);
    close(coxNegLogPartialLikelihood(eta, time, event, ties).sum, expected, 1e-9 * Math.abs(expected), ties);
    const reversed = coxNegLogPartialLikelihood(
      [...eta].reverse(),
      Float64Array.from([...time].reverse()),
      [...event].reverse(),
      ties,
    );
    close(reversed.sum, expected, 1e-9 * Math.abs(expected), `${ties} reversed`);
  }
});

test('stable: invariant to shifting η, finite for any spread', () => {
  const { eta, time, event } = tiedData(60, 11);
  for (const ties of ['breslow', 'efron'] as const) {
    const base = coxNegLogPartialLikelihood(eta, time, event, ties).sum;
    const shifted = coxNegLogPartialLikelihood(
      eta.map((e) => e + 1000),
      time,
      event,
      ties,
    ).sum;
    close(shifted, base, 1e-8, ties);
    const wide = coxNegLogPartialLikelihood(
      eta.map((e) => e * 500),
      time,
      event,
      ties,
    );
    assert.ok(Number.isFinite(wide.sum) && wide.sum >= 0, `${ties} wide spread gives ${wide.sum}`);
  }
  // The last risk set holds only η = −900, 900 below the largest η: a single
  // global shift would underflow it to log(0). Exact value: 0 + log(1 + e^−900) ≈ 0.
  const spread = coxNegLogPartialLikelihood([-900, 0], [2, 1], [1, 1], 'breslow');
  close(spread.sum, 0, 1e-12);
});

test('gradient equals central finite differences, and sums to 0 (shift invariance)', () => {
  const { eta, time, event } = tiedData(40, 3);
  const h = 1e-6;
  for (const ties of ['breslow', 'efron'] as const) {
    const gradient = coxGradient(eta, time, event, ties);
    let total = 0;
    for (let i = 0; i < eta.length; i++) {
      const up = [...eta];
      const down = [...eta];
      up[i] = eta[i]! + h;
      down[i] = eta[i]! - h;
      const numeric =
        (coxNegLogPartialLikelihood(up, time, event, ties).sum -
          coxNegLogPartialLikelihood(down, time, event, ties).sum) /
        (2 * h);
      close(gradient[i]!, numeric, 1e-6, `${ties} ∂/∂η[${i}]`);
      total += gradient[i]!;
    }
    close(total, 0, 1e-10, `${ties} Σ gradient`);
    const mean = coxGradient(eta, time, event, ties, 'mean');
    const events = event.reduce((a, b) => a + b, 0);
    close(mean[5]!, gradient[5]! / events, 1e-15, `${ties} mean reduction`);
  }
});

test('Efron gradient differs from Breslow only where events are tied', () => {
  const time = [1, 2, 3];
  const event = [1, 1, 0];
  const b = coxGradient([0.3, -0.2, 0.5], time, event, 'breslow');
  const e = coxGradient([0.3, -0.2, 0.5], time, event, 'efron');
  for (let i = 0; i < 3; i++) close(e[i]!, b[i]!, 1e-15);
});

test('no events: loss 0, mean 0, gradient 0; empty input allowed', () => {
  const result = coxNegLogPartialLikelihood([1, 2, 3], [1, 2, 3], [0, 0, 0], 'efron');
  assert.deepEqual(result, { sum: 0, events: 0, mean: 0 });
  assert.deepEqual([...coxGradient([1, 2, 3], [1, 2, 3], [0, 0, 0], 'efron', 'mean')], [0, 0, 0]);
  assert.deepEqual(coxNegLogPartialLikelihood([], [], [], 'breslow'), { sum: 0, events: 0, mean: 0 });
});

test('bad input is refused with the field and row named, no values', () => {
  assert.throws(
    () => coxNegLogPartialLikelihood([1, 2], [1, 2, 3], [1, 0, 1], 'breslow'),
    (error: unknown) => error instanceof FedpetError && /'eta' has 2 rows/.test(error.message),
  );
  assert.throws(
    () => coxNegLogPartialLikelihood([1, Number.NaN], [1, 2], [1, 0], 'breslow'),
    /eta\[1\] is not a finite number/,
  );
  assert.throws(
    () => coxNegLogPartialLikelihood([1, 2], [1, 2], [1, 2], 'breslow'),
    /event\[1\] must be 0 or 1/,
  );
  assert.throws(
    () => coxNegLogPartialLikelihood([1, 2], [1, Number.POSITIVE_INFINITY], [1, 0], 'breslow'),
    /time\[1\]/,
  );
  assert.throws(() => coxNegLogPartialLikelihood([1], [1], [1], 'exact' as CoxTies), /ties must be/);
});
