/**
 * Fixed-point encoding of model updates into Z_{2^32}, the group in which
 * masks are added and cancel (Bonawitz et al. 2017 §3: inputs are vectors
 * over Z_R; here R = 2^32, as Flower's SecAgg+ and Fed-BioMed's LOM use).
 *
 * q(x) = round(clip(x, ±C) · 2^f), stored in two's complement. Decoding reads
 * each word of the unmasked sum as a signed 32-bit integer and divides by
 * 2^f. That is exact as long as the true sum of n encoded values stays in
 * [−2^31, 2^31): each |q| ≤ round(C·2^f) =: Q, so we demand
 * Q · 2^⌈log₂ n⌉ ≤ 2^31 − 1 — ⌈log₂ n⌉ bits of headroom (SCIENCE.md §5) —
 * and refuse any configuration that does not leave them.
 *
 * Weighted FedAvg under masking (SCIENCE.md §5, as Flower's SecAgg+): each
 * hospital u encodes [n_u·w_u … , n_u, clipped_u], where n_u is its sample
 * count (a plain integer, not scaled) and clipped_u how many of its values
 * were clipped (also plain). After unmasking, the server divides the first
 * slots by Σ n_u and learns only the total clip count, never a hospital's.
 *
 * Clipping range of weighted values: C bounds n_u·w_u, not w_u. To bound the
 * parameters themselves by C_w, choose C = C_w · N_max (weightedClipRange) with
 * N_max ≥ every n_u: a hospital whose values lie in ±C_w is then never
 * clipped, at the price of f bits of resolution on n_u·w_u — which the final
 * division by Σ n_u turns back into a finer resolution on the average (see
 * weightedQuantisationErrorBound). Clipping n_u·w_u rather than w_u also
 * caps any one hospital's influence on the sum at C per parameter.
 */
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';

const MAX_SIGNED = 2 ** 31 - 1;

export interface FixedPointConfig {
  /** Clipping range C: each encoded value is clipped to [−C, C]. */
  clip: number;
  /** Fraction bits f: resolution 2^-f. */
  fractionBits: number;
  /** Number of hospitals n whose encodings are summed. */
  participants: number;
  /** Largest sample count n_u a hospital may declare (weighted encoding); default: whatever the headroom allows. */
  maxSamplesPerHospital?: number;
}

export interface FixedPointLimits {
  /** ⌈log₂ n⌉. */
  headroomBits: number;
  /** Q = round(C·2^f), the largest |encoded value|. */
  maxMagnitude: number;
  /** The largest value a plain-integer slot (sample count, clip count) may hold so n of them still fit. */
  maxIntegerSlot: number;
  /** 2^f. */
  scale: number;
}

export function headroomBits(participants: number): number {
  return participants <= 1 ? 0 : Math.ceil(Math.log2(participants));
}

/** Checks the configuration and returns its derived limits; throws a clear invalidConfig otherwise. */
export function fixedPointLimits(config: FixedPointConfig): FixedPointLimits {
  const { clip, fractionBits, participants } = config;
  if (!Number.isInteger(participants) || participants < 1) {
    throw new FedpetError(ErrorCodes.invalidConfig, 'fixed point: participants must be a positive integer');
  }
  if (!Number.isInteger(fractionBits) || fractionBits < 0 || fractionBits > 30) {
    throw new FedpetError(ErrorCodes.invalidConfig, 'fixed point: fractionBits must be an integer in 0..30');
  }
  if (!Number.isFinite(clip) || clip <= 0) {
    throw new FedpetError(
      ErrorCodes.invalidConfig,
      'fixed point: clip range must be a positive finite number',
    );
  }
  const bits = headroomBits(participants);
  const scale = 2 ** fractionBits;
  const maxMagnitude = Math.round(clip * scale);
  const maxIntegerSlot = Math.floor(MAX_SIGNED / 2 ** bits);
  if (maxMagnitude > maxIntegerSlot) {
    const largestClip = maxIntegerSlot / scale;
    throw new FedpetError(
      ErrorCodes.invalidConfig,
      `fixed point: clip ${clip} with ${fractionBits} fraction bits leaves no room for the sum of ` +
        `${participants} hospitals in 32 bits (needs ${bits} bits of headroom): lower the clip range to ` +
        `at most ${largestClip} or use fewer fraction bits`,
    );
  }
  const maxSamples = config.maxSamplesPerHospital;
  if (
    maxSamples !== undefined &&
    (!Number.isInteger(maxSamples) || maxSamples < 1 || maxSamples > maxIntegerSlot)
  ) {
    throw new FedpetError(
      ErrorCodes.invalidConfig,
      `fixed point: maxSamplesPerHospital must be an integer in 1..${maxIntegerSlot} for ${participants} hospitals`,
    );
  }
  return { headroomBits: bits, maxMagnitude, maxIntegerSlot, scale };
}

/**
 * Largest absolute error of the decoded plain average of n hospitals' values
 * (each within ±C): rounding moves each encoded value by at most ½·2^-f, the
 * modular sum is exact thanks to the headroom, so the sum is off by at most
 * n·½·2^-f and the average by n·½·2^-f / n = 2^-(f+1). Clipped values are
 * compared after clipping.
 */
export function quantisationErrorBound(participants: number, fractionBits: number): number {
  return (participants * 0.5 * 2 ** -fractionBits) / participants;
}

/**
 * The same for the weighted average Σ n_u·w_u / Σ n_u: the numerator is off by
 * at most n·½·2^-f and the denominator is an exact integer.
 */
export function weightedQuantisationErrorBound(
  participants: number,
  fractionBits: number,
  totalSamples: number,
): number {
  return (participants * 0.5 * 2 ** -fractionBits) / totalSamples;
}

/** C for weighted values such that parameters within ±valueClip are never clipped for n_u ≤ maxSamples. */
export function weightedClipRange(valueClip: number, maxSamplesPerHospital: number): number {
  return valueClip * maxSamplesPerHospital;
}

function encodeInto(
  values: ArrayLike<number>,
  multiplier: number,
  clip: number,
  scale: number,
  out: Int32Array,
  what: string,
): number {
  let clipped = 0;
  for (let i = 0; i < values.length; i++) {
    let v = values[i]! * multiplier;
    if (!Number.isFinite(v)) {
      throw new FedpetError(ErrorCodes.invalidMessage, `${what}: value at index ${i} is not finite`);
    }
    if (v > clip) {
      v = clip;
      clipped++;
    } else if (v < -clip) {
      v = -clip;
      clipped++;
    }
    // Int32Array stores two's complement, i.e. the residue mod 2^32 read through a Uint32Array view.
    out[i] = Math.round(v * scale);
  }
  return clipped;
}

/** q(x) for each value; `out` (optional) receives the words. */
export function encodeFixedPoint(
  values: ArrayLike<number>,
  config: FixedPointConfig,
  out: Uint32Array = new Uint32Array(values.length),
): { encoded: Uint32Array; clipped: number } {
  const { scale } = fixedPointLimits(config);
  if (out.length !== values.length) {
    throw new FedpetError(ErrorCodes.invalidMessage, 'fixed point: output length differs from input length');
  }
  const signed = new Int32Array(out.buffer, out.byteOffset, out.length);
  const clipped = encodeInto(values, 1, config.clip, scale, signed, 'update');
  return { encoded: out, clipped };
}

/** Σ words read as signed integers over 2^f, divided by `divisor`. */
export function decodeFixedPointSum<T extends Float32Array | Float64Array>(
  sum: Uint32Array,
  config: FixedPointConfig,
  divisor: number,
  out: T,
): T {
  const { scale } = fixedPointLimits(config);
  if (out.length > sum.length) {
    throw new FedpetError(ErrorCodes.invalidMessage, 'fixed point: output longer than the sum');
  }
  const signed = new Int32Array(sum.buffer, sum.byteOffset, sum.length);
  const factor = scale * divisor;
  for (let i = 0; i < out.length; i++) out[i] = signed[i]! / factor;
  return out;
}

/** Length of a weighted encoding: the parameters, then n_u, then the clip count. */
export function weightedVectorLength(parameterCount: number): number {
  return parameterCount + 2;
}

/** [n_u·w_u clipped to ±C and scaled …, n_u, clipped_u] — what a hospital masks. */
export function encodeWeightedUpdate(
  values: ArrayLike<number>,
  numSamples: number,
  config: FixedPointConfig,
  out: Uint32Array = new Uint32Array(weightedVectorLength(values.length)),
): { encoded: Uint32Array; clipped: number } {
  const limits = fixedPointLimits(config);
  const maxSamples = config.maxSamplesPerHospital ?? limits.maxIntegerSlot;
  if (!Number.isInteger(numSamples) || numSamples < 1 || numSamples > maxSamples) {
    throw new FedpetError(
      ErrorCodes.invalidMessage,
      `weighted update: sample count must be an integer in 1..${maxSamples}`,
    );
  }
  if (out.length !== weightedVectorLength(values.length)) {
    throw new FedpetError(ErrorCodes.invalidMessage, 'weighted update: output length must be parameters + 2');
  }
  const signed = new Int32Array(out.buffer, out.byteOffset, out.length);
  const clipped = encodeInto(values, numSamples, config.clip, limits.scale, signed, 'weighted update');
  signed[values.length] = numSamples;
  // The clip count saturates where n of them would overflow; the report then says "at least".
  signed[values.length + 1] = Math.min(clipped, limits.maxIntegerSlot);
  return { encoded: out, clipped };
}

export interface WeightedAverage<T extends Float32Array | Float64Array> {
  average: T;
  totalSamples: number;
  /** Σ clipped_u over the hospitals in the sum (a lower bound if any hospital's count saturated). */
  clippedValues: number;
}

/** Σ(n_u·w_u)/Σ n_u from the unmasked sum of weighted encodings. */
export function decodeWeightedSum<T extends Float32Array | Float64Array>(
  sum: Uint32Array,
  config: FixedPointConfig,
  out: T,
): WeightedAverage<T> {
  if (sum.length !== weightedVectorLength(out.length)) {
    throw new FedpetError(ErrorCodes.invalidMessage, 'weighted sum: length must be parameters + 2');
  }
  const signed = new Int32Array(sum.buffer, sum.byteOffset, sum.length);
  const totalSamples = signed[out.length]!;
  const clippedValues = signed[out.length + 1]!;
  if (totalSamples < 1 || clippedValues < 0) {
    throw new FedpetError(
      ErrorCodes.integrity,
      'weighted sum: the sample-count or clip-count slot is out of range (masks did not cancel)',
    );
  }
  decodeFixedPointSum(sum, config, totalSamples, out);
  return { average: out, totalSamples, clippedValues };
}
