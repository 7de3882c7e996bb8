import type { Redis } from 'ioredis';
import { isSha256Hex, sha256Hex } from '../codec/sha256.ts';
import type { BlobRef } from '../contracts/common.ts';
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import { MAX_MESSAGE_BYTES } from '../transport/bus.ts';

/**
 * Content-addressed blob store on Redis. A blob of N bytes with SHA-256 h is
 * kept as `<prefix>:blob:<h>:<i>` chunks of at most 4 MiB plus
 * `<prefix>:blob:<h>:meta` (size and chunk layout), written last so that a
 * reader who finds the metadata finds the chunks. Keys hold hashes only, never
 * experiment, hospital or file names. Chunk writes go out in one pipeline;
 * reads go in pipelined batches so at most `readBatchChunks` chunks are
 * buffered beside the result.
 *
 * Keys of one blob are not hash-tagged, so the multi-key commands used here
 * (EXISTS, DEL) need a single Redis node, not Redis Cluster.
 */
export interface RedisBlobStoreOptions {
  /** Namespace of every key, e.g. "fedpet". */
  prefix: string;
  /** Expire blobs after this many seconds; default: keep until deleted. */
  ttlSeconds?: number;
  /** Chunk size, at most 4 MiB (MAX_MESSAGE_BYTES). */
  chunkBytes?: number;
  /** Chunks per read pipeline; bounds the memory a get holds besides the result. Default 4. */
  readBatchChunks?: number;
}

interface BlobMeta {
  v: 1;
  bytes: number;
  chunkBytes: number;
  count: number;
}

const DEFAULT_CHUNK_BYTES = MAX_MESSAGE_BYTES;

function chunkCount(bytes: number, chunkBytes: number): number {
  return Math.ceil(bytes / chunkBytes);
}

function parseMeta(raw: string, key: string): BlobMeta {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new FedpetError(ErrorCodes.integrity, `blob metadata ${key} is not valid JSON`);
  }
  const meta = value as Partial<BlobMeta> | null;
  const ok =
    meta !== null &&
    typeof meta === 'object' &&
    meta.v === 1 &&
    Number.isSafeInteger(meta.bytes) &&
    Number.isSafeInteger(meta.chunkBytes) &&
    (meta.chunkBytes ?? 0) > 0 &&
    meta.count === chunkCount(meta.bytes ?? -1, meta.chunkBytes ?? 1);
  if (!ok) throw new FedpetError(ErrorCodes.integrity, `blob metadata ${key} is malformed`);
  return meta as BlobMeta;
}

/** Throws the first error of a pipeline; returns the replies. */
function replies(results: [error: Error | null, result: unknown][] | null): unknown[] {
  if (results === null)
    throw new FedpetError(ErrorCodes.internal, 'Redis transaction was aborted', { retryable: true });
  return results.map(([error, result]) => {
    if (error) throw error;
    return result;
  });
}

function checkRef(ref: BlobRef): void {
  if (!isSha256Hex(ref.sha256) || !Number.isSafeInteger(ref.bytes) || ref.bytes < 0) {
    throw new FedpetError(
      ErrorCodes.invalidMessage,
      'blob reference needs a lowercase hex SHA-256 and a byte count',
    );
  }
}

export class RedisBlobStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #ttlSeconds: number | undefined;
  readonly #chunkBytes: number;
  readonly #readBatch: number;

  /** The caller owns `redis` (connects and quits it). */
  constructor(redis: Redis, options: RedisBlobStoreOptions) {
    const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 1 || chunkBytes > MAX_MESSAGE_BYTES) {
      throw new FedpetError(
        ErrorCodes.invalidConfig,
        `blob chunk size must be 1..${MAX_MESSAGE_BYTES} bytes`,
      );
    }
    const ttl = options.ttlSeconds;
    if (ttl !== undefined && (!Number.isSafeInteger(ttl) || ttl < 1)) {
      throw new FedpetError(
        ErrorCodes.invalidConfig,
        `blob TTL must be a positive whole number of seconds, got ${ttl}`,
      );
    }
    if (options.prefix.length === 0)
      throw new FedpetError(ErrorCodes.invalidConfig, 'blob key prefix must not be empty');
    this.#redis = redis;
    this.#prefix = options.prefix;
    this.#ttlSeconds = ttl;
    this.#chunkBytes = chunkBytes;
    this.#readBatch = Math.max(1, options.readBatchChunks ?? 4);
  }

  #metaKey(sha256: string): string {
    return `${this.#prefix}:blob:${sha256}:meta`;
  }

  #chunkKey(sha256: string, index: number): string {
    return `${this.#prefix}:blob:${sha256}:${index}`;
  }

  #keys(sha256: string, count: number): string[] {
    const keys = [this.#metaKey(sha256)];
    for (let i = 0; i < count; i++) keys.push(this.#chunkKey(sha256, i));
    return keys;
  }

  /**
   * Stores the bytes and returns their reference. Storing content that is
   * already complete only refreshes its expiry (one round trip, no upload).
   */
  async put(bytes: Uint8Array): Promise<BlobRef> {
    const data = Buffer.isBuffer(bytes)
      ? bytes
      : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const ref: BlobRef = { sha256: sha256Hex(data), bytes: data.length };
    const count = chunkCount(data.length, this.#chunkBytes);
    const keys = this.#keys(ref.sha256, count);
    if (await this.#refreshIfComplete(ref, keys)) return ref;

    const ttl = this.#ttlSeconds;
    const pipeline = this.#redis.pipeline();
    for (let i = 0; i < count; i++) {
      const chunk = data.subarray(i * this.#chunkBytes, (i + 1) * this.#chunkBytes);
      if (ttl === undefined) pipeline.set(keys[i + 1]!, chunk);
      else pipeline.set(keys[i + 1]!, chunk, 'EX', ttl);
    }
    const meta = JSON.stringify({
      v: 1,
      bytes: data.length,
      chunkBytes: this.#chunkBytes,
      count,
    } satisfies BlobMeta);
    if (ttl === undefined) pipeline.set(keys[0]!, meta);
    else pipeline.set(keys[0]!, meta, 'EX', ttl);
    replies(await pipeline.exec());
    return ref;
  }

  /**
   * If every key of this content exists with matching metadata, refreshes
   * their expiry (or makes them persistent) atomically and returns true.
   */
  async #refreshIfComplete(ref: BlobRef, keys: string[]): Promise<boolean> {
    const ttl = this.#ttlSeconds;
    const transaction = this.#redis
      .multi()
      .exists(...keys)
      .get(keys[0]!);
    for (const key of keys) {
      if (ttl === undefined) transaction.persist(key);
      else transaction.expire(key, ttl);
    }
    const [existing, rawMeta] = replies(await transaction.exec());
    if (existing !== keys.length || typeof rawMeta !== 'string') return false;
    const meta = parseMeta(rawMeta, keys[0]!);
    return meta.bytes === ref.bytes && meta.chunkBytes === this.#chunkBytes;
  }

  async #meta(ref: BlobRef): Promise<BlobMeta | undefined> {
    const key = this.#metaKey(ref.sha256);
    const raw = await this.#redis.get(key);
    return raw === null ? undefined : parseMeta(raw, key);
  }

  /**
   * Fetches and verifies a blob: BLOB_MISSING when it (or a chunk) is gone,
   * INTEGRITY_ERROR when its size or SHA-256 is not what the reference says.
   */
  async get(ref: BlobRef): Promise<Buffer> {
    checkRef(ref);
    const meta = await this.#meta(ref);
    if (meta === undefined)
      throw new FedpetError(ErrorCodes.blobMissing, `blob ${ref.sha256} is not in the store`);
    if (meta.bytes !== ref.bytes) {
      throw new FedpetError(
        ErrorCodes.integrity,
        `blob ${ref.sha256} holds ${meta.bytes} bytes, reference says ${ref.bytes}`,
      );
    }
    const out = Buffer.allocUnsafe(meta.bytes);
    for (let first = 0; first < meta.count; first += this.#readBatch) {
      const last = Math.min(meta.count, first + this.#readBatch);
      const pipeline = this.#redis.pipeline();
      for (let i = first; i < last; i++) pipeline.getBuffer(this.#chunkKey(ref.sha256, i));
      const chunks = replies(await pipeline.exec());
      chunks.forEach((chunk, offset) => {
        const index = first + offset;
        if (!(chunk instanceof Buffer)) {
          throw new FedpetError(
            ErrorCodes.blobMissing,
            `blob ${ref.sha256} chunk ${index} is not in the store`,
          );
        }
        const expected = index < meta.count - 1 ? meta.chunkBytes : meta.bytes - index * meta.chunkBytes;
        if (chunk.length !== expected) {
          throw new FedpetError(
            ErrorCodes.integrity,
            `blob ${ref.sha256} chunk ${index} has ${chunk.length} bytes, expected ${expected}`,
          );
        }
        chunk.copy(out, index * meta.chunkBytes);
      });
    }
    const actual = sha256Hex(out);
    if (actual !== ref.sha256) {
      throw new FedpetError(
        ErrorCodes.integrity,
        `blob ${ref.sha256} SHA-256 mismatch: stored content hashes to ${actual}`,
      );
    }
    return out;
  }

  /** True when the metadata and every chunk are present (content is not re-verified). */
  async has(ref: BlobRef): Promise<boolean> {
    checkRef(ref);
    const meta = await this.#meta(ref);
    if (meta === undefined || meta.bytes !== ref.bytes) return false;
    const keys = this.#keys(ref.sha256, meta.count);
    return (await this.#redis.exists(...keys)) === keys.length;
  }

  /** Removes the blob; returns whether anything was there. */
  async delete(ref: BlobRef): Promise<boolean> {
    checkRef(ref);
    let meta: BlobMeta | undefined;
    try {
      meta = await this.#meta(ref);
    } catch (error) {
      // Malformed metadata must not make a blob undeletable.
      if (!(error instanceof FedpetError && error.code === ErrorCodes.integrity)) throw error;
    }
    const count = meta?.count ?? chunkCount(ref.bytes, this.#chunkBytes);
    return (await this.#redis.del(...this.#keys(ref.sha256, count))) > 0;
  }
}
