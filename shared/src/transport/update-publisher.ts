import { randomUUID } from 'node:crypto';
import { DEFAULT_CHUNK_BYTES, splitIntoChunks } from '../codec/chunking.ts';
import { type EnvelopeFields, encodeMessage } from '../contracts/frame.ts';
import type { UpdateBody } from '../contracts/messages.ts';
import { injectTraceContext } from '../telemetry/propagation.ts';
import type { Bus } from './bus.ts';
import { Topics } from './topics.ts';

export type UpdateSummary = Omit<UpdateBody, 'updateId' | 'payload'>;

/**
 * Publishes a hospital's update as a sequence of bus messages, each at most
 * `chunkBytes` of payload plus its envelope, so no message nears the 4 MiB
 * limit whatever the model size. Every chunk repeats the summary and the
 * whole payload's SHA-256, so the receiver can place and verify chunks in any
 * order. At most `window` chunks await their broker confirmation at once:
 * enough to keep the connection busy, few enough to bound memory.
 */
export async function publishUpdate(
  bus: Bus,
  fields: EnvelopeFields,
  summary: UpdateSummary,
  payload: Uint8Array,
  chunkBytes = DEFAULT_CHUNK_BYTES,
  window = 4,
): Promise<{ updateId: string; chunks: number; payloadSha256: string }> {
  const updateId = randomUUID();
  const split = splitIntoChunks(payload, { chunkBytes });
  const topic = Topics.update(fields.experimentId, summary.hospital);
  const headers = injectTraceContext({});
  const pending = new Set<Promise<void>>();
  try {
    for (const chunk of split.chunks) {
      const { data, ...descriptor } = chunk;
      const frame = encodeMessage('update', fields, { ...summary, updateId, payload: descriptor }, data);
      const confirmed = bus.publish(topic, frame, headers);
      pending.add(confirmed);
      confirmed.then(
        () => pending.delete(confirmed),
        () => {}, // surfaced by the race or the final wait below
      );
      if (pending.size >= window) await Promise.race(pending);
    }
    await Promise.all(pending);
  } finally {
    pending.clear();
  }
  return { updateId, chunks: split.chunks.length, payloadSha256: split.payloadSha256 };
}
