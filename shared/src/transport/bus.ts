/**
 * The one event-bus contract. Two adapters implement it: AMQP 0-9-1
 * (RabbitMQ, amqp-bus.ts) and MQTT 5 (Mosquitto or RabbitMQ's MQTT plugin,
 * mqtt-bus.ts); create-bus.ts picks one by URL scheme. One contract test suite
 * (test/integration/bus-contract.test.ts) runs against both real brokers.
 *
 * Topics are dot-separated words ("update.exp-1"); patterns use "*" for one
 * word and "#" for any rest, as AMQP topic exchanges do. The MQTT adapter maps
 * them to "/", "+" and "#" under the namespace prefix.
 *
 * Delivery is at-least-once: publish resolves only once the broker has taken
 * responsibility (publisher confirm / PUBACK); a handler's message is
 * acknowledged only after the handler resolves.
 */

/** No broker message may exceed this; bigger payloads travel chunked or by reference. */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

export type BusHeaders = Record<string, string>;

export interface IncomingMessage {
  topic: string;
  body: Buffer;
  headers: BusHeaders;
  /** True when the broker says this may be a redelivery. */
  redelivered: boolean;
}

/**
 * Resolve to acknowledge. Throw a non-retryable FedpetError (or any error
 * whose `retryable` is false) to send the message to the dead-letter topic
 * with the error's message as reason; throw anything else to have it
 * redelivered later.
 */
export type MessageHandler = (message: IncomingMessage) => Promise<void>;

export interface SubscribeOptions {
  /**
   * Durable subscription name, unique per consumer group: the AMQP queue name
   * or the MQTT persistent-session client id (both under the namespace).
   */
  name: string;
  /** Topic patterns this subscription receives. */
  topics: readonly string[];
  /** Unacknowledged messages in flight at once (AMQP prefetch; MQTT receive maximum). Default 16. */
  prefetch?: number;
}

export interface Subscription {
  /** Stops consuming; the durable queue/session and its pending messages stay. */
  close(): Promise<void>;
}

export interface Bus {
  readonly kind: 'amqp' | 'mqtt';
  readonly namespace: string;
  /** Resolves once the broker confirmed the message. Rejects above MAX_MESSAGE_BYTES. */
  publish(topic: string, body: Uint8Array, headers?: BusHeaders): Promise<void>;
  subscribe(options: SubscribeOptions, handler: MessageHandler): Promise<Subscription>;
  /**
   * Publishes a copy of the message to `dead-letter.<original topic>` with the
   * headers `x-dead-reason` and `x-original-topic` added. Subscribers to
   * `dead-letter.#` receive it; the AMQP adapter also keeps it in a durable
   * `<namespace>.dead-letter` queue.
   */
  deadLetter(message: IncomingMessage, reason: string): Promise<void>;
  /** Deletes a durable subscription and what is pending in it. */
  deleteSubscription(name: string): Promise<void>;
  /**
   * Deletes what the namespace itself holds on the broker (AMQP: the topic
   * exchange and the dead-letter queue; MQTT: nothing, topics are not
   * objects). For throw-away namespaces (sandbox runs, tests): delete their
   * subscriptions first.
   */
  removeNamespace(): Promise<void>;
  /** Waits for in-flight publishes and handlers, then disconnects. */
  close(): Promise<void>;
}

/** Defaults both adapters apply where SubscribeOptions / BusOptions leave a value out. */
export const BUS_DEFAULTS = {
  prefetch: 16,
  connectTimeoutMs: 5_000,
  reconnectGiveUpMs: 60_000,
} as const;

export const DEAD_LETTER_PREFIX = 'dead-letter';
export const DEAD_REASON_HEADER = 'x-dead-reason';
export const ORIGINAL_TOPIC_HEADER = 'x-original-topic';

export interface BusOptions {
  /** Names the exchange / topic root and prefixes queue names and client ids. */
  namespace: string;
  /** Identifies this process in broker connection names. */
  clientName: string;
  /** Give up connecting at start after this long (ms). Default 5000. */
  connectTimeoutMs?: number;
  /** Report the broker unreachable after reconnecting for this long (ms). Default 60000. */
  reconnectGiveUpMs?: number;
  /** Receives reconnect and give-up notices; defaults to no output. */
  onEvent?: (event: BusEvent) => void;
}

export type BusEvent =
  | { type: 'disconnected'; reason: string }
  | { type: 'reconnected'; attempts: number }
  | { type: 'unreachable'; sinceMs: number; reason: string };
