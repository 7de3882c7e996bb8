import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { FedpetError } from '../errors/fedpet-error.ts';
import {
  exportIdentityPrivateKey,
  exportIdentityPublicKey,
  generateIdentityKeyPair,
  importIdentityPrivateKey,
  importIdentityPublicKey,
  type SignatureContext,
  signMessage,
  verifyMessage,
} from './identity-keys.ts';

const context: SignatureContext = {
  experimentId: 'exp-1',
  round: 4,
  sender: 'hospital-a',
  messageType: 'masked-input',
};
const payload = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);

test('a signature verifies for exactly its context and payload', () => {
  const { publicKey, privateKey } = generateIdentityKeyPair();
  const signature = signMessage(privateKey, context, payload);
  assert.equal(signature.length, 64);
  assert.equal(verifyMessage(publicKey, context, payload, signature), true);

  const variants: SignatureContext[] = [
    { ...context, round: 5 },
    { ...context, round: 3 },
    { ...context, messageType: 'share-keys' },
    { ...context, sender: 'hospital-b' },
    { ...context, experimentId: 'exp-2' },
    { ...context, nonce: 'n1' },
    // Moving characters between fields must not keep the signature valid.
    { ...context, sender: 'hospital-am', messageType: 'asked-input' },
  ];
  for (const variant of variants) {
    assert.equal(verifyMessage(publicKey, variant, payload, signature), false, JSON.stringify(variant));
  }
  const flipped = payload.slice();
  flipped[3]! ^= 0x10;
  assert.equal(verifyMessage(publicKey, context, flipped, signature), false);
  assert.equal(verifyMessage(publicKey, context, payload.subarray(0, 7), signature), false);
  const badSignature = signature.slice();
  badSignature[10]! ^= 1;
  assert.equal(verifyMessage(publicKey, context, payload, badSignature), false);
  assert.equal(verifyMessage(publicKey, context, payload, signature.subarray(0, 63)), false);
  assert.equal(verifyMessage(generateIdentityKeyPair().publicKey, context, payload, signature), false);
});

test('the nonce is bound when present', () => {
  const { publicKey, privateKey } = generateIdentityKeyPair();
  const withNonce = { ...context, nonce: 'abc' };
  const signature = signMessage(privateKey, withNonce, payload);
  assert.equal(verifyMessage(publicKey, withNonce, payload, signature), true);
  assert.equal(verifyMessage(publicKey, { ...context, nonce: 'abd' }, payload, signature), false);
  assert.equal(verifyMessage(publicKey, context, payload, signature), false);
});

test('keys survive PEM and raw base64 export and import', () => {
  const { publicKey, privateKey } = generateIdentityKeyPair();
  for (const format of ['pem', 'raw'] as const) {
    const publicText = exportIdentityPublicKey(publicKey, format);
    const privateText = exportIdentityPrivateKey(privateKey, format);
    if (format === 'raw') {
      assert.equal(Buffer.from(publicText, 'base64').length, 32);
      assert.equal(Buffer.from(privateText, 'base64').length, 32);
    } else {
      assert.match(publicText, /BEGIN PUBLIC KEY/);
      assert.match(privateText, /BEGIN PRIVATE KEY/);
    }
    const importedPublic = importIdentityPublicKey(publicText);
    const importedPrivate = importIdentityPrivateKey(privateText);
    assert.equal(
      verifyMessage(importedPublic, context, payload, signMessage(privateKey, context, payload)),
      true,
    );
    assert.equal(
      verifyMessage(publicKey, context, payload, signMessage(importedPrivate, context, payload)),
      true,
    );
  }
});

test('bad key text is refused without quoting it', () => {
  const secretLooking = 'c2VjcmV0LWtleS1tYXRlcmlhbC10aGF0LWlzLXRvby1sb25n';
  for (const attempt of [
    () => importIdentityPrivateKey(secretLooking),
    () => importIdentityPublicKey(secretLooking),
    () => importIdentityPublicKey('not base64 at all!'),
    () => importIdentityPrivateKey('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----'),
  ]) {
    assert.throws(attempt, (error: unknown) => {
      assert.ok(error instanceof FedpetError);
      assert.equal(error.code, 'INVALID_CONFIG');
      assert.ok(!error.message.includes(secretLooking));
      return true;
    });
  }
  // Only an Ed25519 private key signs: not a public key, not an X25519 key.
  assert.throws(() => signMessage(generateIdentityKeyPair().publicKey, context, payload), FedpetError);
  assert.throws(() => signMessage(generateKeyPairSync('x25519').privateKey, context, payload), FedpetError);
  assert.equal(
    verifyMessage(generateKeyPairSync('x25519').publicKey, context, payload, new Uint8Array(64)),
    false,
  );
});
