import type { CoxTies, NewtonTerms } from './cox-types.ts';

/** Sums over the d_k tied events D_k at one time: Σ w, Σ x w, Σ x xᵀ w (Efron only). */
export interface TiedSums {
  s0: number;
  s1: Float64Array;
  s2: Float64Array;
}

/**
 * Accumulates the denominator part of the log partial likelihood and its
 * derivatives, one event time at a time, from risk-set sums. Both the
 * hospital's stratified terms and the aggregator's pooled (WebDISCO) terms go
 * through here, so the two variants share one formula.
 *
 * With S0, S1, S2 the risk-set sums and T0, T1, T2 the same sums over the d
 * tied events (Efron 1977; Therneau & Grambsch 2000, §3.3):
 *   Breslow: ℓ −= d log S0, ∇ −= d S1/S0, ∇² −= d (S2/S0 − S1 S1ᵀ/S0²);
 *   Efron: for l = 0..d−1 with φ = S − (l/d) T:
 *     ℓ −= log φ0, ∇ −= φ1/φ0, ∇² −= φ2/φ0 − φ1 φ1ᵀ/φ0².
 * The numerator Σ_{events} x·β (and its gradient Σ x) is added by the caller.
 */
export class EventTermsAccumulator {
  logLik = 0;
  readonly gradient: Float64Array;
  readonly hessian: Float64Array;
  private readonly phi1: Float64Array;
  private readonly phi2: Float64Array;

  constructor(
    readonly p: number,
    readonly ties: CoxTies,
  ) {
    this.gradient = new Float64Array(p);
    this.hessian = new Float64Array(p * p);
    this.phi1 = new Float64Array(p);
    this.phi2 = new Float64Array(p * p);
  }

  /** One event time with d ≥ 1 events; `tied` is required for Efron when d > 1. */
  addEventTime(d: number, s0: number, s1: Float64Array, s2: Float64Array, tied: TiedSums | undefined): void {
    if (d <= 0) return;
    if (this.ties === 'breslow' || d === 1 || tied === undefined) {
      if (this.ties === 'efron' && d > 1) throw new Error('Efron ties need the tied-event sums');
      this.addDenominator(d, s0, s1, s2);
      return;
    }
    const { p, phi1, phi2 } = this;
    for (let l = 0; l < d; l++) {
      const fraction = l / d;
      const phi0 = s0 - fraction * tied.s0;
      for (let a = 0; a < p; a++) phi1[a] = s1[a]! - fraction * tied.s1[a]!;
      for (let ab = 0; ab < p * p; ab++) phi2[ab] = s2[ab]! - fraction * tied.s2[ab]!;
      this.addDenominator(1, phi0, phi1, phi2);
    }
  }

  /** Adds `weight` × (−log φ0, −φ1/φ0, −(φ2/φ0 − φ1 φ1ᵀ/φ0²)). */
  private addDenominator(weight: number, phi0: number, phi1: Float64Array, phi2: Float64Array): void {
    const { p, gradient, hessian } = this;
    this.logLik -= weight * Math.log(phi0);
    for (let a = 0; a < p; a++) {
      const meanA = phi1[a]! / phi0;
      gradient[a] = gradient[a]! - weight * meanA;
      for (let b = 0; b < p; b++) {
        const ab = a * p + b;
        hessian[ab] = hessian[ab]! - weight * (phi2[ab]! / phi0 - (meanA * phi1[b]!) / phi0);
      }
    }
  }

  /** Adds the numerator: β·Σ x over the events to ℓ and Σ x to the gradient. */
  finish(beta: Float64Array, eventCovariateSum: Float64Array): NewtonTerms {
    let numerator = 0;
    for (let a = 0; a < this.p; a++) {
      numerator += beta[a]! * eventCovariateSum[a]!;
      this.gradient[a] = this.gradient[a]! + eventCovariateSum[a]!;
    }
    return { logLik: this.logLik + numerator, gradient: this.gradient, hessian: this.hessian };
  }
}
