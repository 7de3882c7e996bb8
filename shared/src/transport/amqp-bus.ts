/**
 * Bus over AMQP 0-9-1 (RabbitMQ). Topology, all durable so a broker restart
 * loses nothing:
 *  - one topic exchange named after the namespace;
 *  - one queue `<namespace>.<subscription name>` per subscription, bound to
 *    its patterns (several consumers on one name compete for its messages);
 *  - `<namespace>.dead-letter` bound to `dead-letter.#`, so dead letters are
 *    kept even when nobody listens. (A subscription named "dead-letter"
 *    consumes that very queue.)
 * Publishing goes through a confirm channel; each subscription has its own
 * channel so its prefetch and failures stay its own. On connection loss the
 * adapter reconnects with capped exponential backoff, re-declares the
 * topology and re-attaches every open subscription.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage, connect } from 'amqplib';
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import { redactUrl } from './broker-url.ts';
import {
  BUS_DEFAULTS,
  type Bus,
  type BusEvent,
  type BusHeaders,
  type BusOptions,
  DEAD_LETTER_PREFIX,
  type IncomingMessage,
  MAX_MESSAGE_BYTES,
  type MessageHandler,
  type SubscribeOptions,
  type Subscription,
} from './bus.ts';
import { deadLetterCopy, errorReason, retryDelay, settle } from './settle.ts';

const BACKOFF_FIRST_MS = 100;
const BACKOFF_MAX_MS = 5_000;
/** Shortest time worth a connection attempt at start. */
const MIN_ATTEMPT_MS = 100;
/** What amqplib's confirm callback reports when the broker nacks a publish. */
const NACKED = 'message nacked';

/** Connects (retrying until connectTimeoutMs) and declares the topology. */
export async function connectAmqpBus(url: string, options: BusOptions): Promise<Bus> {
  const bus = new AmqpBus(url, options);
  await bus.start();
  return bus;
}

function tooLarge(topic: string, bytes: number): FedpetError {
  return new FedpetError(
    ErrorCodes.messageTooLarge,
    `message for topic "${topic}" is ${bytes} bytes, above the ${MAX_MESSAGE_BYTES}-byte limit`,
  );
}

/** ±20 % jitter so many clients dropped by one broker restart do not reconnect in lockstep. */
function jittered(delayMs: number): number {
  return Math.round(delayMs * (0.8 + Math.random() * 0.4));
}

/** AMQP header tables may hold any type; the bus contract carries strings only. */
function toBusHeaders(raw: Record<string, unknown> | undefined): BusHeaders {
  const headers: BusHeaders = {};
  for (const [key, value] of Object.entries(raw ?? {})) {
    if (typeof value === 'string') headers[key] = value;
    else if (Buffer.isBuffer(value)) headers[key] = value.toString('utf8');
    else if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
      headers[key] = String(value);
  }
  return headers;
}

function asBuffer(body: Uint8Array): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/** A channel plus whether it is still usable; amqplib exposes no such flag. */
interface TrackedChannel<C extends Channel> {
  channel: C;
  open: boolean;
}

function track<C extends Channel>(channel: C): TrackedChannel<C> {
  const tracked = { channel, open: true };
  // Channel errors are followed by 'close'; without a listener they would crash the process.
  channel.on('error', () => {});
  channel.on('close', () => {
    tracked.open = false;
  });
  return tracked;
}

interface Waiter {
  resolve: (model: ChannelModel) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

class AmqpBus implements Bus {
  readonly kind = 'amqp' as const;
  readonly namespace: string;
  private readonly url: string;
  private readonly options: BusOptions;
  private readonly giveUpMs: number;
  private model: ChannelModel | null = null;
  private publisher: Promise<TrackedChannel<ConfirmChannel>> | null = null;
  private readonly subscriptions = new Set<AmqpSubscription>();
  private readonly publishing = new Set<Promise<void>>();
  private waiters: Waiter[] = [];
  private disconnectedAt = 0;
  private unreachableReported = false;
  private lastError = '';
  private closing = false;
  private reconnecting: Promise<void> | null = null;
  private readonly stopReconnect = new AbortController();

  constructor(url: string, options: BusOptions) {
    this.url = url;
    this.options = options;
    this.namespace = options.namespace;
    this.giveUpMs = options.reconnectGiveUpMs ?? BUS_DEFAULTS.reconnectGiveUpMs;
  }

  get deadLetterQueue(): string {
    return `${this.namespace}.${DEAD_LETTER_PREFIX}`;
  }

  queueName(subscription: string): string {
    return `${this.namespace}.${subscription}`;
  }

  async start(): Promise<void> {
    const timeoutMs = this.options.connectTimeoutMs ?? BUS_DEFAULTS.connectTimeoutMs;
    const deadline = Date.now() + timeoutMs;
    let delay = BACKOFF_FIRST_MS;
    // Retry inside the window: in compose setups the broker often starts after us.
    for (;;) {
      try {
        await this.open(deadline);
        return;
      } catch (error) {
        this.lastError = errorReason(error);
      }
      const wait = jittered(delay);
      // No attempt squeezed into the last moments: it would only replace the real reason with a timeout.
      if (Date.now() + wait + MIN_ATTEMPT_MS > deadline) break;
      await sleep(wait);
      delay = Math.min(delay * 2, BACKOFF_MAX_MS);
    }
    throw new FedpetError(
      ErrorCodes.brokerUnavailable,
      `cannot reach RabbitMQ at ${redactUrl(this.url)}: ${this.lastError}`,
      { retryable: true },
    );
  }

  /** One connection attempt: connect, declare topology, re-attach subscriptions. */
  private async open(deadline: number): Promise<void> {
    const remaining = Math.max(1, deadline - Date.now());
    let timer: NodeJS.Timeout | undefined;
    const connecting = connect(this.url, {
      timeout: remaining,
      clientProperties: { connection_name: this.options.clientName },
    });
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${remaining} ms`)), remaining);
    });
    let model: ChannelModel;
    try {
      model = await Promise.race([connecting, timedOut]);
    } catch (error) {
      // A connection that completes after we gave up must not leak.
      connecting.then((late) => late.close()).catch(() => {});
      throw error;
    } finally {
      clearTimeout(timer);
    }
    model.on('error', () => {}); // 'close' follows and carries the reason
    model.on('close', (error?: Error) => this.onConnectionLost(model, error));
    try {
      const setup = await model.createChannel();
      await setup.assertExchange(this.namespace, 'topic', { durable: true });
      await setup.assertQueue(this.deadLetterQueue, { durable: true });
      await setup.bindQueue(this.deadLetterQueue, this.namespace, `${DEAD_LETTER_PREFIX}.#`);
      await setup.close();
      for (const subscription of this.subscriptions) await subscription.attach(model);
    } catch (error) {
      await model.close().catch(() => {});
      throw error;
    }
    if (this.closing) {
      await model.close().catch(() => {});
      throw new Error('bus closed while connecting');
    }
    this.model = model;
    this.publisher = null;
    for (const waiter of this.waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.resolve(model);
    }
  }

  private emit(event: BusEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch {
      // A faulty listener must not break reconnection.
    }
  }

  private onConnectionLost(model: ChannelModel, error: Error | undefined): void {
    if (model !== this.model) return; // a failed attempt, or already handled
    this.model = null;
    this.publisher = null;
    if (this.closing) return;
    this.disconnectedAt = Date.now();
    this.unreachableReported = false;
    this.lastError = error ? errorReason(error) : 'connection closed by broker';
    this.emit({ type: 'disconnected', reason: this.lastError });
    this.reconnecting = this.reconnectLoop();
  }

  private async reconnectLoop(): Promise<void> {
    let delay = BACKOFF_FIRST_MS;
    let attempts = 0;
    // The loop keeps trying after the give-up time so the bus can still recover.
    const unreachable = setTimeout(() => this.reportUnreachable(), this.giveUpMs);
    try {
      while (!this.closing) {
        try {
          await sleep(jittered(delay), undefined, { signal: this.stopReconnect.signal });
        } catch {
          return; // close() aborted the wait
        }
        attempts += 1;
        try {
          await this.open(Date.now() + Math.max(BACKOFF_MAX_MS, this.options.connectTimeoutMs ?? 0));
          this.emit({ type: 'reconnected', attempts });
          return;
        } catch (error) {
          this.lastError = errorReason(error);
        }
        delay = Math.min(delay * 2, BACKOFF_MAX_MS);
      }
    } finally {
      clearTimeout(unreachable);
    }
  }

  /** Once per outage, and always before the first publish fails because of it. */
  private reportUnreachable(): void {
    if (this.unreachableReported) return;
    this.unreachableReported = true;
    this.emit({ type: 'unreachable', sinceMs: Date.now() - this.disconnectedAt, reason: this.lastError });
  }

  private unavailable(): FedpetError {
    this.reportUnreachable();
    return new FedpetError(
      ErrorCodes.brokerUnavailable,
      `RabbitMQ at ${redactUrl(this.url)} unreachable for ${Date.now() - this.disconnectedAt} ms: ${this.lastError}`,
      { retryable: true },
    );
  }

  /** The live connection; while reconnecting, waits until reconnectGiveUpMs after the loss. */
  private connection(): Promise<ChannelModel> {
    if (this.model) return Promise.resolve(this.model);
    if (this.closing) return Promise.reject(new FedpetError(ErrorCodes.brokerUnavailable, 'bus is closed'));
    const left = this.disconnectedAt + this.giveUpMs - Date.now();
    if (left <= 0) return Promise.reject(this.unavailable());
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(this.unavailable());
        }, left),
      };
      this.waiters.push(waiter);
    });
  }

  private publishChannel(): Promise<TrackedChannel<ConfirmChannel>> {
    const current = this.publisher;
    if (current) return current;
    const opening = this.connection().then(async (model) => track(await model.createConfirmChannel()));
    this.publisher = opening;
    opening.catch(() => {
      if (this.publisher === opening) this.publisher = null;
    });
    return opening;
  }

  publish(topic: string, body: Uint8Array, headers: BusHeaders = {}): Promise<void> {
    if (body.byteLength > MAX_MESSAGE_BYTES) return Promise.reject(tooLarge(topic, body.byteLength));
    if (this.closing) return Promise.reject(new FedpetError(ErrorCodes.brokerUnavailable, 'bus is closed'));
    const task = this.publishUntilConfirmed(topic, asBuffer(body), headers);
    this.publishing.add(task);
    const forget = () => this.publishing.delete(task);
    task.then(forget, forget);
    return task;
  }

  /**
   * Publishes again after a reconnection if the channel died before the
   * confirm (at-least-once: the broker may then hold it twice). Gives up
   * reconnectGiveUpMs after the first failed attempt.
   */
  private async publishUntilConfirmed(topic: string, body: Buffer, headers: BusHeaders): Promise<void> {
    let giveUpAt = Number.POSITIVE_INFINITY;
    for (;;) {
      let tracked: TrackedChannel<ConfirmChannel> | null = null;
      try {
        tracked = await this.publishChannel();
        const { channel } = tracked;
        await new Promise<void>((resolve, reject) => {
          channel.publish(
            this.namespace,
            topic,
            body,
            { persistent: true, headers, contentType: 'application/octet-stream' },
            (error: unknown) => (error ? reject(error) : resolve()),
          );
        });
        return;
      } catch (error) {
        if (error instanceof FedpetError) throw error; // from connection(): already gave up
        const reason = errorReason(error);
        // amqplib throws RangeError for a headers table it cannot encode: retrying cannot help.
        if (error instanceof RangeError) {
          throw new FedpetError(ErrorCodes.invalidMessage, `cannot publish to "${topic}": ${reason}`, {
            cause: error,
          });
        }
        if (reason === NACKED) {
          throw new FedpetError(
            ErrorCodes.brokerUnavailable,
            `RabbitMQ refused the message for topic "${topic}" (nack)`,
            { retryable: true, cause: error },
          );
        }
        // The channel or connection died under us; the next attempt waits for the reconnection.
        if (tracked && this.publisher && (await this.publisher.catch(() => null)) === tracked)
          this.publisher = null;
        giveUpAt = Math.min(giveUpAt, Date.now() + this.giveUpMs);
        if (Date.now() >= giveUpAt) {
          throw new FedpetError(
            ErrorCodes.brokerUnavailable,
            `could not publish to RabbitMQ at ${redactUrl(this.url)}: ${reason}`,
            { retryable: true, cause: error },
          );
        }
        await sleep(BACKOFF_FIRST_MS);
      }
    }
  }

  async deadLetter(message: IncomingMessage, reason: string): Promise<void> {
    const copy = deadLetterCopy(message, reason);
    await this.publish(copy.topic, message.body, copy.headers);
  }

  async subscribe(options: SubscribeOptions, handler: MessageHandler): Promise<Subscription> {
    if (options.name === '')
      throw new FedpetError(ErrorCodes.invalidConfig, 'subscription name must not be empty');
    if (options.topics.length === 0)
      throw new FedpetError(ErrorCodes.invalidConfig, `subscription "${options.name}" has no topics`);
    const subscription = new AmqpSubscription(this, options, handler);
    const model = await this.connection();
    try {
      await subscription.attach(model);
    } catch (error) {
      throw new FedpetError(
        ErrorCodes.brokerUnavailable,
        `could not subscribe "${options.name}" on RabbitMQ: ${errorReason(error)}`,
        { retryable: true, cause: error },
      );
    }
    // Registered after the first attach so a failed subscribe leaves nothing to re-attach.
    this.subscriptions.add(subscription);
    return subscription;
  }

  forget(subscription: AmqpSubscription): void {
    this.subscriptions.delete(subscription);
  }

  async deleteSubscription(name: string): Promise<void> {
    if (this.closing) throw new FedpetError(ErrorCodes.brokerUnavailable, 'bus is closed');
    for (const subscription of [...this.subscriptions]) {
      if (subscription.name === name) await subscription.close();
    }
    const model = await this.connection();
    const channel = await model.createChannel();
    channel.on('error', () => {});
    await channel.deleteQueue(this.queueName(name));
    await channel.close();
  }

  async removeNamespace(): Promise<void> {
    if (this.closing) throw new FedpetError(ErrorCodes.brokerUnavailable, 'bus is closed');
    const model = await this.connection();
    const channel = await model.createChannel();
    channel.on('error', () => {});
    await channel.deleteQueue(this.deadLetterQueue);
    await channel.deleteExchange(this.namespace);
    await channel.close();
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.stopReconnect.abort();
    // Publishes waiting for a reconnection fail now rather than hold close() until the give-up time.
    for (const waiter of this.waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(
        new FedpetError(ErrorCodes.brokerUnavailable, 'bus closed while the broker was unreachable'),
      );
    }
    await Promise.allSettled([...this.subscriptions].map((s) => s.close()));
    await Promise.allSettled([...this.publishing]);
    await this.reconnecting;
    const model = this.model;
    this.model = null;
    if (model) await model.close().catch(() => {});
  }
}

class AmqpSubscription implements Subscription {
  readonly name: string;
  private readonly bus: AmqpBus;
  private readonly options: SubscribeOptions;
  private readonly handler: MessageHandler;
  private current: { tracked: TrackedChannel<Channel>; consumerTag: string } | null = null;
  private readonly inFlight = new Set<Promise<unknown>>();
  private closed = false;

  constructor(bus: AmqpBus, options: SubscribeOptions, handler: MessageHandler) {
    this.bus = bus;
    this.options = options;
    this.handler = handler;
    this.name = options.name;
  }

  /** Declares and binds the queue and starts consuming; called again after each reconnection. */
  async attach(model: ChannelModel): Promise<void> {
    if (this.closed) return;
    const tracked = track(await model.createChannel());
    const { channel } = tracked;
    const queue = this.bus.queueName(this.options.name);
    await channel.prefetch(this.options.prefetch ?? BUS_DEFAULTS.prefetch);
    await channel.assertQueue(queue, { durable: true });
    for (const pattern of this.options.topics) await channel.bindQueue(queue, this.bus.namespace, pattern);
    const { consumerTag } = await channel.consume(queue, (message) => this.onDelivery(tracked, message), {
      noAck: false,
    });
    this.current = { tracked, consumerTag };
  }

  private onDelivery(tracked: TrackedChannel<Channel>, raw: ConsumeMessage | null): void {
    // null: the broker cancelled the consumer (queue deleted); deliveries stop until the next reconnection.
    if (raw === null) return;
    const message: IncomingMessage = {
      topic: raw.fields.routingKey,
      body: raw.content,
      headers: toBusHeaders(raw.properties.headers),
      redelivered: raw.fields.redelivered,
    };
    const { channel } = tracked;
    // Settled concurrently; the channel's prefetch bounds how many run at once.
    const running = settle(this.handler, message, {
      ack: () => channel.ack(raw),
      retry: async () => {
        await retryDelay();
        channel.nack(raw, false, true);
      },
      deadLetter: (reason) => this.bus.deadLetter(message, reason),
    });
    this.inFlight.add(running);
    running.finally(() => this.inFlight.delete(running)).catch(() => {});
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.bus.forget(this);
    const current = this.current;
    this.current = null;
    if (current?.tracked.open) await current.tracked.channel.cancel(current.consumerTag).catch(() => {});
    // Acks need the channel, so it closes only after the running handlers settled.
    await Promise.allSettled([...this.inFlight]);
    if (current?.tracked.open) await current.tracked.channel.close().catch(() => {});
  }
}
