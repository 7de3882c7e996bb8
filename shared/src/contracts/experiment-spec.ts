import { z } from 'zod';
import { idSchema } from './common.ts';

/** A small multilayer perceptron over named tabular columns. */
export const tabularMlpPlanSchema = z.object({
  kind: z.literal('tabular-mlp'),
  task: z.enum(['binary-classification', 'regression']),
  features: z.array(z.string().min(1)).min(1),
  label: z.string().min(1),
  hiddenUnits: z.array(z.number().int().min(1).max(4096)).max(8).default([]),
  activation: z.enum(['relu', 'tanh', 'sigmoid']).default('relu'),
  /**
   * Fixed input scaling, value → (value − center) / scale, per feature. The
   * researcher states the constants (e.g. age center 65, scale 10), so every
   * hospital scales alike and no statistic has to leave a hospital.
   */
  scaling: z
    .record(z.string().min(1), z.object({ center: z.number(), scale: z.number().positive() }).strict())
    .default({}),
});

export const planSchema = z.discriminatedUnion('kind', [tabularMlpPlanSchema]).superRefine((plan, ctx) => {
  for (const name of Object.keys(plan.scaling)) {
    if (!plan.features.includes(name)) {
      ctx.addIssue({ code: 'custom', path: ['scaling', name], message: 'is not one of the plan features' });
    }
  }
});
export type Plan = z.infer<typeof planSchema>;

export const hyperparametersSchema = z.object({
  localEpochs: z.number().int().min(1).max(1000).default(1),
  batchSize: z.number().int().min(1).max(65536).default(32),
  learningRate: z.number().positive().max(10).default(0.05),
  optimizer: z.enum(['sgd', 'adam']).default('sgd'),
});
export type Hyperparameters = z.infer<typeof hyperparametersSchema>;

/**
 * Secure aggregation (Bonawitz et al. 2017; SCIENCE.md §5): on by default
 * whenever an experiment has at least 3 hospitals. Each hospital's update is
 * clipped to ±clip per parameter, weighted by its sample count (at most
 * maxSamplesPerHospital) and encoded in fixed point; the aggregator only ever
 * sees masked vectors and their sum. `threshold` (t, default a majority) is
 * how many hospitals must stay until the end of a round. Off, or with fewer
 * than 3 hospitals, each update is sealed to the aggregator's key instead.
 */
export const secureAggregationSchema = z
  .object({
    enabled: z.boolean().default(true),
    threshold: z.number().int().min(2).optional(),
    clip: z.number().positive().max(1e6).default(8),
    maxSamplesPerHospital: z.number().int().positive().max(1_000_000).default(10_000),
    phaseTimeoutSeconds: z.number().positive().max(3600).default(60),
  })
  .strict();
export type SecureAggregationSpec = z.infer<typeof secureAggregationSchema>;

/** What a researcher submits (YAML or JSON). */
export const experimentSpecSchema = z
  .object({
    name: idSchema,
    description: z.string().default(''),
    plan: planSchema,
    dataset: z.string().min(1),
    hospitals: z.array(idSchema).min(1),
    rounds: z.number().int().min(1).max(10000),
    hyperparameters: hyperparametersSchema.default(() => hyperparametersSchema.parse({})),
    aggregation: z.object({ strategy: z.literal('fedavg') }).default({ strategy: 'fedavg' }),
    seed: z.number().int().nonnegative().default(0),
    validationFraction: z.number().min(0).max(0.9).default(0.2),
    roundTimeoutSeconds: z.number().positive().max(86400).default(600),
    minHospitals: z.number().int().min(1).optional(),
    secureAggregation: secureAggregationSchema.default(() => secureAggregationSchema.parse({})),
  })
  .strict()
  .superRefine((spec, ctx) => {
    if (new Set(spec.hospitals).size !== spec.hospitals.length) {
      ctx.addIssue({ code: 'custom', path: ['hospitals'], message: 'hospitals must be unique' });
    }
    const { threshold } = spec.secureAggregation;
    if (
      threshold !== undefined &&
      (threshold > spec.hospitals.length || threshold <= spec.hospitals.length / 2)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['secureAggregation', 'threshold'],
        message: `must be a majority of the ${spec.hospitals.length} hospitals and at most all of them`,
      });
    }
    if (spec.minHospitals !== undefined && spec.minHospitals > spec.hospitals.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['minHospitals'],
        message: 'cannot exceed the number of hospitals',
      });
    }
  });
export type ExperimentSpec = z.infer<typeof experimentSpecSchema>;
