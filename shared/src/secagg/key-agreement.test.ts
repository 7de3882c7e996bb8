import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { FedpetError } from '../errors/fedpet-error.ts';
import {
  type AgreementContext,
  agree,
  exportAgreementPublicKey,
  generateAgreementKeyPair,
  importAgreementPublicKey,
} from './key-agreement.ts';

const base = { experimentId: 'exp', round: 7, purpose: 'mask' } as const;
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

test('both hospitals derive the same 32-byte key', () => {
  const a = generateAgreementKeyPair();
  const b = generateAgreementKeyPair();
  const ab = agree(a.privateKey, b.publicKey, { ...base, self: 'h-a', peer: 'h-b' });
  const ba = agree(b.privateKey, a.publicKey, { ...base, self: 'h-b', peer: 'h-a' });
  assert.equal(ab.length, 32);
  assert.equal(hex(ab), hex(ba));
});

test('the key depends on purpose, round, experiment, ids and keys', () => {
  const a = generateAgreementKeyPair();
  const b = generateAgreementKeyPair();
  const c = generateAgreementKeyPair();
  const ctx: AgreementContext = { ...base, self: 'h-a', peer: 'h-b' };
  const reference = hex(agree(a.privateKey, b.publicKey, ctx));
  const others = [
    agree(a.privateKey, b.publicKey, { ...ctx, purpose: 'encrypt' }),
    agree(a.privateKey, b.publicKey, { ...ctx, round: 8 }),
    agree(a.privateKey, b.publicKey, { ...ctx, experimentId: 'exp2' }),
    agree(a.privateKey, b.publicKey, { ...ctx, peer: 'h-c' }),
    agree(a.privateKey, c.publicKey, ctx),
  ].map(hex);
  assert.equal(new Set([reference, ...others]).size, 6);
});

test('raw public keys round-trip; a seeded pair is reproducible', () => {
  const pair = generateAgreementKeyPair();
  const raw = exportAgreementPublicKey(pair.publicKey);
  assert.equal(raw.length, 32);
  assert.equal(hex(exportAgreementPublicKey(importAgreementPublicKey(raw))), hex(raw));
  const seeded = (label: string) => (n: number) =>
    new Uint8Array(createHash('sha256').update(label).digest().subarray(0, n));
  const one = generateAgreementKeyPair(seeded('x'));
  const two = generateAgreementKeyPair(seeded('x'));
  const three = generateAgreementKeyPair(seeded('y'));
  assert.equal(hex(exportAgreementPublicKey(one.publicKey)), hex(exportAgreementPublicKey(two.publicKey)));
  assert.notEqual(
    hex(exportAgreementPublicKey(one.publicKey)),
    hex(exportAgreementPublicKey(three.publicKey)),
  );
});

test('a low-order public key and self-agreement are refused without leaking key bytes', () => {
  const a = generateAgreementKeyPair();
  const zeroPoint = importAgreementPublicKey(new Uint8Array(32));
  assert.throws(
    () => agree(a.privateKey, zeroPoint, { ...base, self: 'h-a', peer: 'h-evil' }),
    (error: unknown) =>
      error instanceof FedpetError && error.code === 'INTEGRITY_ERROR' && /h-evil/.test(error.message),
  );
  assert.throws(() => agree(a.privateKey, a.publicKey, { ...base, self: 'h-a', peer: 'h-a' }), FedpetError);
  assert.throws(() => importAgreementPublicKey(new Uint8Array(31)), FedpetError);
});
