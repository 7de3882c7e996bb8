/**
 * The aggregator's side of the pooled (unstratified) exact Cox fit, WebDISCO
 * (Lu et al., JAMIA 2015): it adds the hospitals' risk-set sums at the global
 * event times and evaluates ℓ, ∇ℓ, ∇²ℓ of the pooled partial likelihood from
 * them. Every quantity in the Breslow and Efron formulas is a sum over rows
 * (risk sets, tied events, event covariates), so the sum of the hospitals'
 * sums is exactly the sum over the pooled rows. See cox-site.ts for what the
 * hospitals reveal by sending them.
 */
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import { EventTermsAccumulator } from './cox-event-terms.ts';
import { checkBeta } from './cox-rows.ts';
import type { CoxTies, NewtonTerms, RiskSetSums } from './cox-types.ts';

const mismatch = (message: string): FedpetError => new FedpetError(ErrorCodes.invalidMessage, message);

function add(target: Float64Array, source: Float64Array, what: string, site: number): void {
  if (source.length !== target.length)
    throw mismatch(
      `risk-set sums of hospital ${site + 1}: ${what} has ${source.length} values, expected ${target.length}`,
    );
  for (let i = 0; i < target.length; i++) target[i] = target[i]! + source[i]!;
}

/** Elementwise sum of the hospitals' risk-set sums; they must share the ties method, p and the grid. */
export function combineRiskSetSums(sites: readonly RiskSetSums[]): RiskSetSums {
  const first = sites[0];
  if (first === undefined) throw mismatch('combineRiskSetSums: no hospital sent risk-set sums');
  const { ties, p, times } = first;
  const K = times.length;
  const total: RiskSetSums = {
    ties,
    p,
    times: Float64Array.from(times),
    eventCount: new Float64Array(K),
    eventCovariateSum: new Float64Array(p),
    s0: new Float64Array(K),
    s1: new Float64Array(K * p),
    s2: new Float64Array(K * p * p),
    ...(ties === 'efron'
      ? { tied: { s0: new Float64Array(K), s1: new Float64Array(K * p), s2: new Float64Array(K * p * p) } }
      : {}),
  };
  sites.forEach((site, index) => {
    if (site.ties !== ties || site.p !== p)
      throw mismatch(
        `risk-set sums of hospital ${index + 1}: ties or covariate count differ from hospital 1`,
      );
    if (site.times.length !== K || site.times.some((t, k) => t !== times[k]))
      throw mismatch(`risk-set sums of hospital ${index + 1}: computed on a different event-time grid`);
    add(total.eventCount, site.eventCount, 'eventCount', index);
    add(total.eventCovariateSum, site.eventCovariateSum, 'eventCovariateSum', index);
    add(total.s0, site.s0, 's0', index);
    add(total.s1, site.s1, 's1', index);
    add(total.s2, site.s2, 's2', index);
    if (total.tied) {
      if (!site.tied) throw mismatch(`risk-set sums of hospital ${index + 1}: Efron tied-event sums missing`);
      add(total.tied.s0, site.tied.s0, 'tied.s0', index);
      add(total.tied.s1, site.tied.s1, 'tied.s1', index);
      add(total.tied.s2, site.tied.s2, 'tied.s2', index);
    }
  });
  return total;
}

/** ℓ, ∇ℓ, ∇²ℓ of the pooled partial likelihood at β from the summed risk-set sums. */
export function pooledNewtonTerms(summed: RiskSetSums, beta: Float64Array, ties: CoxTies): NewtonTerms {
  checkBeta(beta, 'pooledNewtonTerms');
  const { p } = summed;
  if (beta.length !== p)
    throw mismatch(`pooledNewtonTerms: β has ${beta.length} coefficients, the sums ${p}`);
  if (summed.ties !== ties)
    throw mismatch(`pooledNewtonTerms: sums were computed for ${summed.ties} ties, not ${ties}`);
  const accumulator = new EventTermsAccumulator(p, ties);
  for (let k = 0; k < summed.times.length; k++) {
    const d = summed.eventCount[k]!;
    if (d === 0) continue;
    const tied = summed.tied;
    accumulator.addEventTime(
      d,
      summed.s0[k]!,
      summed.s1.subarray(k * p, (k + 1) * p),
      summed.s2.subarray(k * p * p, (k + 1) * p * p),
      tied
        ? {
            s0: tied.s0[k]!,
            s1: tied.s1.subarray(k * p, (k + 1) * p),
            s2: tied.s2.subarray(k * p * p, (k + 1) * p * p),
          }
        : undefined,
    );
  }
  return accumulator.finish(beta, summed.eventCovariateSum);
}
