import type { Redis } from 'ioredis';

export type RedisHealthEvent =
  | { type: 'disconnected'; reason: string }
  | { type: 'reconnected'; downMs: number }
  | { type: 'unreachable'; sinceMs: number; reason: string };

/**
 * Reports a Redis connection's outages: once when it drops, once more if it
 * stays down longer than `giveUpMs` (ioredis keeps retrying and queues
 * commands meanwhile, so without this a long outage is silent), and when it
 * is back. Returns a function that stops watching.
 */
export function watchRedisHealth(
  redis: Redis,
  options: { giveUpMs: number; onEvent: (event: RedisHealthEvent) => void },
): () => void {
  let downSince = 0;
  let lastError = 'connection closed';
  let timer: NodeJS.Timeout | undefined;
  const onError = (error: Error) => {
    lastError = error.message;
  };
  const onClose = () => {
    if (downSince !== 0) return;
    downSince = Date.now();
    options.onEvent({ type: 'disconnected', reason: lastError });
    timer = setTimeout(() => {
      options.onEvent({ type: 'unreachable', sinceMs: Date.now() - downSince, reason: lastError });
    }, options.giveUpMs);
    timer.unref();
  };
  const onReady = () => {
    if (downSince === 0) return;
    clearTimeout(timer);
    options.onEvent({ type: 'reconnected', downMs: Date.now() - downSince });
    downSince = 0;
  };
  redis.on('error', onError);
  redis.on('close', onClose);
  redis.on('ready', onReady);
  return () => {
    clearTimeout(timer);
    redis.off('error', onError);
    redis.off('close', onClose);
    redis.off('ready', onReady);
  };
}
