import { Redis } from 'ioredis';
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import { redactUrl } from '../transport/broker-url.ts';

/**
 * Connects to Redis and fails with one clear error when it cannot be reached
 * within `connectTimeoutMs`. Once connected, ioredis reconnects with backoff
 * by itself (capped at 2 s between tries).
 */
export async function connectRedis(url: string, connectTimeoutMs = 5000): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: null,
    connectTimeout: connectTimeoutMs,
    retryStrategy: (attempt) => Math.min(2000, 50 * 2 ** attempt),
  });
  let lastError = 'no answer';
  redis.on('error', (error: Error) => {
    lastError = error.message;
  });
  const timer = setTimeout(() => redis.disconnect(), connectTimeoutMs);
  try {
    await redis.connect();
    await redis.ping();
    return redis;
  } catch (error) {
    redis.disconnect();
    const reason =
      error instanceof Error && error.message !== 'Connection is closed.' ? error.message : lastError;
    throw new FedpetError(ErrorCodes.brokerUnavailable, `cannot reach Redis at ${redactUrl(url)}: ${reason}`);
  } finally {
    clearTimeout(timer);
  }
}
