import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import type { CoxTies, RiskSetSums, SiteNewtonTerms } from './cox-types.ts';

/**
 * Exact-Cox round payloads as little-endian float64 vectors (sealed to the
 * aggregator on the way): full double precision, so the federated fit
 * matches a centralized one to 1e-9, not to float32's 1e-7.
 */
const bytesOf = (values: Float64Array): Uint8Array =>
  new Uint8Array(values.buffer, values.byteOffset, values.byteLength);

function float64s(bytes: Uint8Array, what: string): Float64Array {
  if (bytes.byteLength % 8 !== 0)
    throw new FedpetError(ErrorCodes.invalidMessage, `${what}: not a float64 vector`);
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  const values = new Float64Array(copy.buffer);
  if (!values.every(Number.isFinite))
    throw new FedpetError(ErrorCodes.invalidMessage, `${what}: NaN or infinite values`);
  return values;
}

/** [logLik, events, gradient (p), Hessian (p×p)]. */
export function encodeTerms(terms: SiteNewtonTerms): Uint8Array {
  const p = terms.gradient.length;
  const out = new Float64Array(2 + p + p * p);
  out[0] = terms.logLik;
  out[1] = terms.events;
  out.set(terms.gradient, 2);
  out.set(terms.hessian, 2 + p);
  return bytesOf(out);
}

export function decodeTerms(bytes: Uint8Array, p: number, what: string): SiteNewtonTerms {
  const values = float64s(bytes, what);
  if (values.length !== 2 + p + p * p) {
    throw new FedpetError(
      ErrorCodes.invalidMessage,
      `${what}: ${values.length} values, expected ${2 + p + p * p} for ${p} covariates`,
    );
  }
  return {
    logLik: values[0]!,
    events: values[1]!,
    gradient: values.slice(2, 2 + p),
    hessian: values.slice(2 + p),
  };
}

export function encodeEventTimes(times: readonly number[]): Uint8Array {
  return bytesOf(Float64Array.from(times));
}

export function decodeEventTimes(bytes: Uint8Array, what: string): number[] {
  return [...float64s(bytes, what)];
}

/** eventCount (K), eventCovariateSum (p), s0 (K), s1 (K·p), s2 (K·p²), then for Efron the tied s0, s1, s2. */
export function encodeRiskSetSums(sums: RiskSetSums): Uint8Array {
  const parts = [sums.eventCount, sums.eventCovariateSum, sums.s0, sums.s1, sums.s2];
  if (sums.ties === 'efron') {
    if (!sums.tied)
      throw new FedpetError(ErrorCodes.internal, 'Efron risk-set sums need the tied-event sums');
    parts.push(sums.tied.s0, sums.tied.s1, sums.tied.s2);
  }
  const out = new Float64Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return bytesOf(out);
}

export function decodeRiskSetSums(
  bytes: Uint8Array,
  times: readonly number[],
  p: number,
  ties: CoxTies,
  what: string,
): RiskSetSums {
  const values = float64s(bytes, what);
  const K = times.length;
  const block = K + K * p + K * p * p;
  const expected = K + p + block + (ties === 'efron' ? block : 0);
  if (values.length !== expected) {
    throw new FedpetError(
      ErrorCodes.invalidMessage,
      `${what}: ${values.length} values, expected ${expected}`,
    );
  }
  let at = 0;
  const take = (n: number) => {
    const part = values.slice(at, at + n);
    at += n;
    return part;
  };
  const sums: RiskSetSums = {
    ties,
    p,
    times: Float64Array.from(times),
    eventCount: take(K),
    eventCovariateSum: take(p),
    s0: take(K),
    s1: take(K * p),
    s2: take(K * p * p),
  };
  if (ties === 'efron') sums.tied = { s0: take(K), s1: take(K * p), s2: take(K * p * p) };
  return sums;
}
