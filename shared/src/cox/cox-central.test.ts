import assert from 'node:assert/strict';
import { test } from 'node:test';
import { centralNewtonTerms, fitCoxCentral } from './cox-central.ts';
import { assertRelative, loadLung, R_AGREEMENT } from './cox-lung-fixture.ts';
import { R_LUNG } from './cox-r-reference.ts';
import { siteNewtonTerms } from './cox-site.ts';
import type { CoxTies } from './cox-types.ts';

const lung = loadLung();
const TIES: CoxTies[] = ['efron', 'breslow'];

test('the lung fixture has the 226 complete rows and 163 deaths of the R reference', () => {
  assert.equal(lung.rows.time.length, R_LUNG.n);
  assert.equal(Array.from(lung.rows.event).filter((e) => e === 1).length, R_LUNG.events);
  assert.deepEqual(
    lung.hospitals.map((h) => h.time.length),
    [36, 59, 65, 66],
  );
});

for (const ties of TIES) {
  test(`centralized ${ties} fit reproduces R coxph on lung (coefficients, SEs, log-likelihoods, iterations)`, () => {
    const reference = R_LUNG.pooled[ties];
    const fit = fitCoxCentral(lung.rows, { ties });
    assert.equal(fit.converged, true);
    assert.equal(fit.iterations, reference.iterations);
    assertRelative(fit.beta, reference.coefficients, R_AGREEMENT, 'β');
    assertRelative(fit.standardErrors, reference.standardErrors, R_AGREEMENT, 'se');
    assertRelative(fit.logLikInitial, reference.logLikInitial, 1e-9, 'ℓ(0)');
    assertRelative(fit.logLik, reference.logLik, 1e-9, 'ℓ(β̂)');
    assertRelative(fit.hazardRatios, reference.coefficients.map(Math.exp), 1e-6, 'HR');
    fit.ci95.forEach(([low, high], a) => {
      const se = reference.standardErrors[a]!;
      const b = reference.coefficients[a]!;
      assertRelative(
        [low, high],
        [Math.exp(b - 1.959963984540054 * se), Math.exp(b + 1.959963984540054 * se)],
        1e-6,
        'ci95',
      );
    });
  });

  test(`centralized stratified ${ties} fit reproduces R coxph + strata(site)`, () => {
    const reference = R_LUNG.stratified[ties];
    const fit = fitCoxCentral(lung.rows, { ties, strata: lung.site });
    assert.equal(fit.iterations, reference.iterations);
    assertRelative(fit.beta, reference.coefficients, R_AGREEMENT, 'β');
    assertRelative(fit.standardErrors, reference.standardErrors, R_AGREEMENT, 'se');
    assertRelative(fit.logLikInitial, reference.logLikInitial, 1e-9, 'ℓ(0)');
    assertRelative(fit.logLik, reference.logLik, 1e-9, 'ℓ(β̂)');
  });
}

test('the SCIENCE.md §3 figures: pooled Efron β = (0.011232, −0.556593, 0.469216), ℓ −739.3750 → −724.1193', () => {
  const fit = fitCoxCentral(lung.rows, { ties: 'efron' });
  for (const [a, b] of [0.011232, -0.556593, 0.469216].entries())
    assert.ok(Math.abs(fit.beta[a]! - b) < 5e-7, `β${a + 1}`);
  assert.ok(Math.abs(fit.logLikInitial - -739.375) < 5e-5);
  assert.ok(Math.abs(fit.logLik - -724.1193) < 5e-5);
});

test('SCIENCE.md §3 loss vectors: η = .1….5, events 1,0,1,0,1 give 3.0214 (times 1..5) and mean 1.0873 (times 1,2,2,4,5)', () => {
  const x = [0.1, 0.2, 0.3, 0.4, 0.5].map((v) => Float64Array.of(v));
  const beta = Float64Array.of(1);
  const event = [1, 0, 1, 0, 1];
  const distinct = siteNewtonTerms({ x, time: [1, 2, 3, 4, 5], event }, beta, 'breslow');
  assert.ok(Math.abs(-distinct.logLik - 3.0214) < 5e-5, String(distinct.logLik));
  const tied = siteNewtonTerms({ x, time: [1, 2, 2, 4, 5], event }, beta, 'efron');
  assert.ok(Math.abs(-tied.logLik / 3 - 1.0873) < 5e-5, String(tied.logLik));
  assert.equal(tied.events, 3);
});

test('tied events: Efron and Breslow differ as the formulas say (hand-computed)', () => {
  // Two deaths at t = 1 among three at risk, one death at t = 2; all weights 1 at β = 0.
  const rows = {
    x: [Float64Array.of(0), Float64Array.of(1), Float64Array.of(2)],
    time: [1, 1, 2],
    event: [1, 1, 1],
  };
  const zero = Float64Array.of(0);
  // Breslow: −2 log 3 − log 1.  Efron: −log 3 − log(3 − ½·2) − log 1.
  assertRelative(siteNewtonTerms(rows, zero, 'breslow').logLik, -2 * Math.log(3), 1e-14, 'Breslow ℓ');
  assertRelative(siteNewtonTerms(rows, zero, 'efron').logLik, -Math.log(3) - Math.log(2), 1e-14, 'Efron ℓ');
  // ∇ℓ = Σx_events − Σ_times means. Efron at t = 1: S1/S0 = 3/3, then (S1 − ½T1)/(S0 − ½T0) = 2.5/2;
  // at t = 2: 2/1. So 3 − (1 + 1.25 + 2) = −1.25; Breslow: 3 − (2·1 + 2) = −1.
  assertRelative(siteNewtonTerms(rows, zero, 'efron').gradient, [-1.25], 1e-14, 'Efron ∇ℓ');
  assertRelative(siteNewtonTerms(rows, zero, 'breslow').gradient, [-1], 1e-14, 'Breslow ∇ℓ');
});

test('lung has tied death times; Efron and Breslow agree exactly once the ties are broken', () => {
  const deathTimes = Array.from(lung.rows.time).filter((_, i) => lung.rows.event[i] === 1);
  assert.ok(new Set(deathTimes).size < deathTimes.length, 'lung should contain tied death times');
  const beta = Float64Array.of(0.01, -0.5, 0.4);
  const efron = centralNewtonTerms(lung.rows, beta, 'efron');
  const breslow = centralNewtonTerms(lung.rows, beta, 'breslow');
  assert.ok(Math.abs(efron.logLik - breslow.logLik) > 0.1);
  // Distinct times (a row-specific jitter far below the one-day resolution) make the two methods identical.
  const untied = { ...lung.rows, time: Array.from(lung.rows.time, (t, i) => t + i * 1e-4) };
  const a = centralNewtonTerms(untied, beta, 'efron');
  const b = centralNewtonTerms(untied, beta, 'breslow');
  assert.equal(a.logLik, b.logLik);
  assert.deepEqual(a.hessian, b.hessian);
});

test('gradient and Hessian are the derivatives of ℓ (central differences, Efron, stratified)', () => {
  const beta = Float64Array.of(0.02, -0.3, 0.6);
  const terms = centralNewtonTerms(lung.rows, beta, 'efron', lung.site);
  const h = 1e-5;
  for (let a = 0; a < 3; a++) {
    const up = Float64Array.from(beta);
    const down = Float64Array.from(beta);
    up[a] = up[a]! + h;
    down[a] = down[a]! - h;
    const plus = centralNewtonTerms(lung.rows, up, 'efron', lung.site);
    const minus = centralNewtonTerms(lung.rows, down, 'efron', lung.site);
    assertRelative([terms.gradient[a]!], [(plus.logLik - minus.logLik) / (2 * h)], 1e-5, `∂ℓ/∂β${a + 1}`);
    for (let b = 0; b < 3; b++)
      assert.ok(
        Math.abs(terms.hessian[a * 3 + b]! - (plus.gradient[b]! - minus.gradient[b]!) / (2 * h)) <
          1e-5 * Math.abs(terms.hessian[a * 3 + b]!) + 1e-6,
        `∂²ℓ/∂β${a + 1}∂β${b + 1}`,
      );
  }
});
