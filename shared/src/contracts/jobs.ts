import { z } from 'zod';
import { blobRefSchema, idSchema, traceCarrierSchema } from './common.ts';
import { experimentSpecSchema, hyperparametersSchema, planSchema } from './experiment-spec.ts';

/** Data of a job on the `experiments` queue. */
export const experimentJobSchema = z.object({
  v: z.string(),
  experimentId: idSchema,
  spec: experimentSpecSchema,
  submittedAt: z.string().datetime(),
  trace: traceCarrierSchema,
});
export type ExperimentJob = z.infer<typeof experimentJobSchema>;

/** Data of a job on a `train.<hospital>` queue. */
export const roundJobSchema = z.object({
  v: z.string(),
  kind: z.enum(['train', 'evaluate']),
  experimentId: idSchema,
  round: z.number().int().nonnegative(),
  hospital: idSchema,
  plan: planSchema,
  dataset: z.string().min(1),
  hyperparameters: hyperparametersSchema,
  seed: z.number().int().nonnegative(),
  validationFraction: z.number().min(0).max(0.9),
  model: blobRefSchema,
  deadline: z.string().datetime(),
  trace: traceCarrierSchema,
});
export type RoundJob = z.infer<typeof roundJobSchema>;

/** What a finished experiment job returns: where its outputs are stored. */
export const experimentResultRefSchema = z.object({
  experimentId: idSchema,
  status: z.enum(['completed', 'failed']),
  model: blobRefSchema.optional(),
  results: blobRefSchema,
});
export type ExperimentResultRef = z.infer<typeof experimentResultRefSchema>;
