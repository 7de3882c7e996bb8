import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import amqplib from 'amqplib';
import { createRng } from '../../shared/src/ml/random.ts';
import { connectRedis } from '../../shared/src/service/connect-redis.ts';
import { lostUpdates, recoveryMs } from '../chaos/measure.ts';
import { drainDeadLetters, removeRabbitNamespace } from '../chaos/support/amqp-namespace.ts';
import { Duplicator } from '../chaos/support/duplicator.ts';
import { FedpetProcess } from '../chaos/support/federation-processes.ts';
import { RedisInstance } from '../chaos/support/redis-instance.ts';
import { testUrls, uniqueNamespace } from '../support/unique.ts';

/** The chaos suite's own tools (test/chaos/support), on the real brokers and real processes. */
let work: string;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'fedpet-chaos-harness-'));
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

test('a private Redis restarts on the same port and keeps every key', async () => {
  const redis = await RedisInstance.start(join(work, 'redis'));
  try {
    const client = await connectRedis(redis.url);
    await client.set('chaos:kept', 'yes');
    await client.rpush('chaos:list', 'a', 'b');
    client.disconnect();
    await redis.restart();
    const again = await connectRedis(redis.url);
    assert.equal(await again.get('chaos:kept'), 'yes');
    assert.deepEqual(await again.lrange('chaos:list', 0, -1), ['a', 'b']);
    again.disconnect();
  } finally {
    await redis.stop();
  }
  await assert.rejects(connectRedis(redis.url, 500), /cannot reach Redis/);
});

test('throttle(10) makes a process about ten times slower, and unthrottle lets it run again', async () => {
  const script = join(work, 'busy.js');
  // Counts busy-loop iterations and logs the running total twice a second.
  await writeFile(
    script,
    `console.log('ready'); let n = 0;
     setInterval(() => console.log('count ' + n), 250);
     (function spin() { const t = Date.now(); while (Date.now() - t < 10) n++; setImmediate(spin); })();`,
  );
  const busy = new FedpetProcess('busy', script, [], join(work, 'busy.log'), /ready/);
  await busy.start();
  try {
    const count = async () => Number(/count (\d+)\n$/.exec(await busy.currentLog())?.[1] ?? 0);
    const rate = async () => {
      const first = await count();
      await sleep(2000);
      return (await count()) - first;
    };
    const free = await rate();
    busy.throttle(10);
    const throttled = await rate();
    busy.unthrottle();
    const again = await rate();
    assert.ok(free / throttled > 4, `free ${free}, throttled ${throttled}`);
    assert.ok(again / throttled > 4, `after unthrottle ${again}, throttled ${throttled}`);
  } finally {
    await busy.kill('SIGKILL');
  }
  assert.equal(busy.running(), false);
  assert.equal(busy.downtimes.length, 1);
});

test('the duplicator republishes each hospital frame once, byte for byte, with its headers', async () => {
  const namespace = uniqueNamespace('chaos-dup');
  const connection = await amqplib.connect(testUrls.amqp);
  const channel = await connection.createConfirmChannel();
  try {
    await channel.assertExchange(namespace, 'topic', { durable: true });
    const { queue } = await channel.assertQueue('', { exclusive: true });
    await channel.bindQueue(queue, namespace, 'update.#');
    await channel.bindQueue(queue, namespace, 'progress.#');
    const seen: { topic: string; body: string; signature: unknown }[] = [];
    await channel.consume(
      queue,
      (message) =>
        message &&
        seen.push({
          topic: message.fields.routingKey,
          body: message.content.toString('hex'),
          signature: message.properties.headers?.['fedpet-signature'],
        }),
      { noAck: true },
    );
    const duplicator = await Duplicator.start({
      amqpUrl: testUrls.amqp,
      namespace,
      random: createRng(1),
      delayMs: () => 0,
    });
    const frame = Buffer.from('frame bytes \u0000\u0001');
    channel.publish(namespace, 'update.exp-1.h1', frame, { headers: { 'fedpet-signature': 'sig' } });
    // Aggregator → researcher traffic is not the duplicator's business.
    channel.publish(namespace, 'progress.exp-1', Buffer.from('progress'));
    await channel.waitForConfirms();
    for (let i = 0; i < 50 && seen.length < 3; i++) await sleep(100);
    await sleep(300); // a second copy (of the copy) would arrive by now
    await duplicator.stop();
    assert.equal(duplicator.injected.length, 1);
    const updates = seen.filter((m) => m.topic === 'update.exp-1.h1');
    assert.equal(updates.length, 2);
    assert.deepEqual(updates[0], updates[1]);
    assert.equal(updates[0]?.signature, 'sig');
    assert.equal(seen.filter((m) => m.topic === 'progress.exp-1').length, 1);
    assert.deepEqual(await drainDeadLetters(testUrls.amqp, namespace), []);
  } finally {
    await connection.close().catch(() => {});
    await removeRabbitNamespace(testUrls.amqp, namespace);
  }
});

test('an update is lost only when a running hospital neither counted nor gave a reason', () => {
  const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
  const round = (
    n: number,
    start: number,
    hospitals: { hospital: string; status: string; code?: string }[],
  ) => ({
    round: n,
    kind: 'train',
    startedAt: at(start),
    durationMs: 5000,
    hospitals,
  });
  const results = {
    status: 'completed',
    rounds: [
      round(1, 0, [
        { hospital: 'h1', status: 'failed', code: 'ROUND_TIMEOUT' }, // running all round: lost
        { hospital: 'h2', status: 'failed', code: 'SECAGG_DROPPED' }, // killed during the round
        { hospital: 'h3', status: 'late', code: 'LATE_UPDATE' }, // policy
        { hospital: 'h4', status: 'failed', code: 'ROUND_TIMEOUT' }, // never started
      ]),
      round(2, 10, [
        { hospital: 'h1', status: 'failed', code: 'TRAINING_FAILED' }, // reported
        { hospital: 'h2', status: 'failed' }, // back and ready before the round: lost
        { hospital: 'h3', status: 'ok' },
        { hospital: 'h4', status: 'excluded', code: 'HOSPITAL_EXCLUDED' },
      ]),
    ],
    finalEvaluation: null,
  };
  const killedAt = Date.parse(at(2));
  const downtimes = new Map([['h2', [{ from: killedAt, to: killedAt + 4000 }]]]);
  assert.deepEqual(lostUpdates(results, new Set(['h4']), downtimes), [
    { round: 1, hospital: 'h1', code: 'ROUND_TIMEOUT' },
    { round: 2, hospital: 'h2', code: 'none' },
  ]);
  const event = (sentAt: number, receivedAt: number) => ({
    sentAt,
    receivedAt,
    experimentId: 'e',
    round: 1,
    event: { event: 'round.started' as const, kind: 'train' as const },
  });
  // A broker restart from t=100 to t=300: events made during the outage do not count as recovery.
  const events = [event(50, 60), event(150, 310), event(320, 330)];
  assert.equal(recoveryMs(events, { at: 100, endedAt: 300 }), 230);
  assert.equal(recoveryMs(events, { at: 400, endedAt: 400 }), undefined);
});
