import { z } from 'zod';
import { blobRefSchema, idSchema, metricsSchema, sha256Schema } from './common.ts';

/** Message types on the bus, and where they are published. */
export const MessageTypes = {
  nodeStatus: 'node.status',
  modelAnnouncement: 'model.announcement',
  update: 'update',
  progress: 'progress',
  error: 'error',
  secagg: 'secagg',
} as const;

/** A trainer's heartbeat: what it can do, never what it holds in detail. */
export const nodeStatusSchema = z.object({
  hospital: idSchema,
  workerId: z.string().min(1),
  state: z.enum(['ready', 'busy', 'stopping']),
  capabilities: z.object({
    backend: z.string(),
    gpu: z.object({ available: z.boolean(), device: z.string().optional() }),
    cpus: z.number().int().positive(),
    /** Threads one round job trains on (data-parallel); absent from trainers before it was reported. */
    trainThreads: z.number().int().positive().optional(),
  }),
  /** Counts and shapes only. Counts below 5 are reported as "<5". */
  datasets: z.array(
    z.object({
      name: z.string(),
      kind: z.string(),
      /** Rows of a table, or usable patients of a PET-CT dataset. */
      rows: z.union([z.number().int().min(5), z.literal('<5')]),
      columns: z.number().int().nonnegative(),
      tags: z.array(z.string()).optional(),
      /** Progression events among the usable patients (PET-CT datasets). */
      events: z.union([z.number().int().min(5), z.literal('<5')]).optional(),
      /** Shapes of each patient's fixed-size arrays, e.g. { mip: [2, 64, 64] }. */
      shapes: z.record(z.string(), z.array(z.number().int().nonnegative())).optional(),
    }),
  ),
  softwareVersion: z.string(),
});
export type NodeStatus = z.infer<typeof nodeStatusSchema>;

/** The aggregator stored a new global model. */
export const modelAnnouncementSchema = z.object({
  model: blobRefSchema,
  parameterCount: z.number().int().nonnegative(),
});
export type ModelAnnouncement = z.infer<typeof modelAnnouncementSchema>;

/**
 * One chunk of a hospital's update. The binary payload follows the envelope
 * in the frame; `payload` says where it sits in the whole and how to verify it.
 */
export const updateSchema = z.object({
  updateId: z.string().uuid(),
  hospital: idSchema,
  kind: z.enum(['train', 'evaluate', 'cox']),
  numSamples: z.number().int().nonnegative(),
  metrics: metricsSchema,
  timingsMs: metricsSchema,
  /**
   * What the payload is: the plain encoded weights (evaluation rounds carry
   * none), weights sealed to the aggregator's key, or a secure-aggregation
   * masked vector. Absent means float32 (evaluation replies).
   */
  encoding: z.enum(['float32', 'sealed', 'secagg-masked']).optional(),
  /** Secure aggregation: values this hospital clipped are counted only in the masked sum; sealed: counted here. */
  clippedValues: z.number().int().nonnegative().optional(),
  /** Where this chunk sits in the whole update (see codec/chunking.ts). */
  payload: z.object({
    index: z.number().int().nonnegative(),
    count: z.number().int().positive(),
    chunkBytes: z.number().int().positive(),
    totalBytes: z.number().int().nonnegative(),
    crc32: z.number().int().min(0).max(0xffffffff),
    payloadSha256: sha256Schema,
  }),
});
export type UpdateBody = z.infer<typeof updateSchema>;

/** An error travelling as data: stable code, one-line reason, no stack trace. */
export const errorReplySchema = z.object({
  code: z.string().regex(/^[A-Z][A-Z0-9_]*$/),
  reason: z.string().max(2000),
  retryable: z.boolean(),
  hospital: idSchema.optional(),
});
export type ErrorReply = z.infer<typeof errorReplySchema>;

const hospitalOutcomeSchema = z.object({
  hospital: idSchema,
  /**
   * ok: counted; failed: an error, a rejected update or no answer by the
   * deadline (code and reason say which); late: answered after the round
   * closed on quorum plus grace (dropped); excluded: past
   * maxFailuresPerHospital, no longer asked.
   */
  status: z.enum(['ok', 'failed', 'late', 'excluded']),
  numSamples: z.number().int().nonnegative().optional(),
  metrics: metricsSchema.optional(),
  code: z.string().optional(),
  reason: z.string().optional(),
});
export type HospitalOutcome = z.infer<typeof hospitalOutcomeSchema>;

/** Progress of an experiment, for researchers and dashboards. */
export const progressSchema = z.discriminatedUnion('event', [
  z.object({
    event: z.literal('experiment.started'),
    rounds: z.number().int(),
    hospitals: z.array(idSchema),
  }),
  z.object({
    event: z.literal('round.started'),
    kind: z.enum(['train', 'evaluate', 'cox']),
    model: blobRefSchema.optional(),
  }),
  z.object({ event: z.literal('hospital.reported'), outcome: hospitalOutcomeSchema }),
  z.object({
    event: z.literal('round.completed'),
    kind: z.enum(['train', 'evaluate', 'cox']),
    outcomes: z.array(hospitalOutcomeSchema),
    metrics: metricsSchema,
    model: blobRefSchema.optional(),
    durationMs: z.number().nonnegative(),
  }),
  z.object({
    event: z.literal('experiment.completed'),
    results: blobRefSchema,
    /** Absent for experiments whose result is not a network (exact Cox: coefficients in results.json). */
    model: blobRefSchema.optional(),
  }),
  z.object({ event: z.literal('experiment.failed'), code: z.string(), reason: z.string() }),
  /** The aggregator restarted and picked the experiment up from its checkpoint. */
  z.object({
    event: z.literal('experiment.resumed'),
    round: z.number().int().nonnegative(),
    attempt: z.number().int().nonnegative(),
    /** Updates of this round already stored before the restart (not asked again). */
    keptUpdates: z.array(idSchema),
  }),
]);
export type Progress = z.infer<typeof progressSchema>;

const base64Schema = z
  .string()
  .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'base64')
  .max(1 << 20);
const addressedSchema = z.object({ hospital: idSchema, ciphertext: base64Schema });
const ownedShareSchema = z.object({ owner: idSchema, share: base64Schema });
const advertisementSchema = z.object({
  sender: idSchema,
  encryptionKey: base64Schema,
  maskKey: base64Schema,
  signature: base64Schema,
});

/**
 * The small messages of a secure-aggregation round (secagg/messages.ts has
 * their meaning); byte strings are base64. Masked inputs travel as chunked
 * updates (encoding "secagg-masked"). Hospitals publish on
 * `secagg-up.<experiment>.<hospital>`, the aggregator on
 * `secagg-down.<experiment>.<hospital>`.
 */
export const secaggSchema = z.discriminatedUnion('step', [
  advertisementSchema.omit({ sender: true }).extend({ step: z.literal('advertise-keys') }),
  z.object({ step: z.literal('key-roster'), advertisements: z.array(advertisementSchema).max(1000) }),
  z.object({ step: z.literal('share-keys'), shares: z.array(addressedSchema).max(1000) }),
  z.object({
    step: z.literal('relayed-shares'),
    recipient: idSchema,
    shares: z.array(addressedSchema).max(1000),
  }),
  z.object({
    step: z.literal('unmask-request'),
    survivors: z.array(idSchema).max(1000),
    dropped: z.array(idSchema).max(1000),
  }),
  z.object({
    step: z.literal('unmask-response'),
    selfMaskShares: z.array(ownedShareSchema).max(1000),
    maskKeyShares: z.array(ownedShareSchema).max(1000),
  }),
  /** Aggregator → hospitals: the round ended without a result (e.g. fewer than t remain). */
  z.object({ step: z.literal('abort'), code: z.string(), reason: z.string().max(2000) }),
]);
export type SecaggBody = z.infer<typeof secaggSchema>;

export const bodySchemas = {
  [MessageTypes.nodeStatus]: nodeStatusSchema,
  [MessageTypes.modelAnnouncement]: modelAnnouncementSchema,
  [MessageTypes.update]: updateSchema,
  [MessageTypes.progress]: progressSchema,
  [MessageTypes.error]: errorReplySchema,
  [MessageTypes.secagg]: secaggSchema,
} as const;

export type MessageType = keyof typeof bodySchemas;
export type BodyOf<T extends MessageType> = z.infer<(typeof bodySchemas)[T]>;
