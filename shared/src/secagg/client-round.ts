/**
 * One hospital's side of a secure-aggregation round (Bonawitz et al. 2017,
 * §4, Figure 4, "User" column), as a pure state machine: each method takes
 * the server's message for the phase and returns the message to send back.
 * No I/O, no timers: the wiring carries messages and decides on timeouts.
 *
 *   advertiseKeys()            Round 0  AdvertiseKeys
 *   shareKeys(roster)          Round 1  ShareKeys
 *   maskedInput(relayed, x)    Round 2  MaskedInputCollection
 *   unmask(request)            Round 4  Unmasking
 *
 * Any check that fails aborts the round for this hospital (phase 'failed',
 * secrets dropped), as the paper's users abort: continuing after a forged
 * roster or a tampered share could only help an attacker.
 *
 * Threat model: key advertisements are signed (the paper's §6 addition), so
 * a relaying server cannot substitute keys; each hospital answers one unmask
 * request and never reveals both kinds of share for one hospital, and t is a
 * majority (threshold.ts). Round 3 of the paper's actively secure version
 * (ConsistencyCheck: every survivor signs the set U3 and checks t such
 * signatures before unmasking) is not implemented here; it guards against a
 * server that, with colluding hospitals, shows different survivor sets to
 * different hospitals.
 */
import { type KeyObject, randomBytes } from 'node:crypto';
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import { signAdvertisement, verifyAdvertisement } from './advertisement.ts';
import { assertId, assertRound, sortIds } from './canonical.ts';
import { SecaggErrorCodes } from './error-codes.ts';
import {
  encodeWeightedUpdate,
  type FixedPointConfig,
  fixedPointLimits,
  weightedVectorLength,
} from './fixed-point.ts';
import {
  type AgreementKeyPair,
  agree,
  exportAgreementPublicKey,
  generateAgreementKeyPair,
  importAgreementPublicKey,
} from './key-agreement.ts';
import { maskInPlace, type PairwiseSeed } from './masking.ts';
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
import { rawPrivateKey } from './raw-keys.ts';
import { encodeShare, type Share, split } from './shamir.ts';
import { openBundle, type ShareBundle, sealBundle } from './share-bundle.ts';
import { validateThreshold } from './threshold.ts';

export interface SecaggClientConfig {
  experimentId: string;
  round: number;
  /** This hospital's id. */
  self: string;
  /** The hospitals invited to this round (n), this one included. */
  participants: readonly string[];
  /** t: how many hospitals must remain for the round to complete. */
  threshold: number;
  /** This hospital's Ed25519 private key. */
  identityKey: KeyObject;
  /** Ed25519 public keys of the participants, from the federation file. */
  identityKeys: ReadonlyMap<string, KeyObject>;
  parameterCount: number;
  /** `participants` in it must be the number of invited hospitals (headroom for all of them). */
  fixedPoint: FixedPointConfig;
  /** Randomness for keys, seeds and shares; crypto.randomBytes unless a test needs reproducibility. */
  random?: (length: number) => Uint8Array;
}

export type ClientPhase = 'advertise' | 'share-keys' | 'masked-input' | 'unmask' | 'done' | 'failed';

interface PeerKeys {
  encryptionKey: KeyObject;
  maskKey: KeyObject;
}

export class SecaggClient {
  readonly #config: SecaggClientConfig;
  #phase: ClientPhase = 'advertise';
  #encryptionPair: AgreementKeyPair | undefined;
  #maskPair: AgreementKeyPair | undefined;
  /** U1 in canonical order and each member's advertised keys. */
  #roster: string[] = [];
  #peers = new Map<string, PeerKeys>();
  #selfSeed: Uint8Array | undefined;
  /** Shares held for each u ∈ U2 (own included): of s_u^SK and of b_u. */
  #held = new Map<string, ShareBundle>();
  /** U2 as this hospital learnt it from the relayed shares. */
  #sharedSet: string[] = [];

  constructor(config: SecaggClientConfig) {
    assertId(config.experimentId, 'secagg client experimentId');
    assertRound(config.round, 'secagg client round');
    assertId(config.self, 'secagg client id');
    const participants = new Set(config.participants);
    if (participants.size !== config.participants.length || !participants.has(config.self)) {
      throw new FedpetError(
        ErrorCodes.invalidConfig,
        `secagg client ${config.self}: participants must be distinct and include it`,
      );
    }
    validateThreshold(config.threshold, participants.size);
    for (const id of participants) {
      if (!config.identityKeys.has(id)) {
        throw new FedpetError(
          ErrorCodes.invalidConfig,
          `secagg client ${config.self}: no identity key for ${id}`,
        );
      }
    }
    if (config.fixedPoint.participants !== participants.size) {
      throw new FedpetError(
        ErrorCodes.invalidConfig,
        `secagg client ${config.self}: fixed-point headroom must be sized for all ${participants.size} participants`,
      );
    }
    fixedPointLimits(config.fixedPoint);
    if (!Number.isInteger(config.parameterCount) || config.parameterCount < 1) {
      throw new FedpetError(
        ErrorCodes.invalidConfig,
        `secagg client ${config.self}: parameterCount must be positive`,
      );
    }
    this.#config = config;
  }

  get phase(): ClientPhase {
    return this.#phase;
  }

  /** Round 0: fresh (c_u, s_u) key pairs; the public halves go out signed. */
  advertiseKeys(): AdvertiseKeysMessage {
    this.#expect('advertise', 'advertise keys');
    const { random, experimentId, round, self, identityKey } = this.#config;
    this.#encryptionPair = generateAgreementKeyPair(random);
    this.#maskPair = generateAgreementKeyPair(random);
    const encryptionKey = exportAgreementPublicKey(this.#encryptionPair.publicKey);
    const maskKey = exportAgreementPublicKey(this.#maskPair.publicKey);
    this.#phase = 'share-keys';
    return signAdvertisement(identityKey, experimentId, round, self, encryptionKey, maskKey);
  }

  /**
   * Round 1: checks the roster U1 (every advertisement signed by its
   * hospital, own keys unchanged, at least t members), draws b_u, splits
   * b_u and s_u^SK t-of-|U1|, and encrypts each peer's pair of shares to it.
   */
  shareKeys(roster: KeyRosterMessage): ShareKeysMessage {
    this.#expect('share-keys', 'key roster');
    return this.#guard(() => {
      const { experimentId, round, self, threshold, identityKeys, random } = this.#config;
      const invited = new Set(this.#config.participants);
      const ids = new Set<string>();
      for (const advertisement of roster.advertisements) {
        const sender = advertisement.sender;
        if (!invited.has(sender) || ids.has(sender)) {
          this.#violation(`key roster lists ${String(sender)} twice or without invitation`);
        }
        if (!verifyAdvertisement(advertisement, identityKeys, experimentId, round)) {
          throw new FedpetError(
            SecaggErrorCodes.badSignature,
            `secagg client ${self}: advertisement of ${sender} is not signed by it`,
          );
        }
        ids.add(sender);
        this.#peers.set(sender, {
          encryptionKey: importAgreementPublicKey(advertisement.encryptionKey, `encryption key of ${sender}`),
          maskKey: importAgreementPublicKey(advertisement.maskKey, `mask key of ${sender}`),
        });
      }
      const own = roster.advertisements.find((a) => a.sender === self);
      if (
        own === undefined ||
        !Buffer.from(own.encryptionKey).equals(exportAgreementPublicKey(this.#encryptionPair!.publicKey)) ||
        !Buffer.from(own.maskKey).equals(exportAgreementPublicKey(this.#maskPair!.publicKey))
      ) {
        this.#violation("key roster does not carry this hospital's own keys");
      }
      this.#requireThreshold(ids.size, 'advertised keys');
      this.#roster = sortIds(ids);

      // Bonawitz et al. 2017 §4 Round 1: b_u ← PRG seed; shares of s_u^SK and b_u for every v ∈ U1.
      this.#selfSeed = random === undefined ? new Uint8Array(randomBytes(32)) : random(32);
      const maskSecret = rawPrivateKey('x25519', this.#maskPair!.privateKey);
      const maskShares = split(maskSecret, threshold, this.#roster.length, random);
      const seedShares = split(this.#selfSeed, threshold, this.#roster.length, random);
      maskSecret.fill(0);
      const out: ShareKeysMessage = { type: SecaggMessageTypes.shareKeys, sender: self, shares: [] };
      this.#roster.forEach((peer, index) => {
        const bundle = { maskKeyShare: maskShares[index]!, selfMaskShare: seedShares[index]! };
        if (peer === self) {
          this.#held.set(self, bundle);
          return;
        }
        out.shares.push({
          hospital: peer,
          ciphertext: sealBundle(
            this.#encryptionPair!.privateKey,
            this.#peers.get(peer)!.encryptionKey,
            bundle,
            {
              experimentId,
              round,
              sender: self,
              recipient: peer,
            },
          ),
        });
        bundle.maskKeyShare.y.fill(0);
        bundle.selfMaskShare.y.fill(0);
      });
      this.#phase = 'masked-input';
      return out;
    });
  }

  /**
   * Round 2: decrypts the shares from U2∖{u} (any tampering aborts), then
   * sends y_u = q(x_u) + PRG(b_u) + Σ_{v∈U2} ±PRG(s_uv).
   */
  maskedInput(
    relayed: RelayedSharesMessage,
    update: { values: ArrayLike<number>; numSamples: number },
  ): { message: MaskedInputMessage; clipped: number } {
    this.#expect('masked-input', 'relayed shares');
    return this.#guard(() => {
      const { experimentId, round, self, parameterCount, fixedPoint } = this.#config;
      if (relayed.recipient !== self)
        this.#violation(`relayed shares are addressed to ${String(relayed.recipient)}`);
      if (update.values.length !== parameterCount) {
        throw new FedpetError(
          ErrorCodes.invalidMessage,
          `secagg client ${self}: update has ${update.values.length} parameters, the round expects ${parameterCount}`,
        );
      }
      const senders = new Set<string>();
      for (const { hospital: sender, ciphertext } of relayed.shares) {
        if (sender === self || senders.has(sender) || !this.#peers.has(sender)) {
          this.#violation(`relayed shares name ${String(sender)} as a sender outside U1 or twice`);
        }
        senders.add(sender);
        const bundle = openBundle(
          this.#encryptionPair!.privateKey,
          this.#peers.get(sender)!.encryptionKey,
          ciphertext,
          {
            experimentId,
            round,
            sender,
            recipient: self,
          },
        );
        const expectedX = this.#roster.indexOf(self) + 1;
        for (const share of [bundle.maskKeyShare, bundle.selfMaskShare]) {
          if (share.x !== expectedX || share.threshold !== this.#config.threshold) {
            this.#violation(`shares from ${sender} have the wrong index or threshold`);
          }
        }
        this.#held.set(sender, bundle);
      }
      senders.add(self);
      this.#requireThreshold(senders.size, 'hospitals that shared keys');
      this.#sharedSet = sortIds(senders);

      // s_uv = KA.agree(s_u^SK, s_v^PK) through HKDF, for each v ∈ U2∖{u}.
      const pairwise: PairwiseSeed[] = this.#sharedSet
        .filter((peer) => peer !== self)
        .map((peer) => ({
          peer,
          seed: agree(this.#maskPair!.privateKey, this.#peers.get(peer)!.maskKey, {
            experimentId,
            round,
            self,
            peer,
            purpose: 'mask',
          }),
        }));
      const { encoded, clipped } = encodeWeightedUpdate(
        update.values,
        update.numSamples,
        fixedPoint,
        new Uint32Array(weightedVectorLength(parameterCount)),
      );
      maskInPlace(encoded, self, this.#selfSeed!, pairwise);
      for (const { seed } of pairwise) seed.fill(0);
      this.#selfSeed!.fill(0);
      this.#maskPair = undefined; // s_u^SK is no longer needed here; its shares are with the peers.
      this.#phase = 'unmask';
      return { message: { type: SecaggMessageTypes.maskedInput, sender: self, masked: encoded }, clipped };
    });
  }

  /**
   * Round 4: checks that the request splits U2 into survivors and dropped
   * (disjoint, at least t survivors, this hospital among them), then reveals
   * shares of b_v for survivors and of s_v^SK for the dropped — never both
   * for one v. Answers once.
   */
  unmask(request: UnmaskRequestMessage): UnmaskResponseMessage {
    this.#expect('unmask', 'unmask request');
    return this.#guard(() => {
      const { self } = this.#config;
      const survivors = new Set(request.survivors);
      const dropped = new Set(request.dropped);
      const listed = [...survivors, ...dropped];
      const shared = new Set(this.#sharedSet);
      if (
        survivors.size !== request.survivors.length ||
        dropped.size !== request.dropped.length ||
        listed.length !== shared.size ||
        !listed.every((id) => shared.has(id)) ||
        !survivors.has(self)
      ) {
        this.#violation(
          'unmask request does not split the hospitals that shared keys into survivors and dropped',
        );
      }
      this.#requireThreshold(survivors.size, 'survivors');
      const take = (owner: string, pick: (bundle: ShareBundle) => Share): OwnedShare => {
        const bundle = this.#held.get(owner);
        if (bundle === undefined) this.#violation(`no share held for ${owner}`);
        return { owner, share: encodeShare(pick(bundle)) };
      };
      const response: UnmaskResponseMessage = {
        type: SecaggMessageTypes.unmaskResponse,
        sender: self,
        selfMaskShares: sortIds(survivors).map((owner) => take(owner, (b) => b.selfMaskShare)),
        maskKeyShares: sortIds(dropped).map((owner) => take(owner, (b) => b.maskKeyShare)),
      };
      this.#forget();
      this.#phase = 'done';
      return response;
    });
  }

  #expect(phase: ClientPhase, what: string): void {
    if (this.#phase !== phase) {
      throw new FedpetError(
        SecaggErrorCodes.protocolViolation,
        `secagg client ${this.#config.self}: ${what} received in phase ${this.#phase}`,
      );
    }
  }

  #guard<T>(step: () => T): T {
    try {
      return step();
    } catch (error) {
      this.#forget();
      this.#phase = 'failed';
      throw error;
    }
  }

  #violation(reason: string): never {
    throw new FedpetError(
      SecaggErrorCodes.protocolViolation,
      `secagg client ${this.#config.self}: ${reason}`,
    );
  }

  #requireThreshold(count: number, what: string): void {
    if (count < this.#config.threshold) {
      throw new FedpetError(
        SecaggErrorCodes.thresholdNotMet,
        `secagg client ${this.#config.self}: ${count} ${what}, ${this.#config.threshold} needed`,
      );
    }
  }

  /** Best-effort erasure: JavaScript cannot wipe KeyObjects, but share and seed bytes it can. */
  #forget(): void {
    for (const bundle of this.#held.values()) {
      bundle.maskKeyShare.y.fill(0);
      bundle.selfMaskShare.y.fill(0);
    }
    this.#held.clear();
    this.#selfSeed?.fill(0);
    this.#selfSeed = undefined;
    this.#maskPair = undefined;
    this.#encryptionPair = undefined;
  }
}
