import { type DecodedMessage, decodeMessage } from '../contracts/frame.ts';
import type { MessageType } from '../contracts/messages.ts';
import { describeError } from '../errors/fedpet-error.ts';
import type { Logger } from '../log/logger.ts';
import { withConsumerSpan } from '../telemetry/spans.ts';
import type { Bus, IncomingMessage, SubscribeOptions, Subscription } from './bus.ts';

export type EnvelopeHandler = (message: DecodedMessage, raw: IncomingMessage) => Promise<void>;

/**
 * Subscribes with validation in front of the handler: a frame that fails
 * decoding (bad framing, unknown major version, schema violation, unexpected
 * type) is logged once and thrown as a non-retryable error, which the bus
 * turns into a dead letter carrying the reason. Valid messages are handled
 * inside a consumer span that continues the sender's trace.
 */
export function consumeEnvelopes(
  bus: Bus,
  options: SubscribeOptions,
  types: readonly MessageType[],
  logger: Logger,
  handler: EnvelopeHandler,
): Promise<Subscription> {
  return bus.subscribe(options, async (raw) => {
    let decoded: DecodedMessage;
    try {
      decoded = decodeMessage(raw.body, types);
    } catch (error) {
      const { code, reason } = describeError(error);
      logger.warn('message rejected to the dead-letter queue', { topic: raw.topic, code, reason });
      throw error;
    }
    const { header } = decoded;
    await withConsumerSpan(
      `${header.type} receive`,
      raw.headers,
      {
        'messaging.destination.name': raw.topic,
        'messaging.message.id': header.id,
        'fedpet.experiment': header.experimentId,
        'fedpet.round': header.round,
        'fedpet.sender': header.sender,
      },
      () => handler(decoded, raw),
    );
  });
}
