import { crc32 } from 'node:zlib';
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import { MAX_MESSAGE_BYTES } from '../transport/bus.ts';
import { isSha256Hex, sha256Hex } from './sha256.ts';

/**
 * Splitting a payload into bus-sized chunks and putting it back together.
 * Every chunk carries the whole transfer's declarations (count, total size,
 * nominal chunk size, payload hash) so the first chunk to arrive, whichever it
 * is, lets the receiver preallocate and place every later one.
 */

/** Room left in a bus message for the envelope and headers around a chunk. */
export const CHUNK_ENVELOPE_ALLOWANCE = 64 * 1024;
export const MAX_CHUNK_BYTES = MAX_MESSAGE_BYTES - CHUNK_ENVELOPE_ALLOWANCE;
export const DEFAULT_CHUNK_BYTES = 1024 * 1024;
/** Default cap on what an assembler will preallocate from a (possibly hostile) declaration. */
export const DEFAULT_MAX_ASSEMBLED_BYTES = 1024 * 1024 * 1024;

/** What a chunk declares about itself and about the whole payload. */
export interface ChunkDescriptor {
  /** 0-based position. */
  index: number;
  /** Number of chunks in the payload (at least 1: an empty payload is one empty chunk). */
  count: number;
  /** Size of every chunk but the last; chunk i starts at i × chunkBytes. */
  chunkBytes: number;
  /** Size of the whole payload. */
  totalBytes: number;
  /**
   * CRC-32 of this chunk's data: catches a damaged chunk on arrival, cheaply
   * (about 3× faster than SHA-256), so a redelivered good copy can replace
   * it. The whole payload's SHA-256 is what proves integrity.
   */
  crc32: number;
  /** SHA-256 of the whole payload. */
  payloadSha256: string;
}

export interface PayloadChunk extends ChunkDescriptor {
  data: Uint8Array;
}

export interface ChunkedPayload {
  payloadSha256: string;
  totalBytes: number;
  chunks: PayloadChunk[];
}

function chunkCount(totalBytes: number, chunkBytes: number): number {
  return Math.max(1, Math.ceil(totalBytes / chunkBytes));
}

function checkChunkBytes(chunkBytes: number): void {
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 1 || chunkBytes > MAX_CHUNK_BYTES) {
    throw new FedpetError(
      ErrorCodes.invalidConfig,
      `chunk size ${chunkBytes} must be an integer between 1 and ${MAX_CHUNK_BYTES} bytes`,
    );
  }
}

/**
 * Splits a payload into chunks of at most `chunkBytes` (default 1 MiB). Chunk
 * data are views into `payload`, not copies: keep it unchanged until sent.
 */
export function splitIntoChunks(payload: Uint8Array, options: { chunkBytes?: number } = {}): ChunkedPayload {
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  checkChunkBytes(chunkBytes);
  const totalBytes = payload.byteLength;
  const count = chunkCount(totalBytes, chunkBytes);
  const payloadSha256 = sha256Hex(payload);
  const chunks: PayloadChunk[] = [];
  for (let index = 0; index < count; index++) {
    const data = payload.subarray(index * chunkBytes, Math.min(totalBytes, (index + 1) * chunkBytes));
    chunks.push({ index, count, chunkBytes, totalBytes, crc32: crc32(data), payloadSha256, data });
  }
  return { payloadSha256, totalBytes, chunks };
}

export interface Declaration {
  count: number;
  chunkBytes: number;
  totalBytes: number;
  payloadSha256: string;
}

function integrity(reason: string): FedpetError {
  return new FedpetError(ErrorCodes.integrity, reason);
}

function isCount(value: unknown, min: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min;
}

/**
 * Reassembles one chunked payload. Chunks may arrive in any order; an exact
 * duplicate is ignored. Every check runs before a chunk is copied, so a
 * rejected chunk leaves the assembler as it was. The final buffer is
 * allocated once from the declared size and each chunk copied into it once.
 */
export class ChunkAssembler {
  readonly #maxTotalBytes: number;
  readonly #expectedSha256: string | undefined;
  readonly #allocate: (bytes: number) => Buffer;
  #declaration: Declaration | undefined;
  #buffer: Buffer | undefined;
  #hashes: (number | undefined)[] = [];
  #received = 0;
  #verified = false;
  #failure: string | undefined;

  /**
   * `maxTotalBytes` bounds the preallocation a declaration can request;
   * `expectedSha256` (from a BlobRef or a manifest) pins the payload hash;
   * `allocate` supplies the payload buffer (e.g. from a BufferPool).
   */
  constructor(
    options: { maxTotalBytes?: number; expectedSha256?: string; allocate?: (bytes: number) => Buffer } = {},
  ) {
    this.#maxTotalBytes = options.maxTotalBytes ?? DEFAULT_MAX_ASSEMBLED_BYTES;
    this.#expectedSha256 = options.expectedSha256;
    this.#allocate = options.allocate ?? ((bytes) => Buffer.allocUnsafeSlow(bytes));
  }

  /** Chunks accepted so far (duplicates not counted). */
  get received(): number {
    return this.#received;
  }

  /** Declared chunk count, once a chunk has arrived. */
  get count(): number | undefined {
    return this.#declaration?.count;
  }

  get complete(): boolean {
    return this.#verified;
  }

  /** Indexes not received yet (empty before the first chunk, whose declaration says how many there are). */
  missing(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.#hashes.length; i++) if (this.#hashes[i] === undefined) out.push(i);
    return out;
  }

  /**
   * Accepts one chunk; returns true once the payload is complete and its
   * SHA-256 verified. Throws INTEGRITY_ERROR naming the chunk index or the
   * hash that does not match.
   */
  add(chunk: PayloadChunk): boolean {
    if (this.#failure !== undefined) throw integrity(this.#failure);
    const declaration = checkChunk(chunk, {
      maxTotalBytes: this.#maxTotalBytes,
      expectedSha256: this.#expectedSha256,
      known: this.#declaration,
    });
    const { index } = chunk;
    const actual = chunk.crc32;
    const previous = this.#hashes[index];
    if (previous !== undefined) {
      if (previous !== actual) throw integrity(`chunk ${index} received twice with different content`);
      return this.#verified;
    }
    if (this.#buffer === undefined) {
      // Only a chunk that passed every check may commit the declaration.
      this.#declaration = declaration;
      this.#buffer = this.#allocate(declaration.totalBytes);
      this.#hashes = new Array<number | undefined>(declaration.count).fill(undefined);
    }
    this.#buffer.set(chunk.data, index * declaration.chunkBytes);
    this.#hashes[index] = actual;
    this.#received++;
    if (this.#received === declaration.count) {
      const whole = sha256Hex(this.#buffer);
      if (whole !== declaration.payloadSha256) {
        this.#failure = `payload SHA-256 mismatch: declared ${declaration.payloadSha256}, computed ${whole}`;
        throw integrity(this.#failure);
      }
      this.#verified = true;
    }
    return this.#verified;
  }

  /** The buffer being assembled (complete or not), to hand back to its pool; undefined before the first chunk. */
  get buffer(): Buffer | undefined {
    return this.#buffer;
  }

  /** The verified payload; throws if chunks are still missing. */
  result(): Buffer {
    if (!this.#verified || this.#buffer === undefined) {
      throw integrity(
        this.#failure ??
          (this.#declaration === undefined
            ? 'no chunk received yet'
            : `payload incomplete: missing chunks ${this.missing().join(', ')}`),
      );
    }
    return this.#buffer;
  }
}

/**
 * Every check one chunk must pass before it is kept anywhere: its
 * declarations on their own and against those already seen for its payload
 * (`known`), its size, and its CRC-32. Returns the payload's declaration.
 * The whole payload's SHA-256 is checked once every chunk is in.
 */
export function checkChunk(
  chunk: PayloadChunk,
  options: { maxTotalBytes: number; expectedSha256?: string | undefined; known?: Declaration | undefined },
): Declaration {
  const declaration = checkDeclaration(chunk, options);
  const { index } = chunk;
  const expectedBytes =
    index < declaration.count - 1
      ? declaration.chunkBytes
      : declaration.totalBytes - (declaration.count - 1) * declaration.chunkBytes;
  if (chunk.data.byteLength !== expectedBytes) {
    throw integrity(`chunk ${index} has ${chunk.data.byteLength} bytes, expected ${expectedBytes}`);
  }
  const actual = crc32(chunk.data);
  if (actual !== chunk.crc32) {
    throw integrity(`chunk ${index} CRC-32 mismatch: declared ${chunk.crc32}, computed ${actual}`);
  }
  return declaration;
}

/** An INTEGRITY_ERROR unless the assembled payload has the declared SHA-256. */
export function checkPayloadHash(payload: Uint8Array, declaration: Declaration): void {
  const whole = sha256Hex(payload);
  if (whole !== declaration.payloadSha256) {
    throw integrity(`payload SHA-256 mismatch: declared ${declaration.payloadSha256}, computed ${whole}`);
  }
}

/** Validates the chunk's declarations on their own and against those already committed. */
function checkDeclaration(
  chunk: PayloadChunk,
  options: { maxTotalBytes: number; expectedSha256?: string | undefined; known?: Declaration | undefined },
): Declaration {
  const { index, count, chunkBytes, totalBytes, payloadSha256, crc32: checksum } = chunk;
  const where = `chunk ${typeof index === 'number' ? index : JSON.stringify(index)}`;
  if (!isCount(count, 1)) throw integrity(`${where}: invalid chunk count ${JSON.stringify(count)}`);
  if (!isCount(index, 0) || index >= count) throw integrity(`${where}: index out of range 0..${count - 1}`);
  if (!isCount(chunkBytes, 1)) throw integrity(`${where}: invalid chunk size ${JSON.stringify(chunkBytes)}`);
  if (!isCount(totalBytes, 0)) throw integrity(`${where}: invalid total size ${JSON.stringify(totalBytes)}`);
  if (!Number.isInteger(checksum) || checksum < 0 || checksum > 0xffffffff) {
    throw integrity(`${where}: chunk checksum is not a CRC-32`);
  }
  if (!isSha256Hex(payloadSha256)) throw integrity(`${where}: payload hash is not a lowercase hex SHA-256`);
  if (!(chunk.data instanceof Uint8Array)) throw integrity(`${where}: data is not a byte array`);
  if (totalBytes > options.maxTotalBytes) {
    throw integrity(`${where}: declared size ${totalBytes} exceeds the ${options.maxTotalBytes}-byte limit`);
  }
  if (count !== chunkCount(totalBytes, chunkBytes)) {
    throw integrity(
      `${where}: count ${count} inconsistent with ${totalBytes} bytes in chunks of ${chunkBytes}`,
    );
  }
  if (options.expectedSha256 !== undefined && payloadSha256 !== options.expectedSha256) {
    throw integrity(
      `${where}: payload hash ${payloadSha256} differs from the expected ${options.expectedSha256}`,
    );
  }
  const known = options.known;
  if (known !== undefined) {
    const mismatches: string[] = [];
    if (count !== known.count) mismatches.push(`count ${count} vs ${known.count}`);
    if (chunkBytes !== known.chunkBytes) mismatches.push(`chunk size ${chunkBytes} vs ${known.chunkBytes}`);
    if (totalBytes !== known.totalBytes) mismatches.push(`total size ${totalBytes} vs ${known.totalBytes}`);
    if (payloadSha256 !== known.payloadSha256)
      mismatches.push(`payload hash ${payloadSha256} vs ${known.payloadSha256}`);
    if (mismatches.length > 0) {
      throw integrity(`${where} declares a different payload than earlier chunks: ${mismatches.join(', ')}`);
    }
  }
  return { count, chunkBytes, totalBytes, payloadSha256 };
}
