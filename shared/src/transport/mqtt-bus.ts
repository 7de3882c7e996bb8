/**
 * Bus over MQTT 5 (Mosquitto, or RabbitMQ's MQTT plugin). Everything is QoS 1.
 *
 * - Topics live under `<namespace>/` (see mqtt-topics.ts); headers travel as
 *   user properties.
 * - Publishing uses one clean-session client; publish resolves on PUBACK.
 * - Each subscription is its own client, id `<namespace>-<name>`, with a
 *   persistent session (clean start off, long session expiry), so messages
 *   published while it is offline wait for it. It subscribes through the share
 *   group `$share/<namespace>-<name>/…` so that several consumers of one name
 *   in this bus (ids `<namespace>-<name>-2`, `-3`, …) compete for messages as
 *   they do on one AMQP queue. Two processes must not use the same name: MQTT
 *   lets a second client with the same id take the session over.
 * - Acknowledgement is manual through mqtt.js `customHandleAcks`: PUBACK goes
 *   out only once the handler settled. mqtt.js reads the next packet only
 *   after that callback, so one subscription runs one handler at a time
 *   (receiveMaximum = prefetch bounds what the broker sends ahead), and a
 *   handler running longer than ~1.5× keepalive makes the client reconnect and
 *   the message come again.
 * - mqtt.js reconnects by itself every RECONNECT_PERIOD_MS; reconnects are
 *   reported through onEvent.
 */
import {
  connect,
  type IClientOptions,
  type IConnackPacket,
  type IPublishPacket,
  type MqttClient,
} from 'mqtt';
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import { redactUrl } from './broker-url.ts';
import {
  BUS_DEFAULTS,
  type Bus,
  type BusEvent,
  type BusHeaders,
  type BusOptions,
  type IncomingMessage,
  MAX_MESSAGE_BYTES,
  type MessageHandler,
  type SubscribeOptions,
  type Subscription,
} from './bus.ts';
import { checkNamespace, fromMqttTopic, sanitizeMqttId, toMqttFilter, toMqttTopic } from './mqtt-topics.ts';
import { deadLetterCopy, errorReason, retryDelay, settle } from './settle.ts';

const RECONNECT_PERIOD_MS = 1_000;
/** A week: long enough to ride out any outage, short enough that abandoned sessions vanish. */
const SESSION_EXPIRY_S = 7 * 24 * 3600;
/** MQTT has no per-subscriber requeue; a retry is republished with this header naming its share group. */
const REDELIVER_TO_HEADER = 'x-redeliver-to';
const SESSION_TAKEN_OVER = 0x8e;
/** Bound on the `-2`, `-3`, … client ids deleteSubscription looks for. */
const MAX_EXTRA_CONSUMERS = 64;
/** How long a clean disconnect may take before the socket is simply closed. */
const END_TIMEOUT_MS = 2_000;
/** MQTT 5 reason codes from 0x80 up are failures (SUBACK, PUBACK). */
const FIRST_FAILURE_CODE = 0x80;

export async function connectMqttBus(url: string, options: BusOptions): Promise<Bus> {
  checkNamespace(options.namespace);
  const bus = new MqttBus(url, options);
  await bus.start();
  return bus;
}

/** Marks the deliberate "no PUBACK" answer we give mqtt.js, so it is not reported as a connection problem. */
class NotAcknowledged extends Error {}

function asBuffer(body: Uint8Array): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

function toBusHeaders(userProperties: Record<string, string | string[]> | undefined): BusHeaders {
  const headers: BusHeaders = {};
  for (const [key, value] of Object.entries(userProperties ?? {})) {
    // A repeated user property arrives as an array; the contract has one value per key.
    const single = Array.isArray(value) ? value[0] : value;
    if (single !== undefined) headers[key] = single;
  }
  return headers;
}

interface OpenedClient {
  client: MqttClient;
  /** CONNACK's session-present flag: the broker still held a session for this client id. */
  sessionPresent: boolean;
}

/** Opens a client and waits for CONNACK, failing with one clear error after timeoutMs. */
function openClient(url: string, clientOptions: IClientOptions, timeoutMs: number): Promise<OpenedClient> {
  const client = connect(url, {
    protocolVersion: 5,
    reconnectPeriod: RECONNECT_PERIOD_MS,
    connectTimeout: timeoutMs,
    ...clientOptions,
  });
  return new Promise((resolve, reject) => {
    let lastError = 'no answer';
    const cleanup = () => {
      clearTimeout(timer);
      client.off('error', onError);
      client.off('connect', onConnect);
    };
    const fail = (reason: string) => {
      cleanup();
      client.end(true);
      reject(
        new FedpetError(
          ErrorCodes.brokerUnavailable,
          `cannot reach MQTT broker at ${redactUrl(url)}: ${reason}`,
          {
            retryable: true,
          },
        ),
      );
    };
    const onError = (error: Error & { code?: unknown }) => {
      lastError = error.message;
      // A numeric code is a CONNACK refusal (bad credentials, bad id): mqtt.js will not retry it.
      if (typeof error.code === 'number') fail(error.message);
    };
    const onConnect = (connack: IConnackPacket) => {
      cleanup();
      resolve({ client, sessionPresent: connack.sessionPresent });
    };
    // Until then mqtt.js keeps retrying, so a broker that starts a moment after us is still found.
    const timer = setTimeout(() => fail(`${lastError} (gave up after ${timeoutMs} ms)`), timeoutMs);
    client.on('error', onError);
    client.on('connect', onConnect);
  });
}

/**
 * Disconnects cleanly when connected (DISCONNECT keeps a persistent session).
 * mqtt.js's end() never calls back for a client that is offline or has
 * unacknowledged publishes left, so those are cut instead.
 */
function endClient(client: MqttClient): Promise<void> {
  if (!client.connected) {
    client.end(true);
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      client.stream.destroy();
      resolve();
    }, END_TIMEOUT_MS);
    client.end(false, {}, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Turns one client's connection ups and downs into BusEvents. */
class ConnectionWatch {
  downSince: number | null = null;
  private attempts = 0;
  private lastError = 'connection lost';
  private unreachableTimer: NodeJS.Timeout | undefined;
  private unreachable = false;
  private stopped = false;

  constructor(
    client: MqttClient,
    private readonly label: string,
    private readonly giveUpMs: number,
    private readonly emit: (event: BusEvent) => void,
    private readonly onUnreachable: () => void = () => {},
  ) {
    client.on('error', (error: Error) => {
      if (!(error instanceof NotAcknowledged)) this.lastError = error.message;
    });
    client.on('disconnect', (packet) => {
      this.lastError =
        packet.reasonCode === SESSION_TAKEN_OVER
          ? `session taken over by another client with id "${label}"`
          : `broker disconnected us (reason code ${packet.reasonCode ?? 0})`;
    });
    client.on('reconnect', () => {
      this.attempts += 1;
    });
    client.on('close', () => this.onDown());
    client.on('connect', () => this.onUp());
  }

  private onDown(): void {
    if (this.stopped || this.downSince !== null) return;
    this.downSince = Date.now();
    this.emit({ type: 'disconnected', reason: `${this.label}: ${this.lastError}` });
    this.unreachableTimer = setTimeout(() => {
      this.unreachable = true;
      this.emit({ type: 'unreachable', sinceMs: this.giveUpMs, reason: `${this.label}: ${this.lastError}` });
      this.onUnreachable();
    }, this.giveUpMs);
  }

  private onUp(): void {
    if (this.downSince === null) return;
    clearTimeout(this.unreachableTimer);
    this.emit({ type: 'reconnected', attempts: this.attempts });
    this.downSince = null;
    this.unreachable = false;
    this.attempts = 0;
    this.lastError = 'connection lost';
  }

  /** Down for longer than the give-up time: publishes fail fast instead of queueing. */
  gaveUp(): boolean {
    return this.unreachable;
  }

  reason(): string {
    return this.lastError;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.unreachableTimer);
  }
}

class MqttBus implements Bus {
  readonly kind = 'mqtt' as const;
  readonly namespace: string;
  private readonly url: string;
  private readonly options: BusOptions;
  readonly connectTimeoutMs: number;
  readonly giveUpMs: number;
  private publisher: MqttClient | null = null;
  private publisherWatch: ConnectionWatch | null = null;
  private readonly publishing = new Set<Promise<void>>();
  private readonly waitingForPuback = new Set<(error: Error) => void>();
  private readonly subscriptions = new Set<MqttSubscription>();
  /** Every client id used per subscription name, so deleteSubscription can drop all their sessions. */
  private readonly clientIds = new Map<string, Set<string>>();
  private closing = false;

  constructor(url: string, options: BusOptions) {
    this.url = url;
    this.options = options;
    this.namespace = options.namespace;
    this.connectTimeoutMs = options.connectTimeoutMs ?? BUS_DEFAULTS.connectTimeoutMs;
    this.giveUpMs = options.reconnectGiveUpMs ?? BUS_DEFAULTS.reconnectGiveUpMs;
  }

  async start(): Promise<void> {
    // The random suffix keeps two processes with one clientName from taking over each other's publisher.
    const clientId = sanitizeMqttId(
      `${this.namespace}-${this.options.clientName}-pub-${Math.random().toString(36).slice(2, 10)}`,
    );
    const { client: publisher } = await openClient(
      this.url,
      { clientId, clean: true },
      this.connectTimeoutMs,
    );
    this.publisher = publisher;
    this.publisherWatch = this.watch(publisher, clientId, () => this.failWaitingPublishes());
  }

  watch(client: MqttClient, label: string, onUnreachable?: () => void): ConnectionWatch {
    const emit = (event: BusEvent) => {
      try {
        this.options.onEvent?.(event);
      } catch {
        // A faulty listener must not break the client's event handling.
      }
    };
    return new ConnectionWatch(client, label, this.giveUpMs, emit, onUnreachable);
  }

  private unavailable(): FedpetError {
    return new FedpetError(
      ErrorCodes.brokerUnavailable,
      `MQTT broker at ${redactUrl(this.url)} unreachable for over ${this.giveUpMs} ms: ${this.publisherWatch?.reason() ?? 'not connected'}`,
      { retryable: true },
    );
  }

  private failWaitingPublishes(error: FedpetError = this.unavailable()): void {
    for (const reject of this.waitingForPuback) reject(error);
    this.waitingForPuback.clear();
  }

  publish(topic: string, body: Uint8Array, headers: BusHeaders = {}): Promise<void> {
    if (body.byteLength > MAX_MESSAGE_BYTES) {
      return Promise.reject(
        new FedpetError(
          ErrorCodes.messageTooLarge,
          `message for topic "${topic}" is ${body.byteLength} bytes, above the ${MAX_MESSAGE_BYTES}-byte limit`,
        ),
      );
    }
    const publisher = this.publisher;
    if (this.closing || publisher === null)
      return Promise.reject(new FedpetError(ErrorCodes.brokerUnavailable, 'bus is closed'));
    if (this.publisherWatch?.gaveUp()) return Promise.reject(this.unavailable());
    let mqttTopic: string;
    try {
      mqttTopic = toMqttTopic(this.namespace, topic);
    } catch (error) {
      return Promise.reject(error);
    }
    const task = new Promise<void>((resolve, reject) => {
      this.waitingForPuback.add(reject);
      const properties = Object.keys(headers).length > 0 ? { userProperties: headers } : {};
      // While disconnected mqtt.js queues the packet and sends it after reconnecting.
      publisher.publish(mqttTopic, asBuffer(body), { qos: 1, properties }, (error) => {
        this.waitingForPuback.delete(reject);
        if (!error) {
          resolve();
          return;
        }
        reject(
          new FedpetError(
            ErrorCodes.brokerUnavailable,
            `MQTT broker did not accept the message for topic "${topic}": ${error.message}`,
            { retryable: true, cause: error },
          ),
        );
      });
    });
    this.publishing.add(task);
    const forget = () => this.publishing.delete(task);
    task.then(forget, forget);
    return task;
  }

  async deadLetter(message: IncomingMessage, reason: string): Promise<void> {
    const copy = deadLetterCopy(message, reason);
    await this.publish(copy.topic, message.body, copy.headers);
  }

  /** Republishes a message for one share group only (see REDELIVER_TO_HEADER). */
  async redeliver(message: IncomingMessage, group: string): Promise<void> {
    await this.publish(message.topic, message.body, { ...message.headers, [REDELIVER_TO_HEADER]: group });
  }

  shareGroup(name: string): string {
    return sanitizeMqttId(`${this.namespace}-${name}`);
  }

  async subscribe(options: SubscribeOptions, handler: MessageHandler): Promise<Subscription> {
    if (this.closing) throw new FedpetError(ErrorCodes.brokerUnavailable, 'bus is closed');
    if (options.name === '')
      throw new FedpetError(ErrorCodes.invalidConfig, 'subscription name must not be empty');
    if (options.topics.length === 0)
      throw new FedpetError(ErrorCodes.invalidConfig, `subscription "${options.name}" has no topics`);
    const filters = options.topics.map((pattern) => toMqttFilter(this.namespace, pattern));
    const clientId = this.freeClientId(options.name);
    const subscription = new MqttSubscription(this, options, handler, clientId);
    this.subscriptions.add(subscription);
    try {
      await subscription.open(this.url, filters);
    } catch (error) {
      this.subscriptions.delete(subscription);
      throw error;
    }
    return subscription;
  }

  /** `<namespace>-<name>` for the first consumer of a name in this bus, then `-2`, `-3`, … */
  private freeClientId(name: string): string {
    const base = this.shareGroup(name);
    const inUse = new Set([...this.subscriptions].map((s) => s.clientId));
    let clientId = base;
    for (let n = 2; inUse.has(clientId); n += 1) clientId = `${base}-${n}`;
    const known = this.clientIds.get(name) ?? new Set<string>();
    known.add(clientId);
    this.clientIds.set(name, known);
    return clientId;
  }

  forget(subscription: MqttSubscription): void {
    this.subscriptions.delete(subscription);
  }

  /** MQTT topics are not broker objects: sessions go with deleteSubscription. */
  async removeNamespace(): Promise<void> {}

  async deleteSubscription(name: string): Promise<void> {
    if (this.closing) throw new FedpetError(ErrorCodes.brokerUnavailable, 'bus is closed');
    for (const subscription of [...this.subscriptions]) {
      if (subscription.name === name) await subscription.close();
    }
    const base = this.shareGroup(name);
    for (const clientId of this.clientIds.get(name) ?? []) await this.dropSession(clientId);
    // Extra consumers another bus opened are `-2`, `-3`, …, allocated lowest first: drop until one is missing.
    await this.dropSession(base);
    for (let n = 2; n <= MAX_EXTRA_CONSUMERS && (await this.dropSession(`${base}-${n}`)); n += 1);
    this.clientIds.delete(name);
  }

  /**
   * Resumes the session with expiry 0, so it ends, with what is queued in it,
   * when we disconnect; tells whether there was one. A consumer still
   * connected with that id is disconnected by the broker, as AMQP cancels
   * consumers of a deleted queue.
   */
  private async dropSession(clientId: string): Promise<boolean> {
    const { client, sessionPresent } = await openClient(
      this.url,
      { clientId, clean: false, reconnectPeriod: 0, properties: { sessionExpiryInterval: 0 } },
      this.connectTimeoutMs,
    );
    await endClient(client);
    return sessionPresent;
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await Promise.allSettled([...this.subscriptions].map((s) => s.close()));
    // Offline, mqtt.js would hold these until the give-up time; fail them now instead.
    if (!this.publisher?.connected) {
      this.failWaitingPublishes(
        new FedpetError(ErrorCodes.brokerUnavailable, 'bus closed while the broker was unreachable', {
          retryable: true,
        }),
      );
    }
    await Promise.allSettled([...this.publishing]);
    this.publisherWatch?.stop();
    const publisher = this.publisher;
    this.publisher = null;
    if (publisher) await endClient(publisher);
  }
}

class MqttSubscription implements Subscription {
  readonly name: string;
  readonly clientId: string;
  private readonly bus: MqttBus;
  private readonly options: SubscribeOptions;
  private readonly handler: MessageHandler;
  private readonly group: string;
  private client: MqttClient | null = null;
  private watch: ConnectionWatch | null = null;
  private readonly inFlight = new Set<Promise<unknown>>();
  private closed = false;

  constructor(bus: MqttBus, options: SubscribeOptions, handler: MessageHandler, clientId: string) {
    this.bus = bus;
    this.options = options;
    this.handler = handler;
    this.name = options.name;
    this.clientId = clientId;
    this.group = bus.shareGroup(options.name);
  }

  async open(url: string, filters: readonly string[]): Promise<void> {
    const { client } = await openClient(
      url,
      {
        clientId: this.clientId,
        clean: false,
        properties: {
          sessionExpiryInterval: SESSION_EXPIRY_S,
          receiveMaximum: this.options.prefetch ?? BUS_DEFAULTS.prefetch,
        },
        customHandleAcks: (topic, payload, packet, done) => this.onPublish(topic, payload, packet, done),
      },
      this.bus.connectTimeoutMs,
    );
    this.client = client;
    this.watch = this.bus.watch(client, this.clientId);
    try {
      const granted = await client.subscribeAsync(
        filters.map((filter) => `$share/${this.group}/${filter}`),
        { qos: 1 },
      );
      const refused = granted.filter((grant) => grant.qos >= FIRST_FAILURE_CODE).map((grant) => grant.topic);
      if (refused.length > 0) {
        throw new FedpetError(
          ErrorCodes.invalidConfig,
          `MQTT broker refused the subscription to ${refused.join(', ')}`,
        );
      }
    } catch (error) {
      this.watch.stop();
      await endClient(client);
      if (error instanceof FedpetError) throw error;
      throw new FedpetError(
        ErrorCodes.brokerUnavailable,
        `could not subscribe "${this.name}" on the MQTT broker: ${errorReason(error)}`,
        { retryable: true, cause: error },
      );
    }
  }

  private onPublish(
    mqttTopic: string,
    payload: Buffer,
    packet: IPublishPacket,
    done: (error: Error | number, code?: number) => void,
  ): void {
    let answered = false;
    // mqtt.js stalls this client's packet stream until it gets exactly one answer.
    const answer = (result: Error | number) => {
      if (answered) return;
      answered = true;
      done(result);
    };
    // Closing: leave the message unacknowledged in the session for the next consumer.
    if (this.closed) {
      answer(new NotAcknowledged('subscription closing'));
      return;
    }
    const headers = toBusHeaders(packet.properties?.userProperties);
    const redeliverTo = headers[REDELIVER_TO_HEADER];
    delete headers[REDELIVER_TO_HEADER];
    // A retry copy meant for another subscription of the same topic: not ours to handle.
    if (redeliverTo !== undefined && redeliverTo !== this.group) {
      answer(0);
      return;
    }
    const message: IncomingMessage = {
      topic: fromMqttTopic(this.bus.namespace, mqttTopic),
      body: payload,
      headers,
      redelivered: packet.dup || redeliverTo !== undefined,
    };
    const running = settle(this.handler, message, {
      ack: () => answer(0),
      // Republish then PUBACK the original, so a crash in between duplicates rather than loses it.
      // The copy goes to the topic, i.e. to every subscriber of it; others drop it by its header.
      retry: async () => {
        await retryDelay();
        try {
          await this.bus.redeliver(message, this.group);
          answer(0);
        } catch (error) {
          // No PUBACK: the broker keeps the message and sends it again when this client reconnects.
          answer(new NotAcknowledged(errorReason(error)));
        }
      },
      deadLetter: (reason) => this.bus.deadLetter(message, reason),
    });
    this.inFlight.add(running);
    running
      .finally(() => {
        this.inFlight.delete(running);
        answer(new NotAcknowledged('not settled'));
      })
      .catch(() => {});
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.bus.forget(this);
    await Promise.allSettled([...this.inFlight]);
    this.watch?.stop();
    // A normal DISCONNECT keeps the session (expiry set at CONNECT) and what is queued in it.
    if (this.client) await endClient(this.client);
  }
}
