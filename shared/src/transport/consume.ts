import { type DecodedMessage, decodeMessage } from '../contracts/frame.ts';
import type { MessageType } from '../contracts/messages.ts';
import { describeError, ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import type { Logger } from '../log/logger.ts';
import type { FrameVerifier, RejectReason } from '../security/frame-signing.ts';
import { withConsumerSpan } from '../telemetry/spans.ts';
import type { Bus, IncomingMessage, SubscribeOptions, Subscription } from './bus.ts';

export type EnvelopeHandler = (message: DecodedMessage, raw: IncomingMessage) => Promise<void>;

export interface ConsumeOptions {
  /** Checks signature and freshness of every decoded frame before the handler sees it. */
  verifier?: FrameVerifier;
  /** Told about each message the verifier rejects (e.g. to count it in metrics). Must not throw. */
  onRejected?: (reason: RejectReason, detail: string, decoded: DecodedMessage) => void;
  /** Told about each frame that fails decoding (bad framing, schema, version, type), by error code. */
  onInvalid?: (code: string) => void;
}

/**
 * Subscribes with validation in front of the handler: a frame that fails
 * decoding (bad framing, unknown major version, schema violation, unexpected
 * type) is logged once and thrown as a non-retryable error, which the bus
 * turns into a dead letter carrying the reason. Valid messages are handled
 * inside a consumer span that continues the sender's trace.
 *
 * With `consumeOptions.verifier`, a decoded frame whose signature or freshness check
 * fails is logged once with the reason (never the payload) and dead-lettered
 * the same way, with "signature check failed (<reason>): …" as its reason.
 */
export function consumeEnvelopes(
  bus: Bus,
  options: SubscribeOptions,
  types: readonly MessageType[],
  logger: Logger,
  handler: EnvelopeHandler,
  consumeOptions: ConsumeOptions = {},
): Promise<Subscription> {
  const { verifier, onRejected, onInvalid } = consumeOptions;
  return bus.subscribe(options, async (raw) => {
    let decoded: DecodedMessage;
    try {
      decoded = decodeMessage(raw.body, types);
    } catch (error) {
      const { code, reason } = describeError(error);
      logger.warn('message rejected to the dead-letter queue', { topic: raw.topic, code, reason });
      onInvalid?.(code);
      throw error;
    }
    const { header } = decoded;
    const check = verifier?.check(decoded, raw);
    if (check && !check.ok) {
      logger.warn(`message rejected: ${check.reason}`, {
        topic: raw.topic,
        sender: header.sender,
        type: header.type,
        experimentId: header.experimentId,
        round: header.round,
        detail: check.detail,
      });
      try {
        onRejected?.(check.reason, check.detail, decoded);
      } catch (error) {
        logger.warn('onRejected callback failed', { reason: describeError(error).reason });
      }
      throw new FedpetError(
        ErrorCodes.invalidMessage,
        `signature check failed (${check.reason}): ${check.detail}`,
      );
    }
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
