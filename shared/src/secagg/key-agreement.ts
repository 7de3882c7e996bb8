/**
 * Ephemeral X25519 key agreement (Bonawitz et al. 2017, §4 Round 0
 * "AdvertiseKeys": each hospital u draws two pairs, (c_u^PK, c_u^SK) to
 * encrypt its shares and (s_u^PK, s_u^SK) to derive pairwise masks).
 *
 * The raw X25519 output is never used directly: HKDF-SHA256 (RFC 5869)
 * derives a 32-byte key from it with an info string that binds the
 * experiment, the round, both hospitals' ids in canonical order with their
 * public keys, and the purpose. So the mask seed s_uv and the share
 * encryption key c_uv of the same pair differ, and neither is reused in
 * another round or experiment — the PRG can then start every stream at
 * counter zero (./mask-prg.ts).
 */
import {
  createHash,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
  timingSafeEqual,
} from 'node:crypto';
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import { assertId, assertRound, compareIds, encodeFields } from './canonical.ts';
import { privateKeyFromRaw, publicKeyFromRaw, rawPublicKey } from './raw-keys.ts';

const KDF_LABEL = 'fedpet/secagg/x25519-hkdf/v1';
export const AGREED_KEY_BYTES = 32;

export type AgreementPurpose = 'mask' | 'encrypt';

export interface AgreementKeyPair {
  publicKey: KeyObject;
  privateKey: KeyObject;
}

export interface AgreementContext {
  experimentId: string;
  round: number;
  /** Id of the holder of `myPrivate`. */
  self: string;
  /** Id of the holder of `theirPublic`. */
  peer: string;
  purpose: AgreementPurpose;
}

/**
 * A fresh pair. With `random` (tests, reproducible simulations) the private
 * key is its 32 bytes (X25519 clamps them itself, RFC 7748 §5).
 */
export function generateAgreementKeyPair(random?: (length: number) => Uint8Array): AgreementKeyPair {
  if (random === undefined) return generateKeyPairSync('x25519');
  const raw = random(32);
  const privateKey = privateKeyFromRaw('x25519', raw);
  raw.fill(0);
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

const ZERO = new Uint8Array(32);

export function agree(myPrivate: KeyObject, theirPublic: KeyObject, context: AgreementContext): Uint8Array {
  assertId(context.experimentId, 'agreement experimentId');
  assertRound(context.round, 'agreement round');
  assertId(context.self, 'agreement self');
  assertId(context.peer, 'agreement peer');
  if (context.purpose !== 'mask' && context.purpose !== 'encrypt') {
    throw new FedpetError(ErrorCodes.invalidMessage, 'agreement purpose must be mask or encrypt');
  }
  if (context.self === context.peer) {
    throw new FedpetError(ErrorCodes.invalidMessage, 'key agreement needs two different hospitals');
  }
  const myPublicRaw = rawPublicKey('x25519', createPublicKey(myPrivate), 'own agreement key');
  const theirPublicRaw = rawPublicKey('x25519', theirPublic, `agreement key of ${context.peer}`);
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey: myPrivate, publicKey: theirPublic });
  } catch {
    // OpenSSL refuses low-order points (all-zero output); say so without key bytes.
    throw new FedpetError(
      ErrorCodes.integrity,
      `key agreement with ${context.peer} failed (invalid public key)`,
    );
  }
  // Belt and braces for a contributory result (RFC 7748 §6.1), compared in constant time.
  if (timingSafeEqual(shared, ZERO)) {
    throw new FedpetError(
      ErrorCodes.integrity,
      `key agreement with ${context.peer} gave a non-contributory result`,
    );
  }
  const selfFirst = compareIds(context.self, context.peer) < 0;
  const [firstId, firstKey, secondId, secondKey] = selfFirst
    ? [context.self, myPublicRaw, context.peer, theirPublicRaw]
    : [context.peer, theirPublicRaw, context.self, myPublicRaw];
  // node's HKDF caps `info` at 1024 bytes; its SHA-256 keeps every field bound whatever the id lengths.
  const boundFields = encodeFields(KDF_LABEL, [
    context.experimentId,
    context.round,
    firstId,
    firstKey,
    secondId,
    secondKey,
    context.purpose,
  ]);
  const info = createHash('sha256').update(boundFields).digest();
  const key = new Uint8Array(hkdfSync('sha256', shared, new Uint8Array(0), info, AGREED_KEY_BYTES));
  shared.fill(0);
  return key;
}

export function exportAgreementPublicKey(key: KeyObject): Uint8Array {
  return rawPublicKey('x25519', key, 'agreement public key');
}

export function importAgreementPublicKey(raw: Uint8Array, what = 'agreement public key'): KeyObject {
  return publicKeyFromRaw('x25519', raw, what);
}
