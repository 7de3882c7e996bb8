import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import amqplib from 'amqplib';
import { DEAD_REASON_HEADER, ORIGINAL_TOPIC_HEADER } from '../../../shared/src/transport/bus.ts';

const run = promisify(execFile);

export interface DeadLetter {
  /** The topic the message was first published to. */
  topic: string;
  reason: string;
  /** SHA-256 of the frame (the dead-letter copy keeps the original bytes). */
  sha256: string;
}

/** Takes (and removes) every message in the namespace's durable dead-letter queue. */
export async function drainDeadLetters(amqpUrl: string, namespace: string): Promise<DeadLetter[]> {
  const connection = await amqplib.connect(amqpUrl);
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => {});
    const queue = `${namespace}.dead-letter`;
    const letters: DeadLetter[] = [];
    try {
      await channel.checkQueue(queue);
    } catch {
      return letters; // nobody ever connected to this namespace
    }
    for (;;) {
      const message = await channel.get(queue, { noAck: true });
      if (message === false) break;
      const headers = message.properties.headers ?? {};
      letters.push({
        topic: String(headers[ORIGINAL_TOPIC_HEADER] ?? message.fields.routingKey),
        reason: String(headers[DEAD_REASON_HEADER] ?? ''),
        sha256: createHash('sha256').update(message.content).digest('hex'),
      });
    }
    await channel.close().catch(() => {});
    return letters;
  } finally {
    await connection.close().catch(() => {});
  }
}

/**
 * Deletes everything a scenario's namespace left on the shared RabbitMQ:
 * every queue named `<namespace>.…` (found with rabbitmqctl, since a killed
 * trainer leaves a queue named after its pid) and the namespace's exchange.
 */
export async function removeRabbitNamespace(amqpUrl: string, namespace: string): Promise<void> {
  const { stdout } = await run('rabbitmqctl', ['list_queues', 'name', '--quiet', '--no-table-headers'], {
    timeout: 60_000,
  });
  const queues = stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((name) => name.startsWith(`${namespace}.`));
  const connection = await amqplib.connect(amqpUrl);
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => {});
    for (const queue of queues) await channel.deleteQueue(queue);
    await channel.deleteExchange(namespace);
    await channel.close().catch(() => {});
  } finally {
    await connection.close().catch(() => {});
  }
}
