import type { Redis } from 'ioredis';
import type { CommonConfig } from '../config/env-reader.ts';
import type { Logger } from '../log/logger.ts';
import type { Bus } from '../transport/bus.ts';
import { createBus } from '../transport/create-bus.ts';
import { connectRedis } from './connect-redis.ts';
import { watchRedisHealth } from './redis-health.ts';

/**
 * A service's Redis connection and event bus, with their outages logged:
 * when they start and end, and as an error once one outlasts
 * FEDPET_BROKER_GIVE_UP_SECONDS (reconnection goes on: work resumes once the
 * broker is back). `stopWatching` detaches the Redis watch before shutdown.
 */
export async function connectBrokers(
  config: CommonConfig,
  clientName: string,
  logger: Logger,
): Promise<{ redis: Redis; bus: Bus; stopWatching: () => void }> {
  const redis = await connectRedis(config.redisUrl);
  const stopWatching = watchRedisHealth(redis, {
    giveUpMs: config.brokerGiveUpMs,
    onEvent: (event) =>
      event.type === 'unreachable'
        ? logger.error(`Redis unreachable for ${Math.round(event.sinceMs / 1000)} s`, { event })
        : logger.warn(`redis ${event.type}`, { event }),
  });
  const bus = await createBus(config.busUrl, {
    namespace: config.namespace,
    clientName,
    reconnectGiveUpMs: config.brokerGiveUpMs,
    onEvent: (event) =>
      event.type === 'unreachable'
        ? logger.error(`message broker unreachable for ${Math.round(event.sinceMs / 1000)} s`, { event })
        : logger.warn(`bus ${event.type}`, { event }),
  }).catch((error: unknown) => {
    stopWatching();
    redis.disconnect();
    throw error;
  });
  return { redis, bus, stopWatching };
}
