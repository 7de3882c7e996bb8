import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectRedis } from '../../shared/src/service/connect-redis.ts';
import { type RedisHealthEvent, watchRedisHealth } from '../../shared/src/service/redis-health.ts';

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

/** A throw-away redis-server: this test stops it, so it must not be the machine's shared one. */
async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  for (let i = 0; i < 100; i++) {
    try {
      (await connectRedis(`redis://127.0.0.1:${port}`, 200)).disconnect();
      return child;
    } catch {
      await sleep(50);
    }
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server on port ${port} did not start`);
}

async function until(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

test('a Redis outage is reported when it starts, when it outlasts the limit, and when it ends', async () => {
  const port = await freePort();
  let server = await startRedis(port);
  const redis = await connectRedis(`redis://127.0.0.1:${port}`);
  const events: RedisHealthEvent[] = [];
  const stop = watchRedisHealth(redis, { giveUpMs: 400, onEvent: (event) => events.push(event) });
  try {
    server.kill('SIGKILL');
    await until(() => events.some((e) => e.type === 'unreachable'), 'the unreachable report');
    assert.deepEqual(
      events.map((e) => e.type),
      ['disconnected', 'unreachable'],
      'one report per outage, however many retries fail',
    );
    assert.match((events[1] as { reason: string }).reason, /ECONNREFUSED|closed/);
    server = await startRedis(port);
    await until(() => events.some((e) => e.type === 'reconnected'), 'the reconnection');
    assert.ok((events.at(-1) as { downMs: number }).downMs >= 400);
    assert.equal(await redis.ping(), 'PONG');
  } finally {
    stop();
    redis.disconnect();
    server.kill('SIGKILL');
  }
});
