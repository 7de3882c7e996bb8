import { type ConnectionOptions, Queue, type QueueOptions } from 'bullmq';

/**
 * BullMQ queue names. Experiments go to one queue that aggregators pull;
 * each hospital has its own round-job queue that all its trainers pull, and
 * a second one for jobs that need a GPU, which only its GPU workers pull.
 */
export const EXPERIMENTS_QUEUE = 'experiments';
export function trainQueueName(hospital: string, options: { gpu?: boolean } = {}): string {
  return options.gpu ? `train.${hospital}.gpu` : `train.${hospital}`;
}

/**
 * Connection options for BullMQ from a redis:// URL. Workers need
 * maxRetriesPerRequest null (BullMQ blocks on Redis and handles retries).
 */
export function bullConnection(redisUrl: string): ConnectionOptions {
  return { url: redisUrl, maxRetriesPerRequest: null, enableOfflineQueue: true };
}

/** BullMQ's Redis key prefix: the namespace, so deployments and tests never collide. */
export function queueOptions(redisUrl: string, namespace: string): QueueOptions {
  return { connection: bullConnection(redisUrl), prefix: `${namespace}:bull` };
}

export function openQueue(name: string, redisUrl: string, namespace: string): Queue {
  return new Queue(name, queueOptions(redisUrl, namespace));
}
