import { z } from 'zod';

/** Hospital and experiment ids are used in queue names and routing keys. */
export const idSchema = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9-]{0,62}$/,
    'lowercase letters, digits and dashes, starting with a letter or digit',
  );

export const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex SHA-256');

/** A content-addressed blob: the SHA-256 of the whole payload and its size. */
export const blobRefSchema = z.object({ sha256: sha256Schema, bytes: z.number().int().nonnegative() });
export type BlobRef = z.infer<typeof blobRefSchema>;

/** W3C trace context carried inside job data (AMQP/MQTT carry it in headers). */
export const traceCarrierSchema = z.record(z.string(), z.string()).default({});
export type TraceCarrier = z.infer<typeof traceCarrierSchema>;

/** Metric values by name (loss, accuracy, ...). */
export const metricsSchema = z.record(z.string(), z.number());
