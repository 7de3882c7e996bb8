import { createHash } from 'node:crypto';

/** Lowercase hex SHA-256 of the bytes, the form BlobRef and chunk headers carry. */
export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** True for a lowercase hex SHA-256 (the only form fedpet writes or accepts). */
export function isSha256Hex(value: unknown): value is string {
  return typeof value === 'string' && SHA256_HEX.test(value);
}
