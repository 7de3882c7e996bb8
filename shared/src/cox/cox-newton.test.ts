import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FedpetError } from '../errors/fedpet-error.ts';
import { centralNewtonTerms, fitCoxCentral } from './cox-central.ts';
import { cholesky, choleskyInverse } from './cox-linalg.ts';
import { assertRelative, loadLung } from './cox-lung-fixture.ts';
import { fitCox, fitCoxSync, newtonStep } from './cox-newton.ts';
import type { CoxRows, NewtonTerms } from './cox-types.ts';

const lung = loadLung();

/** ℓ(β) = −½ (β − m)ᵀ A (β − m): one Newton step lands on m. */
function quadratic(m: number[], a: number[]): (beta: Float64Array) => NewtonTerms {
  const p = m.length;
  return (beta) => {
    const diff = Array.from(beta, (b, i) => b - m[i]!);
    const ad = diff.map((_, i) => diff.reduce((sum, d, j) => sum + a[i * p + j]! * d, 0));
    return {
      logLik: -0.5 * diff.reduce((sum, d, i) => sum + d * ad[i]!, 0) - 10,
      gradient: Float64Array.from(ad, (v) => -v),
      hessian: Float64Array.from(a, (v) => -v),
    };
  };
}

test('newtonStep solves (−H) δ = g: one step reaches the maximum of a quadratic', () => {
  const terms = quadratic([1, -2], [4, 1, 1, 3])(Float64Array.of(0, 0));
  const { beta, step } = newtonStep(Float64Array.of(0, 0), terms.gradient, terms.hessian);
  assertRelative(beta, [1, -2], 1e-14, 'β');
  assertRelative(step, [1, -2], 1e-14, 'δ');
  const fit = fitCoxSync(quadratic([1, -2], [4, 1, 1, 3]), 2);
  assert.equal(fit.converged, true);
  assertRelative(fit.covariance, [3 / 11, -1 / 11, -1 / 11, 4 / 11], 1e-14, '(−H)⁻¹');
});

test('Cholesky inverse times the matrix is the identity', () => {
  const a = Float64Array.of(4, 2, 0.5, 2, 5, 1, 0.5, 1, 3);
  const inverse = choleskyInverse(cholesky(a, 3), 3);
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 3; j++) {
      let sum = 0;
      for (let k = 0; k < 3; k++) sum += a[i * 3 + k]! * inverse[k * 3 + j]!;
      assert.ok(Math.abs(sum - (i === j ? 1 : 0)) < 1e-14);
    }
});

test('a duplicated covariate column gives a clear singular-Hessian error naming it', () => {
  const duplicated: CoxRows = {
    ...lung.rows,
    x: (lung.rows.x as Float64Array[]).map((row) => Float64Array.of(row[0]!, row[1]!, row[2]!, row[1]!)),
    covariateNames: ['age', 'sex', 'ph.ecog', 'sex (copy)'],
  };
  assert.throws(
    () => fitCoxCentral(duplicated, { ties: 'efron' }),
    (error: unknown) =>
      error instanceof FedpetError &&
      error.code === 'TRAINING_FAILED' &&
      /information matrix \(−Hessian\) is singular at covariate 'sex \(copy\)'/.test(error.message) &&
      /collinear/.test(error.message),
  );
  const constant: CoxRows = {
    x: (lung.rows.x as Float64Array[]).map((row) => Float64Array.of(row[0]!, 1)),
    time: lung.rows.time,
    event: lung.rows.event,
  };
  assert.throws(() => fitCoxCentral(constant, { ties: 'breslow' }), /singular at covariate 'x2'/);
});

test('a Hessian that is not negative definite is refused', () => {
  assert.throws(
    () => newtonStep(Float64Array.of(0, 0), Float64Array.of(1, 1), Float64Array.of(1, 0, 0, -1)),
    /not positive definite at covariate 'x1'/,
  );
});

test('step halving: an overshooting Newton step is halved until ℓ no longer decreases, then the fit converges', () => {
  // ℓ(β) = −√(1 + β²): from β = 2 the Newton step lands on −β³ = −8 where ℓ is lower.
  const evaluated: number[] = [];
  const halvings: boolean[] = [];
  const fit = fitCoxSync(
    (beta) => {
      const b = beta[0]!;
      evaluated.push(b);
      const r = Math.sqrt(1 + b * b);
      return { logLik: -r, gradient: Float64Array.of(-b / r), hessian: Float64Array.of(-1 / r ** 3) };
    },
    1,
    { initialBeta: Float64Array.of(2), onIteration: ({ halving }) => halvings.push(halving) },
  );
  assert.deepEqual(evaluated.slice(0, 4), [2, -8, -3, -0.5]);
  assert.ok(halvings.includes(true));
  assert.equal(fit.converged, true);
  assert.ok(Math.abs(fit.beta[0]!) < 1e-6);
  assertRelative(fit.logLik, -1, 1e-12, 'ℓ');
  assertRelative(fit.logLikInitial, -Math.sqrt(5), 1e-15, 'ℓ(β₀)');
});

test('an asynchronous termsAt (a federated round) gives the same fit as the synchronous driver', async () => {
  const terms = (beta: Float64Array) => centralNewtonTerms(lung.rows, beta, 'efron');
  const rounds: number[] = [];
  const viaPromise = await fitCox(async (beta, round) => {
    rounds.push(round);
    await new Promise((resolve) => setTimeout(resolve, 1));
    return terms(beta);
  }, 3);
  const direct = fitCoxSync(terms, 3);
  assert.deepEqual(viaPromise.beta, direct.beta);
  assert.deepEqual(rounds, [0, 1, 2, 3]);
  assert.equal(viaPromise.iterations, 3);
});

test('the iteration limit stops the fit unconverged; a non-finite start and a bad start vector are errors', () => {
  const terms = (beta: Float64Array) => centralNewtonTerms(lung.rows, beta, 'breslow');
  const limited = fitCoxSync(terms, 3, { maxIterations: 1 });
  assert.equal(limited.converged, false);
  assert.equal(limited.iterations, 1);
  assert.ok(limited.logLik > limited.logLikInitial);
  assert.throws(
    () =>
      fitCoxSync(
        () => ({ logLik: Number.NaN, gradient: new Float64Array(1), hessian: new Float64Array(1) }),
        1,
      ),
    /not finite at the initial β/,
  );
  assert.throws(
    () => fitCoxSync(terms, 3, { initialBeta: Float64Array.of(0) }),
    /initialBeta has 1 values, not 3/,
  );
  assert.throws(() => fitCoxSync(terms, 0), /at least one covariate/);
});

test('a termsAt that fails mid-fit (a lost round) rejects the fit with its error', async () => {
  await assert.rejects(
    fitCox(async (beta, round) => {
      if (round === 2) throw new FedpetError('ROUND_TIMEOUT', 'round 2: hospital H3 did not answer');
      return centralNewtonTerms(lung.rows, beta, 'efron');
    }, 3),
    /hospital H3 did not answer/,
  );
});
