/**
 * Shamir t-of-n secret sharing (Shamir 1979), used as SS.share / SS.recon in
 * Bonawitz et al. 2017 §4: each hospital shares its self-mask seed b_u and
 * its mask private key s_u^SK so that any t survivors can rebuild either,
 * while t−1 learn nothing.
 *
 * Field: GF(2^8), byte by byte (each byte of the secret has its own random
 * polynomial of degree t−1). Why not a 256-bit prime field with BigInt:
 * the 32-byte secrets do not fit below 2^255−19 without a wider prime, and
 * BigInt arithmetic is variable-time, whereas GF(2^8) arithmetic here is
 * branch- and table-free (./gf256.ts); shares stay the size of the secret;
 * and n ≤ 255 hospitals is far beyond any federation fedpet serves. Secrecy
 * is the same: for each byte, any t−1 evaluations of a uniformly random
 * polynomial are uniform and independent of its constant term.
 *
 * Checksum: Lagrange interpolation on too few or wrong shares silently yields
 * a wrong value. The shared payload is secret ‖ SHA-256(label‖secret)[0..16],
 * so `combine` recognises a wrong reconstruction (probability 2^-128 of
 * missing it) instead of handing a garbage key to the unmasking. The tag is
 * shared like the secret, so t−1 shares still reveal nothing about either.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import { SecaggErrorCodes } from './error-codes.ts';
import { gfInv, gfMul } from './gf256.ts';

const CHECKSUM_BYTES = 16;
const CHECKSUM_LABEL = 'fedpet/secagg/shamir-checksum/v1';
const SHARE_VERSION = 1;
export const MAX_SHARES = 255;

export interface Share {
  /** Evaluation point, 1..n (never 0: that is where the secret sits). */
  x: number;
  /** How many shares reconstruct the secret. */
  threshold: number;
  /** The payload polynomials evaluated at x: secret length + 16 checksum bytes. */
  y: Uint8Array;
}

function checksum(secret: Uint8Array): Buffer {
  return createHash('sha256').update(CHECKSUM_LABEL).update(secret).digest().subarray(0, CHECKSUM_BYTES);
}

/**
 * Splits `secret` into n shares at x = 1..n, any `threshold` of which
 * reconstruct it. `random` is injectable for reproducible tests only.
 */
export function split(
  secret: Uint8Array,
  threshold: number,
  n: number,
  random: (length: number) => Uint8Array = randomBytes,
): Share[] {
  if (!Number.isInteger(n) || n < 2 || n > MAX_SHARES) {
    throw new FedpetError(
      ErrorCodes.invalidConfig,
      `Shamir share count must be an integer in 2..${MAX_SHARES}`,
    );
  }
  if (!Number.isInteger(threshold) || threshold < 2 || threshold > n) {
    throw new FedpetError(
      ErrorCodes.invalidConfig,
      `Shamir threshold must be an integer in 2..n (${n}); a threshold of 1 would hand out the secret itself`,
    );
  }
  if (secret.length === 0) throw new FedpetError(ErrorCodes.invalidConfig, 'Shamir secret must not be empty');
  const payload = new Uint8Array(secret.length + CHECKSUM_BYTES);
  payload.set(secret, 0);
  payload.set(checksum(secret), secret.length);
  // coefficients[k·L + i]: coefficient of x^k (k = 1..t−1) for payload byte i.
  const length = payload.length;
  const coefficients = random((threshold - 1) * length);
  if (coefficients.length !== (threshold - 1) * length) {
    throw new FedpetError(ErrorCodes.internal, 'Shamir random source returned the wrong number of bytes');
  }
  const shares: Share[] = [];
  for (let x = 1; x <= n; x++) {
    const y = new Uint8Array(length);
    for (let i = 0; i < length; i++) {
      // Horner: ((a_{t−1}·x + a_{t−2})·x + …)·x + a_0
      let acc = 0;
      for (let k = threshold - 1; k >= 1; k--) acc = gfMul(acc, x) ^ coefficients[(k - 1) * length + i]!;
      y[i] = gfMul(acc, x) ^ payload[i]!;
    }
    shares.push({ x, threshold, y });
  }
  coefficients.fill(0);
  payload.fill(0);
  return shares;
}

/**
 * Rebuilds the secret from at least `threshold` distinct shares (all of
 * those given are interpolated, so one inconsistent share fails the
 * checksum rather than going unnoticed). Fewer shares, duplicate x, mixed
 * thresholds or lengths, or a checksum mismatch: FedpetError, and no output.
 */
export function combine(shares: readonly Share[], what = 'secret'): Uint8Array {
  const first = shares[0];
  if (first === undefined) {
    throw new FedpetError(SecaggErrorCodes.thresholdNotMet, `cannot reconstruct ${what}: no shares`);
  }
  const { threshold } = first;
  const length = first.y.length;
  const seen = new Set<number>();
  for (const share of shares) {
    if (share.threshold !== threshold || share.y.length !== length) {
      throw new FedpetError(
        ErrorCodes.integrity,
        `cannot reconstruct ${what}: shares come from different splits`,
      );
    }
    if (!Number.isInteger(share.x) || share.x < 1 || share.x > MAX_SHARES) {
      throw new FedpetError(
        ErrorCodes.integrity,
        `cannot reconstruct ${what}: share x outside 1..${MAX_SHARES}`,
      );
    }
    if (seen.has(share.x)) {
      throw new FedpetError(ErrorCodes.integrity, `cannot reconstruct ${what}: duplicate share x=${share.x}`);
    }
    seen.add(share.x);
  }
  if (length <= CHECKSUM_BYTES) {
    throw new FedpetError(ErrorCodes.integrity, `cannot reconstruct ${what}: shares are too short`);
  }
  if (shares.length < threshold) {
    throw new FedpetError(
      SecaggErrorCodes.thresholdNotMet,
      `cannot reconstruct ${what}: ${shares.length} shares, ${threshold} needed`,
    );
  }
  // Lagrange basis at 0: λ_j = Π_{m≠j} x_m / (x_m − x_j), with − = XOR in GF(2^8).
  const lambdas = shares.map((share, j) => {
    let numerator = 1;
    let denominator = 1;
    shares.forEach((other, m) => {
      if (m === j) return;
      numerator = gfMul(numerator, other.x);
      denominator = gfMul(denominator, other.x ^ share.x);
    });
    return gfMul(numerator, gfInv(denominator));
  });
  const payload = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    let acc = 0;
    for (let j = 0; j < shares.length; j++) acc ^= gfMul(lambdas[j]!, shares[j]!.y[i]!);
    payload[i] = acc;
  }
  const secret = payload.slice(0, length - CHECKSUM_BYTES);
  const ok = timingSafeEqual(checksum(secret), payload.subarray(length - CHECKSUM_BYTES));
  payload.fill(0);
  if (!ok) {
    secret.fill(0);
    throw new FedpetError(
      ErrorCodes.integrity,
      `cannot reconstruct ${what}: checksum mismatch (a share is corrupt, or fewer than the real threshold)`,
    );
  }
  return secret;
}

/** Wire form: [version][x][threshold][y…]. */
export function encodeShare(share: Share): Uint8Array {
  const out = new Uint8Array(3 + share.y.length);
  out[0] = SHARE_VERSION;
  out[1] = share.x;
  out[2] = share.threshold;
  out.set(share.y, 3);
  return out;
}

export function decodeShare(bytes: Uint8Array, what = 'share'): Share {
  if (bytes.length < 3 + CHECKSUM_BYTES + 1 || bytes[0] !== SHARE_VERSION) {
    throw new FedpetError(ErrorCodes.invalidMessage, `${what}: not a version-${SHARE_VERSION} Shamir share`);
  }
  // A copy, even when `bytes` is a Buffer (whose slice() is a view): callers wipe their plaintext.
  return { x: bytes[1]!, threshold: bytes[2]!, y: new Uint8Array(bytes.subarray(3)) };
}
