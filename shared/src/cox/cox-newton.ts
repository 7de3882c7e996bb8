/**
 * The server side of the exact Cox fit: Newton–Raphson on ℓ(β) with R coxph's
 * iteration rules (survival's coxfit6), so that a federated fit stops where R
 * stops. Each evaluation of the terms is one federated round, so the loop is a
 * generator driven either synchronously (fitCoxSync) or through promises (fitCox).
 */
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import { cholesky, choleskyInverse, choleskySolve, NotPositiveDefiniteError } from './cox-linalg.ts';
import { covariateName } from './cox-rows.ts';
import type { NewtonTerms } from './cox-types.ts';

/** z for a two-sided 95% interval: Φ⁻¹(0.975). */
const Z_975 = 1.959963984540054;

export interface CoxFitOptions {
  /** Newton iterations after the initial evaluation (R's iter.max; default 30). */
  maxIterations?: number;
  /** Stop when |1 − ℓ_old/ℓ_new| ≤ tolerance after a full step (R's eps; default 1e-9). */
  tolerance?: number;
  /** Starting β (default zeros). */
  initialBeta?: Float64Array;
  /** For error messages and results. */
  covariateNames?: readonly string[];
  /** Called after each evaluation, e.g. to log a federated round. */
  onIteration?: (info: { iteration: number; beta: Float64Array; logLik: number; halving: boolean }) => void;
}

export interface CoxFitResult {
  beta: Float64Array;
  standardErrors: Float64Array;
  hazardRatios: Float64Array;
  /** 95% Wald intervals of the hazard ratios: exp(β ± 1.96 se). */
  ci95: [number, number][];
  /** ℓ at the initial β (R's loglik[1]). */
  logLikInitial: number;
  logLik: number;
  iterations: number;
  converged: boolean;
  /** (−∇²ℓ)⁻¹ at β, p×p row-major. */
  covariance: Float64Array;
  /** Gradient at β (near zero when converged). */
  gradient: Float64Array;
}

/** `termsAt` may answer directly or after a federated round. */
export type TermsAt = (beta: Float64Array, evaluation: number) => NewtonTerms | Promise<NewtonTerms>;

function singularError(error: NotPositiveDefiniteError, names: readonly string[] | undefined): FedpetError {
  const name = covariateName(names, error.column);
  return new FedpetError(
    ErrorCodes.trainingFailed,
    `Cox information matrix (−Hessian) is ${error.singular ? 'singular' : 'not positive definite'} at covariate '${name}': ` +
      'the covariates are collinear (a duplicated, constant or linearly dependent column) or one has no spread ' +
      'among the patients at risk; drop or recode it',
  );
}

function negated(hessian: Float64Array): Float64Array {
  return hessian.map((value) => -value);
}

/**
 * One Newton–Raphson step: solves (−H) δ = g by Cholesky of −H and returns β + δ.
 * −H is the observed information; it must be positive definite.
 */
export function newtonStep(
  beta: Float64Array,
  gradient: Float64Array,
  hessian: Float64Array,
  covariateNames?: readonly string[],
): { beta: Float64Array; step: Float64Array } {
  const p = beta.length;
  if (gradient.length !== p || hessian.length !== p * p)
    throw new FedpetError(
      ErrorCodes.invalidMessage,
      `Newton step: gradient has ${gradient.length} and Hessian ${hessian.length} values for ${p} coefficients`,
    );
  let factor: Float64Array;
  try {
    factor = cholesky(negated(hessian), p);
  } catch (error) {
    if (error instanceof NotPositiveDefiniteError) throw singularError(error, covariateNames);
    throw error;
  }
  const step = choleskySolve(factor, p, gradient);
  return { beta: beta.map((value, a) => value + step[a]!), step };
}

function finiteTerms(terms: NewtonTerms, p: number): boolean {
  if (!Number.isFinite(terms.logLik) || terms.gradient.length !== p || terms.hessian.length !== p * p)
    return false;
  return terms.gradient.every(Number.isFinite) && terms.hessian.every(Number.isFinite);
}

function summarize(
  beta: Float64Array,
  terms: NewtonTerms,
  logLikInitial: number,
  iterations: number,
  converged: boolean,
  names: readonly string[] | undefined,
): CoxFitResult {
  const p = beta.length;
  let covariance: Float64Array;
  try {
    covariance = choleskyInverse(cholesky(negated(terms.hessian), p), p);
  } catch (error) {
    if (error instanceof NotPositiveDefiniteError) throw singularError(error, names);
    throw error;
  }
  const standardErrors = Float64Array.from({ length: p }, (_, a) => Math.sqrt(covariance[a * p + a]!));
  return {
    beta,
    standardErrors,
    hazardRatios: beta.map(Math.exp),
    ci95: Array.from(beta, (b, a): [number, number] => [
      Math.exp(b - Z_975 * standardErrors[a]!),
      Math.exp(b + Z_975 * standardErrors[a]!),
    ]),
    logLikInitial,
    logLik: terms.logLik,
    iterations,
    converged,
    covariance,
    gradient: terms.gradient,
  };
}

/** Relative change as in coxfit6: |1 − ℓ_old/ℓ_new| (0 when both are equal, e.g. both 0). */
function relativeChange(oldLogLik: number, newLogLik: number): number {
  return oldLogLik === newLogLik ? 0 : Math.abs(1 - oldLogLik / newLogLik);
}

/**
 * The iteration: yields the β to evaluate next and receives its terms.
 * After a full step the candidate is accepted if ℓ did not decrease, else the
 * step is halved (towards the last accepted β) and evaluated again, as coxfit6
 * does; convergence is tested only after a full step.
 */
function* newtonIterations(
  p: number,
  options: CoxFitOptions,
): Generator<Float64Array, CoxFitResult, NewtonTerms> {
  const maxIterations = options.maxIterations ?? 30;
  const tolerance = options.tolerance ?? 1e-9;
  const names = options.covariateNames;
  if (!Number.isInteger(p) || p < 1)
    throw new FedpetError(ErrorCodes.invalidConfig, 'Cox fit: at least one covariate is needed');
  if (!Number.isInteger(maxIterations) || maxIterations < 0 || !(tolerance > 0))
    throw new FedpetError(
      ErrorCodes.invalidConfig,
      'Cox fit: maxIterations ≥ 0 and tolerance > 0 are required',
    );
  let beta: Float64Array = Float64Array.from(options.initialBeta ?? new Float64Array(p));
  if (beta.length !== p)
    throw new FedpetError(
      ErrorCodes.invalidConfig,
      `Cox fit: initialBeta has ${beta.length} values, not ${p}`,
    );

  let current = yield beta;
  if (!finiteTerms(current, p))
    throw new FedpetError(
      ErrorCodes.trainingFailed,
      'Cox fit: the log-likelihood or its derivatives are not finite at the initial β ' +
        '(exp(x·β) overflows: center or rescale the covariates)',
    );
  const logLikInitial = current.logLik;
  options.onIteration?.({ iteration: 0, beta, logLik: current.logLik, halving: false });
  if (maxIterations === 0) return summarize(beta, current, logLikInitial, 0, false, names);

  let candidate = newtonStep(beta, current.gradient, current.hessian, names).beta;
  let halving = false;
  for (let iteration = 1; ; iteration++) {
    const terms = yield candidate;
    const finite = finiteTerms(terms, p);
    options.onIteration?.({ iteration, beta: candidate, logLik: terms.logLik, halving });
    if (finite && !halving && relativeChange(current.logLik, terms.logLik) <= tolerance)
      return summarize(candidate, terms, logLikInitial, iteration, true, names);
    if (iteration >= maxIterations) {
      // Out of iterations: report the better of the two points we have.
      const takeCandidate = finite && terms.logLik >= current.logLik;
      return summarize(
        takeCandidate ? candidate : beta,
        takeCandidate ? terms : current,
        logLikInitial,
        iteration,
        false,
        names,
      );
    }
    if (!finite || terms.logLik < current.logLik) {
      halving = true;
      candidate = candidate.map((value, a) => (value + beta[a]!) / 2);
    } else {
      halving = false;
      beta = candidate;
      current = terms;
      candidate = newtonStep(beta, current.gradient, current.hessian, names).beta;
    }
  }
}

/** Newton–Raphson with a synchronous `termsAt` (a centralized fit). */
export function fitCoxSync(
  termsAt: (beta: Float64Array, evaluation: number) => NewtonTerms,
  p: number,
  options: CoxFitOptions = {},
): CoxFitResult {
  const iteration = newtonIterations(p, options);
  let request = iteration.next();
  for (let evaluation = 0; !request.done; evaluation++)
    request = iteration.next(termsAt(Float64Array.from(request.value), evaluation));
  return request.value;
}

/** Newton–Raphson where each `termsAt` may be a federated round (sync or async). */
export async function fitCox(
  termsAt: TermsAt,
  p: number,
  options: CoxFitOptions = {},
): Promise<CoxFitResult> {
  const iteration = newtonIterations(p, options);
  let request = iteration.next();
  for (let evaluation = 0; !request.done; evaluation++)
    request = iteration.next(await termsAt(Float64Array.from(request.value), evaluation));
  return request.value;
}
