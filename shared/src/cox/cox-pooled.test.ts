import assert from 'node:assert/strict';
import { test } from 'node:test';
import { centralNewtonTerms, fitCoxCentral } from './cox-central.ts';
import { assertRelative, loadLung, R_AGREEMENT } from './cox-lung-fixture.ts';
import { fitCox } from './cox-newton.ts';
import { combineRiskSetSums, pooledNewtonTerms } from './cox-pooled.ts';
import { R_LUNG } from './cox-r-reference.ts';
import { mergeEventTimes, siteEventTimes, siteRiskSetSums } from './cox-site.ts';
import type { CoxRows, CoxTies } from './cox-types.ts';

const lung = loadLung();

/** WebDISCO: a grid round (each hospital's event times → union), then one risk-set round per Newton step. */
function webDisco(hospitals: readonly CoxRows[], ties: CoxTies) {
  const grid = mergeEventTimes(hospitals.map(siteEventTimes));
  return async (beta: Float64Array) => {
    const replies = await Promise.all(
      hospitals.map(async (rows) => siteRiskSetSums(rows, Float64Array.from(beta), grid, ties)),
    );
    return pooledNewtonTerms(combineRiskSetSums(replies), beta, ties);
  };
}

for (const ties of ['efron', 'breslow'] as const) {
  test(`federated pooled (WebDISCO) ${ties} fit = centralized unstratified fit (1e-9) = R`, async () => {
    const federated = await fitCox(webDisco(lung.hospitals, ties), 3);
    const central = fitCoxCentral(lung.rows, { ties });
    assert.equal(federated.converged, true);
    assert.equal(federated.iterations, central.iterations);
    assertRelative(federated.beta, central.beta, 1e-9, 'β');
    assertRelative(federated.standardErrors, central.standardErrors, 1e-9, 'se');
    assertRelative(federated.logLik, central.logLik, 1e-9, 'ℓ');
    assertRelative(federated.logLikInitial, central.logLikInitial, 1e-9, 'ℓ(0)');

    const reference = R_LUNG.pooled[ties];
    assertRelative(federated.beta, reference.coefficients, R_AGREEMENT, 'β vs R');
    assertRelative(federated.standardErrors, reference.standardErrors, R_AGREEMENT, 'se vs R');
    assertRelative(federated.logLik, reference.logLik, R_AGREEMENT, 'ℓ vs R');
    assertRelative(federated.logLikInitial, reference.logLikInitial, R_AGREEMENT, 'ℓ(0) vs R');
  });

  test(`pooled ${ties} terms from summed sums equal the pooled rows' terms at any β`, async () => {
    const beta = Float64Array.of(0.03, -0.8, 0.2);
    const federated = await webDisco(lung.hospitals, ties)(beta);
    const central = centralNewtonTerms(lung.rows, beta, ties);
    assertRelative(federated.logLik, central.logLik, 1e-12, 'ℓ');
    assertRelative(federated.gradient, central.gradient, 1e-10, '∇ℓ');
    assertRelative(federated.hessian, central.hessian, 1e-10, '∇²ℓ');
  });
}

test('a hospital with no events still counts in the pooled risk sets', async () => {
  const censoredLate: CoxRows = {
    x: [Float64Array.of(60, 1, 1), Float64Array.of(66, 2, 0)],
    time: [400, 900],
    event: [0, 0],
    label: 'H5',
  };
  assert.deepEqual(siteEventTimes(censoredLate), []);
  const beta = Float64Array.of(0.01, -0.5, 0.4);
  const withIt = await webDisco([...lung.hospitals, censoredLate], 'efron')(beta);
  const pooledRows: CoxRows = {
    x: [...(lung.rows.x as Float64Array[]), ...(censoredLate.x as Float64Array[])],
    time: [...Array.from(lung.rows.time), 400, 900],
    event: [...Array.from(lung.rows.event), 0, 0],
  };
  const central = centralNewtonTerms(pooledRows, beta, 'efron');
  assertRelative(withIt.logLik, central.logLik, 1e-12, 'ℓ');
  const without = await webDisco(lung.hospitals, 'efron')(beta);
  assert.notEqual(withIt.logLik, without.logLik);
});

/**
 * What the pooled variant reveals to the aggregator, checked by shape: per
 * global event time K numbers (count, S0), K·p (S1), K·p² (S2), for Efron the
 * same again over the tied events, and one p-vector Σx over all events. Sizes
 * depend on K and p, never on the hospital's row count; nothing is per patient.
 */
test('siteRiskSetSums reveals only aggregates on the global event-time grid (shape check)', () => {
  const grid = mergeEventTimes(lung.hospitals.map(siteEventTimes));
  const K = grid.length;
  const p = 3;
  const beta = Float64Array.of(0.01, -0.5, 0.4);
  for (const ties of ['efron', 'breslow'] as const) {
    for (const hospital of lung.hospitals) {
      const sums = siteRiskSetSums(hospital, beta, grid, ties);
      const expectedKeys = ['eventCount', 'eventCovariateSum', 'p', 's0', 's1', 's2', 'ties', 'times'];
      if (ties === 'efron') expectedKeys.push('tied');
      assert.deepEqual(Object.keys(sums).sort(), expectedKeys.sort());
      assert.deepEqual(sums.times, grid);
      assert.equal(sums.eventCount.length, K);
      assert.equal(sums.eventCovariateSum.length, p);
      assert.equal(sums.s0.length, K);
      assert.equal(sums.s1.length, K * p);
      assert.equal(sums.s2.length, K * p * p);
      if (ties === 'efron') {
        assert.deepEqual(Object.keys(sums.tied!).sort(), ['s0', 's1', 's2']);
        assert.equal(sums.tied!.s0.length, K);
        assert.equal(sums.tied!.s1.length, K * p);
        assert.equal(sums.tied!.s2.length, K * p * p);
      }
      const deaths = Array.from(hospital.event).filter((e) => e === 1).length;
      assert.equal(
        sums.eventCount.reduce((a, b) => a + b, 0),
        deaths,
      );
      // S0 is a risk-set sum: non-increasing in time, and zero past the hospital's last time.
      for (let k = 1; k < K; k++) assert.ok(sums.s0[k]! <= sums.s0[k - 1]!);
      const last = Math.max(...Array.from(hospital.time));
      grid.forEach((t, k) => {
        if (t > last) assert.equal(sums.s0[k], 0);
      });
    }
  }
});

test('Breslow sums carry no tied-event sums; Efron needs them', () => {
  const grid = mergeEventTimes(lung.hospitals.map(siteEventTimes));
  const beta = Float64Array.of(0, 0, 0);
  const breslow = lung.hospitals.map((h) => siteRiskSetSums(h, beta, grid, 'breslow'));
  assert.equal(combineRiskSetSums(breslow).tied, undefined);
  assert.throws(
    () => pooledNewtonTerms(combineRiskSetSums(breslow), beta, 'efron'),
    /computed for breslow ties/,
  );
  const efron = lung.hospitals.map((h) => siteRiskSetSums(h, beta, grid, 'efron'));
  const { tied, ...stripped } = efron[1]!;
  assert.ok(tied);
  assert.throws(() => combineRiskSetSums([efron[0]!, stripped]), /hospital 2: Efron tied-event sums missing/);
});

test('a grid missing a hospital event time, an unsorted grid or mismatched grids are clear errors', () => {
  const beta = Float64Array.of(0, 0, 0);
  const h1 = lung.hospitals[0]!;
  const own = siteEventTimes(h1);
  const missing = Float64Array.from(own.slice(1));
  assert.throws(
    () => siteRiskSetSums(h1, beta, missing, 'efron'),
    /H1: row \d+: its event time is not on the global event-time grid/,
  );
  assert.throws(
    () => siteRiskSetSums(h1, beta, [5, 3], 'efron'),
    /entry 2 is not finite or not strictly increasing/,
  );
  const a = siteRiskSetSums(h1, beta, own, 'breslow');
  const b = siteRiskSetSums(
    lung.hospitals[1]!,
    beta,
    mergeEventTimes([own, siteEventTimes(lung.hospitals[1]!)]),
    'breslow',
  );
  assert.throws(() => combineRiskSetSums([a, b]), /hospital 2: computed on a different event-time grid/);
  assert.throws(() => combineRiskSetSums([]), /no hospital sent risk-set sums/);
});
