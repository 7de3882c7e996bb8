import { ErrorCodes } from '../errors/fedpet-error.ts';

/** Error codes specific to secure aggregation (stable strings, defined with the others in ErrorCodes). */
export const SecaggErrorCodes = {
  /** Fewer than t hospitals remain for a phase: the round ends, nothing is reconstructed. */
  thresholdNotMet: ErrorCodes.secaggThresholdNotMet,
  /** A message arrived out of phase, from a hospital not in the round, or contradicts earlier ones. */
  protocolViolation: ErrorCodes.secaggProtocolViolation,
  /** A signature did not verify, or no key is known for its signer. */
  badSignature: ErrorCodes.secaggBadSignature,
} as const;
