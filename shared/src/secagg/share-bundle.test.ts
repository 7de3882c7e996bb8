import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { FedpetError } from '../errors/fedpet-error.ts';
import { generateAgreementKeyPair } from './key-agreement.ts';
import { combine, split } from './shamir.ts';
import { openBundle, sealBundle } from './share-bundle.ts';

const context = { experimentId: 'exp', round: 3, sender: 'h01', recipient: 'h02' };

test('a bundle opens for its recipient only, with both shares intact', () => {
  const u = generateAgreementKeyPair();
  const v = generateAgreementKeyPair();
  const w = generateAgreementKeyPair();
  const maskKey = randomBytes(32);
  const seed = randomBytes(32);
  const maskShares = split(maskKey, 2, 3);
  const seedShares = split(seed, 2, 3);
  const sealed = sealBundle(
    u.privateKey,
    v.publicKey,
    { maskKeyShare: maskShares[1]!, selfMaskShare: seedShares[1]! },
    context,
  );
  const opened = openBundle(v.privateKey, u.publicKey, sealed, context);
  assert.deepEqual(opened.maskKeyShare, maskShares[1]);
  assert.deepEqual(opened.selfMaskShare, seedShares[1]);
  assert.ok(Buffer.from(combine([opened.maskKeyShare, maskShares[2]!])).equals(maskKey));
  // A third hospital, or the right keys under another context, cannot open it.
  assert.throws(() => openBundle(w.privateKey, u.publicKey, sealed, context), FedpetError);
  assert.throws(() => openBundle(v.privateKey, u.publicKey, sealed, { ...context, round: 4 }), FedpetError);
  assert.throws(
    () => openBundle(v.privateKey, u.publicKey, sealed, { ...context, recipient: 'h03' }),
    FedpetError,
  );
  // The plaintext (a share) does not appear in the ciphertext.
  assert.ok(!Buffer.from(sealed).includes(Buffer.from(maskShares[1]!.y.subarray(0, 16))));
});
