/**
 * Long-term Ed25519 identity keys of hospitals and the aggregator, and
 * signatures bound to the protocol context.
 *
 * Bonawitz et al. 2017 (§6, active security) sign each hospital's advertised
 * keys with a long-term signing key so that a server relaying them cannot
 * substitute its own and sit in the middle of the share encryption. fedpet
 * signs every protocol message the same way, and binds the signature to
 * (experiment, round, sender, message type[, nonce]): a signature made for
 * round r does not verify for round r+1, for another message type, or as if
 * sent by someone else.
 *
 * What is signed: a domain-separation label and the length-prefixed context
 * fields (./canonical.ts), then the payload's length and SHA-512 digest.
 * Ed25519 in node:crypto takes the whole message in one buffer; digesting the
 * payload first (hash-then-sign, secure under SHA-512's collision
 * resistance) avoids copying a 40 MB masked vector just to sign it.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import { assertId, assertRound, encodeFields } from './canonical.ts';
import { privateKeyFromRaw, publicKeyFromRaw, rawPrivateKey, rawPublicKey } from './raw-keys.ts';

const SIGNATURE_LABEL = 'fedpet/secagg/signed-message/v1';
export const SIGNATURE_BYTES = 64;

export interface IdentityKeyPair {
  publicKey: KeyObject;
  privateKey: KeyObject;
}

/** What a signature is bound to. `nonce`, when present, is signed too (a replay guard keys on it). */
export interface SignatureContext {
  experimentId: string;
  round: number;
  sender: string;
  messageType: string;
  nonce?: string;
}

export function generateIdentityKeyPair(): IdentityKeyPair {
  return generateKeyPairSync('ed25519');
}

export function exportIdentityPublicKey(key: KeyObject, format: 'pem' | 'raw'): string {
  if (format === 'raw')
    return Buffer.from(rawPublicKey('ed25519', key, 'identity public key')).toString('base64');
  return key.export({ format: 'pem', type: 'spki' }).toString();
}

export function exportIdentityPrivateKey(key: KeyObject, format: 'pem' | 'raw'): string {
  if (format === 'raw') {
    const raw = rawPrivateKey('ed25519', key, 'identity private key');
    const text = Buffer.from(raw).toString('base64');
    raw.fill(0);
    return text;
  }
  return key.export({ format: 'pem', type: 'pkcs8' }).toString();
}

const PEM = /^\s*-----BEGIN /;

function decodeRawBase64(text: string, what: string): Uint8Array {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed)) {
    throw new FedpetError(ErrorCodes.invalidConfig, `${what} is neither PEM nor base64`);
  }
  return new Uint8Array(Buffer.from(trimmed, 'base64'));
}

/** Our own messages (lengths, format) are kept; OpenSSL's are dropped: they may echo key bytes. */
function importError(error: unknown, fallback: string): FedpetError {
  return new FedpetError(ErrorCodes.invalidConfig, error instanceof FedpetError ? error.message : fallback);
}

/** Accepts PEM (SPKI) or the raw 32-byte key in base64, as a federation file lists them. */
export function importIdentityPublicKey(text: string, what = 'identity public key'): KeyObject {
  try {
    const key = PEM.test(text)
      ? createPublicKey({ key: text, format: 'pem' })
      : publicKeyFromRaw('ed25519', decodeRawBase64(text, what), what);
    if (key.asymmetricKeyType !== 'ed25519') throw new Error('not ed25519');
    return key;
  } catch (error) {
    throw importError(error, `${what} is not a valid Ed25519 public key`);
  }
}

/** Accepts PEM (PKCS#8) or the raw 32-byte seed in base64. Errors never quote the key. */
export function importIdentityPrivateKey(text: string, what = 'identity private key'): KeyObject {
  try {
    if (PEM.test(text)) {
      const key = createPrivateKey({ key: text, format: 'pem' });
      if (key.asymmetricKeyType !== 'ed25519') throw new Error('not ed25519');
      return key;
    }
    const raw = decodeRawBase64(text, what);
    const key = privateKeyFromRaw('ed25519', raw, what);
    raw.fill(0);
    return key;
  } catch (error) {
    throw importError(error, `${what} is not a valid Ed25519 private key`);
  }
}

function signedBytes(context: SignatureContext, payload: Uint8Array): Uint8Array {
  assertId(context.experimentId, 'signature context experimentId');
  assertRound(context.round, 'signature context round');
  assertId(context.sender, 'signature context sender');
  assertId(context.messageType, 'signature context messageType');
  if (context.nonce !== undefined && typeof context.nonce !== 'string') {
    throw new FedpetError(ErrorCodes.invalidMessage, 'signature context nonce must be a string');
  }
  const digest = createHash('sha512').update(payload).digest();
  return encodeFields(SIGNATURE_LABEL, [
    context.experimentId,
    context.round,
    context.sender,
    context.messageType,
    context.nonce ?? '',
    payload.length,
    digest,
  ]);
}

export function signMessage(
  privateKey: KeyObject,
  context: SignatureContext,
  payload: Uint8Array,
): Uint8Array {
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ed25519') {
    throw new FedpetError(ErrorCodes.invalidConfig, 'signing key must be an Ed25519 private key');
  }
  return new Uint8Array(sign(null, signedBytes(context, payload), privateKey));
}

/**
 * True only if `signature` was made by `publicKey`'s owner over exactly this
 * context and payload. Never throws on a malformed signature: that is just
 * "does not verify" (the caller logs and counts the reason).
 */
export function verifyMessage(
  publicKey: KeyObject,
  context: SignatureContext,
  payload: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (publicKey.type !== 'public' || publicKey.asymmetricKeyType !== 'ed25519') return false;
  if (signature.length !== SIGNATURE_BYTES) return false;
  try {
    return verify(null, signedBytes(context, payload), publicKey, signature);
  } catch {
    return false;
  }
}
