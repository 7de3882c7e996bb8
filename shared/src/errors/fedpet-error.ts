/**
 * One base class for every error fedpet raises on purpose. `code` is stable
 * (it travels in error replies and metrics); `retryable` tells job runners
 * whether another attempt can succeed (non-retryable maps to BullMQ's
 * UnrecoverableError).
 */
export class FedpetError extends Error {
  readonly code: string;
  readonly retryable: boolean;

  constructor(code: string, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FedpetError';
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

/** Stable error codes. Add, never rename: they are part of the wire contract. */
export const ErrorCodes = {
  invalidMessage: 'INVALID_MESSAGE',
  unsupportedVersion: 'UNSUPPORTED_VERSION',
  messageTooLarge: 'MESSAGE_TOO_LARGE',
  integrity: 'INTEGRITY_ERROR',
  invalidSpec: 'INVALID_SPEC',
  invalidConfig: 'INVALID_CONFIG',
  datasetMissing: 'DATASET_MISSING',
  datasetInvalid: 'DATASET_INVALID',
  brokerUnavailable: 'BROKER_UNAVAILABLE',
  blobMissing: 'BLOB_MISSING',
  trainingFailed: 'TRAINING_FAILED',
  roundTimeout: 'ROUND_TIMEOUT',
  noUpdates: 'NO_UPDATES',
  cancelled: 'CANCELLED',
  internal: 'INTERNAL',
  /** Fewer than t hospitals remain for a secure-aggregation phase: the round ends, nothing is reconstructed. */
  secaggThresholdNotMet: 'SECAGG_THRESHOLD_NOT_MET',
  /** A secure-aggregation message out of phase, from outside the round, or contradicting earlier ones. */
  secaggProtocolViolation: 'SECAGG_PROTOCOL_VIOLATION',
  /** A signature did not verify, or no key is known for its signer. */
  secaggBadSignature: 'SECAGG_BAD_SIGNATURE',
  /** The plan needs a GPU worker and this hospital's worker has none. */
  noGpuWorker: 'NO_GPU_WORKER',
  /** A hospital left a secure-aggregation round early; the round went on without it. */
  secaggDropped: 'SECAGG_DROPPED',
  /** The hospital's policy requires secure aggregation and the job does not use it. */
  secaggRequired: 'SECAGG_REQUIRED',
  /** The aggregator restarted this round (after a crash): the old attempt's work is abandoned. */
  roundRestarted: 'ROUND_RESTARTED',
  /** The update arrived after the round closed on quorum plus grace: dropped. */
  lateUpdate: 'LATE_UPDATE',
  /** The hospital failed maxFailuresPerHospital rounds: it is not asked again in this experiment. */
  hospitalExcluded: 'HOSPITAL_EXCLUDED',
  /** The update's distance to the global model is far outside the round's (updateNormRatio × median). */
  updateNormOutOfBounds: 'UPDATE_NORM_OUT_OF_BOUNDS',
  /** An update for a round that is already closed (or never opened). */
  roundClosed: 'ROUND_CLOSED',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Turns anything thrown into a code and a one-line reason, never a stack trace. */
export function describeError(error: unknown): { code: string; reason: string; retryable: boolean } {
  if (error instanceof FedpetError)
    return { code: error.code, reason: error.message, retryable: error.retryable };
  if (error instanceof Error) return { code: ErrorCodes.internal, reason: error.message, retryable: true };
  return { code: ErrorCodes.internal, reason: String(error), retryable: true };
}
