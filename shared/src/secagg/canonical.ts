/**
 * Canonical, unambiguous byte encodings of the values that secure aggregation
 * binds into signatures, key derivations and AEAD associated data, and the one
 * ordering of hospital ids that every party uses.
 *
 * Each field is tagged with its type and prefixed with its length, and the
 * whole encoding starts with a domain-separation label, so two different
 * tuples (or the same tuple under two purposes) never encode to the same
 * bytes: ("ab","c") ≠ ("a","bc"), the number 5 ≠ the string "5", and a
 * signature label never collides with a KDF label.
 */
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';

export type Field = string | number | Uint8Array;

const TAG_BYTES = 1;
const TAG_STRING = 2;
const TAG_UINT = 3;
const encoder = new TextEncoder();

function header(tag: number, length: number): Uint8Array {
  const out = new Uint8Array(5);
  out[0] = tag;
  new DataView(out.buffer).setUint32(1, length, false);
  return out;
}

/**
 * label ‖ (tag ‖ u32be length ‖ bytes) per field. Numbers must be
 * non-negative safe integers (rounds, counts) and are written as u64 big-endian.
 */
export function encodeFields(label: string, fields: readonly Field[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const labelBytes = encoder.encode(label);
  parts.push(header(TAG_STRING, labelBytes.length), labelBytes);
  for (const field of fields) {
    if (typeof field === 'string') {
      const bytes = encoder.encode(field);
      parts.push(header(TAG_STRING, bytes.length), bytes);
    } else if (typeof field === 'number') {
      if (!Number.isSafeInteger(field) || field < 0) {
        throw new FedpetError(
          ErrorCodes.invalidMessage,
          `canonical encoding: numeric field must be a non-negative safe integer (label ${label})`,
        );
      }
      const bytes = new Uint8Array(8);
      new DataView(bytes.buffer).setBigUint64(0, BigInt(field), false);
      parts.push(header(TAG_UINT, 8), bytes);
    } else {
      parts.push(header(TAG_BYTES, field.length), field);
    }
  }
  let total = 0;
  for (const part of parts) total += part.length;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * The one order of hospital ids: by UTF-16 code units (JavaScript's `<` on
 * strings), which every party computes identically. It decides the sign of
 * each pairwise mask (Bonawitz et al. 2017, §4: + for v > u, − for v < u),
 * the Shamir x-coordinates, and the order of ids inside key derivations.
 */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function sortIds(ids: Iterable<string>): string[] {
  return [...ids].sort(compareIds);
}

/** Throws unless `id` is a non-empty string; `what` names the field in the message. */
export function assertId(id: unknown, what: string): asserts id is string {
  if (typeof id !== 'string' || id.length === 0) {
    throw new FedpetError(ErrorCodes.invalidMessage, `${what} must be a non-empty string`);
  }
}

/** Throws unless `round` is a non-negative safe integer. */
export function assertRound(round: unknown, what: string): asserts round is number {
  if (typeof round !== 'number' || !Number.isSafeInteger(round) || round < 0) {
    throw new FedpetError(ErrorCodes.invalidMessage, `${what} must be a non-negative integer`);
  }
}
