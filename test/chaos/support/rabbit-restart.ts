import { execFile, spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import amqplib from 'amqplib';
import { onInterrupt } from './interrupt.ts';

const run = promisify(execFile);

export interface RabbitRestart {
  /** When `rabbitmqctl stop_app` was issued (ms since the epoch). */
  stoppedAt: number;
  /** When `rabbitmqctl start_app` was issued. */
  startingAt: number;
  /** When an AMQP connection succeeded again. */
  upAt: number;
}

/**
 * Restarts the shared RabbitMQ application (the Erlang node stays up):
 * stop_app, hold it down `downMs`, start_app, then wait until it accepts
 * AMQP connections again. Durable exchanges and queues and persistent
 * messages survive this, as a broker restart in production.
 *
 * The broker is restored on every path: in `finally`, and on SIGINT/SIGTERM
 * while it is down (interrupt.ts), because a stopped shared broker would
 * break every other test on the machine.
 */
export async function restartRabbit(options: {
  downMs: number;
  amqpUrl: string;
  log?: (line: string) => void;
}): Promise<RabbitRestart> {
  const log = options.log ?? (() => {});
  const forget = onInterrupt(() => {
    process.stderr.write('chaos: RabbitMQ is stopped: rabbitmqctl start_app\n');
    spawnSync('rabbitmqctl', ['start_app'], { stdio: 'ignore', timeout: 60_000 });
  });
  const stoppedAt = Date.now();
  let startingAt = stoppedAt;
  try {
    log('rabbitmqctl stop_app');
    await rabbitmqctl(['stop_app']);
    await sleep(options.downMs);
  } finally {
    startingAt = Date.now();
    log('rabbitmqctl start_app');
    try {
      await ensureRabbitUp(options.amqpUrl);
    } finally {
      forget();
    }
  }
  return { stoppedAt, startingAt, upAt: Date.now() };
}

/**
 * start_app (harmless when already running), then retry await_startup and an
 * AMQP connection until the broker answers, for up to `timeoutMs`.
 */
export async function ensureRabbitUp(amqpUrl: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      await rabbitmqctl(['start_app']);
      await rabbitmqctl(['await_startup']);
      const connection = await amqplib.connect(amqpUrl);
      await connection.close();
      return;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
      await sleep(500);
    }
  }
  throw new Error(`RabbitMQ did not come back within ${timeoutMs / 1000} s: ${last}`);
}

async function rabbitmqctl(args: string[]): Promise<void> {
  try {
    await run('rabbitmqctl', args, { timeout: 60_000 });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(`rabbitmqctl ${args.join(' ')} failed${stderr ? `: ${stderr}` : ''}`);
  }
}
