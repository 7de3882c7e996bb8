/**
 * The hospitals' side of the transfer benchmark, in its own process (as
 * trainers are), so their hashing and copying run beside the aggregator's
 * rather than on its event loop — for fedpet and the raw baseline alike.
 *
 * Protocol with the parent over IPC: an order ({ mode: 'fedpet', namespace }
 * or { mode: 'raw', queues }) to which this process answers { ready } once
 * its updates are generated (untimed); then { go, model? } upon which it
 * fetches the model once per trainer (own connection each), publishes one
 * update of the model's size per trainer, and answers { done }.
 */
import { randomBytes } from 'node:crypto';
import amqplib from 'amqplib';
import { Redis } from 'ioredis';
import { RedisBlobStore } from '../../../shared/src/blob/redis-blob-store.ts';
import type { BlobRef } from '../../../shared/src/contracts/common.ts';
import { createBus } from '../../../shared/src/transport/create-bus.ts';
import { publishUpdate } from '../../../shared/src/transport/update-publisher.ts';

const AMQP_URL = process.env.FEDPET_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const REDIS_URL = process.env.FEDPET_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const CHUNK = 1024 * 1024;

export type Order =
  | { mode: 'fedpet'; namespace: string; trainers: number; modelBytes: number }
  | { mode: 'raw'; modelQueue: string; updateQueue: string; trainers: number; modelBytes: number };

async function fedpet(
  order: Extract<Order, { mode: 'fedpet' }>,
  model: BlobRef,
  updates: Buffer[],
): Promise<void> {
  const bus = await createBus(AMQP_URL, { namespace: order.namespace, clientName: 'bench-hospitals' });
  const connections = Array.from({ length: order.trainers }, () => new Redis(REDIS_URL));
  await Promise.all(
    connections.map((redis) => new RedisBlobStore(redis, { prefix: order.namespace }).get(model)),
  );
  await Promise.all(
    updates.map((update, index) =>
      publishUpdate(
        bus,
        { experimentId: 'bench', round: 1, sender: `h${index}` },
        { hospital: `h${index}`, kind: 'train', numSamples: 1, metrics: {}, timingsMs: {} },
        update,
      ),
    ),
  );
  for (const redis of connections) redis.disconnect();
  await bus.close();
}

async function raw(order: Extract<Order, { mode: 'raw' }>, updates: Buffer[]): Promise<void> {
  const connection = await amqplib.connect(AMQP_URL);
  const consumer = await connection.createChannel();
  await consumer.prefetch(64);
  const expected = order.trainers * Math.ceil(order.modelBytes / CHUNK);
  let received = 0;
  await new Promise<void>((resolve) => {
    void consumer.consume(order.modelQueue, (message) => {
      if (!message) return;
      consumer.ack(message);
      if (++received === expected) resolve();
    });
  });
  const channel = await connection.createConfirmChannel();
  await Promise.all(updates.map((update) => rawPublish(channel, order.updateQueue, update)));
  await connection.close();
}

/** 1 MiB persistent messages, at most 4 awaiting confirmation: fedpet's own window. */
export async function rawPublish(
  channel: amqplib.ConfirmChannel,
  queue: string,
  payload: Buffer,
): Promise<void> {
  const pending: Promise<void>[] = [];
  for (let offset = 0; offset < payload.length; offset += CHUNK) {
    pending.push(
      new Promise<void>((resolve, reject) =>
        channel.sendToQueue(queue, payload.subarray(offset, offset + CHUNK), { persistent: true }, (error) =>
          error ? reject(error) : resolve(),
        ),
      ),
    );
    if (pending.length >= 4) await pending.shift();
  }
  await Promise.all(pending);
}

if (process.send) {
  process.once('message', (order: Order) => {
    const updates = Array.from({ length: order.trainers }, () => randomBytes(order.modelBytes));
    process.send?.({ ready: true });
    process.once('message', async (go: { model?: BlobRef }) => {
      if (order.mode === 'fedpet') await fedpet(order, go.model!, updates);
      else await raw(order, updates);
      process.send?.({ done: true });
      process.disconnect();
    });
  });
}
