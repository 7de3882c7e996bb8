import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { FedpetError } from '../errors/fedpet-error.ts';
import { decrypt, encrypt, openSealed, type SealContext, sealToPublicKey } from './sealed-box.ts';

const context: SealContext = { experimentId: 'exp', round: 2, sender: 'h-a', recipient: 'h-b' };
const isIntegrityError = (error: unknown) =>
  error instanceof FedpetError && error.code === 'INTEGRITY_ERROR' && /h-a to h-b/.test(error.message);

test('AES-256-GCM round-trips and hides the plaintext', () => {
  const key = randomBytes(32);
  const plaintext = new TextEncoder().encode('share of b_u and s_u^SK');
  const sealed = encrypt(key, plaintext, context);
  assert.equal(sealed.length, 1 + 12 + plaintext.length + 16);
  assert.ok(!Buffer.from(sealed).includes(Buffer.from(plaintext)));
  assert.deepEqual(Buffer.from(decrypt(key, sealed, context)), Buffer.from(plaintext));
  // Two seals of the same plaintext differ (random nonce).
  assert.notDeepEqual(Buffer.from(encrypt(key, plaintext, context)), Buffer.from(sealed));
  assert.equal(decrypt(key, encrypt(key, new Uint8Array(0), context), context).length, 0);
});

test('any flipped bit, a wrong key or a wrong context is an integrity error', () => {
  const key = randomBytes(32);
  const sealed = encrypt(key, randomBytes(100), context);
  for (const position of [1, 5, 12, 13, 60, sealed.length - 16, sealed.length - 1]) {
    const tampered = sealed.slice();
    tampered[position]! ^= 0x01;
    assert.throws(() => decrypt(key, tampered, context), isIntegrityError, `byte ${position}`);
  }
  const wrongVersion = sealed.slice();
  wrongVersion[0] = 9;
  assert.throws(() => decrypt(key, wrongVersion, context), isIntegrityError);
  assert.throws(() => decrypt(key, sealed.subarray(0, 20), context), isIntegrityError);
  assert.throws(() => decrypt(randomBytes(32), sealed, context), isIntegrityError);
  for (const other of [
    { ...context, round: 3 },
    { ...context, sender: 'h-c' },
    { ...context, recipient: 'h-c' },
    { ...context, experimentId: 'exp2' },
    { ...context, sender: 'h-b', recipient: 'h-a' },
  ]) {
    assert.throws(() => decrypt(key, sealed, other), FedpetError);
  }
});

test('error messages carry no key material', () => {
  const key = randomBytes(32);
  const tampered = encrypt(key, randomBytes(40), context);
  tampered[20]! ^= 4;
  try {
    decrypt(key, tampered, context);
    assert.fail('expected an error');
  } catch (error) {
    const message = (error as Error).message;
    assert.ok(!message.includes(key.toString('hex')) && !message.includes(key.toString('base64')));
  }
});

test('an update sealed to the aggregator X25519 key opens only with its private key and context', () => {
  const aggregator = generateKeyPairSync('x25519');
  const update = randomBytes(256 * 1024);
  const sealedContext = { ...context, recipient: 'aggregator' };
  const sealed = sealToPublicKey(aggregator.publicKey, update, sealedContext);
  assert.equal(sealed.length, 1 + 32 + 12 + update.length + 16);
  assert.ok(Buffer.from(openSealed(aggregator.privateKey, sealed, sealedContext)).equals(update));
  assert.throws(
    () => openSealed(generateKeyPairSync('x25519').privateKey, sealed, sealedContext),
    FedpetError,
  );
  assert.throws(() => openSealed(aggregator.privateKey, sealed, { ...sealedContext, round: 3 }), FedpetError);
  for (const position of [2, 40, 1000, sealed.length - 1]) {
    const tampered = sealed.slice();
    tampered[position]! ^= 0x80;
    assert.throws(
      () => openSealed(aggregator.privateKey, tampered, sealedContext),
      FedpetError,
      `byte ${position}`,
    );
  }
  // A pairwise-box ciphertext is not a sealed box and vice versa.
  const key = randomBytes(32);
  assert.throws(
    () => openSealed(aggregator.privateKey, encrypt(key, update, sealedContext), sealedContext),
    FedpetError,
  );
});
