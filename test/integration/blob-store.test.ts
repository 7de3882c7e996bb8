import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { RedisBlobStore } from '../../shared/src/blob/redis-blob-store.ts';
import { sha256Hex } from '../../shared/src/codec/sha256.ts';
import { decodeTensors, encodeTensors } from '../../shared/src/codec/tensor-codec.ts';
import { ErrorCodes, FedpetError } from '../../shared/src/errors/fedpet-error.ts';

const REDIS_URL = process.env.FEDPET_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

let redis: Redis;

before(async () => {
  redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
});

after(async () => {
  await redis.quit();
});

/** A store under a prefix of its own, and a cleanup that deletes every key under it. */
function isolatedStore(
  t: { after: (fn: () => Promise<void>) => void },
  options: { ttlSeconds?: number } = {},
) {
  const prefix = `fedpet-test-${randomUUID()}`;
  t.after(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
  });
  return { prefix, store: new RedisBlobStore(redis, { prefix, ...options }) };
}

function assertCode(code: string, pattern: RegExp) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof FedpetError, String(error));
    assert.equal(error.code, code);
    assert.match(error.message, pattern);
    return true;
  };
}

test('a 50 MB tensor payload round-trips through the codec and the store', async (t) => {
  const { prefix, store } = isolatedStore(t);
  const values = new Float32Array(12_500_000);
  for (let i = 0; i < values.length; i++) values[i] = Math.sin(i) * 1e3;
  const encoded = encodeTensors([{ name: 'dense/kernel', shape: [2500, 5000], values }]);
  assert.ok(encoded.length > 50_000_000);

  const ref = await store.put(encoded);
  assert.deepEqual(ref, { sha256: sha256Hex(encoded), bytes: encoded.length });
  const keys = await redis.keys(`${prefix}:*`);
  assert.equal(keys.length, Math.ceil(encoded.length / (4 * 1024 * 1024)) + 1);
  for (const key of keys) assert.match(key, new RegExp(`^${prefix}:blob:${ref.sha256}:(meta|\\d+)$`));
  for (const key of keys.filter((k) => !k.endsWith(':meta'))) {
    assert.ok((await redis.strlen(key)) <= 4 * 1024 * 1024);
  }

  assert.equal(await store.has(ref), true);
  const fetched = await store.get(ref);
  assert.ok(fetched.equals(encoded));
  const [tensor] = decodeTensors(fetched);
  assert.equal(tensor?.name, 'dense/kernel');
  assert.deepEqual(tensor?.shape, [2500, 5000]);
  assert.ok(
    Buffer.from(tensor!.values.buffer, tensor!.values.byteOffset, tensor!.values.byteLength).equals(
      Buffer.from(values.buffer),
    ),
  );
});

test('putting the same content twice is idempotent and keeps one copy', async (t) => {
  const { prefix, store } = isolatedStore(t);
  const payload = randomBytes(9 * 1024 * 1024 + 3);
  const first = await store.put(payload);
  const keysBefore = (await redis.keys(`${prefix}:*`)).sort();
  const second = await store.put(Buffer.from(payload));
  assert.deepEqual(second, first);
  assert.deepEqual((await redis.keys(`${prefix}:*`)).sort(), keysBefore);
  assert.equal(keysBefore.length, 3 + 1);
  assert.ok((await store.get(first)).equals(payload));
});

test('an empty blob round-trips', async (t) => {
  const { store } = isolatedStore(t);
  const ref = await store.put(new Uint8Array(0));
  assert.equal(ref.bytes, 0);
  assert.equal((await store.get(ref)).length, 0);
});

test('a corrupted chunk in Redis is detected on get', async (t) => {
  const { prefix, store } = isolatedStore(t);
  const payload = randomBytes(5 * 1024 * 1024);
  const ref = await store.put(payload);
  const key = `${prefix}:blob:${ref.sha256}:1`;
  const chunk = await redis.getBuffer(key);
  assert.ok(chunk);
  chunk[100] = (chunk[100]! + 1) & 0xff;
  await redis.set(key, chunk);
  await assert.rejects(store.get(ref), assertCode(ErrorCodes.integrity, /SHA-256 mismatch/));

  await redis.set(key, chunk.subarray(1));
  await assert.rejects(
    store.get(ref),
    assertCode(ErrorCodes.integrity, /chunk 1 has \d+ bytes, expected \d+/),
  );

  // A missing chunk makes the blob incomplete, and a re-put restores it.
  await redis.del(key);
  await assert.rejects(store.get(ref), assertCode(ErrorCodes.blobMissing, /chunk 1 is not in the store/));
  assert.equal(await store.has(ref), false);
  await store.put(payload);
  assert.ok((await store.get(ref)).equals(payload));
});

test('a wrong size in the reference is an integrity error', async (t) => {
  const { store } = isolatedStore(t);
  const ref = await store.put(randomBytes(1000));
  await assert.rejects(
    store.get({ ...ref, bytes: 999 }),
    assertCode(ErrorCodes.integrity, /holds 1000 bytes, reference says 999/),
  );
});

test('a missing blob is BLOB_MISSING; delete removes every key', async (t) => {
  const { prefix, store } = isolatedStore(t);
  const missing = { sha256: sha256Hex(Buffer.from('never stored')), bytes: 12 };
  await assert.rejects(store.get(missing), assertCode(ErrorCodes.blobMissing, /is not in the store/));
  assert.equal(await store.has(missing), false);
  assert.equal(await store.delete(missing), false);

  const ref = await store.put(randomBytes(4 * 1024 * 1024 + 1));
  assert.equal(await store.delete(ref), true);
  assert.deepEqual(await redis.keys(`${prefix}:*`), []);
  await assert.rejects(store.get(ref), assertCode(ErrorCodes.blobMissing, /is not in the store/));
});

test('a TTL applies to every key and a re-put refreshes it', async (t) => {
  const { prefix, store } = isolatedStore(t, { ttlSeconds: 60 });
  const ref = await store.put(randomBytes(4 * 1024 * 1024 + 10));
  const keys = await redis.keys(`${prefix}:*`);
  assert.equal(keys.length, 3);
  for (const key of keys) {
    const ttl = await redis.ttl(key);
    assert.ok(ttl > 0 && ttl <= 60, `${key} ttl ${ttl}`);
    await redis.expire(key, 5);
  }
  await store.put(await store.get(ref));
  for (const key of keys) assert.ok((await redis.ttl(key)) > 5);
});
