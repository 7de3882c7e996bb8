import type { SecureAggregationSpec } from '../contracts/experiment-spec.ts';
import type { UpdateProtection } from '../contracts/jobs.ts';
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import { type FixedPointConfig, fixedPointLimits, headroomBits, weightedClipRange } from './fixed-point.ts';
import { defaultThreshold, MIN_SECURE_AGGREGATION_HOSPITALS } from './threshold.ts';

const MAX_SIGNED = 2 ** 31 - 1;

/**
 * The most fraction bits f that keep n hospitals' weighted values in 32 bits:
 * |n_u·w_u| ≤ C = clip · maxSamples, so we need round(C·2^f)·2^⌈log₂ n⌉ ≤ 2^31 − 1
 * (fixed-point.ts). More bits, finer resolution: the average's error bound is
 * n·2^-(f+1) / Σ n_u.
 */
export function chooseFractionBits(
  clip: number,
  maxSamplesPerHospital: number,
  participants: number,
): number {
  const room = MAX_SIGNED / 2 ** headroomBits(participants);
  const range = weightedClipRange(clip, maxSamplesPerHospital);
  let bits = Math.min(30, Math.floor(Math.log2(room / range)));
  while (bits >= 0 && Math.round(range * 2 ** bits) > room) bits--;
  if (bits < 0) {
    throw new FedpetError(
      ErrorCodes.invalidSpec,
      `secureAggregation: clip ${clip} × maxSamplesPerHospital ${maxSamplesPerHospital} does not fit ` +
        `${participants} hospitals in 32-bit words; lower one of them`,
    );
  }
  return bits;
}

/** How this experiment's training rounds protect updates, decided once from its spec. */
export function updateProtectionFor(
  spec: SecureAggregationSpec,
  hospitals: readonly string[],
  parameterCount: number,
): { protection: UpdateProtection; reason: string } {
  if (!spec.enabled) {
    return { protection: { mode: 'sealed' }, reason: 'secure aggregation switched off in the experiment' };
  }
  if (hospitals.length < MIN_SECURE_AGGREGATION_HOSPITALS) {
    return {
      protection: { mode: 'sealed' },
      reason: `secure aggregation needs at least ${MIN_SECURE_AGGREGATION_HOSPITALS} hospitals (this experiment has ${hospitals.length})`,
    };
  }
  const participants = [...hospitals].sort();
  const fractionBits = chooseFractionBits(spec.clip, spec.maxSamplesPerHospital, participants.length);
  return {
    protection: {
      mode: 'secagg',
      participants,
      threshold: spec.threshold ?? defaultThreshold(participants.length),
      clip: spec.clip,
      fractionBits,
      maxSamplesPerHospital: spec.maxSamplesPerHospital,
      phaseTimeoutSeconds: spec.phaseTimeoutSeconds,
      parameterCount,
    },
    reason: `secure aggregation of ${participants.length} hospitals`,
  };
}

/** The fixed-point encoding both ends derive from a round job's protection. */
export function fixedPointOf(protection: Extract<UpdateProtection, { mode: 'secagg' }>): FixedPointConfig {
  const config: FixedPointConfig = {
    clip: weightedClipRange(protection.clip, protection.maxSamplesPerHospital),
    fractionBits: protection.fractionBits,
    participants: protection.participants.length,
    maxSamplesPerHospital: protection.maxSamplesPerHospital,
  };
  fixedPointLimits(config);
  return config;
}
