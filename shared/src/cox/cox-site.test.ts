import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FedpetError } from '../errors/fedpet-error.ts';
import { fitCoxCentral, sumTerms } from './cox-central.ts';
import { assertRelative, loadLung, R_AGREEMENT } from './cox-lung-fixture.ts';
import { fitCox } from './cox-newton.ts';
import { R_LUNG } from './cox-r-reference.ts';
import { siteEventTimes, siteNewtonTerms } from './cox-site.ts';
import type { CoxRows, CoxTies } from './cox-types.ts';

const lung = loadLung();

/** One federated round: every hospital answers asynchronously with its own terms; the aggregator sums. */
function federatedStratifiedTerms(hospitals: readonly CoxRows[], ties: CoxTies) {
  return async (beta: Float64Array) => {
    const replies = await Promise.all(
      hospitals.map(async (rows) => {
        await new Promise((resolve) => setImmediate(resolve));
        return siteNewtonTerms(rows, Float64Array.from(beta), ties);
      }),
    );
    return sumTerms(replies);
  };
}

for (const ties of ['efron', 'breslow'] as const) {
  test(`federated stratified ${ties} fit over 4 pseudo-hospitals = centralized stratified fit (1e-9) = R`, async () => {
    const federated = await fitCox(federatedStratifiedTerms(lung.hospitals, ties), 3);
    const central = fitCoxCentral(lung.rows, { ties, strata: lung.site });
    assertRelative(federated.beta, central.beta, 1e-9, 'β');
    assertRelative(federated.standardErrors, central.standardErrors, 1e-9, 'se');
    assertRelative(federated.logLik, central.logLik, 1e-9, 'ℓ');
    assertRelative(federated.logLikInitial, central.logLikInitial, 1e-9, 'ℓ(0)');
    assert.equal(federated.iterations, central.iterations);

    const reference = R_LUNG.stratified[ties];
    assertRelative(federated.beta, reference.coefficients, R_AGREEMENT, 'β vs R');
    assertRelative(federated.standardErrors, reference.standardErrors, R_AGREEMENT, 'se vs R');
    assertRelative(federated.logLik, reference.logLik, R_AGREEMENT, 'ℓ vs R');
    assertRelative(federated.logLikInitial, reference.logLikInitial, R_AGREEMENT, 'ℓ(0) vs R');
  });
}

test('the stratified fit is not the pooled fit (the sites really are separate strata)', async () => {
  const federated = await fitCox(federatedStratifiedTerms(lung.hospitals, 'efron'), 3);
  assert.ok(Math.abs(federated.beta[2]! - R_LUNG.pooled.efron.coefficients[2]) > 0.05);
});

test('a hospital with no events contributes exactly zero and leaves the fit unchanged', async () => {
  const allCensored: CoxRows = {
    x: [Float64Array.of(61, 1, 0), Float64Array.of(70, 2, 2), Float64Array.of(55, 1, 1)],
    time: [100, 200, 300],
    event: [0, 0, 0],
    label: 'H5',
  };
  for (const ties of ['efron', 'breslow'] as const) {
    const terms = siteNewtonTerms(allCensored, Float64Array.of(0.01, -0.5, 0.4), ties);
    assert.equal(terms.events, 0);
    assert.equal(terms.logLik, 0);
    assert.deepEqual(terms.gradient, new Float64Array(3));
    assert.deepEqual(terms.hessian, new Float64Array(9));
  }
  const empty: CoxRows = { x: new Float64Array(0), time: [], event: [], label: 'H6' };
  assert.equal(siteNewtonTerms(empty, Float64Array.of(0, 0, 0), 'efron').events, 0);
  const withIdle = await fitCox(
    federatedStratifiedTerms([...lung.hospitals, allCensored, empty], 'efron'),
    3,
  );
  const without = await fitCox(federatedStratifiedTerms(lung.hospitals, 'efron'), 3);
  assert.deepEqual(withIdle.beta, without.beta);
});

test('site terms are invariant to the internal exp() shift: huge linear predictors stay finite and exact', () => {
  // Adding 1000 to one covariate adds 1000·β to every η of the stratum; ℓ, ∇ℓ, ∇²ℓ must not change.
  const h1 = lung.hospitals[0]!;
  const shifted: CoxRows = {
    ...h1,
    x: (h1.x as Float64Array[]).map((row) => Float64Array.of(row[0]! + 1000, row[1]!, row[2]!)),
  };
  const beta = Float64Array.of(0.9, -0.5, 0.4);
  const a = siteNewtonTerms(h1, beta, 'efron');
  const b = siteNewtonTerms(shifted, beta, 'efron');
  // ℓ gains Σ_events 1000·β₁ in the numerator and loses the same in the denominators (η up to ~950 here:
  // exp() of it unshifted would overflow).
  assert.ok(Number.isFinite(b.logLik));
  assertRelative(b.logLik, a.logLik, 1e-9, 'ℓ');
  assertRelative(b.gradient, a.gradient, 1e-9, '∇ℓ');
  assertRelative(b.hessian, a.hessian, 1e-7, '∇²ℓ');
});

test('NaN or infinite covariates, times or bad event codes fail with an error naming site, row and field only', () => {
  const beta = Float64Array.of(0, 0);
  const rows = (x: number[][], time = [1, 2], event: (number | boolean)[] = [1, 0]): CoxRows => ({
    x: x.map((r) => Float64Array.from(r)),
    time,
    event,
    label: 'Hôpital A',
    covariateNames: ['suvmax', 'mtv'],
  });
  assert.throws(
    () =>
      siteNewtonTerms(
        rows([
          [1, 2],
          [3, Number.NaN],
        ]),
        beta,
        'efron',
      ),
    (error: unknown) =>
      error instanceof FedpetError &&
      error.code === 'DATASET_INVALID' &&
      /^Hôpital A: row 2: covariate 'mtv' is not a finite number/.test(error.message),
  );
  assert.throws(
    () =>
      siteNewtonTerms(
        rows([
          [Number.POSITIVE_INFINITY, 2],
          [3, 4],
        ]),
        beta,
        'breslow',
      ),
    /row 1: covariate 'suvmax' is not a finite number/,
  );
  assert.throws(
    () =>
      siteNewtonTerms(
        rows(
          [
            [1, 2],
            [3, 4],
          ],
          [1, Number.NaN],
        ),
        beta,
        'efron',
      ),
    /row 2: time is not a finite number/,
  );
  assert.throws(
    () =>
      siteNewtonTerms(
        rows(
          [
            [1, 2],
            [3, 4],
          ],
          [1, 2],
          [1, 2],
        ),
        beta,
        'efron',
      ),
    /row 2: event must be 0 or 1/,
  );
  assert.throws(
    () => siteNewtonTerms(rows([[1, 2], [3]]), beta, 'efron'),
    /row 2 has 1 covariates, expected 2/,
  );
  assert.throws(
    () =>
      siteNewtonTerms(
        rows([
          [1, 2],
          [3, 4],
        ]),
        Float64Array.of(0, Number.NaN),
        'efron',
      ),
    /coefficient 2 of β is not finite/,
  );
  assert.throws(
    () =>
      siteEventTimes(
        rows(
          [
            [1, 2],
            [3, 4],
          ],
          [Number.POSITIVE_INFINITY, 2],
        ),
      ),
    /row 1: time is not a finite number/,
  );
});

test('siteEventTimes lists the distinct death times only, ascending', () => {
  const rows: CoxRows = { x: new Float64Array(6), time: [5, 3, 5, 9, 1, 3], event: [1, 1, 1, 0, 0, true] };
  assert.deepEqual(siteEventTimes(rows), [3, 5]);
  const lungTimes = lung.hospitals.map(siteEventTimes);
  lungTimes.forEach((times, s) => {
    const hospital = lung.hospitals[s]!;
    const deaths = new Set(Array.from(hospital.time).filter((_, i) => hospital.event[i] === 1));
    assert.deepEqual(
      times,
      [...deaths].sort((a, b) => a - b),
    );
  });
});
