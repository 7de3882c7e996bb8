import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { onInterrupt } from './interrupt.ts';

/**
 * A private redis-server for one chaos scenario, so restarting it never
 * disturbs the machine's shared Redis (6379) or anyone else's tests. It
 * persists like production does (append-only file, fsync on every write, no
 * snapshots): `restart()` stops it cleanly and starts it again on the same
 * port and directory, and every key survives.
 */
export class RedisInstance {
  private child: ChildProcess | undefined;
  private exited: Promise<unknown> = Promise.resolve();
  private forget: () => void = () => {};

  private constructor(
    readonly port: number,
    readonly directory: string,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts a redis-server on a free port with its data in `directory`; resolves once it answers PING. */
  static async start(directory: string): Promise<RedisInstance> {
    await mkdir(directory, { recursive: true });
    const instance = new RedisInstance(await freePort(), directory);
    instance.forget = onInterrupt(() => {
      instance.child?.kill('SIGKILL');
    });
    try {
      await instance.launch();
    } catch (error) {
      await instance.stop();
      throw error;
    }
    return instance;
  }

  /** SIGTERM (Redis flushes the append-only file and exits), then the same server again: data kept. */
  async restart(downMs = 0): Promise<void> {
    await this.halt();
    if (downMs > 0) await sleep(downMs);
    await this.launch();
  }

  /** Stops the server for good (the directory stays; the caller removes it). */
  async stop(): Promise<void> {
    await this.halt();
    this.forget();
  }

  private async halt(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }

  private async launch(): Promise<void> {
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      this.directory,
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--save',
      '',
      '--logfile',
      join(this.directory, 'redis.log'),
    ];
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    this.child = child;
    this.exited = once(child, 'exit').catch(() => {});
    const failed = new Promise<never>((_, reject) => {
      child.once('error', (error) => reject(new Error(`cannot start redis-server: ${error.message}`)));
      child.once('exit', (code, signal) =>
        reject(
          new Error(
            `redis-server on port ${this.port} exited at start (${signal ?? `code ${code}`}); see ${join(this.directory, 'redis.log')}`,
          ),
        ),
      );
    });
    failed.catch(() => {});
    await Promise.race([waitForPong(this.port, 10_000), failed]);
  }
}

/** A TCP port nobody listens on right now (the OS picks it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no TCP port from the OS');
  return address.port;
}

/** One raw PING; true when the server answered +PONG (a loading server answers -LOADING). */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

async function waitForPong(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await ping(port)) return;
    await sleep(50);
  }
  throw new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs / 1000} s`);
}
