/**
 * An in-memory secure-aggregation round for tests: n hospitals (SecaggClient)
 * and one aggregator (SecaggServer) exchange every message through a
 * simulated bus that signs each envelope with the sender's Ed25519 key and,
 * on delivery, verifies the signature and runs a ReplayGuard — as the real
 * wiring will. Hospitals can drop out before any phase; envelopes can be
 * tampered with in transit; the server can be made to tamper before signing.
 *
 * Test support only; the state machines it drives are the production code.
 */
import { randomBytes } from 'node:crypto';
import { createRng } from '../../ml/random.ts';
import { SecaggClient } from '../client-round.ts';
import { encodeWeightedUpdate, type FixedPointConfig, weightedClipRange } from '../fixed-point.ts';
import {
  generateIdentityKeyPair,
  type IdentityKeyPair,
  type SignatureContext,
  signMessage,
  verifyMessage,
} from '../identity-keys.ts';
import type {
  KeyRosterMessage,
  RelayedSharesMessage,
  SecaggMessage,
  UnmaskRequestMessage,
} from '../messages.ts';
import { ReplayGuard } from '../replay-guard.ts';
import { SecaggServer, type SecureAggregate } from '../server-round.ts';
import { defaultThreshold } from '../threshold.ts';

export const AGGREGATOR = 'aggregator';
export const EXPERIMENT = 'exp-secagg-sim';

export type DropPoint =
  | 'before-advertise'
  | 'before-shares'
  | 'before-masked-input'
  | 'before-unmask-response';

export interface Envelope {
  context: SignatureContext;
  message: SecaggMessage;
  signature: Uint8Array;
}

/** A deterministic byte encoding of a message for signing (the real transport has its own codec). */
export function wireBytes(message: SecaggMessage): Uint8Array {
  if (message.type === 'secagg.masked-input') {
    const header = Buffer.from(JSON.stringify({ type: message.type, sender: message.sender }));
    return Buffer.concat([
      header,
      Buffer.from(message.masked.buffer, message.masked.byteOffset, message.masked.byteLength),
    ]);
  }
  return Buffer.from(
    JSON.stringify(message, (_key, value) =>
      value instanceof Uint8Array ? { bytes: Buffer.from(value).toString('base64') } : value,
    ),
  );
}

export interface Federation {
  ids: string[];
  identities: Map<string, IdentityKeyPair>;
  identityKeys: Map<string, IdentityKeyPair['publicKey']>;
}

export function createFederation(hospitals: number): Federation {
  // Zero-padded so that the id order (h01 < h02 < … < h10) is the numeric one, for readable tests.
  const ids = Array.from({ length: hospitals }, (_, k) => `h${String(k + 1).padStart(2, '0')}`);
  const identities = new Map([...ids, AGGREGATOR].map((id) => [id, generateIdentityKeyPair()]));
  const identityKeys = new Map([...identities].map(([id, pair]) => [id, pair.publicKey]));
  return { ids, identities, identityKeys };
}

export interface SimulationOptions {
  federation: Federation;
  parameters: number;
  round?: number;
  threshold?: number;
  /** Seeds the updates and every hospital's protocol randomness: the same seed, the same masked vectors. */
  seed: number;
  drop?: Partial<Record<DropPoint, readonly string[]>>;
  /** Alters an envelope after it was signed (an attacker on the broker). */
  tamperInTransit?: (envelope: Envelope) => void;
  /** Alters the relayed shares before the server signs them (a malicious aggregator). */
  tamperRelay?: (messages: RelayedSharesMessage[]) => void;
  /** Called with each message right after the server state machine took it. */
  afterServerReceive?: (message: SecaggMessage) => void;
  /** Replay guards that outlive one round (as the services' do). */
  guards?: Map<string, ReplayGuard>;
  /** Every envelope sent, for replay tests. */
  sent?: Envelope[];
}

export interface SimulationOutcome {
  result?: SecureAggregate;
  /** Where the round stopped, if it did. */
  error?: unknown;
  fixedPoint: FixedPointConfig;
  updates: Map<string, { values: Float32Array; numSamples: number }>;
  /** Every message the server state machine was handed, in order. */
  serverInbox: SecaggMessage[];
  /** Envelopes refused by the bus, with why. */
  rejected: Array<{ sender: string; messageType: string; reason: string }>;
  clientErrors: Map<string, unknown>;
  clients: Map<string, SecaggClient>;
  server: SecaggServer;
}

export const MAX_SAMPLES = 1000;

/** C = 4·N_max on n_u·w_u (parameters in ±4 never clipped), and as many fraction bits as the headroom allows. */
export function simulationFixedPoint(hospitals: number): FixedPointConfig {
  const clip = weightedClipRange(4, MAX_SAMPLES);
  const headroom = Math.ceil(Math.log2(hospitals));
  const fractionBits = Math.floor(Math.log2((2 ** 31 - 1) / 2 ** headroom / clip));
  return { clip, fractionBits, participants: hospitals, maxSamplesPerHospital: MAX_SAMPLES };
}

function seededRandom(seed: number): (length: number) => Uint8Array {
  const rng = createRng(seed);
  return (length) => {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = rng.int(256);
    return out;
  };
}

export function simulateRound(options: SimulationOptions): SimulationOutcome {
  const { federation, parameters, seed } = options;
  const { ids, identities, identityKeys } = federation;
  const round = options.round ?? 1;
  const threshold = options.threshold ?? defaultThreshold(ids.length);
  const fixedPoint = simulationFixedPoint(ids.length);
  const guards = options.guards ?? new Map<string, ReplayGuard>();
  for (const id of [...ids, AGGREGATOR]) {
    if (!guards.has(id)) guards.set(id, new ReplayGuard(round));
    guards.get(id)!.advanceTo(round);
  }
  const rng = createRng(seed);
  const updates = new Map(
    ids.map((id) => [
      id,
      {
        values: Float32Array.from({ length: parameters }, () => rng.normal() * 0.5),
        numSamples: 1 + rng.int(MAX_SAMPLES),
      },
    ]),
  );
  const clients = new Map(
    ids.map((id, k) => [
      id,
      new SecaggClient({
        experimentId: EXPERIMENT,
        round,
        self: id,
        participants: ids,
        threshold,
        identityKey: identities.get(id)!.privateKey,
        identityKeys,
        parameterCount: parameters,
        fixedPoint,
        random: seededRandom(seed * 1000 + k + 1),
      }),
    ]),
  );
  const server = new SecaggServer({
    experimentId: EXPERIMENT,
    round,
    participants: ids,
    threshold,
    identityKeys,
    parameterCount: parameters,
    fixedPoint,
  });
  const outcome: SimulationOutcome = {
    fixedPoint,
    updates,
    serverInbox: [],
    rejected: [],
    clientErrors: new Map(),
    clients,
    server,
  };

  // The bus: sign on send, verify and de-duplicate on delivery.
  const send = (sender: string, message: SecaggMessage): Envelope => {
    const context: SignatureContext = {
      experimentId: EXPERIMENT,
      round,
      sender,
      messageType: message.type,
      nonce: randomBytes(12).toString('base64'),
    };
    const envelope = {
      context,
      message,
      signature: signMessage(identities.get(sender)!.privateKey, context, wireBytes(message)),
    };
    options.sent?.push(envelope);
    options.tamperInTransit?.(envelope);
    return envelope;
  };
  const deliver = (recipient: string, envelope: Envelope): SecaggMessage | undefined => {
    const { context } = envelope;
    const key = identityKeys.get(context.sender);
    const reject = (reason: string) => {
      outcome.rejected.push({ sender: context.sender, messageType: context.messageType, reason });
      return undefined;
    };
    if (key === undefined) return reject('unknown key');
    if (context.messageType !== envelope.message.type) return reject('message type mismatch');
    if (!verifyMessage(key, context, wireBytes(envelope.message), envelope.signature))
      return reject('bad signature');
    const verdict = guards.get(recipient)!.admit({ ...context, nonce: context.nonce ?? '' });
    if (!verdict.accepted) return reject(verdict.reason);
    return envelope.message;
  };
  const toServer = (envelope: Envelope, handle: (message: SecaggMessage) => void) => {
    const message = deliver(AGGREGATOR, envelope);
    if (message === undefined) return;
    outcome.serverInbox.push(message);
    handle(message);
    options.afterServerReceive?.(message);
  };
  const dropped = new Set<string>();
  const dropAt = (point: DropPoint) => {
    for (const id of options.drop?.[point] ?? []) dropped.add(id);
  };
  const active = () => ids.filter((id) => !dropped.has(id));
  const clientStep = <T>(id: string, step: () => T): T | undefined => {
    try {
      return step();
    } catch (error) {
      outcome.clientErrors.set(id, error);
      dropped.add(id); // a hospital that aborts is, to the server, one that went silent
      return undefined;
    }
  };

  try {
    dropAt('before-advertise');
    for (const id of active()) {
      const message = clientStep(id, () => clients.get(id)!.advertiseKeys());
      if (message) toServer(send(id, message), (m) => server.receiveAdvertisement(m as typeof message));
    }
    const roster = send(AGGREGATOR, server.closeAdvertising());

    dropAt('before-shares');
    for (const id of active()) {
      const received = deliver(id, roster) as KeyRosterMessage | undefined;
      if (!received) continue;
      const message = clientStep(id, () => clients.get(id)!.shareKeys(received));
      if (message) toServer(send(id, message), (m) => server.receiveShares(m as typeof message));
    }
    const relayed = server.closeSharing();
    options.tamperRelay?.(relayed);
    const relayedEnvelopes = new Map(relayed.map((m) => [m.recipient, send(AGGREGATOR, m)]));

    dropAt('before-masked-input');
    for (const id of active()) {
      const envelope = relayedEnvelopes.get(id);
      const received = envelope && (deliver(id, envelope) as RelayedSharesMessage | undefined);
      if (!received) continue;
      const output = clientStep(id, () => clients.get(id)!.maskedInput(received, updates.get(id)!));
      if (output)
        toServer(send(id, output.message), (m) => server.receiveMaskedInput(m as typeof output.message));
    }
    const request = send(AGGREGATOR, server.closeMaskedInput());

    dropAt('before-unmask-response');
    for (const id of (request.message as UnmaskRequestMessage).survivors) {
      if (dropped.has(id)) continue;
      const received = deliver(id, request) as UnmaskRequestMessage | undefined;
      if (!received) continue;
      const message = clientStep(id, () => clients.get(id)!.unmask(received));
      if (message) toServer(send(id, message), (m) => server.receiveUnmaskResponse(m as typeof message));
    }
    outcome.result = server.finish();
  } catch (error) {
    outcome.error = error;
  }
  return outcome;
}

/** Σ clip(n_u·w_u, ±C) / Σ n_u over `members`, in float64: the plain weighted FedAvg the masked round must match. */
export function plainWeightedAverage(outcome: SimulationOutcome, members: readonly string[]): Float64Array {
  const { clip } = outcome.fixedPoint;
  const first = outcome.updates.get(members[0]!)!;
  const sum = new Float64Array(first.values.length);
  let total = 0;
  for (const id of members) {
    const { values, numSamples } = outcome.updates.get(id)!;
    total += numSamples;
    for (let i = 0; i < sum.length; i++) sum[i]! += Math.max(-clip, Math.min(clip, numSamples * values[i]!));
  }
  for (let i = 0; i < sum.length; i++) sum[i]! /= total;
  return sum;
}

/** q(x_u) as the hospital encodes it before masking (for comparisons with what went on the wire). */
export function plainEncoding(outcome: SimulationOutcome, id: string): Uint32Array {
  const { values, numSamples } = outcome.updates.get(id)!;
  return encodeWeightedUpdate(values, numSamples, outcome.fixedPoint).encoded;
}
