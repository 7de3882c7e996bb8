import { z } from 'zod';
import { blobRefSchema, idSchema, traceCarrierSchema } from './common.ts';
import { experimentSpecSchema, hyperparametersSchema, planSchema } from './experiment-spec.ts';

/** Data of a job on the `experiments` queue. */
export const experimentJobSchema = z.object({
  v: z.string(),
  experimentId: idSchema,
  spec: experimentSpecSchema,
  submittedAt: z.string().datetime(),
  /**
   * Start from a stored round of an earlier experiment (a breakpoint): its
   * global model after that round and its round records up to it.
   */
  resumeFrom: z.object({ experimentId: idSchema, round: z.number().int().nonnegative() }).optional(),
  trace: traceCarrierSchema,
});
export type ExperimentJob = z.infer<typeof experimentJobSchema>;

/**
 * How a training round protects updates on their way to the aggregator:
 * `secagg` (masked, Bonawitz et al. 2017) with the round's participants,
 * threshold and fixed-point encoding, or `sealed` (each update encrypted to
 * the aggregator's X25519 key, AES-256-GCM).
 */
export const updateProtectionSchema = z.discriminatedUnion('mode', [
  z.object({
    mode: z.literal('secagg'),
    participants: z.array(idSchema).min(3),
    threshold: z.number().int().min(2),
    clip: z.number().positive(),
    fractionBits: z.number().int().min(0).max(30),
    maxSamplesPerHospital: z.number().int().positive(),
    phaseTimeoutSeconds: z.number().positive(),
    /** Parameters of the model (the masked vector has two more words: n_u and the clip count). */
    parameterCount: z.number().int().positive(),
  }),
  z.object({ mode: z.literal('sealed') }),
]);
export type UpdateProtection = z.infer<typeof updateProtectionSchema>;

/** Data of a job on a `train.<hospital>` queue. */
/**
 * One exact-Cox round (plan exact-cox): the hospital's distinct event times
 * (pooled fit, once), or at the given β its Newton terms (stratified) or its
 * risk-set sums at the global event times (pooled).
 */
export const coxStepSchema = z.discriminatedUnion('step', [
  z.object({ step: z.literal('event-times') }),
  z.object({ step: z.literal('terms'), beta: z.array(z.number()) }),
  z.object({ step: z.literal('risk-sums'), beta: z.array(z.number()), eventTimes: z.array(z.number()) }),
]);
export type CoxStep = z.infer<typeof coxStepSchema>;

export const roundJobSchema = z.object({
  v: z.string(),
  kind: z.enum(['train', 'evaluate', 'cox']),
  experimentId: idSchema,
  round: z.number().int().nonnegative(),
  /** The round's attempt: above 0 after the aggregator restarted the round (envelope.ts). */
  attempt: z.number().int().nonnegative().default(0),
  hospital: idSchema,
  plan: planSchema,
  dataset: z.string().min(1),
  hyperparameters: hyperparametersSchema,
  seed: z.number().int().nonnegative(),
  validationFraction: z.number().min(0).max(0.9),
  model: blobRefSchema,
  deadline: z.string().datetime(),
  /** Training rounds only: how the update is protected. */
  protection: updateProtectionSchema.optional(),
  /** Exact-Cox rounds only: what to compute. */
  cox: coxStepSchema.optional(),
  trace: traceCarrierSchema,
});
export type RoundJob = z.infer<typeof roundJobSchema>;
/** A round job as posted (fields with defaults may be left out). */
export type RoundJobInput = z.input<typeof roundJobSchema>;

/** What a finished experiment job returns: where its outputs are stored. */
export const experimentResultRefSchema = z.object({
  experimentId: idSchema,
  status: z.enum(['completed', 'failed']),
  model: blobRefSchema.optional(),
  results: blobRefSchema,
});
export type ExperimentResultRef = z.infer<typeof experimentResultRefSchema>;
