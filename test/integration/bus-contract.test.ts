/**
 * One contract for `Bus`, run against both real brokers on this machine:
 * RabbitMQ (AMQP 0-9-1) and Mosquitto (MQTT 5). Every test works in its own
 * namespace and removes what it created, so runs do not see each other.
 *
 *   node --import tsx --test test/integration/bus-contract.test.ts
 *
 * Broker URLs: FEDPET_TEST_AMQP_URL, FEDPET_TEST_MQTT_URL.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { describe, type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect as amqpConnect } from 'amqplib';
import { ErrorCodes, FedpetError } from '../../shared/src/errors/fedpet-error.ts';
import {
  type Bus,
  type BusEvent,
  type BusOptions,
  DEAD_REASON_HEADER,
  type IncomingMessage,
  MAX_MESSAGE_BYTES,
  ORIGINAL_TOPIC_HEADER,
  type SubscribeOptions,
} from '../../shared/src/transport/bus.ts';
import { createBus } from '../../shared/src/transport/create-bus.ts';

const AMQP_URL = process.env.FEDPET_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const MQTT_URL = process.env.FEDPET_TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883';
/** Long enough for a redelivery round trip, short enough to keep the suite fast. */
const QUIET_MS = 400;

interface BrokerFixture {
  kind: 'amqp' | 'mqtt';
  url: string;
  /** What reaching nobody looks like in the error message. */
  unreachablePrefix: string;
  /** Removes what a namespace leaves beyond its subscriptions (the AMQP exchange and dead-letter queue). */
  dropNamespace(namespace: string): Promise<void>;
}

const fixtures: BrokerFixture[] = [
  {
    kind: 'amqp',
    url: AMQP_URL,
    unreachablePrefix: 'cannot reach RabbitMQ at',
    async dropNamespace(namespace) {
      const connection = await amqpConnect(AMQP_URL);
      try {
        const channel = await connection.createChannel();
        await channel.deleteQueue(`${namespace}.dead-letter`);
        await channel.deleteExchange(namespace);
      } finally {
        await connection.close();
      }
    },
  },
  {
    kind: 'mqtt',
    url: MQTT_URL,
    unreachablePrefix: 'cannot reach MQTT broker at',
    async dropNamespace() {
      // MQTT keeps nothing per namespace beyond the subscription sessions.
    },
  },
];

/** Collects deliveries and lets a test wait for a count. */
class Inbox {
  readonly messages: IncomingMessage[] = [];
  private wakeUp: (() => void) | null = null;
  private readonly react: (message: IncomingMessage, nth: number) => Promise<void>;

  constructor(react: (message: IncomingMessage, nth: number) => Promise<void> = async () => {}) {
    this.react = react;
  }

  readonly handler = async (message: IncomingMessage): Promise<void> => {
    this.messages.push(message);
    this.wakeUp?.();
    await this.react(message, this.messages.length);
  };

  waitFor(count: number, timeoutMs = 5_000): Promise<IncomingMessage[]> {
    return this.waitUntil(() => this.messages.length >= count, `${count} messages`, timeoutMs);
  }

  async waitUntil(done: () => boolean, what: string, timeoutMs = 5_000): Promise<IncomingMessage[]> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) assert.fail(`expected ${what}, got ${this.messages.length} messages in ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 100));
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.messages;
  }

  topics(): string[] {
    return this.messages.map((m) => m.topic).sort();
  }
}

/** One test's namespace: buses it opened and subscriptions it made, all removed by cleanup. */
class Scenario {
  readonly namespace = `t-${randomBytes(5).toString('hex')}`;
  readonly events: BusEvent[] = [];
  private readonly buses: Bus[] = [];
  private readonly subscriptionNames = new Set<string>();

  constructor(readonly fixture: BrokerFixture) {}

  async bus(overrides: Partial<BusOptions> & { url?: string } = {}): Promise<Bus> {
    const { url = this.fixture.url, ...options } = overrides;
    const bus = await createBus(url, {
      namespace: this.namespace,
      clientName: `contract-${this.buses.length}`,
      connectTimeoutMs: 3_000,
      onEvent: (event) => this.events.push(event),
      ...options,
    });
    this.buses.push(bus);
    return bus;
  }

  subscribe(bus: Bus, options: SubscribeOptions, inbox: Inbox) {
    this.subscriptionNames.add(options.name);
    return bus.subscribe(options, inbox.handler);
  }

  async cleanup(): Promise<void> {
    await Promise.allSettled(this.buses.map((bus) => bus.close()));
    const janitor = await createBus(this.fixture.url, { namespace: this.namespace, clientName: 'janitor' });
    try {
      for (const name of this.subscriptionNames) await janitor.deleteSubscription(name);
    } finally {
      await janitor.close();
    }
    await this.fixture.dropNamespace(this.namespace);
  }
}

async function scenario(t: TestContext, fixture: BrokerFixture): Promise<Scenario> {
  const s = new Scenario(fixture);
  t.after(() => s.cleanup());
  return s;
}

/** A TCP relay in front of the broker, so a test can cut the network under a live bus. */
class Relay {
  private readonly sockets = new Set<Socket>();
  private server: Server | null = null;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<void> {
    const server = createServer((inbound) => {
      const outbound = tcpConnect(this.targetPort, this.targetHost);
      for (const socket of [inbound, outbound]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => {});
      }
      inbound.pipe(outbound).pipe(inbound);
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    this.port = typeof address === 'object' && address !== null ? address.port : 0;
  }

  /** Drops every relayed connection, as a broker restart or network blip would. */
  cut(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  async stop(): Promise<void> {
    this.cut();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function withPort(url: string, port: number): string {
  const parsed = new URL(url);
  parsed.hostname = '127.0.0.1';
  parsed.port = String(port);
  return parsed.toString();
}

async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<FedpetError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof FedpetError, `expected a FedpetError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return error;
  }
  return assert.fail(`expected rejection with ${code}`);
}

function busContract(fixture: BrokerFixture): void {
  describe(`Bus contract over ${fixture.kind}`, { concurrency: true }, () => {
    test('round trip keeps a binary body and headers', async (t) => {
      const s = await scenario(t, fixture);
      const bus = await s.bus();
      assert.equal(bus.kind, fixture.kind);
      assert.equal(bus.namespace, s.namespace);
      const inbox = new Inbox();
      await s.subscribe(bus, { name: 'roundtrip', topics: ['greeting.hello'] }, inbox);
      const body = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x00, 0x80, 0x0a, 0x0d]);
      await bus.publish('greeting.hello', new Uint8Array(body), { 'x-trace': 'abc-123', 'fedpet-v': '1.0' });
      const [message] = await inbox.waitFor(1);
      assert.ok(message);
      assert.equal(message.topic, 'greeting.hello');
      assert.deepEqual(Buffer.from(message.body), body);
      assert.equal(message.headers['x-trace'], 'abc-123');
      assert.equal(message.headers['fedpet-v'], '1.0');
      assert.equal(message.redelivered, false);
    });

    test('"*" matches one word and "#" any rest', async (t) => {
      const s = await scenario(t, fixture);
      const bus = await s.bus();
      const oneWord = new Inbox();
      const anyRest = new Inbox();
      await s.subscribe(bus, { name: 'one-word', topics: ['metrics.*'] }, oneWord);
      await s.subscribe(bus, { name: 'any-rest', topics: ['status.#'] }, anyRest);
      const topics = [
        'metrics.cpu',
        'metrics.cpu.core0',
        'status',
        'status.node-1',
        'status.node-1.disk',
        'other.x',
      ];
      for (const topic of topics) await bus.publish(topic, Buffer.from(topic));
      await oneWord.waitFor(1);
      await anyRest.waitFor(3);
      await sleep(QUIET_MS);
      assert.deepEqual(oneWord.topics(), ['metrics.cpu']);
      assert.deepEqual(anyRest.topics(), ['status', 'status.node-1', 'status.node-1.disk']);
    });

    test('a durable subscription gets what was published while it was closed', async (t) => {
      const s = await scenario(t, fixture);
      const bus = await s.bus();
      const first = new Inbox();
      const subscription = await s.subscribe(bus, { name: 'durable', topics: ['job.*'] }, first);
      await subscription.close();
      await bus.publish('job.a', Buffer.from('while-away-1'));
      await bus.publish('job.b', Buffer.from('while-away-2'));
      await sleep(100);
      assert.equal(first.messages.length, 0);
      const second = new Inbox();
      await s.subscribe(bus, { name: 'durable', topics: ['job.*'] }, second);
      await second.waitFor(2);
      assert.deepEqual(second.messages.map((m) => m.body.toString()).sort(), [
        'while-away-1',
        'while-away-2',
      ]);
    });

    test('a retryable failure is delivered again', async (t) => {
      const s = await scenario(t, fixture);
      const bus = await s.bus();
      const inbox = new Inbox(async (_message, nth) => {
        if (nth === 1) throw new Error('database briefly away');
      });
      await s.subscribe(bus, { name: 'retry', topics: ['work.#'] }, inbox);
      await bus.publish('work.item', Buffer.from('try me twice'), { attempt: 'x' });
      const [first, second] = await inbox.waitFor(2);
      assert.ok(first && second);
      assert.equal(second.body.toString(), 'try me twice');
      assert.equal(second.topic, 'work.item');
      assert.equal(second.headers.attempt, 'x');
      assert.equal(second.redelivered, true);
      await sleep(QUIET_MS);
      assert.equal(inbox.messages.length, 2, 'acknowledged after the second, successful attempt');
    });

    test("a retry reaches only the subscription that failed, not the topic's other subscribers", async (t) => {
      const s = await scenario(t, fixture);
      const bus = await s.bus();
      const flaky = new Inbox(async (_message, nth) => {
        if (nth === 1) throw new Error('try again');
      });
      const steady = new Inbox();
      await s.subscribe(bus, { name: 'flaky', topics: ['event.*'] }, flaky);
      await s.subscribe(bus, { name: 'steady', topics: ['event.*'] }, steady);
      await bus.publish('event.one', Buffer.from('e1'));
      await flaky.waitFor(2);
      await sleep(QUIET_MS);
      assert.equal(steady.messages.length, 1);
      assert.equal(steady.messages[0]?.redelivered, false);
      assert.equal(flaky.messages.length, 2);
      assert.deepEqual(
        Object.keys(flaky.messages[1]?.headers ?? {}).filter((key) => key.startsWith('x-redeliver')),
        [],
        'no transport bookkeeping leaks into headers',
      );
    });

    test('a retryable FedpetError is delivered again too', async (t) => {
      const s = await scenario(t, fixture);
      const bus = await s.bus();
      const inbox = new Inbox(async (_message, nth) => {
        if (nth === 1)
          throw new FedpetError(ErrorCodes.blobMissing, 'blob not there yet', { retryable: true });
      });
      await s.subscribe(bus, { name: 'retry-fedpet', topics: ['work.*'] }, inbox);
      await bus.publish('work.item', Buffer.from('later'));
      await inbox.waitFor(2);
    });

    test('a non-retryable failure lands on dead-letter.<topic> with its reason', async (t) => {
      const s = await scenario(t, fixture);
      const bus = await s.bus();
      const deadLetters = new Inbox();
      await s.subscribe(bus, { name: 'dead-watch', topics: ['dead-letter.#'] }, deadLetters);
      const inbox = new Inbox(async () => {
        throw new FedpetError(ErrorCodes.invalidMessage, 'frame has no envelope');
      });
      await s.subscribe(bus, { name: 'strict', topics: ['update.*'] }, inbox);
      await bus.publish('update.exp-1', Buffer.from([9, 9, 9]), { sender: 'site-a' });
      const [dead] = await deadLetters.waitFor(1);
      assert.ok(dead);
      assert.equal(dead.topic, 'dead-letter.update.exp-1');
      assert.equal(dead.headers[DEAD_REASON_HEADER], 'frame has no envelope');
      assert.equal(dead.headers[ORIGINAL_TOPIC_HEADER], 'update.exp-1');
      assert.equal(dead.headers.sender, 'site-a');
      assert.deepEqual([...dead.body], [9, 9, 9]);
      await sleep(QUIET_MS);
      assert.equal(inbox.messages.length, 1, 'a dead-lettered message is not redelivered');
      assert.equal(deadLetters.messages.length, 1);
    });

    test('publish above MAX_MESSAGE_BYTES is refused', async (t) => {
      const s = await scenario(t, fixture);
      const bus = await s.bus();
      const error = await rejectsWithCode(
        bus.publish('model.global', new Uint8Array(MAX_MESSAGE_BYTES + 1)),
        ErrorCodes.messageTooLarge,
      );
      assert.match(error.message, /model\.global/);
      assert.match(error.message, new RegExp(String(MAX_MESSAGE_BYTES + 1)));
    });

    test('a 3 MiB message passes intact', async (t) => {
      const s = await scenario(t, fixture);
      const bus = await s.bus();
      const inbox = new Inbox();
      await s.subscribe(bus, { name: 'big', topics: ['model.*'] }, inbox);
      const body = randomBytes(3 * 1024 * 1024);
      await bus.publish('model.global', body);
      const [message] = await inbox.waitFor(1, 10_000);
      assert.ok(message);
      assert.equal(message.body.length, body.length);
      assert.ok(Buffer.from(message.body).equals(body), 'same bytes');
    });

    test('competing consumers of one subscription share its messages', async (t) => {
      const s = await scenario(t, fixture);
      const bus = await s.bus();
      const slow = async () => sleep(15);
      const a = new Inbox(slow);
      const b = new Inbox(slow);
      await s.subscribe(bus, { name: 'workers', topics: ['task.*'], prefetch: 1 }, a);
      await s.subscribe(bus, { name: 'workers', topics: ['task.*'], prefetch: 1 }, b);
      const count = 20;
      for (let i = 0; i < count; i += 1) await bus.publish('task.run', Buffer.from(String(i)));
      const deadline = Date.now() + 5_000;
      while (a.messages.length + b.messages.length < count && Date.now() < deadline) await sleep(20);
      await sleep(QUIET_MS);
      const seen = [...a.messages, ...b.messages].map((m) => Number(m.body.toString())).sort((x, y) => x - y);
      assert.deepEqual(
        seen,
        Array.from({ length: count }, (_, i) => i),
        'each message delivered exactly once',
      );
      assert.ok(
        a.messages.length > 0 && b.messages.length > 0,
        `split ${a.messages.length}/${b.messages.length}`,
      );
    });

    test('reconnects after the connection drops and re-subscribes', async (t) => {
      const s = await scenario(t, fixture);
      const target = new URL(fixture.url);
      const relay = new Relay(target.hostname, Number(target.port));
      await relay.start();
      t.after(() => relay.stop());
      const bus = await s.bus({ url: withPort(fixture.url, relay.port), reconnectGiveUpMs: 1_500 });
      const inbox = new Inbox();
      await s.subscribe(bus, { name: 'survivor', topics: ['ping.*'] }, inbox);
      await bus.publish('ping.before', Buffer.from('1'));
      await inbox.waitFor(1);

      relay.cut();
      // Issued while the bus is (about to be) disconnected: waits for the reconnection.
      await bus.publish('ping.after', Buffer.from('2'));
      // "ping.before" may come twice: its ack can be lost in the cut, and at-least-once redelivers it.
      await inbox.waitUntil(() => inbox.topics().includes('ping.after'), 'ping.after', 8_000);
      assert.ok(s.events.some((e) => e.type === 'disconnected'));
      assert.ok(s.events.some((e) => e.type === 'reconnected'));

      await relay.stop();
      const started = Date.now();
      await rejectsWithCode(bus.publish('ping.lost', Buffer.from('3')), ErrorCodes.brokerUnavailable);
      assert.ok(Date.now() - started < 5_000, 'gives up after reconnectGiveUpMs');
      assert.ok(s.events.some((e) => e.type === 'unreachable'));
    });

    test('an unreachable broker fails fast with a clear message', async (t) => {
      const relay = new Relay('127.0.0.1', 1);
      await relay.start();
      const port = relay.port;
      await relay.stop(); // a port that was just free: nothing listens there now
      const url = new URL(fixture.url);
      url.port = String(port);
      url.username = 'fedpet';
      url.password = 's3cret';
      const started = Date.now();
      const error = await rejectsWithCode(
        createBus(url.toString(), {
          namespace: 't-unreachable',
          clientName: 'contract',
          connectTimeoutMs: 800,
        }),
        ErrorCodes.brokerUnavailable,
      );
      assert.ok(Date.now() - started < 3_000, `took ${Date.now() - started} ms`);
      assert.ok(error.message.startsWith(fixture.unreachablePrefix), error.message);
      assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
      assert.doesNotMatch(error.message, /s3cret/);
      t.diagnostic(error.message);
    });
  });
}

for (const fixture of fixtures) busContract(fixture);

describe('AMQP specifics', () => {
  test('dead letters are kept without a subscriber', async (t) => {
    const amqp = fixtures[0];
    assert.ok(amqp);
    const s = await scenario(t, amqp);
    const bus = await s.bus();
    const strict = new Inbox(async () => {
      throw new FedpetError(ErrorCodes.invalidMessage, 'unreadable');
    });
    await s.subscribe(bus, { name: 'strict', topics: ['update.*'] }, strict);
    await bus.publish('update.exp-2', Buffer.from('x'));
    await strict.waitFor(1);
    await sleep(200);
    // The subscription named "dead-letter" is the durable <namespace>.dead-letter queue.
    const parked = new Inbox();
    await s.subscribe(bus, { name: 'dead-letter', topics: ['dead-letter.#'] }, parked);
    const [dead] = await parked.waitFor(1);
    assert.equal(dead?.headers[DEAD_REASON_HEADER], 'unreadable');
  });
});

describe('createBus', () => {
  test('refuses an unknown URL scheme', async () => {
    const error = await rejectsWithCode(
      createBus('kafka://user:pw@127.0.0.1:9092', { namespace: 't-x', clientName: 'contract' }),
      ErrorCodes.invalidConfig,
    );
    assert.match(error.message, /kafka:/);
    assert.doesNotMatch(error.message, /:pw@/);
  });

  test('refuses something that is not a URL', async () => {
    await rejectsWithCode(
      createBus('not a url', { namespace: 't-x', clientName: 'contract' }),
      ErrorCodes.invalidConfig,
    );
  });
});
