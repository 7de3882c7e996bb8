/**
 * The settle policy both bus adapters share, so a handler's outcome means the
 * same thing on RabbitMQ and on MQTT:
 *  - resolves                      → acknowledge;
 *  - throws with `retryable: false` → copy to the dead-letter topic, then acknowledge;
 *  - throws anything else           → redeliver later (the adapter decides how).
 * A dead-letter publish that fails falls back to redelivery, so a message is
 * never dropped because the broker hiccupped while we were parking it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type BusHeaders,
  DEAD_LETTER_PREFIX,
  DEAD_REASON_HEADER,
  type IncomingMessage,
  type MessageHandler,
  ORIGINAL_TOPIC_HEADER,
} from './bus.ts';

/** Pause before a retryable failure is redelivered, so a failing handler does not spin the CPU. */
export const RETRY_DELAY_MS = 200;

export interface SettleActions {
  /** Acknowledge: the broker may forget the message. */
  ack(): void | Promise<void>;
  /** Have the message delivered again later (after RETRY_DELAY_MS). */
  retry(): Promise<void>;
  /** Publish the dead-letter copy; resolves once the broker confirmed it. */
  deadLetter(reason: string): Promise<void>;
}

export type SettleOutcome = 'acked' | 'retried' | 'dead-lettered';

/** True only for errors that explicitly declare themselves non-retryable (FedpetError's default). */
export function isNonRetryable(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'retryable' in error && error.retryable === false;
}

export function errorReason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs the handler and settles the message. Never rejects: adapters call it
 * without awaiting each delivery in turn, and a failed ack only means the
 * broker will redeliver, which at-least-once allows.
 */
export async function settle(
  handler: MessageHandler,
  message: IncomingMessage,
  actions: SettleActions,
): Promise<SettleOutcome> {
  let failure: unknown;
  let failed = false;
  try {
    await handler(message);
  } catch (error) {
    failed = true;
    failure = error;
  }
  try {
    if (!failed) {
      await actions.ack();
      return 'acked';
    }
    if (isNonRetryable(failure)) {
      try {
        await actions.deadLetter(errorReason(failure));
      } catch {
        await actions.retry();
        return 'retried';
      }
      await actions.ack();
      return 'dead-lettered';
    }
    await actions.retry();
    return 'retried';
  } catch {
    // The channel/connection went away mid-settle: the broker still holds the
    // unacknowledged message and will deliver it again.
    return 'retried';
  }
}

/** Waits the redelivery delay; adapters call it inside their `retry` action. */
export function retryDelay(): Promise<void> {
  return sleep(RETRY_DELAY_MS);
}

/** The topic and headers of a message's dead-letter copy (see Bus.deadLetter). */
export function deadLetterCopy(
  message: IncomingMessage,
  reason: string,
): { topic: string; headers: BusHeaders } {
  return {
    topic: `${DEAD_LETTER_PREFIX}.${message.topic}`,
    headers: { ...message.headers, [DEAD_REASON_HEADER]: reason, [ORIGINAL_TOPIC_HEADER]: message.topic },
  };
}
