import { createHash, type KeyObject } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { PROTOCOL_VERSION } from '../../shared/src/contracts/version.ts';
import { createRng, type Rng } from '../../shared/src/ml/random.ts';
import { type RejectReason, signFrame } from '../../shared/src/security/frame-signing.ts';
import type { KeySet } from '../../shared/src/security/key-files.ts';
import type {
  Bus,
  BusHeaders,
  IncomingMessage,
  MessageHandler,
  SubscribeOptions,
  Subscription,
} from '../../shared/src/transport/bus.ts';
import { isNonRetryable } from '../../shared/src/transport/settle.ts';
import { Topics } from '../../shared/src/transport/topics.ts';

/**
 * Random and mutated bus messages for the inputs of a running round: the
 * aggregator's (update, error, secagg-up) and one hospital's (secagg-down).
 * Every message is generated from a seed and says which fates it may meet,
 * so a test can account for each one: dead-lettered (by the decoder, the
 * frame verifier or the handler) or handled and ignored (a round that is not
 * open, a hospital that already answered, a mailbox with no use for it).
 */

/** Header every fuzz message carries (dead-letter copies keep it): its id. */
export const FUZZ_HEADER = 'x-fuzz-id';

/** Why a message was dead-lettered: its frame, the verifier's reason, or the handler refused it. */
export type DeadClass = 'decode' | RejectReason | 'handler';
/**
 * Why a valid, verified message changed nothing: its round is not open at the
 * aggregator, its hospital already answered the round (the collector ignores
 * it), or the hospital's secure-aggregation mailbox has no use for it.
 */
export type IgnoredClass = 'not-open' | 'duplicate' | 'mailbox';
export type FateClass = DeadClass | IgnoredClass;

export const IGNORED_CLASSES: readonly IgnoredClass[] = ['not-open', 'duplicate', 'mailbox'];

export interface FuzzMessage {
  /** The consumer it is aimed at: 'aggregator' or a hospital id. */
  party: string;
  topic: string;
  body: Buffer;
  headers: BusHeaders;
  /** What kind of fuzz, for the report. */
  label: string;
  /** The fates this message may meet; any other is a finding. */
  expect: readonly FateClass[];
}

const DECODE_REASON =
  /^(frame of|envelope|protocol version|unexpected message type|unknown message type|[a-z.]+ body:)/;
const SIGNATURE_REASON = /^signature check failed \(([a-z-]+)\)/;

/** Reads a dead-letter reason (consume.ts and the verifier word them) back into its class. */
export function classifyDeadReason(reason: string): DeadClass {
  const signature = SIGNATURE_REASON.exec(reason);
  if (signature) return signature[1] as RejectReason;
  return DECODE_REASON.test(reason) ? 'decode' : 'handler';
}

// ── observing how each delivery settles ────────────────────────────────────

export type SettleOutcome = 'acked' | 'dead-lettered' | 'retried';

export interface Settlement {
  party: string;
  message: IncomingMessage;
  outcome: SettleOutcome;
  /** The error's message when the handler threw. */
  reason?: string;
  at: number;
}

/**
 * A Bus whose subscriptions report how each delivery settles, by the same
 * rule the adapters apply (settle.ts): the handler resolved → acknowledged;
 * threw a non-retryable error → dead-lettered; threw anything else →
 * redelivered. Everything else is the wrapped bus's.
 */
export class ObservingBus implements Bus {
  constructor(
    private readonly inner: Bus,
    private readonly party: string,
    private readonly onSettled: (settlement: Settlement) => void,
    /** Awaited before each delivery reaches the handler (to hold a party back while something is sent). */
    private readonly before?: (message: IncomingMessage) => Promise<void>,
  ) {}

  get kind(): Bus['kind'] {
    return this.inner.kind;
  }

  get namespace(): string {
    return this.inner.namespace;
  }

  publish(topic: string, body: Uint8Array, headers?: BusHeaders): Promise<void> {
    return this.inner.publish(topic, body, headers);
  }

  subscribe(options: SubscribeOptions, handler: MessageHandler): Promise<Subscription> {
    return this.inner.subscribe(options, async (message) => {
      await this.before?.(message);
      try {
        await handler(message);
      } catch (error) {
        const outcome = isNonRetryable(error) ? 'dead-lettered' : 'retried';
        const reason = error instanceof Error ? error.message : String(error);
        this.onSettled({ party: this.party, message, outcome, reason, at: Date.now() });
        throw error;
      }
      this.onSettled({ party: this.party, message, outcome: 'acked', at: Date.now() });
    });
  }

  deadLetter(message: IncomingMessage, reason: string): Promise<void> {
    return this.inner.deadLetter(message, reason);
  }

  deleteSubscription(name: string): Promise<void> {
    return this.inner.deleteSubscription(name);
  }

  removeNamespace(): Promise<void> {
    return this.inner.removeNamespace();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

// ── frames ─────────────────────────────────────────────────────────────────

/** The envelope JSON of a frame, or undefined if it has none (used on real frames only). */
export function envelopeOf(frame: Buffer): Record<string, unknown> | undefined {
  if (frame.length < 4) return undefined;
  const length = frame.readUInt32BE(0);
  if (length > frame.length - 4) return undefined;
  try {
    return JSON.parse(frame.subarray(4, 4 + length).toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Length prefix, envelope text, payload: the wire frame (shared/src/contracts/frame.ts). */
function frameOf(json: string, payload?: Uint8Array): Buffer {
  const text = Buffer.from(json, 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(text.length, 0);
  return Buffer.concat(payload ? [length, text, payload] : [length, text]);
}

/**
 * JSON cannot say NaN or Infinity, so a sender that writes them produces text
 * no JSON parser accepts (and 1e999 parses to Infinity): such values are
 * planted as marker strings and spliced in as raw text after serialising.
 */
const raw = (token: string): string => `@@raw:${token}@@`;
const RAW_MARKER = /"@@raw:([^"@]*)@@"/g;
const toJsonText = (value: unknown): string => JSON.stringify(value).replace(RAW_MARKER, '$1');

/** Values a careless or hostile sender might put anywhere. */
const NASTY: readonly unknown[] = [
  -1,
  0,
  1.5,
  2 ** 31,
  2 ** 32,
  2 ** 53,
  2 ** 53 + 2,
  1e300,
  -1e300,
  Number.MIN_VALUE,
  '',
  ' ',
  'x'.repeat(5000),
  'é',
  '\u0000',
  'H1',
  'h9',
  '../h1',
  'update.#',
  null,
  true,
  false,
  [],
  {},
  [1, 2, 3],
  { nested: { deep: [null] } },
  raw('NaN'),
  raw('Infinity'),
  raw('-Infinity'),
  raw('1e999'),
  raw('-1e999'),
  raw('0x10'),
  raw('01'),
  raw('.5'),
  raw('+1'),
  raw('undefined'),
];

const SENT_AT = '2025-01-01T00:00:00.000Z';
const VOCABULARY = ['step', 'code', 'reason', 'hospital', 'payload', 'kind', 'shares', 'a', 'numSamples', ''];

/** A 32-bit seed for one named event (FNV-1a), so reactive fuzz is reproducible per event. */
export function seedFor(seed: number, key: string): number {
  let hash = 0x811c9dc5 ^ seed;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

class Draw {
  constructor(readonly rng: Rng) {}

  pick<T>(items: readonly T[]): T {
    return items[this.rng.int(items.length)]!;
  }

  chance(p: number): boolean {
    return this.rng.next() < p;
  }

  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = this.rng.int(256);
    return out;
  }

  base64(n: number): string {
    return this.bytes(n).toString('base64');
  }

  /** An RFC 9562 version-4 UUID from the seeded source. */
  uuid(): string {
    const b = this.bytes(16);
    b[6] = (b[6]! & 0x0f) | 0x40;
    b[8] = (b[8]! & 0x3f) | 0x80;
    const hex = b.toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  json(depth = 0): unknown {
    const choice = this.rng.int(depth >= 3 ? 5 : 8);
    if (choice === 0) return null;
    if (choice === 1) return this.chance(0.5);
    if (choice === 2)
      return this.pick([this.rng.int(1000), -this.rng.normal() * 1e6, 2 ** (this.rng.int(80) - 10)]);
    if (choice === 3) return this.base64(this.rng.int(24));
    if (choice === 4) return this.pick(NASTY);
    if (choice === 5) return Array.from({ length: this.rng.int(4) }, () => this.json(depth + 1));
    const entries = Array.from({ length: this.rng.int(5) }, () => [
      this.pick(VOCABULARY),
      this.json(depth + 1),
    ]);
    return Object.fromEntries(entries);
  }

  /** A deep copy of `value` with one field changed, removed or added. */
  mutate(value: Record<string, unknown>): Record<string, unknown> {
    const copy = structuredClone(value);
    const paths: (string | number)[][] = [];
    const walk = (node: unknown, path: (string | number)[]) => {
      if (node === null || typeof node !== 'object') return;
      for (const key of Object.keys(node)) {
        const at = [...path, Array.isArray(node) ? Number(key) : key];
        paths.push(at);
        walk((node as Record<string, unknown>)[key], at);
      }
    };
    walk(copy, []);
    const path = this.pick(paths);
    let parent: Record<string | number, unknown> = copy;
    for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
    const last = path[path.length - 1]!;
    const action = this.rng.next();
    if (action < 0.7) parent[last] = this.pick(NASTY);
    else if (action < 0.85 && !Array.isArray(parent)) delete parent[last];
    else parent[last] = this.json(1);
    return copy;
  }
}

// ── message templates ──────────────────────────────────────────────────────

export interface FuzzSetup {
  seed: number;
  experimentId: string;
  round: number;
  ids: readonly string[];
  keys: KeySet;
  /** Model length: a masked input is parameters + 2 words. */
  parameters: number;
  /** The hospital whose secagg-down input also gets fuzz. */
  trainer: string;
}

interface Fields {
  experimentId: string;
  round: number;
  sender: string;
}

type Body = Record<string, unknown>;

/** The update body and payload of one chunk carrying `payload` whole. */
function updateOf(draw: Draw, hospital: string, payload: Buffer, overrides: Body = {}): Body {
  return {
    updateId: draw.uuid(),
    hospital,
    kind: 'train',
    numSamples: 50,
    metrics: {},
    timingsMs: {},
    encoding: 'secagg-masked',
    payload: {
      index: 0,
      count: 1,
      chunkBytes: Math.max(1, payload.length),
      totalBytes: payload.length,
      crc32: crc32(payload),
      payloadSha256: createHash('sha256').update(payload).digest('hex'),
    },
    ...overrides,
  };
}

const errorOf = (hospital?: string): Body => ({
  code: 'TRAINING_FAILED',
  reason: 'fuzz',
  retryable: false,
  ...(hospital ? { hospital } : {}),
});

/** A well-formed body of every secure-aggregation step, with random key material. */
function secaggOf(draw: Draw, step: string, ids: readonly string[]): Body {
  const advertisement = () => ({
    sender: draw.pick(ids),
    encryptionKey: draw.base64(32),
    maskKey: draw.base64(32),
    signature: draw.base64(64),
  });
  switch (step) {
    case 'advertise-keys':
      return { step, encryptionKey: draw.base64(32), maskKey: draw.base64(32), signature: draw.base64(64) };
    case 'key-roster':
      return { step, advertisements: ids.map(advertisement) };
    case 'share-keys':
      return { step, shares: ids.map((hospital) => ({ hospital, ciphertext: draw.base64(90) })) };
    case 'relayed-shares':
      return {
        step,
        recipient: draw.pick(ids),
        shares: [{ hospital: draw.pick(ids), ciphertext: draw.base64(90) }],
      };
    case 'unmask-request':
      return { step, survivors: [...ids], dropped: [] };
    case 'unmask-response':
      return {
        step,
        selfMaskShares: ids.map((owner) => ({ owner, share: draw.base64(40) })),
        maskKeyShares: [],
      };
    default:
      return { step: 'abort', code: 'FUZZ', reason: 'fuzz' };
  }
}

const SECAGG_STEPS = [
  'advertise-keys',
  'key-roster',
  'share-keys',
  'relayed-shares',
  'unmask-request',
  'unmask-response',
  'abort',
];

/**
 * Builds the fuzz. `early()` is everything that needs no knowledge of the
 * run (sent as the round starts); the `after*` methods react to what the run
 * did (a real frame handled, a hospital's update counted) with replays and
 * correctly signed messages that must still change nothing.
 */
export class FuzzFactory {
  private readonly hospitalKey: Map<string, KeyObject>;

  constructor(private readonly setup: FuzzSetup) {
    this.hospitalKey = new Map(setup.keys.hospitals.map((h) => [h.id, h.signing.privateKey]));
  }

  private get aggregatorKey(): KeyObject {
    return this.setup.keys.aggregator.signing.privateKey;
  }

  private fields(sender: string, overrides: Partial<Fields> = {}): Fields {
    return { experimentId: this.setup.experimentId, round: this.setup.round, sender, ...overrides };
  }

  private envelope(draw: Draw, type: string, fields: Fields, body: unknown): Body {
    return { v: PROTOCOL_VERSION, type, id: draw.uuid(), ...fields, sentAt: SENT_AT, body };
  }

  private frame(envelope: Body, payload?: Uint8Array): Buffer {
    return frameOf(toJsonText(envelope), payload);
  }

  /** Headers carrying a signature over `frame` by `key` (frame-signing.ts), whoever the envelope names. */
  private signed(frame: Buffer, key: KeyObject): BusHeaders {
    return { 'fedpet-signature': signFrame(key, frame) };
  }

  private aggregatorTopic(
    draw: Draw,
    type: string,
    hospital: string,
    experimentId = this.setup.experimentId,
  ) {
    if (type === 'update') return Topics.update(experimentId, hospital);
    if (type === 'error') return Topics.error(experimentId, hospital);
    if (type === 'secagg') return Topics.secaggUp(experimentId, hospital);
    return draw.pick([Topics.update, Topics.error, Topics.secaggUp])(experimentId, hospital);
  }

  private trainerTopic(experimentId = this.setup.experimentId): string {
    return Topics.secaggDown(experimentId, this.setup.trainer);
  }

  /** A plausible message of `type` from `sender` (a hospital to the aggregator, or the aggregator down). */
  private plausible(draw: Draw, type: string, sender: string): { body: Body; payload?: Buffer } {
    const hospital = sender === 'aggregator' ? this.setup.trainer : sender;
    if (type === 'update') return { body: {}, payload: draw.bytes(draw.rng.int(64)) };
    if (type === 'error') return { body: errorOf(draw.chance(0.5) ? hospital : undefined) };
    const steps =
      sender === 'aggregator'
        ? ['key-roster', 'relayed-shares', 'unmask-request', 'abort']
        : ['advertise-keys', 'share-keys', 'unmask-response'];
    return { body: secaggOf(draw, draw.pick(steps), this.setup.ids) };
  }

  /** Envelope and body of a plausible message, update bodies completed from their payload. */
  private message(draw: Draw, type: string, fields: Fields): { envelope: Body; payload?: Buffer } {
    const made = this.plausible(draw, type, fields.sender);
    const body =
      type === 'update'
        ? updateOf(draw, fields.sender === 'aggregator' ? this.setup.trainer : fields.sender, made.payload!)
        : made.body;
    return { envelope: this.envelope(draw, type, fields, body), payload: made.payload };
  }

  /** Stateless fuzz for both inputs: garbage, mutations, bad or foreign signatures. */
  early(): FuzzMessage[] {
    const draw = new Draw(createRng(this.setup.seed));
    const out: FuzzMessage[] = [];
    const { ids, trainer } = this.setup;
    const times = (n: number, make: () => Omit<FuzzMessage, 'party'>, party: string) => {
      for (let i = 0; i < n; i++) out.push({ party, ...make() });
    };
    const hospital = () => draw.pick(ids);
    const toAggregator = (type: string) => this.aggregatorTopic(draw, type, hospital());
    const aggregatorTypes = ['update', 'error', 'secagg'];

    // Garbage frames.
    times(
      60,
      () => ({
        topic: toAggregator(''),
        body: this.randomBytes(draw, out.length < 2),
        headers: {},
        label: 'random bytes',
        expect: ['decode'],
      }),
      'aggregator',
    );
    times(
      30,
      () => ({
        topic: this.trainerTopic(),
        body: this.randomBytes(draw, false),
        headers: {},
        label: 'random bytes',
        expect: ['decode'],
      }),
      trainer,
    );
    times(60, () => this.badLength(draw, toAggregator('secagg'), hospital()), 'aggregator');
    times(20, () => this.badLength(draw, this.trainerTopic(), 'aggregator'), trainer);

    // Valid envelopes with random JSON bodies (accidentally valid ones fail the signature check).
    times(
      80,
      () => {
        const type = draw.pick(aggregatorTypes);
        const envelope = this.envelope(draw, type, this.fields(hospital()), draw.json());
        return {
          topic: toAggregator(type),
          body: this.frame(envelope),
          headers: {},
          label: 'random JSON body',
          expect: ['decode', 'missing-signature'],
        };
      },
      'aggregator',
    );
    times(
      30,
      () => {
        const envelope = this.envelope(draw, 'secagg', this.fields('aggregator'), draw.json());
        return {
          topic: this.trainerTopic(),
          body: this.frame(envelope),
          headers: {},
          label: 'random JSON body',
          expect: ['decode', 'missing-signature'],
        };
      },
      trainer,
    );

    // Mutated envelopes: version, type, id, experiment, round, sender, sentAt.
    times(80, () => this.mutatedEnvelope(draw, draw.pick(aggregatorTypes), hospital()), 'aggregator');
    times(20, () => this.mutatedEnvelope(draw, 'secagg', 'aggregator'), trainer);

    // Valid bodies with one mutated field, unsigned.
    times(150, () => this.mutatedBody(draw, 'update', hospital()), 'aggregator');
    times(50, () => this.mutatedBody(draw, 'error', hospital()), 'aggregator');
    times(60, () => this.mutatedBody(draw, 'secagg', hospital()), 'aggregator');
    times(30, () => this.mutatedBody(draw, 'secagg', 'aggregator'), trainer);

    // Message types the input does not take.
    times(20, () => this.foreignType(draw, toAggregator(''), hospital()), 'aggregator');
    times(20, () => this.foreignType(draw, this.trainerTopic(), 'aggregator'), trainer);

    // Plausible but unsigned: wrong round, wrong experiment, unknown hospital.
    times(40, () => this.unsignedPlausible(draw, draw.pick(aggregatorTypes), hospital()), 'aggregator');
    times(20, () => this.unsignedPlausible(draw, 'secagg', 'aggregator'), trainer);

    // Signature headers that are not signatures, or signatures by the wrong key.
    times(20, () => this.malformedSignature(draw, draw.pick(aggregatorTypes), hospital()), 'aggregator');
    times(10, () => this.malformedSignature(draw, 'secagg', 'aggregator'), trainer);
    times(40, () => this.wrongKey(draw, draw.pick(aggregatorTypes), hospital()), 'aggregator');
    times(30, () => this.wrongKey(draw, 'secagg', 'aggregator'), trainer);
    times(
      20,
      () => this.unknownSender(draw, draw.pick(aggregatorTypes), draw.pick(['aggregator', 'mallory', 'h9'])),
      'aggregator',
    );
    times(20, () => this.unknownSender(draw, 'secagg', draw.pick(ids)), trainer);

    // Correctly signed by a real member, and still refused or ignored whenever it arrives.
    times(80, () => this.signedRefused(draw, hospital()), 'aggregator');
    times(20, () => this.signedOtherExperiment(draw, hospital()), 'aggregator');
    times(20, () => this.signedOtherExperiment(draw, 'aggregator'), trainer);
    return out;
  }

  private randomBytes(draw: Draw, large: boolean): Buffer {
    if (large) return draw.bytes(1024 * 1024);
    return draw.bytes(draw.pick([0, 1, 2, 3, 4, 5, 8, 16, 64, 300, draw.rng.int(2000)]));
  }

  /** Length prefixes that lie: past the frame, 0xffffffff, short of the JSON, or a frame cut short. */
  private badLength(draw: Draw, topic: string, sender: string): Omit<FuzzMessage, 'party'> {
    const type = 'secagg';
    const { envelope } = this.message(draw, type, this.fields(sender));
    const frame = this.frame(envelope); // no payload: a longer prefix cannot reach into binary data
    const json = frame.length - 4;
    const variant = draw.rng.int(5);
    const body = Buffer.from(frame);
    if (variant === 0) body.writeUInt32BE(0xffffffff, 0);
    else if (variant === 1) body.writeUInt32BE(json + 1 + draw.rng.int(1000), 0);
    else if (variant === 2) body.writeUInt32BE(draw.rng.int(json), 0);
    const cut =
      variant === 3
        ? body.subarray(0, 4 + draw.rng.int(json))
        : variant === 4
          ? body.subarray(0, draw.rng.int(4))
          : body;
    const headers = draw.chance(0.5) ? this.signed(frame, this.keyOf(sender)) : {};
    return { topic, body: Buffer.from(cut), headers, label: 'bad length prefix', expect: ['decode'] };
  }

  private keyOf(sender: string): KeyObject {
    return sender === 'aggregator' ? this.aggregatorKey : this.hospitalKey.get(sender)!;
  }

  private mutatedEnvelope(draw: Draw, type: string, sender: string): Omit<FuzzMessage, 'party'> {
    const { envelope, payload } = this.message(draw, type, this.fields(sender));
    const { body, ...header } = envelope;
    const mutated = draw.chance(0.2)
      ? { ...header, v: draw.pick(['2.0', '0.1', '1', 'v1', '1.0.0', raw('1.0'), '99.0']) }
      : draw.chance(0.2)
        ? { ...header, type: draw.pick(['', 'Update', 'secagg ', 'model', 'x'.repeat(300), 'update.#']) }
        : draw.mutate(header);
    const topic = sender === 'aggregator' ? this.trainerTopic() : this.aggregatorTopic(draw, type, sender);
    return {
      topic,
      body: this.frame({ ...mutated, body }, payload),
      headers: {},
      label: 'mutated envelope',
      expect: ['decode', 'missing-signature', 'unknown-key'],
    };
  }

  private mutatedBody(draw: Draw, type: string, sender: string): Omit<FuzzMessage, 'party'> {
    const { envelope, payload } = this.message(draw, type, this.fields(sender));
    envelope.body = draw.mutate(envelope.body as Body);
    const flip = type === 'update' && draw.chance(0.2);
    const sent = flip ? Buffer.from(payload!) : payload;
    if (flip && sent!.length > 0) sent![draw.rng.int(sent!.length)]! ^= 1 << draw.rng.int(8);
    const topic = sender === 'aggregator' ? this.trainerTopic() : this.aggregatorTopic(draw, type, sender);
    return {
      topic,
      body: this.frame(envelope, sent),
      headers: {},
      label: `mutated ${type} body`,
      expect: ['decode', 'missing-signature'],
    };
  }

  private foreignType(draw: Draw, topic: string, sender: string): Omit<FuzzMessage, 'party'> {
    const choices: [string, unknown][] = [
      ['progress', { event: 'experiment.failed', code: 'X', reason: 'fuzz' }],
      ['model.announcement', { model: { sha256: '0'.repeat(64), bytes: 1 }, parameterCount: 1 }],
      [
        'node.status',
        {
          hospital: 'h1',
          workerId: 'w',
          state: 'ready',
          capabilities: {},
          datasets: [],
          softwareVersion: '1',
        },
      ],
    ];
    if (sender === 'aggregator')
      choices.push(['update', updateOf(draw, 'h1', Buffer.alloc(0))], ['error', errorOf()]);
    const [type, body] = draw.pick(choices);
    const frame = this.frame(this.envelope(draw, type, this.fields(sender), body));
    const headers = draw.chance(0.5) ? this.signed(frame, this.keyOf(sender)) : {};
    return { topic, body: frame, headers, label: 'type the input does not take', expect: ['decode'] };
  }

  private unsignedPlausible(draw: Draw, type: string, sender: string): Omit<FuzzMessage, 'party'> {
    const overrides: Partial<Fields> = draw.pick([
      { round: 0 },
      { round: this.setup.round + 1 },
      { round: 2 ** 53 - 1 },
      { experimentId: 'exp-other' },
      {},
    ]);
    const { envelope, payload } = this.message(draw, type, this.fields(sender, overrides));
    const topic = sender === 'aggregator' ? this.trainerTopic() : this.aggregatorTopic(draw, type, sender);
    return {
      topic,
      body: this.frame(envelope, payload),
      headers: {},
      label: 'unsigned',
      expect: ['missing-signature'],
    };
  }

  private malformedSignature(draw: Draw, type: string, sender: string): Omit<FuzzMessage, 'party'> {
    const { envelope, payload } = this.message(draw, type, this.fields(sender));
    const forms = [
      '',
      'not base64!',
      draw.base64(63),
      draw.base64(65),
      '='.repeat(88),
      signFrame(this.keyOf(sender), this.frame(envelope, payload)).slice(1),
    ];
    const wellFormed = draw.chance(0.3);
    const signature = wellFormed ? draw.base64(64) : draw.pick(forms);
    const topic = sender === 'aggregator' ? this.trainerTopic() : this.aggregatorTopic(draw, type, sender);
    return {
      topic,
      body: this.frame(envelope, payload),
      headers: { 'fedpet-signature': signature },
      label: wellFormed ? 'random signature' : 'malformed signature header',
      expect: [wellFormed ? 'bad-signature' : 'missing-signature'],
    };
  }

  /** Names one party as sender and is signed by another's (real) key. */
  private wrongKey(draw: Draw, type: string, sender: string): Omit<FuzzMessage, 'party'> {
    const { envelope, payload } = this.message(draw, type, this.fields(sender));
    const frame = this.frame(envelope, payload);
    const others = [...this.hospitalKey.keys(), 'aggregator'].filter((id) => id !== sender);
    const topic = sender === 'aggregator' ? this.trainerTopic() : this.aggregatorTopic(draw, type, sender);
    return {
      topic,
      body: frame,
      headers: this.signed(frame, this.keyOf(draw.pick(others))),
      label: "signed with another party's key",
      expect: ['bad-signature'],
    };
  }

  /** Correctly signed, by a sender the input has no key for. */
  private unknownSender(draw: Draw, type: string, sender: string): Omit<FuzzMessage, 'party'> {
    const { envelope, payload } = this.message(draw, type, this.fields(sender));
    const frame = this.frame(envelope, payload);
    const key = this.hospitalKey.get(sender) ?? this.aggregatorKey;
    const toTrainer = type === 'secagg' && this.hospitalKey.has(sender);
    const topic = toTrainer
      ? this.trainerTopic()
      : this.aggregatorTopic(draw, type, draw.pick(this.setup.ids));
    return {
      topic,
      body: frame,
      headers: this.signed(frame, key),
      label: 'sender without a key here',
      expect: ['unknown-key'],
    };
  }

  /**
   * Signed by the hospital it names, for the open round, and refused by the
   * collector or the secure round whatever the round's state: it speaks for
   * another hospital, is of the wrong kind, is a step only the aggregator
   * sends, or is a step the protocol can never accept in that form.
   */
  private signedRefused(draw: Draw, sender: string): Omit<FuzzMessage, 'party'> {
    const { ids } = this.setup;
    const other = draw.pick([...ids.filter((id) => id !== sender), 'h9']);
    const variant = draw.rng.int(7);
    let type = 'secagg';
    let body: Body;
    let payload: Buffer | undefined;
    let label: string;
    if (variant === 0) {
      type = 'update';
      payload = draw.bytes((this.setup.parameters + 2) * 4);
      body = updateOf(draw, other, payload);
      label = 'signed: update for another hospital';
    } else if (variant === 1) {
      type = 'update';
      payload = draw.bytes(draw.rng.int(64));
      body = updateOf(draw, sender, payload, { kind: draw.pick(['evaluate', 'cox']), encoding: undefined });
      label = 'signed: update of the wrong kind';
    } else if (variant === 2) {
      type = 'error';
      body = errorOf(other);
      label = 'signed: error for another hospital';
    } else if (variant === 3) {
      body = secaggOf(draw, draw.pick(['key-roster', 'relayed-shares', 'unmask-request', 'abort']), ids);
      label = 'signed: secagg step only the aggregator sends';
    } else if (variant === 4) {
      const target = draw.pick([sender, 'h9']);
      body = { step: 'share-keys', shares: [{ hospital: target, ciphertext: draw.base64(90) }] };
      label = 'signed: share-keys addressed to itself or outside U1';
    } else if (variant === 5) {
      body = {
        step: 'unmask-response',
        selfMaskShares: [{ owner: 'h9', share: draw.base64(40) }],
        maskKeyShares: [],
      };
      label = 'signed: unmask-response for the wrong owners';
    } else {
      body = secaggOf(draw, 'advertise-keys', ids);
      label = 'signed: advertise-keys with a forged advertisement signature';
    }
    const frame = this.frame(this.envelope(draw, type, this.fields(sender), body), payload);
    return {
      topic: this.aggregatorTopic(draw, type, sender),
      body: frame,
      headers: this.signed(frame, this.keyOf(sender)),
      label,
      expect: ['handler'],
    };
  }

  /** Correctly signed, for an experiment this run does not hold open. */
  private signedOtherExperiment(draw: Draw, sender: string): Omit<FuzzMessage, 'party'> {
    const experimentId = `exp-other-${draw.rng.int(3)}`;
    const toTrainer = sender === 'aggregator';
    const type = toTrainer ? 'secagg' : draw.pick(['update', 'error', 'secagg']);
    const { envelope, payload } = this.message(draw, type, this.fields(sender, { experimentId }));
    const frame = this.frame(envelope, payload);
    return {
      topic: toTrainer
        ? this.trainerTopic(experimentId)
        : this.aggregatorTopic(draw, type, sender, experimentId),
      body: frame,
      headers: this.signed(frame, this.keyOf(sender)),
      label: 'signed: another experiment',
      expect: [toTrainer ? 'mailbox' : 'not-open'],
    };
  }

  /**
   * After `party` handled its first real frame of the round (its verifier is
   * then at this round): correctly signed frames for round 0, refused as stale.
   */
  afterFirstFrame(party: string, count: number): FuzzMessage[] {
    const draw = new Draw(createRng(seedFor(this.setup.seed, `stale:${party}`)));
    const toTrainer = party !== 'aggregator';
    return Array.from({ length: count }, () => {
      const sender = toTrainer ? 'aggregator' : draw.pick(this.setup.ids);
      const type = toTrainer ? 'secagg' : draw.pick(['update', 'error', 'secagg']);
      const { envelope, payload } = this.message(draw, type, this.fields(sender, { round: 0 }));
      const frame = this.frame(envelope, payload);
      return {
        party,
        topic: toTrainer ? this.trainerTopic() : this.aggregatorTopic(draw, type, sender),
        body: frame,
        headers: this.signed(frame, this.keyOf(sender)),
        label: 'signed: an earlier round',
        expect: ['stale-round'],
      };
    });
  }

  /**
   * After `party` handled the real frame `message`: exact replays, a replay
   * on another hospital's topic, and copies with one bit flipped (the
   * signature no longer matches, or the frame no longer parses).
   */
  afterHandled(party: string, message: IncomingMessage, key: string): FuzzMessage[] {
    const draw = new Draw(createRng(seedFor(this.setup.seed, `replay:${key}`)));
    const headers = { ...message.headers };
    const out: FuzzMessage[] = [];
    for (let i = 0; i < 2; i++) {
      out.push({
        party,
        topic: message.topic,
        body: Buffer.from(message.body),
        headers,
        label: 'replay',
        expect: ['replay'],
      });
    }
    if (party === 'aggregator') {
      const words = message.topic.split('.');
      words[2] = draw.pick(this.setup.ids.filter((id) => id !== words[2]));
      out.push({
        party,
        topic: words.join('.'),
        body: Buffer.from(message.body),
        headers,
        label: "replay on another hospital's topic",
        expect: ['replay'],
      });
    } else {
      out.push({
        party,
        topic: message.topic,
        body: Buffer.from(message.body),
        headers,
        label: 'replay',
        expect: ['replay'],
      });
    }
    for (let i = 0; i < 2; i++) {
      const flipped = Buffer.from(message.body);
      const at = 4 + draw.rng.int(flipped.length - 4);
      flipped[at]! ^= 1 << draw.rng.int(8);
      out.push({
        party,
        topic: message.topic,
        body: flipped,
        headers,
        label: 'replay with one bit flipped',
        expect: ['decode', 'bad-signature', 'unknown-key'],
      });
    }
    return out;
  }

  /**
   * After the aggregator handled `sender`'s real secagg message of `step`:
   * the same step again, correctly signed and well formed, which the secure
   * round must refuse (a second advertisement / set of shares / response, or
   * a step of a phase already over).
   */
  afterSecaggStep(sender: string, step: string): FuzzMessage[] {
    const draw = new Draw(createRng(seedFor(this.setup.seed, `step:${sender}:${step}`)));
    // Out of phase, never a well-formed unmask-response: in the unmask phase, before the real one, it would be taken.
    const outOfPhase = SECAGG_STEPS.filter((s) => s !== step && s !== 'abort' && s !== 'unmask-response');
    return [step, draw.pick(outOfPhase)].map((again) => {
      const body = secaggOf(draw, again, this.setup.ids);
      const frame = this.frame(this.envelope(draw, 'secagg', this.fields(sender), body));
      return {
        party: 'aggregator',
        topic: Topics.secaggUp(this.setup.experimentId, sender),
        body: frame,
        headers: this.signed(frame, this.keyOf(sender)),
        label: again === step ? 'signed: the same secagg step again' : 'signed: secagg step out of phase',
        expect: ['handler'],
      };
    });
  }

  /**
   * After `hospital`'s update was counted: correctly signed updates and
   * errors from it for this round — a second masked input, a chunk whose
   * SHA-256 is wrong, the wrong encoding, absurd counts, a late error — which
   * the collector ignores: the hospital already answered.
   */
  afterCounted(hospital: string): FuzzMessage[] {
    const draw = new Draw(createRng(seedFor(this.setup.seed, `counted:${hospital}`)));
    const words = (this.setup.parameters + 2) * 4;
    const variants: [string, () => { type: string; body: Body; payload?: Buffer }][] = [
      [
        'second masked input',
        () => {
          const payload = draw.bytes(words);
          return { type: 'update', body: updateOf(draw, hospital, payload), payload };
        },
      ],
      [
        'chunk with a wrong SHA-256',
        () => {
          const payload = draw.bytes(words);
          const body = updateOf(draw, hospital, payload);
          (body.payload as Body).payloadSha256 = draw.bytes(32).toString('hex');
          return { type: 'update', body, payload };
        },
      ],
      [
        'float32 update in a secure round',
        () => {
          const payload = draw.bytes(words);
          return {
            type: 'update',
            body: updateOf(draw, hospital, payload, { encoding: 'float32' }),
            payload,
          };
        },
      ],
      [
        'absurd sample count and sizes',
        () => {
          const payload = draw.bytes(16);
          const body = updateOf(draw, hospital, payload, { numSamples: 2 ** 53 - 1 });
          Object.assign(body.payload as Body, { count: 2 ** 31, totalBytes: 2 ** 52, chunkBytes: 2 ** 40 });
          return { type: 'update', body, payload };
        },
      ],
      [
        'late error for itself',
        () => ({ type: 'error', body: errorOf(draw.chance(0.5) ? hospital : undefined) }),
      ],
    ];
    return variants.flatMap(([label, make]) =>
      [0, 1].map(() => {
        const { type, body, payload } = make();
        const frame = this.frame(this.envelope(draw, type, this.fields(hospital), body), payload);
        return {
          party: 'aggregator',
          topic: this.aggregatorTopic(draw, type, hospital),
          body: frame,
          headers: this.signed(frame, this.keyOf(hospital)),
          label: `signed after counted: ${label}`,
          expect: ['duplicate'] as const,
        };
      }),
    );
  }

  /**
   * Another hospital's real secagg-down frame, republished on the trainer's
   * topic after the trainer already holds its own frame of that step: it
   * verifies (the aggregator signed it); relayed shares addressed to another
   * hospital are refused by the mailbox (dead-lettered), anything else is
   * never handed out.
   */
  redirected(message: IncomingMessage): FuzzMessage {
    const step = (envelopeOf(message.body)?.body as { step?: string } | undefined)?.step;
    return {
      party: this.setup.trainer,
      topic: this.trainerTopic(),
      body: Buffer.from(message.body),
      headers: { ...message.headers },
      label: "another hospital's secagg-down frame, redirected",
      expect: step === 'relayed-shares' ? ['handler'] : ['mailbox'],
    };
  }
}
