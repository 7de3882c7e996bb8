import assert from 'node:assert/strict';
import { test } from 'node:test';
import { combineMetrics } from '../../../../services/aggregator/src/combine-metrics.ts';
import type { HospitalOutcome } from '../../contracts/messages.ts';
import { concordanceIndex } from '../../survival/concordance.ts';
import { coxNegLogPartialLikelihood } from '../../survival/cox-partial-likelihood.ts';
import { createRng } from '../random.ts';
import type { PlanData } from './plan-data.ts';
import { MIN_EVENTS_FOR_METRICS, survivalMetrics } from './survival-metrics.ts';

interface Cohort {
  risk: Float32Array;
  data: PlanData;
}

/** n patients with distinct times (days), the given events, and a noisy risk that tracks early failure. */
function cohort(n: number, events: number, seed: number): Cohort {
  const rng = createRng(seed);
  const target = new Float32Array(2 * n);
  const risk = new Float32Array(n);
  const eventRows = new Set(rng.permutation(n).subarray(0, events));
  const days = rng.permutation(n);
  for (let i = 0; i < n; i++) {
    const time = 10 * (days[i]! + 1) + 5;
    target[2 * i] = time;
    target[2 * i + 1] = eventRows.has(i) ? 1 : 0;
    risk[i] = -time / 100 + 2 * rng.normal();
  }
  return {
    risk,
    data: {
      rows: n,
      tabular: new Float32Array(0),
      tabularWidth: 0,
      images: undefined,
      imageShape: undefined,
      target,
      targetWidth: 2,
    },
  };
}

/**
 * Harrell's pairs counted one by one (times are distinct here): (i, j) is
 * comparable when i fails first, concordant when i also has the higher risk.
 */
function pairCounts({ risk, data }: Cohort): { concordant: number; comparable: number } {
  let concordant = 0;
  let comparable = 0;
  for (let i = 0; i < data.rows; i++) {
    if (data.target[2 * i + 1] !== 1) continue;
    for (let j = 0; j < data.rows; j++) {
      if (data.target[2 * j]! <= data.target[2 * i]!) continue;
      comparable++;
      if (risk[i]! > risk[j]!) concordant++;
      else if (risk[i] === risk[j]) concordant += 0.5;
    }
  }
  return { concordant, comparable };
}

const columns = (c: Cohort) => {
  const time: number[] = [];
  const event: number[] = [];
  for (let i = 0; i < c.data.rows; i++) {
    time.push(c.data.target[2 * i]!);
    event.push(c.data.target[2 * i + 1]!);
  }
  return { time, event };
};

test('cIndex is concordant / comparable, as counted pair by pair and by concordanceIndex', () => {
  const small = cohort(30, 9, 3);
  const metrics = survivalMetrics(small.risk, small.data, 'efron');
  const pairs = pairCounts(small);
  assert.ok(pairs.comparable > 0);
  assert.equal(metrics.events, 9);
  assert.equal(metrics.cIndexConcordant, pairs.concordant);
  assert.equal(metrics.cIndexComparable, pairs.comparable);
  assert.ok(Math.abs(metrics.cIndex! - pairs.concordant / pairs.comparable) < 1e-12);
  const { time, event } = columns(small);
  const reference = concordanceIndex(small.risk, time, event);
  assert.equal(metrics.cIndex, reference.cIndex);
  assert.ok(metrics.cIndex! > 0.5, 'the risk was built to track early failure');
  // The loss is the mean negative partial log-likelihood of the same risks.
  const likelihood = coxNegLogPartialLikelihood(small.risk, time, event, 'efron');
  assert.ok(Math.abs(metrics.loss! - likelihood.mean) < 1e-12);
  assert.ok(metrics.loss! > 0);
  assert.equal(metrics.withheldFewEvents, undefined);
});

test('time-dependent AUCs, when present, are probabilities at the 6- and 12-month horizons', () => {
  const c = cohort(60, 25, 4);
  const metrics = survivalMetrics(c.risk, c.data, 'breslow');
  const keys = Object.keys(metrics).filter((key) => key.startsWith('tdAuc'));
  assert.ok(keys.length > 0, 'events before 182 and 365 days exist, so at least one AUC is defined');
  for (const key of keys) {
    assert.match(key, /^tdAuc(182|365)$/);
    assert.ok(metrics[key]! >= 0 && metrics[key]! <= 1);
  }
});

test(`with fewer than ${MIN_EVENTS_FOR_METRICS} events only the withheld flag comes back`, () => {
  for (const events of [0, 1, MIN_EVENTS_FOR_METRICS - 1]) {
    const few = cohort(40, events, 5);
    assert.deepEqual(survivalMetrics(few.risk, few.data, 'efron'), { withheldFewEvents: 1 });
  }
  const enough = cohort(40, MIN_EVENTS_FOR_METRICS, 5);
  assert.equal(survivalMetrics(enough.risk, enough.data, 'efron').events, MIN_EVENTS_FOR_METRICS);
});

/** A hospital's evaluation reply as the trainer builds it: cIndex → valCIndex, events → valEvents, … */
function outcome(hospital: string, c: Cohort): HospitalOutcome {
  const metrics: Record<string, number> = { valSamples: c.data.rows };
  for (const [name, value] of Object.entries(survivalMetrics(c.risk, c.data, 'efron'))) {
    metrics[`val${name[0]!.toUpperCase()}${name.slice(1)}`] = value;
  }
  return { hospital, status: 'ok', numSamples: 0, metrics };
}

test('survivalMetrics → combineMetrics pools the C-index over pairs within hospitals', () => {
  const a = cohort(40, 12, 6);
  const b = cohort(25, 10, 7);
  const few = cohort(12, 3, 8);
  const combined = combineMetrics([outcome('a', a), outcome('b', b), outcome('c', few)]);
  const pa = pairCounts(a);
  const pb = pairCounts(b);
  const pooled = (pa.concordant + pb.concordant) / (pa.comparable + pb.comparable);
  assert.ok(Math.abs(combined.valCIndex! - pooled) < 1e-12, `${combined.valCIndex} vs ${pooled}`);
  assert.equal(combined.valCIndexComparable, pa.comparable + pb.comparable);
  assert.equal(combined.valEvents, 22, 'the withheld hospital adds no events');
  assert.equal(combined.valWithheldFewEvents, 1);
  assert.equal(combined.valSamples, 40 + 25 + 12);

  // Not the mean of the two C-indexes, nor Harrell's C over the pooled rows (cross-hospital pairs).
  const mean = (pa.concordant / pa.comparable + pb.concordant / pb.comparable) / 2;
  assert.ok(Math.abs(combined.valCIndex! - mean) > 1e-6);
  const all = (part: 'risk' | 'time' | 'event'): number[] =>
    [a, b].flatMap((c) => (part === 'risk' ? [...c.risk] : columns(c)[part]));
  const acrossHospitals = concordanceIndex(all('risk'), all('time'), all('event'));
  assert.ok(acrossHospitals.comparable > pa.comparable + pb.comparable);
  assert.ok(Math.abs(combined.valCIndex! - acrossHospitals.cIndex) > 1e-6);
});
