import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import amqplib from 'amqplib';
import { connectRedis } from '../../shared/src/service/connect-redis.ts';
import { cli, runCli } from '../support/run-cli.ts';
import { testUrls } from '../support/unique.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Ctrl-C during a run: every process stops, the exit code says so, and the brokers keep nothing. */
test('Ctrl-C stops the sandbox, its aggregator and trainers, and removes its namespace', async () => {
  const work = await mkdtemp(join(tmpdir(), 'fedpet-int-'));
  try {
    assert.equal(
      (await runCli(cli.fedpet, ['synth', '--kind', 'tabular', '--out', join(work, 'data'), '--rows', '80']))
        .code,
      0,
    );
    const experiment = join(work, 'long.yaml');
    const demo = await readFile('examples/tabular/experiment.yaml', 'utf8');
    await writeFile(experiment, demo.replace(/^rounds: \d+/m, 'rounds: 1000'));
    const child = spawn(
      process.execPath,
      [
        cli.fedpet,
        'sandbox',
        '--federation',
        join(work, 'data', 'federation.yaml'),
        '--experiment',
        experiment,
        '--out',
        join(work, 'out'),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (data: Buffer) => {
        stdout += data.toString();
        if (/round 3\/1000/.test(stdout)) resolve();
      });
      setTimeout(() => reject(new Error(`no progress:\n${stdout}`)), 60_000).unref();
    });
    const namespace = /namespace (sandbox-[0-9a-f]+)/.exec(stdout)?.[1];
    assert.ok(namespace, stdout);
    const logs = join(work, 'out', 'logs');
    const pids = new Set<number>();
    for (const file of await readdir(logs)) {
      for (const match of (await readFile(join(logs, file), 'utf8')).matchAll(
        /"workerId":"h\d-[^"]*-(\d+)"/g,
      ))
        pids.add(Number(match[1]));
    }
    assert.equal(pids.size, 3, 'three trainer processes were running');
    const aggregatorPid = Number(
      /"msg":"aggregator ready".*?"pid":(\d+)/.exec(
        await readFile(join(logs, 'aggregator.log'), 'utf8'),
      )?.[1],
    );
    assert.ok(aggregatorPid > 0 && alive(aggregatorPid));
    pids.add(aggregatorPid);

    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    assert.equal(await exited, 130);
    clearTimeout(timer);
    assert.match(stdout, /interrupted: stopping the federation/);
    for (const pid of pids) assert.ok(!alive(pid), `process ${pid} still running`);

    const redis = await connectRedis(testUrls.redis);
    assert.deepEqual(await redis.keys(`${namespace}:*`), []);
    redis.disconnect();
    const connection = await amqplib.connect(testUrls.amqp);
    const channel = await connection.createChannel();
    channel.on('error', () => {});
    await assert.rejects(channel.checkExchange(namespace), /NOT_FOUND/);
    await connection.close().catch(() => {});
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
