import { EXPERIMENTS_QUEUE, openQueue, trainQueueName } from '@fedpet/shared/jobs/queues';
import type { Bus } from '@fedpet/shared/transport/bus';
import type { Redis } from 'ioredis';

/**
 * Removes what a throw-away sandbox namespace left behind: its job queues,
 * blobs, the aggregator's durable subscriptions and the namespace's
 * exchange, so repeated sandbox runs
 * do not accumulate state on shared brokers.
 */
export async function removeNamespace(options: {
  bus: Bus;
  redis: Redis;
  redisUrl: string;
  namespace: string;
  hospitals: readonly string[];
}): Promise<void> {
  const trainQueues = options.hospitals.flatMap((hospital) => [
    trainQueueName(hospital),
    trainQueueName(hospital, { gpu: true }),
  ]);
  for (const name of [EXPERIMENTS_QUEUE, ...trainQueues]) {
    const queue = openQueue(name, options.redisUrl, options.namespace);
    await queue.obliterate({ force: true });
    await queue.close();
  }
  for (const subscription of ['aggregator.updates', 'aggregator.status']) {
    await options.bus.deleteSubscription(subscription);
  }
  await options.bus.removeNamespace();
  let cursor = '0';
  do {
    const [next, keys] = await options.redis.scan(cursor, 'MATCH', `${options.namespace}:*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await options.redis.unlink(...keys);
  } while (cursor !== '0');
}
