import { z } from 'zod';
import { idSchema } from './common.ts';

/**
 * The one envelope every bus message carries. Errors travel as data
 * (type "error"), never as a stack trace.
 */
export const envelopeSchema = z.object({
  v: z.string().regex(/^\d+\.\d+$/),
  type: z.string().min(1),
  id: z.string().uuid(),
  experimentId: idSchema,
  round: z.number().int().nonnegative(),
  /**
   * Which run of the round (0 = the first): a round restarted after an
   * aggregator crash gets a new attempt, so its messages never mix with the
   * old run's. Absent means 0.
   */
  attempt: z.number().int().nonnegative().max(1000).optional(),
  sender: z.string().min(1),
  sentAt: z.string().datetime(),
  body: z.unknown(),
});
export type EnvelopeHeader = Omit<z.infer<typeof envelopeSchema>, 'body'>;
