/**
 * The aggregator's side of a secure-aggregation round (Bonawitz et al. 2017,
 * §4, Figure 4, "Server" column), as a pure state machine. `receive*` takes
 * one hospital's message (throwing on anything malformed, out of phase or
 * from outside the round — the wiring logs, counts and drops it); `close*`
 * ends a phase, on completion or on the wiring's timeout, and returns what
 * to send next. Fewer than t hospitals at any close ends the round with
 * SECAGG_THRESHOLD_NOT_MET and nothing reconstructed.
 *
 * What this class ever holds of an update: masked inputs y_u, each folded
 * into a running sum mod 2^32 as it arrives and not kept, then the unmasked
 * sum. Its only entry point for update data is `receiveMaskedInput`. Per the
 * paper it refuses a late y_v once it has asked for v's mask key: having both
 * would unmask v alone.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import { verifyAdvertisement } from './advertisement.ts';
import { assertId, assertRound, sortIds } from './canonical.ts';
import { SecaggErrorCodes } from './error-codes.ts';
import {
  decodeWeightedSum,
  type FixedPointConfig,
  fixedPointLimits,
  weightedQuantisationErrorBound,
  weightedVectorLength,
} from './fixed-point.ts';
import { agree, exportAgreementPublicKey, importAgreementPublicKey } from './key-agreement.ts';
import { type DroppedPair, foldInto, unmaskInPlace } from './masking.ts';
import {
  type AdvertiseKeysMessage,
  type KeyRosterMessage,
  type MaskedInputMessage,
  type OwnedShare,
  type RelayedSharesMessage,
  SecaggMessageTypes,
  type ShareKeysMessage,
  type UnmaskRequestMessage,
  type UnmaskResponseMessage,
} from './messages.ts';
import { privateKeyFromRaw } from './raw-keys.ts';
import { combine, decodeShare, type Share } from './shamir.ts';
import { validateThreshold } from './threshold.ts';

export interface SecaggServerConfig {
  experimentId: string;
  round: number;
  /** The hospitals invited to this round (n). */
  participants: readonly string[];
  threshold: number;
  /** Ed25519 public keys of the participants, from the federation file. */
  identityKeys: ReadonlyMap<string, KeyObject>;
  parameterCount: number;
  /** Must match the hospitals' configuration, `participants` = n. */
  fixedPoint: FixedPointConfig;
}

export type ServerPhase = 'advertise' | 'share-keys' | 'masked-input' | 'unmask' | 'done' | 'failed';

export interface SecureAggregate {
  /** Σ n_u·w_u / Σ n_u over the survivors U3. */
  average: Float32Array;
  totalSamples: number;
  /** Values clipped, summed over U3 (no hospital's own count is ever seen). */
  clippedValues: number;
  /** U3 and U2∖U3, sorted. */
  survivors: string[];
  dropped: string[];
  /** Largest absolute quantisation error of `average` (before float32 rounding). */
  errorBound: number;
}

export class SecaggServer {
  readonly #config: SecaggServerConfig;
  #phase: ServerPhase = 'advertise';
  readonly #advertisements = new Map<string, AdvertiseKeysMessage>();
  /** U1, sorted: fixes each hospital's Shamir x-coordinate (index + 1). */
  #roster: string[] = [];
  /** u → (v → ciphertext from u to v). */
  readonly #shares = new Map<string, Map<string, Uint8Array>>();
  #shared: string[] = [];
  /** Σ y_u over the masked inputs received so far (mod 2^32). */
  #sum: Uint32Array | undefined;
  readonly #maskedFrom = new Set<string>();
  #survivors: string[] = [];
  #dropped: string[] = [];
  readonly #responses = new Map<string, UnmaskResponseMessage>();

  constructor(config: SecaggServerConfig) {
    assertId(config.experimentId, 'secagg server experimentId');
    assertRound(config.round, 'secagg server round');
    const participants = new Set(config.participants);
    if (participants.size !== config.participants.length) {
      throw new FedpetError(ErrorCodes.invalidConfig, 'secagg server: participants must be distinct');
    }
    validateThreshold(config.threshold, participants.size);
    for (const id of participants) {
      assertId(id, 'secagg participant');
      if (!config.identityKeys.has(id)) {
        throw new FedpetError(ErrorCodes.invalidConfig, `secagg server: no identity key for ${id}`);
      }
    }
    if (config.fixedPoint.participants !== participants.size) {
      throw new FedpetError(
        ErrorCodes.invalidConfig,
        `secagg server: fixed-point headroom must be sized for all ${participants.size} participants`,
      );
    }
    fixedPointLimits(config.fixedPoint);
    if (!Number.isInteger(config.parameterCount) || config.parameterCount < 1) {
      throw new FedpetError(ErrorCodes.invalidConfig, 'secagg server: parameterCount must be positive');
    }
    this.#config = config;
  }

  get phase(): ServerPhase {
    return this.#phase;
  }

  /** Who the current phase still waits for (for the wiring's "all in" check and timeout report). */
  awaiting(): string[] {
    const missing = (expected: readonly string[], received: { has(id: string): boolean }) =>
      expected.filter((id) => !received.has(id));
    switch (this.#phase) {
      case 'advertise':
        return missing(sortIds(this.#config.participants), this.#advertisements);
      case 'share-keys':
        return missing(this.#roster, this.#shares);
      case 'masked-input':
        return missing(this.#shared, this.#maskedFrom);
      case 'unmask':
        return missing(this.#survivors, this.#responses);
      default:
        return [];
    }
  }

  // Round 0 ──────────────────────────────────────────────────────────────

  receiveAdvertisement(message: AdvertiseKeysMessage): void {
    this.#expect('advertise', message.sender, 'advertisement');
    this.#requireParticipant(message.sender);
    if (this.#advertisements.has(message.sender))
      this.#violation(`second advertisement from ${message.sender}`);
    const { identityKeys, experimentId, round } = this.#config;
    if (!verifyAdvertisement(message, identityKeys, experimentId, round)) {
      throw new FedpetError(
        SecaggErrorCodes.badSignature,
        `secagg server: advertisement of ${message.sender} is not signed by it`,
      );
    }
    importAgreementPublicKey(message.encryptionKey, `encryption key of ${message.sender}`);
    importAgreementPublicKey(message.maskKey, `mask key of ${message.sender}`);
    this.#advertisements.set(message.sender, message);
  }

  /** U1 := hospitals that advertised; relays every advertisement to each of them. */
  closeAdvertising(): KeyRosterMessage {
    this.#expect('advertise', undefined, 'end of advertising');
    this.#requireThreshold(this.#advertisements.size, 'hospitals advertised keys');
    this.#roster = sortIds(this.#advertisements.keys());
    this.#phase = 'share-keys';
    return {
      type: SecaggMessageTypes.keyRoster,
      advertisements: this.#roster.map((id) => this.#advertisements.get(id)!),
    };
  }

  // Round 1 ──────────────────────────────────────────────────────────────

  receiveShares(message: ShareKeysMessage): void {
    this.#expect('share-keys', message.sender, 'shares');
    if (!this.#roster.includes(message.sender))
      this.#violation(`shares from ${message.sender}, which is not in U1`);
    if (this.#shares.has(message.sender)) this.#violation(`second set of shares from ${message.sender}`);
    const byRecipient = new Map<string, Uint8Array>();
    for (const { hospital, ciphertext } of message.shares) {
      if (hospital === message.sender || !this.#roster.includes(hospital) || byRecipient.has(hospital)) {
        this.#violation(
          `shares from ${message.sender} are addressed to ${String(hospital)} (self, outside U1 or twice)`,
        );
      }
      byRecipient.set(hospital, ciphertext);
    }
    if (byRecipient.size !== this.#roster.length - 1) {
      this.#violation(`shares from ${message.sender} do not cover every other member of U1`);
    }
    this.#shares.set(message.sender, byRecipient);
  }

  /** U2 := hospitals that sent shares; each v ∈ U2 gets the ciphertexts addressed to it from U2∖{v}. */
  closeSharing(): RelayedSharesMessage[] {
    this.#expect('share-keys', undefined, 'end of share keys');
    this.#requireThreshold(this.#shares.size, 'hospitals sent shares');
    this.#shared = sortIds(this.#shares.keys());
    this.#sum = new Uint32Array(weightedVectorLength(this.#config.parameterCount));
    this.#phase = 'masked-input';
    return this.#shared.map((recipient) => ({
      type: SecaggMessageTypes.relayedShares,
      recipient,
      shares: this.#shared
        .filter((sender) => sender !== recipient)
        .map((sender) => ({ hospital: sender, ciphertext: this.#shares.get(sender)!.get(recipient)! })),
    }));
  }

  // Round 2 ──────────────────────────────────────────────────────────────

  /** Folds y_u into the running sum; the vector itself is not kept. */
  receiveMaskedInput(message: MaskedInputMessage): void {
    this.#expect('masked-input', message.sender, 'masked input');
    if (!this.#shared.includes(message.sender))
      this.#violation(`masked input from ${message.sender}, which is not in U2`);
    if (this.#maskedFrom.has(message.sender)) this.#violation(`second masked input from ${message.sender}`);
    if (!(message.masked instanceof Uint32Array))
      this.#violation(`masked input from ${message.sender} is not 32-bit words`);
    foldInto(this.#sum!, message.masked);
    this.#maskedFrom.add(message.sender);
  }

  /** U3 := hospitals whose masked input arrived; asks each of them to help unmask. */
  closeMaskedInput(): UnmaskRequestMessage {
    this.#expect('masked-input', undefined, 'end of masked input');
    this.#requireThreshold(this.#maskedFrom.size, 'hospitals sent a masked input');
    this.#survivors = sortIds(this.#maskedFrom);
    this.#dropped = this.#shared.filter((id) => !this.#maskedFrom.has(id));
    this.#phase = 'unmask';
    return {
      type: SecaggMessageTypes.unmaskRequest,
      survivors: [...this.#survivors],
      dropped: [...this.#dropped],
    };
  }

  // Round 4 ──────────────────────────────────────────────────────────────

  receiveUnmaskResponse(message: UnmaskResponseMessage): void {
    this.#expect('unmask', message.sender, 'unmask response');
    if (!this.#survivors.includes(message.sender))
      this.#violation(`unmask response from ${message.sender}, not a survivor`);
    if (this.#responses.has(message.sender)) this.#violation(`second unmask response from ${message.sender}`);
    const covers = (shares: readonly OwnedShare[], owners: readonly string[]) =>
      shares.length === owners.length && shares.every((s, i) => s.owner === owners[i]);
    if (!covers(message.selfMaskShares, this.#survivors) || !covers(message.maskKeyShares, this.#dropped)) {
      this.#violation(`unmask response from ${message.sender} does not hold exactly the shares asked for`);
    }
    this.#responses.set(message.sender, message);
  }

  /**
   * With at least t responses: rebuilds b_u for u ∈ U3 and s_v^SK for
   * v ∈ U2∖U3, removes PRG(b_u) and the survivors' masks with the dropped,
   * and decodes the weighted average.
   */
  finish(): SecureAggregate {
    this.#expect('unmask', undefined, 'end of unmasking');
    try {
      this.#requireThreshold(this.#responses.size, 'hospitals answered the unmask request');
      const responders = sortIds(this.#responses.keys());
      const sharesOf = (owner: string, kind: 'selfMaskShares' | 'maskKeyShares'): Share[] =>
        responders.map((responder) => {
          const owned = this.#responses.get(responder)![kind].find((s) => s.owner === owner)!;
          const share = decodeShare(owned.share, `share of ${owner} from ${responder}`);
          if (share.x !== this.#roster.indexOf(responder) + 1 || share.threshold !== this.#config.threshold) {
            this.#violation(`share of ${owner} from ${responder} has the wrong index or threshold`);
          }
          return share;
        });
      const { experimentId, round } = this.#config;
      const selfSeeds = this.#survivors.map((u) =>
        combine(sharesOf(u, 'selfMaskShares'), `self-mask seed of ${u}`),
      );
      const droppedPairs: DroppedPair[] = [];
      for (const v of this.#dropped) {
        const raw = combine(sharesOf(v, 'maskKeyShares'), `mask key of ${v}`);
        const maskKey = privateKeyFromRaw('x25519', raw, `mask key of ${v}`);
        raw.fill(0);
        const advertised = this.#advertisements.get(v)!.maskKey;
        if (!Buffer.from(exportAgreementPublicKey(createPublicKey(maskKey))).equals(advertised)) {
          throw new FedpetError(
            ErrorCodes.integrity,
            `secagg server: rebuilt mask key of ${v} does not match its advertisement`,
          );
        }
        for (const survivor of this.#survivors) {
          const survivorKey = importAgreementPublicKey(this.#advertisements.get(survivor)!.maskKey);
          droppedPairs.push({
            survivor,
            dropped: v,
            seed: agree(maskKey, survivorKey, {
              experimentId,
              round,
              self: v,
              peer: survivor,
              purpose: 'mask',
            }),
          });
        }
      }
      const sum = this.#sum!;
      unmaskInPlace(sum, selfSeeds, droppedPairs);
      for (const seed of selfSeeds) seed.fill(0);
      for (const pair of droppedPairs) pair.seed.fill(0);
      const decoded = decodeWeightedSum(
        sum,
        this.#config.fixedPoint,
        new Float32Array(this.#config.parameterCount),
      );
      this.#phase = 'done';
      this.#sum = undefined;
      return {
        average: decoded.average,
        totalSamples: decoded.totalSamples,
        clippedValues: decoded.clippedValues,
        survivors: [...this.#survivors],
        dropped: [...this.#dropped],
        errorBound: weightedQuantisationErrorBound(
          this.#survivors.length,
          this.#config.fixedPoint.fractionBits,
          decoded.totalSamples,
        ),
      };
    } catch (error) {
      this.#fail();
      throw error;
    }
  }

  #expect(phase: ServerPhase, sender: string | undefined, what: string): void {
    if (sender !== undefined) assertId(sender, `${what} sender`);
    if (this.#phase !== phase) {
      const from = sender === undefined ? '' : ` from ${sender}`;
      throw new FedpetError(
        SecaggErrorCodes.protocolViolation,
        `secagg server: ${what}${from} in phase ${this.#phase}`,
      );
    }
  }

  #requireParticipant(sender: string): void {
    if (!this.#config.participants.includes(sender))
      this.#violation(`${sender} is not invited to this round`);
  }

  #violation(reason: string): never {
    throw new FedpetError(SecaggErrorCodes.protocolViolation, `secagg server: ${reason}`);
  }

  #requireThreshold(count: number, what: string): void {
    if (count < this.#config.threshold) {
      this.#fail();
      throw new FedpetError(
        SecaggErrorCodes.thresholdNotMet,
        `secagg server: only ${count} ${what}, ${this.#config.threshold} needed; round ${this.#config.round} ends without a result`,
      );
    }
  }

  #fail(): void {
    this.#phase = 'failed';
    this.#sum = undefined;
    this.#responses.clear();
  }
}
