/**
 * Raw 32-byte Ed25519 / X25519 keys ↔ node:crypto KeyObjects.
 *
 * Raw keys are what travels in protocol messages (an advertised X25519 public
 * key) and what Shamir shares reconstruct (a dropped hospital's X25519 private
 * key, Bonawitz et al. 2017 §4 Round 4). The conversion wraps the 32 bytes in
 * the fixed DER prefixes of RFC 8410 (SubjectPublicKeyInfo / PKCS#8 with the
 * OIDs 1.3.101.110 for X25519 and 1.3.101.112 for Ed25519), which node imports
 * and exports natively.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';

export type CurveName = 'x25519' | 'ed25519';

// Last byte of the OID 1.3.101.x (DER 2b 65 xx): 110 = 0x6e X25519, 112 = 0x70 Ed25519.
const OID_LAST: Record<CurveName, string> = { x25519: '6e', ed25519: '70' };
const spkiPrefix = (curve: CurveName) => Buffer.from(`302a300506032b65${OID_LAST[curve]}032100`, 'hex');
const pkcs8Prefix = (curve: CurveName) =>
  Buffer.from(`302e020100300506032b65${OID_LAST[curve]}04220420`, 'hex');

export const RAW_KEY_BYTES = 32;

function assertRawLength(bytes: Uint8Array, what: string): void {
  if (bytes.length !== RAW_KEY_BYTES) {
    throw new FedpetError(
      ErrorCodes.invalidMessage,
      `${what} must be ${RAW_KEY_BYTES} bytes, got ${bytes.length}`,
    );
  }
}

function assertCurve(key: KeyObject, curve: CurveName, type: 'public' | 'private', what: string): void {
  if (key.type !== type || key.asymmetricKeyType !== curve) {
    throw new FedpetError(ErrorCodes.invalidMessage, `${what} must be a ${curve} ${type} key`);
  }
}

export function publicKeyFromRaw(curve: CurveName, raw: Uint8Array, what = `${curve} public key`): KeyObject {
  assertRawLength(raw, what);
  return createPublicKey({ key: Buffer.concat([spkiPrefix(curve), raw]), format: 'der', type: 'spki' });
}

export function privateKeyFromRaw(
  curve: CurveName,
  raw: Uint8Array,
  what = `${curve} private key`,
): KeyObject {
  assertRawLength(raw, what);
  return createPrivateKey({ key: Buffer.concat([pkcs8Prefix(curve), raw]), format: 'der', type: 'pkcs8' });
}

export function rawPublicKey(curve: CurveName, key: KeyObject, what = `${curve} public key`): Uint8Array {
  assertCurve(key, curve, 'public', what);
  const der = key.export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.subarray(der.length - RAW_KEY_BYTES));
}

/** The 32 private bytes. The caller owns them and should zero them after use. */
export function rawPrivateKey(curve: CurveName, key: KeyObject, what = `${curve} private key`): Uint8Array {
  assertCurve(key, curve, 'private', what);
  const der = key.export({ format: 'der', type: 'pkcs8' });
  const raw = new Uint8Array(der.subarray(der.length - RAW_KEY_BYTES));
  der.fill(0);
  return raw;
}
