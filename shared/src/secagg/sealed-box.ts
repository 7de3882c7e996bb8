/**
 * Authenticated encryption for secure aggregation.
 *
 * - `encrypt`/`decrypt`: AES-256-GCM under a key both ends already share — in
 *   the protocol c_uv from ./key-agreement.ts, used to encrypt u's Shamir
 *   shares for v so the relaying server cannot read them (Bonawitz et al.
 *   2017, §4 Round 1 "ShareKeys": c_{u,v} = AE.enc(KA.agree(c_u^SK, c_v^PK),
 *   u‖v‖s_{u,v}^SK‖b_{u,v})). The associated data binds experiment, round,
 *   sender and recipient, so a share cannot be replayed to another hospital
 *   or round even under the same key.
 * - `sealToPublicKey`/`openSealed`: ephemeral X25519 + HKDF-SHA256 + AES-256-GCM
 *   (an ECIES-style sealed box) to send a whole update to the aggregator's
 *   X25519 key when secure aggregation is off, so the broker sees nothing.
 *
 * Nonces are 12 random bytes: each key here seals a handful of messages
 * (one per pair and round, or one per ephemeral key), far below the 2^32
 * random-nonce limit of NIST SP 800-38D §8.3.
 *
 * Layouts: [version=1][nonce 12][ciphertext][tag 16] and
 * [version=1][ephemeral X25519 public 32][nonce 12][ciphertext][tag 16].
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import { assertId, assertRound, encodeFields } from './canonical.ts';
import { publicKeyFromRaw, rawPublicKey } from './raw-keys.ts';

const VERSION = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const EPHEMERAL_BYTES = 32;
const AD_LABEL = 'fedpet/secagg/aead/v1';
const SEALED_AD_LABEL = 'fedpet/secagg/sealed-box/v1';
const SEALED_KDF_LABEL = 'fedpet/secagg/sealed-box-kdf/v1';

/** Who sealed what for whom, when: authenticated, not encrypted. */
export interface SealContext {
  experimentId: string;
  round: number;
  sender: string;
  recipient: string;
}

function describe(context: SealContext): string {
  return `from ${context.sender} to ${context.recipient} (round ${context.round})`;
}

function associatedData(label: string, context: SealContext, extra: Uint8Array[] = []): Uint8Array {
  assertId(context.experimentId, 'seal experimentId');
  assertRound(context.round, 'seal round');
  assertId(context.sender, 'seal sender');
  assertId(context.recipient, 'seal recipient');
  return encodeFields(label, [
    context.experimentId,
    context.round,
    context.sender,
    context.recipient,
    ...extra,
  ]);
}

function assertKey(key: Uint8Array): void {
  if (key.length !== 32) {
    throw new FedpetError(ErrorCodes.invalidConfig, `AES-256-GCM key must be 32 bytes, got ${key.length}`);
  }
}

function gcmSeal(key: Uint8Array, plaintext: Uint8Array, ad: Uint8Array, prefix: Uint8Array): Uint8Array {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(ad);
  const body = cipher.update(plaintext);
  const final = cipher.final();
  const tag = cipher.getAuthTag();
  const out = new Uint8Array(prefix.length + NONCE_BYTES + body.length + final.length + TAG_BYTES);
  let offset = 0;
  for (const part of [prefix, nonce, body, final, tag]) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function gcmOpen(key: Uint8Array, sealed: Uint8Array, ad: Uint8Array, what: string): Uint8Array {
  if (sealed.length < NONCE_BYTES + TAG_BYTES) {
    throw new FedpetError(ErrorCodes.integrity, `${what}: sealed message is truncated`);
  }
  const nonce = sealed.subarray(0, NONCE_BYTES);
  const body = sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(ad);
  decipher.setAuthTag(tag);
  const plain = decipher.update(body);
  try {
    const final = decipher.final();
    return final.length === 0 ? plain : Buffer.concat([plain, final]);
  } catch {
    plain.fill(0); // unauthenticated plaintext never leaves this function
    throw new FedpetError(
      ErrorCodes.integrity,
      `${what}: authentication failed (tampered, wrong key, or sealed for another sender, recipient or round)`,
    );
  }
}

function checkVersion(sealed: Uint8Array, what: string): void {
  if (sealed.length === 0 || sealed[0] !== VERSION) {
    throw new FedpetError(ErrorCodes.integrity, `${what}: unknown sealed-message version`);
  }
}

export function encrypt(key: Uint8Array, plaintext: Uint8Array, context: SealContext): Uint8Array {
  assertKey(key);
  return gcmSeal(key, plaintext, associatedData(AD_LABEL, context), Uint8Array.of(VERSION));
}

export function decrypt(key: Uint8Array, sealed: Uint8Array, context: SealContext): Uint8Array {
  assertKey(key);
  const what = `encrypted message ${describe(context)}`;
  checkVersion(sealed, what);
  return gcmOpen(key, sealed.subarray(1), associatedData(AD_LABEL, context), what);
}

/** HKDF-SHA256 of the X25519 secret, bound to both public keys and the context. */
function sealingKey(
  shared: Uint8Array,
  ephemeralRaw: Uint8Array,
  recipientRaw: Uint8Array,
  ad: Uint8Array,
): Uint8Array {
  const info = createHash('sha256')
    .update(encodeFields(SEALED_KDF_LABEL, [ephemeralRaw, recipientRaw, ad]))
    .digest();
  return new Uint8Array(hkdfSync('sha256', shared, new Uint8Array(0), info, 32));
}

export function sealToPublicKey(
  recipientPublic: KeyObject,
  plaintext: Uint8Array,
  context: SealContext,
): Uint8Array {
  const recipientRaw = rawPublicKey('x25519', recipientPublic, `sealing key of ${context.recipient}`);
  const ad = associatedData(SEALED_AD_LABEL, context);
  const ephemeral = generateKeyPairSync('x25519');
  const ephemeralRaw = rawPublicKey('x25519', ephemeral.publicKey);
  const shared = diffieHellman({ privateKey: ephemeral.privateKey, publicKey: recipientPublic });
  const key = sealingKey(shared, ephemeralRaw, recipientRaw, ad);
  shared.fill(0);
  const prefix = new Uint8Array(1 + EPHEMERAL_BYTES);
  prefix[0] = VERSION;
  prefix.set(ephemeralRaw, 1);
  const out = gcmSeal(key, plaintext, ad, prefix);
  key.fill(0);
  return out;
}

export function openSealed(
  recipientPrivate: KeyObject,
  sealed: Uint8Array,
  context: SealContext,
): Uint8Array {
  const what = `sealed update ${describe(context)}`;
  checkVersion(sealed, what);
  if (sealed.length < 1 + EPHEMERAL_BYTES + NONCE_BYTES + TAG_BYTES) {
    throw new FedpetError(ErrorCodes.integrity, `${what}: sealed message is truncated`);
  }
  const ephemeralRaw = sealed.subarray(1, 1 + EPHEMERAL_BYTES);
  const ad = associatedData(SEALED_AD_LABEL, context);
  let shared: Buffer;
  try {
    shared = diffieHellman({
      privateKey: recipientPrivate,
      publicKey: publicKeyFromRaw('x25519', ephemeralRaw),
    });
  } catch {
    throw new FedpetError(ErrorCodes.integrity, `${what}: invalid ephemeral key`);
  }
  const recipientRaw = rawPublicKey('x25519', createPublicKey(recipientPrivate));
  const key = sealingKey(shared, ephemeralRaw, recipientRaw, ad);
  shared.fill(0);
  try {
    return gcmOpen(key, sealed.subarray(1 + EPHEMERAL_BYTES), ad, what);
  } finally {
    key.fill(0);
  }
}
