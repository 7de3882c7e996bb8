import { createHash } from 'node:crypto';

/**
 * Deterministic DICOM UIDs for synthetic data.
 *
 * The 2.25 root (ISO/IEC 9834-8, DICOM PS3.5 §B.2) takes the decimal form of a
 * 128-bit UUID. We build a name-based UUID ourselves: SHA-256 of the labels,
 * truncated to 128 bits, with the RFC 9562 version 8 ("custom") and variant
 * bits set. Same seed and labels → same UID, so the same seed gives
 * byte-identical files; different labels collide with negligible probability.
 * The longest result is "2.25." + 39 digits = 44 characters (limit 64).
 */
export function syntheticUid(seed: number, ...labels: readonly (string | number)[]): string {
  const digest = createHash('sha256')
    .update(['fedpet-synthetic-uid-v1', seed, ...labels].join('\u001f'))
    .digest();
  const bytes = digest.subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x80; // version 8
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80; // variant 10xx
  const value = BigInt(`0x${bytes.toString('hex')}`);
  return `2.25.${value.toString(10)}`;
}
