import { z } from 'zod';
import { idSchema } from './common.ts';

const columnSchema = z.string().min(1);
const hiddenUnitsSchema = z.array(z.number().int().min(1).max(4096)).max(8);
const activationSchema = z.enum(['relu', 'tanh', 'sigmoid']);
/**
 * Fixed input scaling, value → (value − center) / scale, per column. The
 * researcher states the constants (e.g. age center 65, scale 10), so every
 * hospital scales alike and no statistic has to leave a hospital.
 */
const scalingSchema = z
  .record(columnSchema, z.object({ center: z.number(), scale: z.number().positive() }).strict())
  .default({});
/** Progression-free survival by default: time in days and event (1) or censoring (0). */
const survivalFields = {
  time: columnSchema.default('pfs_days'),
  event: columnSchema.default('pfs_event'),
  ties: z.enum(['breslow', 'efron']).default('efron'),
};
const convFiltersSchema = z.array(z.number().int().min(1).max(256)).min(1).max(6);

/** A small multilayer perceptron over named tabular columns. */
export const tabularMlpPlanSchema = z.object({
  kind: z.literal('tabular-mlp'),
  task: z.enum(['binary-classification', 'regression']),
  features: z.array(columnSchema).min(1),
  label: columnSchema,
  hiddenUnits: hiddenUnitsSchema.default([]),
  activation: activationSchema.default('relu'),
  scaling: scalingSchema,
});

/** Linear Cox proportional-hazards model over clinical and radiomic columns, trained by gradient steps. */
export const clinicalCoxPlanSchema = z.object({
  kind: z.literal('clinical-cox'),
  features: z.array(columnSchema).min(1),
  ...survivalFields,
  scaling: scalingSchema,
});

/**
 * 2D CNN on the coronal and sagittal SUV MIPs (two channels), optionally
 * joined by clinical covariates before the risk output; Cox loss. The
 * default imaging plan on CPU.
 */
export const petMipCnnPlanSchema = z.object({
  kind: z.literal('pet-mip-cnn'),
  mipSize: z.number().int().min(16).max(512).default(64),
  filters: convFiltersSchema.default([8, 16, 16]),
  clinicalFeatures: z.array(columnSchema).default([]),
  denseUnits: z.number().int().min(1).max(1024).default(16),
  ...survivalFields,
  scaling: scalingSchema,
});

/** 3D CNN on the SUV (and CT) crops; Cox loss. Meant for GPU workers; runs, slowly, on CPU. */
export const petCt3dCnnPlanSchema = z.object({
  kind: z.literal('pet-ct-3dcnn'),
  cropSize: z.number().int().min(8).max(256).default(32),
  channels: z
    .array(z.enum(['pet', 'ct']))
    .min(1)
    .max(2)
    .default(['pet', 'ct']),
  filters: convFiltersSchema.default([8, 16, 16]),
  clinicalFeatures: z.array(columnSchema).default([]),
  denseUnits: z.number().int().min(1).max(1024).default(16),
  /** Only a GPU worker may train it: a CPU-only hospital then answers NO_GPU_WORKER instead of training for hours. */
  requiresGpu: z.boolean().default(false),
  ...survivalFields,
  scaling: scalingSchema,
});

/** Who responds: RECIST complete/partial response, or durable clinical benefit; binary cross-entropy, AUC. */
export const responseClassifierPlanSchema = z.object({
  kind: z.literal('response-classifier'),
  outcome: z.enum(['recist-response', 'durable-benefit']).default('recist-response'),
  features: z.array(columnSchema).min(1),
  hiddenUnits: hiddenUnitsSchema.default([8]),
  activation: activationSchema.default('relu'),
  scaling: scalingSchema,
});

/**
 * Exact federated Cox regression: Newton–Raphson where every iteration is a
 * round in which hospitals send gradient and Hessian sums (stratified by
 * hospital) or risk-set sums at the global event times (pooled, WebDISCO —
 * which reveals every hospital's event-time grid to the aggregator, so it
 * needs revealEventTimes: true).
 */
export const exactCoxPlanSchema = z.object({
  kind: z.literal('exact-cox'),
  features: z.array(columnSchema).min(1),
  ...survivalFields,
  stratified: z.boolean().default(true),
  revealEventTimes: z.boolean().default(false),
  maxIterations: z.number().int().min(1).max(100).default(30),
  tolerance: z.number().positive().max(1e-2).default(1e-9),
});

export const planSchema = z
  .discriminatedUnion('kind', [
    tabularMlpPlanSchema,
    clinicalCoxPlanSchema,
    petMipCnnPlanSchema,
    petCt3dCnnPlanSchema,
    responseClassifierPlanSchema,
    exactCoxPlanSchema,
  ])
  .superRefine((plan, ctx) => {
    const columns =
      'clinicalFeatures' in plan ? plan.clinicalFeatures : 'features' in plan ? plan.features : [];
    if ('scaling' in plan) {
      for (const name of Object.keys(plan.scaling)) {
        if (!columns.includes(name)) {
          ctx.addIssue({
            code: 'custom',
            path: ['scaling', name],
            message: 'is not one of the plan features',
          });
        }
      }
    }
    if (plan.kind === 'exact-cox' && !plan.stratified && !plan.revealEventTimes) {
      ctx.addIssue({
        code: 'custom',
        path: ['revealEventTimes'],
        message:
          "the pooled (unstratified) fit shares every hospital's event-time grid with the aggregator: set revealEventTimes: true to allow it, or stratified: true",
      });
    }
  });
export type Plan = z.infer<typeof planSchema>;
export type TabularMlpPlan = z.infer<typeof tabularMlpPlanSchema>;
export type ExactCoxPlan = z.infer<typeof exactCoxPlanSchema>;

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
    /** Quorum: a round with fewer answering hospitals fails the experiment (default 1). */
    minHospitals: z.number().int().min(1).optional(),
    /**
     * Stragglers: once minHospitals answered, wait this long for the others,
     * then close the round; later updates are dropped as late. Absent: wait
     * for everyone until roundTimeoutSeconds.
     */
    stragglerGraceSeconds: z.number().nonnegative().max(86400).optional(),
    /** A hospital that failed (or was late) this many rounds is excluded for the rest of the experiment. */
    maxFailuresPerHospital: z.number().int().min(1).optional(),
    /**
     * Updates whose distance to the round's global model exceeds this many
     * times the median distance of the round's updates are rejected (needs 3
     * or more updates; sealed rounds only: masked updates cannot be inspected,
     * secure aggregation clips each value instead). 0 turns the check off.
     */
    updateNormRatio: z.number().nonnegative().default(10),
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
