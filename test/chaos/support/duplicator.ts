import { createHash } from 'node:crypto';
import amqplib, { type ConsumeMessage } from 'amqplib';
import type { Rng } from '../../../shared/src/ml/random.ts';
import { Topics } from '../../../shared/src/transport/topics.ts';

/** One copy the duplicator put on the bus. */
export interface InjectedCopy {
  topic: string;
  /** SHA-256 of the frame: the copy is byte-for-byte the original. */
  sha256: string;
  delayMs: number;
  publishedAt: number;
}

/** Everything hospitals send to the aggregator (updates, error replies, secure-aggregation steps). */
export const HOSPITAL_TO_AGGREGATOR = [Topics.allUpdates, Topics.allErrors, Topics.allSecaggUp] as const;

/**
 * A faulty network in front of the aggregator: it listens on its own queue
 * bound to the namespace's exchange for every hospital → aggregator topic
 * and publishes each frame once more — same bytes, same headers (the
 * signature included), same routing key — at once, a little later, or
 * seconds later when its round has closed. The aggregator must ignore every
 * copy (its replay window refuses it, or the update is already counted).
 */
export class Duplicator {
  readonly injected: InjectedCopy[] = [];
  private readonly seen = new Set<string>();
  private readonly pending = new Set<Promise<void>>();
  private closed = false;

  private constructor(
    private readonly connection: amqplib.ChannelModel,
    private readonly publisher: amqplib.ConfirmChannel,
    private readonly namespace: string,
    private readonly pickDelay: () => number,
  ) {}

  static async start(options: {
    amqpUrl: string;
    namespace: string;
    random: Rng;
    /** How long to hold each copy (default: spreadDelays). */
    delayMs?: (random: Rng) => number;
  }): Promise<Duplicator> {
    const delayMs = options.delayMs ?? spreadDelays;
    const connection = await amqplib.connect(options.amqpUrl);
    try {
      const publisher = await connection.createConfirmChannel();
      const consumer = await connection.createChannel();
      const duplicator = new Duplicator(connection, publisher, options.namespace, () =>
        delayMs(options.random),
      );
      await consumer.assertExchange(options.namespace, 'topic', { durable: true });
      // Exclusive and auto-deleted: the queue goes away with this connection.
      const { queue } = await consumer.assertQueue(`${options.namespace}.chaos-duplicator`, {
        exclusive: true,
        autoDelete: true,
      });
      for (const pattern of HOSPITAL_TO_AGGREGATOR)
        await consumer.bindQueue(queue, options.namespace, pattern);
      await consumer.consume(queue, (message) => message && duplicator.onFrame(message), { noAck: true });
      return duplicator;
    } catch (error) {
      await connection.close().catch(() => {});
      throw error;
    }
  }

  /** Waits for the copies still to be sent, then disconnects. */
  async stop(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    this.closed = true;
    await this.connection.close().catch(() => {});
  }

  private onFrame(message: ConsumeMessage): void {
    if (this.closed) return;
    const sha256 = createHash('sha256').update(message.content).digest('hex');
    // Our own copies come back through the same binding: each frame is copied once.
    if (this.seen.has(sha256)) return;
    this.seen.add(sha256);
    const delayMs = this.pickDelay();
    const topic = message.fields.routingKey;
    const copy = async () => {
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      this.publisher.publish(this.namespace, topic, message.content, {
        headers: message.properties.headers,
        contentType: message.properties.contentType,
        deliveryMode: message.properties.deliveryMode,
      });
      await this.publisher.waitForConfirms();
      this.injected.push({ topic, sha256, delayMs, publishedAt: Date.now() });
    };
    const task = copy().catch((error: unknown) => {
      process.stderr.write(
        `duplicator: could not copy ${topic}: ${error instanceof Error ? error.message : error}\n`,
      );
    });
    this.pending.add(task);
    void task.finally(() => this.pending.delete(task));
  }
}

/** A third at once, a third within 1.5 s, a third 2.5–5 s later (after its round closed). */
export function spreadDelays(random: Rng): number {
  const which = random.int(3);
  if (which === 0) return 0;
  if (which === 1) return Math.round(100 + random.next() * 1400);
  return Math.round(2500 + random.next() * 2500);
}
