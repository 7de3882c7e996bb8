import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRng } from '../ml/random.ts';
import { concordanceIndex } from './concordance.ts';

const close = (actual: number, expected: number, tolerance: number, what = ''): void => {
  assert.ok(
    Math.abs(actual - expected) <= tolerance,
    `${what} ${actual} differs from ${expected} by > ${tolerance}`,
  );
};

/** Every ordered pair, straight from the rules of SCIENCE.md §3. */
function bruteForce(risk: number[], time: number[], event: number[]) {
  let strictly = 0;
  let discordant = 0;
  let tiedRisk = 0;
  for (let i = 0; i < risk.length; i++) {
    if (event[i] !== 1) continue;
    for (let j = 0; j < risk.length; j++) {
      const comparable = time[j]! > time[i]! || (time[j] === time[i] && event[j] === 0);
      if (!comparable) continue;
      if (risk[i]! > risk[j]!) strictly++;
      else if (risk[i]! < risk[j]!) discordant++;
      else tiedRisk++;
    }
  }
  return {
    concordant: strictly + 0.5 * tiedRisk,
    discordant,
    tiedRisk,
    comparable: strictly + discordant + tiedRisk,
  };
}

function randomData(n: number, seed: number, distinctTimes: number, distinctRisks: number) {
  const rng = createRng(seed);
  return {
    risk: Array.from({ length: n }, () => rng.int(distinctRisks) / 7),
    time: Array.from({ length: n }, () => 1 + rng.int(distinctTimes)),
    event: Array.from({ length: n }, () => (rng.next() < 0.6 ? 1 : 0)),
  };
}

test('hand-computed case with censoring, an event–censoring time tie and a risk tie', () => {
  // Comparable pairs (shorter-lived first):
  //  row0 (t1, event, .9) vs rows 1–4: 4 concordant
  //  row1 (t2, event, .5) vs row2 (t2 censored, .7): discordant; vs row3 (.5): tied; vs row4 (.1): concordant
  //  row3 (t3, event, .5) vs row4 (t4 censored, .1): concordant
  //  row2 and row4 are censored and never the shorter.  → 6 concordant, 1 discordant, 1 tied, 8 comparable.
  const result = concordanceIndex([0.9, 0.5, 0.7, 0.5, 0.1], [1, 2, 2, 3, 4], [1, 1, 0, 1, 0]);
  assert.deepEqual(result, { cIndex: 6.5 / 8, concordant: 6.5, discordant: 1, tiedRisk: 1, comparable: 8 });
});

test('two events at the same time are not comparable', () => {
  const result = concordanceIndex([1, 2], [5, 5], [1, 1]);
  assert.equal(result.comparable, 0);
  assert.ok(Number.isNaN(result.cIndex));
});

test('matches R survival 3.5-3 concordance(Surv(t, e) ~ r, reverse = TRUE)', () => {
  const t = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4];
  const e = [1, 1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1, 0, 1];
  const r = [
    0.5, -1.2, -0.7, 2, -0.7, 0.1, 1.1, 0.9, 0.9, -2, 0, 0.6, -0.3, 1.5, -1.1, 0.2, 0.8, -0.6, 1.3, -0.9,
  ];
  // R: concordant 81, discordant 69, tied.x 1 (tied.y pairs are the non-comparable ones); C = 0.5397351.
  const result = concordanceIndex(r, t, e);
  assert.equal(result.concordant, 81.5);
  assert.equal(result.discordant, 69);
  assert.equal(result.tiedRisk, 1);
  assert.equal(result.comparable, 151);
  close(result.cIndex, 0.5397351, 1e-7);
});

test('equals the all-pairs count on random data with many time and risk ties', () => {
  for (const [n, seed] of [
    [30, 1],
    [400, 2],
  ] as const) {
    const { risk, time, event } = randomData(n, seed, 12, 9);
    const expected = bruteForce(risk, time, event);
    const actual = concordanceIndex(Float64Array.from(risk), time, event);
    assert.deepEqual(
      {
        concordant: actual.concordant,
        discordant: actual.discordant,
        tiedRisk: actual.tiedRisk,
        comparable: actual.comparable,
      },
      expected,
    );
  }
});

test('perfect ranking gives 1, reversed ranking 0', () => {
  const rng = createRng(5);
  const time = Array.from({ length: 100 }, () => 1 + rng.int(40));
  const event = Array.from({ length: 100 }, () => (rng.next() < 0.5 ? 1 : 0));
  const perfect = concordanceIndex(
    time.map((t) => -t),
    time,
    event,
  );
  // Rows with equal times have equal risks here, but the only comparable equal-time pairs
  // are event vs censoring; break those ties the right way so the ranking is truly perfect.
  const risk = time.map((t, i) => -t + (event[i] === 1 ? 0.5 : 0));
  assert.equal(concordanceIndex(risk, time, event).cIndex, 1);
  assert.ok(perfect.cIndex < 1 && perfect.tiedRisk > 0);
  assert.equal(
    concordanceIndex(
      risk.map((r) => -r),
      time,
      event,
    ).cIndex,
    0,
  );
});

test('unchanged by any strictly increasing transform of the risk', () => {
  const rng = createRng(8);
  const n = 500;
  const risk = Array.from({ length: n }, () => rng.normal());
  const time = Array.from({ length: n }, () => rng.int(50));
  const event = Array.from({ length: n }, () => (rng.next() < 0.7 ? 1 : 0));
  const base = concordanceIndex(risk, time, event);
  const transforms: Array<(x: number) => number> = [
    (x) => Math.exp(x),
    (x) => 3 * x + 7,
    (x) => x ** 3,
    (x) => Math.atan(x),
    (x) => 1 / (1 + Math.exp(-x)),
  ];
  for (const f of transforms) assert.deepEqual(concordanceIndex(risk.map(f), time, event), base);
  // A decreasing transform mirrors it.
  close(
    concordanceIndex(
      risk.map((x) => -x),
      time,
      event,
    ).cIndex,
    1 - base.cIndex,
    1e-12,
  );
});

test('random scores give about 0.5', () => {
  const rng = createRng(12);
  const n = 2000;
  const risk = Array.from({ length: n }, () => rng.next());
  const time = Array.from({ length: n }, () => rng.next() * 100);
  const event = Array.from({ length: n }, () => (rng.next() < 0.6 ? 1 : 0));
  const result = concordanceIndex(risk, time, event);
  close(result.cIndex, 0.5, 0.03);
  assert.ok(result.comparable > 500_000);
});

test('all risks tied give 0.5; all censored give 0 comparable pairs and NaN', () => {
  const tied = concordanceIndex([2, 2, 2, 2], [1, 2, 3, 4], [1, 1, 0, 1]);
  assert.equal(tied.cIndex, 0.5);
  assert.equal(tied.tiedRisk, tied.comparable);
  const censored = concordanceIndex([1, 2, 3], [1, 2, 3], [0, 0, 0]);
  assert.equal(censored.comparable, 0);
  assert.ok(Number.isNaN(censored.cIndex));
  assert.ok(Number.isNaN(concordanceIndex([], [], []).cIndex));
});

test('10,000 rows take well under a second', () => {
  const { risk, time, event } = randomData(10_000, 3, 365, 10_000);
  const started = performance.now();
  const result = concordanceIndex(risk, time, event);
  const elapsed = performance.now() - started;
  assert.ok(elapsed < 1000, `took ${elapsed.toFixed(0)} ms`);
  assert.ok(result.comparable > 10_000_000);
});

test('refuses NaN risks and mismatched lengths, naming the field', () => {
  assert.throws(() => concordanceIndex([1, Number.NaN], [1, 2], [1, 1]), /risk\[1\] is not a finite number/);
  assert.throws(() => concordanceIndex([1, 2, 3], [1, 2], [1, 1]), /'risk' has 3 rows but 'time' has 2/);
});
