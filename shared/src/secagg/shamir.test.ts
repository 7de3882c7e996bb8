import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { FedpetError } from '../errors/fedpet-error.ts';
import { createRng } from '../ml/random.ts';
import { gfInv, gfMul } from './gf256.ts';
import { combine, decodeShare, encodeShare, type Share, split } from './shamir.ts';
import { chiSquarePValue } from './testing/uniformity.ts';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/** Every subset of size k of 0..n−1. */
function subsets(n: number, k: number): number[][] {
  if (k === 0) return [[]];
  if (n < k) return [];
  return [...subsets(n - 1, k - 1).map((s) => [...s, n - 1]), ...subsets(n - 1, k)];
}

test('GF(2^8): FIPS-197 example, inverses, commutativity and distributivity', () => {
  assert.equal(gfMul(0x57, 0x83), 0xc1);
  assert.equal(gfMul(0x57, 0x13), 0xfe);
  assert.equal(gfInv(0), 0);
  for (let a = 1; a < 256; a++) assert.equal(gfMul(a, gfInv(a)), 1, `a=${a}`);
  const rng = createRng(1);
  for (let k = 0; k < 2000; k++) {
    const [a, b, c] = [rng.int(256), rng.int(256), rng.int(256)];
    assert.equal(gfMul(a, b), gfMul(b, a));
    assert.equal(gfMul(a, b ^ c), gfMul(a, b) ^ gfMul(a, c));
  }
});

test('every t-subset of the n shares reconstructs the secret; more than t also do', () => {
  for (const [t, n] of [
    [2, 3],
    [3, 5],
    [6, 10],
  ] as const) {
    const secret = randomBytes(32);
    const shares = split(secret, t, n);
    assert.deepEqual(
      shares.map((s) => s.x),
      Array.from({ length: n }, (_, i) => i + 1),
    );
    for (const subset of subsets(n, t).slice(0, 60)) {
      assert.equal(hex(combine(subset.map((i) => shares[i]!))), hex(secret), `t=${t} n=${n} ${subset}`);
    }
    assert.equal(hex(combine(shares)), hex(secret));
    assert.equal(hex(combine([...shares].reverse().slice(0, t + 1))), hex(secret));
  }
});

test('t−1 shares are refused; with a forged threshold they give a wrong value that the checksum rejects', () => {
  const secret = randomBytes(32);
  const shares = split(secret, 4, 7);
  const few = shares.slice(0, 3);
  assert.throws(
    () => combine(few),
    (e: unknown) => e instanceof FedpetError && e.code === 'SECAGG_THRESHOLD_NOT_MET',
  );
  const forged: Share[] = few.map((share) => ({ ...share, threshold: 3 }));
  assert.throws(
    () => combine(forged),
    (e: unknown) => e instanceof FedpetError && e.code === 'INTEGRITY_ERROR' && /checksum/.test(e.message),
  );
  // And what plain Lagrange interpolation of those 3 shares yields is indeed not the secret.
  const wrong = interpolateSecretBytes(forged, 32);
  assert.notEqual(hex(wrong), hex(secret));
});

/** The first `length` interpolated bytes at 0, without the checksum (test-only). */
function interpolateSecretBytes(shares: readonly Share[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    let acc = 0;
    shares.forEach((share, j) => {
      let lambda = 1;
      shares.forEach((other, m) => {
        if (m !== j) lambda = gfMul(lambda, gfMul(other.x, gfInv(other.x ^ share.x)));
      });
      acc ^= gfMul(lambda, share.y[i]!);
    });
    out[i] = acc;
  }
  return out;
}

test('duplicate, corrupt, mixed or malformed shares are rejected', () => {
  const shares = split(randomBytes(32), 3, 5);
  assert.throws(() => combine([shares[0]!, shares[1]!, shares[1]!]), /duplicate share x=2/);
  assert.throws(() => combine([shares[0]!, shares[1]!, { ...shares[1]!, y: shares[2]!.y }]), /duplicate/);
  const corrupt = { ...shares[2]!, y: shares[2]!.y.slice() };
  corrupt.y[5]! ^= 1;
  assert.throws(() => combine([shares[0]!, shares[1]!, corrupt]), /checksum mismatch/);
  // A corrupt extra share is caught too, because all given shares are interpolated.
  assert.throws(() => combine([shares[0]!, shares[1]!, shares[3]!, corrupt]), /checksum mismatch/);
  const other = split(randomBytes(32), 2, 5);
  assert.throws(() => combine([shares[0]!, shares[1]!, other[2]!]), /different splits/);
  assert.throws(() => combine([]), FedpetError);
  assert.throws(() => split(randomBytes(32), 1, 5), /threshold/);
  assert.throws(() => split(randomBytes(32), 6, 5), /threshold/);
  assert.throws(() => split(randomBytes(32), 2, 256), /share count/);
  assert.throws(() => split(new Uint8Array(0), 2, 3), /empty/);
});

test('shares round-trip through their wire form', () => {
  const secret = randomBytes(32);
  const shares = split(secret, 3, 4).map((share) => decodeShare(encodeShare(share)));
  assert.equal(hex(combine(shares.slice(1))), hex(secret));
  // Decoding copies: wiping the received bytes (as share-bundle.ts does) leaves the share intact.
  const wire = Buffer.from(encodeShare(split(secret, 2, 3)[0]!));
  const decoded = decodeShare(wire);
  const before = hex(decoded.y);
  wire.fill(0);
  assert.equal(hex(decoded.y), before);
  assert.throws(() => decodeShare(new Uint8Array([2, 1, 3, ...new Uint8Array(48)])), FedpetError);
  assert.throws(() => decodeShare(new Uint8Array([1, 1, 3])), FedpetError);
});

test('a single share of a 2-of-n split is uniform whatever the secret (chi-square, p > 0.001)', () => {
  const rng = createRng(99);
  const random = (length: number) => Uint8Array.from({ length }, () => rng.int(256));
  const secret = new Uint8Array(32).fill(0x42); // a fixed, very non-random secret
  const counts = new Array<number>(256).fill(0);
  for (let k = 0; k < 2048; k++) {
    for (const byte of split(secret, 2, 3, random)[0]!.y.subarray(0, 32)) counts[byte]!++;
  }
  assert.ok(chiSquarePValue(counts) > 0.001);
  // Control: the secret bytes themselves are as far from uniform as can be.
  const control = new Array<number>(256).fill(0);
  control[0x42] = 2048 * 32;
  assert.ok(chiSquarePValue(control) < 1e-10);
});
