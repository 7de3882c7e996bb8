/**
 * What hospital u sends hospital v in Round 1 (Bonawitz et al. 2017, §4
 * "ShareKeys"): v's share of s_u^SK and v's share of b_u, encrypted with
 * c_uv = KA.agree(c_u^SK, c_v^PK) under AES-256-GCM. The paper puts u‖v in
 * the plaintext; here they (and experiment and round) are the associated
 * data, which authenticates them just the same.
 */
import type { KeyObject } from 'node:crypto';
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import { agree } from './key-agreement.ts';
import { decrypt, encrypt } from './sealed-box.ts';
import { decodeShare, encodeShare, type Share } from './shamir.ts';

export interface ShareBundle {
  maskKeyShare: Share;
  selfMaskShare: Share;
}

export interface BundleContext {
  experimentId: string;
  round: number;
  sender: string;
  recipient: string;
}

function pairKey(myPrivate: KeyObject, theirPublic: KeyObject, self: string, peer: string, c: BundleContext) {
  return agree(myPrivate, theirPublic, {
    experimentId: c.experimentId,
    round: c.round,
    self,
    peer,
    purpose: 'encrypt',
  });
}

export function sealBundle(
  senderEncryptionKey: KeyObject,
  recipientEncryptionKey: KeyObject,
  bundle: ShareBundle,
  context: BundleContext,
): Uint8Array {
  const key = pairKey(
    senderEncryptionKey,
    recipientEncryptionKey,
    context.sender,
    context.recipient,
    context,
  );
  const first = encodeShare(bundle.maskKeyShare);
  const second = encodeShare(bundle.selfMaskShare);
  const plaintext = new Uint8Array(2 + first.length + second.length);
  new DataView(plaintext.buffer).setUint16(0, first.length, false);
  plaintext.set(first, 2);
  plaintext.set(second, 2 + first.length);
  const sealed = encrypt(key, plaintext, context);
  key.fill(0);
  plaintext.fill(0);
  first.fill(0);
  second.fill(0);
  return sealed;
}

/** Decrypts and parses; a tampered or misaddressed ciphertext is an integrity error naming the sender. */
export function openBundle(
  recipientEncryptionKey: KeyObject,
  senderEncryptionKey: KeyObject,
  ciphertext: Uint8Array,
  context: BundleContext,
): ShareBundle {
  const key = pairKey(
    recipientEncryptionKey,
    senderEncryptionKey,
    context.recipient,
    context.sender,
    context,
  );
  let plaintext: Uint8Array;
  try {
    plaintext = decrypt(key, ciphertext, context);
  } finally {
    key.fill(0);
  }
  const what = `shares from ${context.sender} to ${context.recipient}`;
  const firstLength =
    plaintext.length >= 2 ? new DataView(plaintext.buffer, plaintext.byteOffset).getUint16(0) : 0;
  if (plaintext.length < 2 + firstLength + 1) {
    throw new FedpetError(ErrorCodes.invalidMessage, `${what}: malformed bundle`);
  }
  const bundle = {
    maskKeyShare: decodeShare(plaintext.subarray(2, 2 + firstLength), `${what} (mask key)`),
    selfMaskShare: decodeShare(plaintext.subarray(2 + firstLength), `${what} (self-mask seed)`),
  };
  plaintext.fill(0);
  return bundle;
}
