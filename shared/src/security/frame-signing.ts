/**
 * Signed bus frames.
 *
 * The publisher signs the WHOLE frame (length prefix, envelope JSON and binary
 * payload) with its Ed25519 identity key, bound to the envelope's
 * (experimentId, round, sender, type) and its message id as nonce
 * (../secagg/identity-keys.ts); the signature travels base64 in one bus header
 * (an AMQP header / an MQTT 5 user property), so frames stay unchanged and
 * unsigned tools can still decode them.
 *
 * The receiver (FrameVerifier) checks, in this order: the claimed sender has a
 * key; the header holds a signature; it verifies against that key; the
 * message is fresh. Because the context is read from the verified frame
 * itself, a frame signed by h2 but claiming sender h1 fails as bad-signature.
 *
 * Freshness (only for frames whose signature verified, so a forger cannot
 * fill the memory):
 * - experiment messages: one ReplayGuard per experiment (Bonawitz et al.
 *   2017 bind every message to its round; a replay of round r−1 is refused
 *   as stale-round, a second copy of one message id as replay). A broker
 *   redelivery (after a handler failed, or a lost ack) is let through: the
 *   handlers are idempotent, and refusing it would lose the message.
 * - node status heartbeats (experimentId "none", no round to bind to): sentAt
 *   must be within maxClockSkewMs of now; no per-message memory.
 *
 * Memory is bounded: experiments unseen for `experimentIdleMs` (1 h) are
 * forgotten, and at most `maxExperiments` (1000) are kept, least recently used
 * first out. A forgotten experiment's old messages would verify again, so the
 * consumers must still ignore messages for experiments they do not run (they
 * do: rounds are opened explicitly). Use one verifier per subscription: two
 * subscriptions receiving the same message through one verifier would see the
 * second copy as a replay.
 */
import type { KeyObject } from 'node:crypto';
import type { DecodedMessage } from '../contracts/frame.ts';
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import { SIGNATURE_BYTES, signMessage, verifyMessage } from '../secagg/identity-keys.ts';
import { ReplayGuard } from '../secagg/replay-guard.ts';
import type { IncomingMessage } from '../transport/bus.ts';

export const SIGNATURE_HEADER = 'fedpet-signature';

/** Envelope experimentId of messages about no experiment (trainer heartbeats). */
export const UNSCOPED_EXPERIMENT = 'none';

export type RejectReason =
  | 'missing-signature'
  | 'unknown-key'
  | 'bad-signature'
  | 'replay'
  | 'stale-round'
  | 'stale-message';

export type FrameCheck = { ok: true } | { ok: false; reason: RejectReason; detail: string };

export type FrameCounts = Record<RejectReason | 'accepted', number>;

export interface FrameVerifierOptions {
  /** The public Ed25519 key of `sender`, or undefined if it is not a member of the federation. */
  keyOf(sender: string): KeyObject | undefined;
  /** Milliseconds since the epoch; defaults to Date.now. */
  now?: () => number;
  /** How far a heartbeat's sentAt may be from now, either way. Default 10 minutes. */
  maxClockSkewMs?: number;
  /** Forget an experiment's replay memory after this long without a message. Default 1 hour. */
  experimentIdleMs?: number;
  /** Most experiments remembered at once (least recently used dropped first). Default 1000. */
  maxExperiments?: number;
}

interface FrameContext {
  type: string;
  id: string;
  experimentId: string;
  round: number;
  sender: string;
}

function notAFrame(reason: string): FedpetError {
  return new FedpetError(ErrorCodes.invalidMessage, `cannot sign: ${reason}`);
}

/** Just enough of the envelope to bind a signature; decodeMessage validates the rest at the receiver. */
function readContext(frame: Uint8Array): FrameContext {
  const buffer = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  if (buffer.length < 4) throw notAFrame(`frame of ${buffer.length} bytes has no length prefix`);
  const length = buffer.readUInt32BE(0);
  if (length > buffer.length - 4) throw notAFrame(`envelope length ${length} exceeds the frame`);
  let envelope: Record<string, unknown>;
  try {
    envelope = JSON.parse(buffer.subarray(4, 4 + length).toString('utf8'));
  } catch {
    throw notAFrame('envelope is not JSON');
  }
  const { type, id, experimentId, round, sender } = envelope ?? {};
  for (const [field, value] of Object.entries({ type, id, experimentId, sender })) {
    if (typeof value !== 'string' || value.length === 0) throw notAFrame(`envelope ${field} is missing`);
  }
  if (typeof round !== 'number' || !Number.isSafeInteger(round) || round < 0) {
    throw notAFrame('envelope round is not a non-negative integer');
  }
  return { type, id, experimentId, round, sender } as FrameContext;
}

function signatureContext(context: FrameContext) {
  return {
    experimentId: context.experimentId,
    round: context.round,
    sender: context.sender,
    messageType: context.type,
    nonce: context.id,
  };
}

/** Base64 Ed25519 signature of the whole frame, bound to its envelope's experiment, round, sender, type and id. */
export function signFrame(signingKey: KeyObject, frame: Uint8Array): string {
  const context = readContext(frame);
  return Buffer.from(signMessage(signingKey, signatureContext(context), frame)).toString('base64');
}

/** The sender named in a frame's envelope (to refuse signing someone else's frame). */
export function frameSender(frame: Uint8Array): string {
  return readContext(frame).sender;
}

// 64 bytes are 86 base64 characters and "==".
const SIGNATURE_TEXT = /^[A-Za-z0-9+/]{86}==$/;

function parseSignature(text: string | undefined): Uint8Array | undefined {
  if (text === undefined || !SIGNATURE_TEXT.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.length === SIGNATURE_BYTES ? new Uint8Array(bytes) : undefined;
}

const emptyCounts = (): FrameCounts => ({
  accepted: 0,
  'missing-signature': 0,
  'unknown-key': 0,
  'bad-signature': 0,
  replay: 0,
  'stale-round': 0,
  'stale-message': 0,
});

export class FrameVerifier {
  readonly #keyOf: (sender: string) => KeyObject | undefined;
  readonly #now: () => number;
  readonly #maxClockSkewMs: number;
  readonly #experimentIdleMs: number;
  readonly #maxExperiments: number;
  /** Insertion order is recency order: every use moves an experiment to the end. */
  readonly #experiments = new Map<string, { guard: ReplayGuard; lastUsed: number }>();
  readonly #counts = emptyCounts();

  constructor(options: FrameVerifierOptions) {
    this.#keyOf = options.keyOf;
    this.#now = options.now ?? Date.now;
    this.#maxClockSkewMs = options.maxClockSkewMs ?? 10 * 60_000;
    this.#experimentIdleMs = options.experimentIdleMs ?? 60 * 60_000;
    this.#maxExperiments = options.maxExperiments ?? 1000;
    if (!(this.#maxClockSkewMs >= 0) || !(this.#experimentIdleMs > 0) || !(this.#maxExperiments >= 1)) {
      throw new FedpetError(ErrorCodes.invalidConfig, 'frame verifier limits must be positive');
    }
  }

  /** How many messages were accepted and how many rejected, by reason. */
  counts(): FrameCounts {
    return { ...this.#counts };
  }

  /** Experiments whose replay memory is currently held. */
  get rememberedExperiments(): number {
    return this.#experiments.size;
  }

  check(decoded: DecodedMessage, raw: IncomingMessage): FrameCheck {
    const result = this.#check(decoded, raw);
    this.#counts[result.ok ? 'accepted' : result.reason] += 1;
    return result;
  }

  #check(decoded: DecodedMessage, raw: IncomingMessage): FrameCheck {
    const header = decoded.header;
    const what = `${header.type} ${header.id} from ${header.sender}`;
    const key = this.#keyOf(header.sender);
    if (key === undefined) {
      return { ok: false, reason: 'unknown-key', detail: `no signing key for sender "${header.sender}"` };
    }
    const signature = parseSignature(raw.headers[SIGNATURE_HEADER]);
    if (signature === undefined) {
      const present = raw.headers[SIGNATURE_HEADER] !== undefined;
      return {
        ok: false,
        reason: 'missing-signature',
        detail: `${what} has ${present ? 'a malformed' : 'no'} ${SIGNATURE_HEADER} header`,
      };
    }
    const context = signatureContext(header);
    if (!verifyMessage(key, context, raw.body, signature)) {
      return {
        ok: false,
        reason: 'bad-signature',
        detail: `${what} (experiment ${header.experimentId}, round ${header.round}) is not signed by ${header.sender}'s key`,
      };
    }
    const now = this.#now();
    if (header.experimentId === UNSCOPED_EXPERIMENT) return this.#checkSentAt(header.sentAt, now, what);
    // One replay window per (experiment, sender): a hospital's rounds only move its own window, so a
    // signed frame for a far-future round cannot make every other sender's frames stale.
    const guard = this.#guardOf(`${header.experimentId}\u0000${header.sender}`, now);
    const verdict = guard.admit({
      sender: header.sender,
      messageType: header.type,
      round: header.round,
      nonce: header.id,
    });
    if (!verdict.accepted) {
      if (verdict.reason === 'stale-round') {
        return {
          ok: false,
          reason: 'stale-round',
          detail: `${what} is for round ${header.round} of experiment ${header.experimentId}, where ${header.sender} is at round ${guard.currentRound}`,
        };
      }
      if (!raw.redelivered) {
        return {
          ok: false,
          reason: 'replay',
          detail: `${what} (experiment ${header.experimentId}, round ${header.round}) was already received`,
        };
      }
    }
    guard.advanceTo(header.round);
    return { ok: true };
  }

  #checkSentAt(sentAt: string, now: number, what: string): FrameCheck {
    const sent = Date.parse(sentAt);
    if (Number.isNaN(sent)) {
      return { ok: false, reason: 'stale-message', detail: `${what} has an unreadable sentAt` };
    }
    const skew = Math.abs(now - sent);
    if (skew > this.#maxClockSkewMs) {
      return {
        ok: false,
        reason: 'stale-message',
        detail: `${what} was sent at ${sentAt}, ${Math.round(skew / 1000)} s from now (limit ${Math.round(this.#maxClockSkewMs / 1000)} s)`,
      };
    }
    return { ok: true };
  }

  #guardOf(experimentId: string, now: number): ReplayGuard {
    for (const [id, entry] of this.#experiments) {
      if (now - entry.lastUsed <= this.#experimentIdleMs) break;
      this.#experiments.delete(id);
    }
    const entry = this.#experiments.get(experimentId) ?? { guard: new ReplayGuard(0), lastUsed: now };
    entry.lastUsed = now;
    this.#experiments.delete(experimentId);
    this.#experiments.set(experimentId, entry);
    while (this.#experiments.size > this.#maxExperiments) {
      const oldest = this.#experiments.keys().next().value as string;
      this.#experiments.delete(oldest);
    }
    return entry.guard;
  }
}
