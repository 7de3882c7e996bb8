import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import amqplib from 'amqplib';
import { connectRedis } from '../../shared/src/service/connect-redis.ts';
import { removeRabbitNamespace } from '../chaos/support/amqp-namespace.ts';
import { prepareCohort } from '../chaos/support/cohort.ts';
import { writeExperiment } from '../chaos/support/experiment-file.ts';
import { FederationProcesses } from '../chaos/support/federation-processes.ts';
import { submitExperiment } from '../chaos/support/submit-experiment.ts';
import { cli, runCli } from '../support/run-cli.ts';
import { testUrls, uniqueNamespace } from '../support/unique.ts';

/**
 * Breakpoints: `fedpet resume <id> --from-round n` on a running federation
 * (aggregator and trainers as separate processes) starts a new experiment
 * from the stored model of round n. Training is seeded, so it ends with the
 * model the original experiment ended with.
 */
interface Results {
  status: string;
  resumedFrom?: { experimentId: string; round: number };
  rounds: { round: number; model: { sha256: string }; metrics: Record<string, number> }[];
  model: { weights: { sha256: string } };
  messageChecks: Record<string, number>;
}

const namespace = uniqueNamespace('resume');
const connection = ['--bus', testUrls.amqp, '--redis', testUrls.redis, '--namespace', namespace];
let work: string;
let federation: FederationProcesses | undefined;
let original: Results;
let originalId: string;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'fedpet-resume-'));
  const cohort = await prepareCohort(join(work, 'cohort'), {
    hospitals: ['h1', 'h2', 'h3'],
    rows: [200, 160, 120],
    seed: 5,
  });
  federation = await FederationProcesses.start({
    hospitals: cohort.hospitals,
    keysDirectory: cohort.keysDirectory,
    busUrl: testUrls.amqp,
    redisUrl: testUrls.redis,
    namespace,
    directory: work,
  });
  // A malformed frame on the aggregator's input before the experiment: dead-lettered and counted.
  const broker = await amqplib.connect(testUrls.amqp);
  const channel = await broker.createConfirmChannel();
  channel.publish(namespace, 'update.junk-experiment.h1', Buffer.from('not a fedpet frame'), {
    persistent: true,
  });
  await channel.waitForConfirms();
  await broker.close();
  const spec = join(work, 'experiment.yaml');
  await writeExperiment(spec, { name: 'resume', rounds: 4, secureAggregation: { enabled: false } });
  const run = await submitExperiment({
    specPath: spec,
    outDirectory: join(work, 'original'),
    connection,
    timeoutMs: 120_000,
  });
  assert.equal(run.code, 0, run.stdout + run.stderr);
  original = run.results as Results;
  originalId = run.experimentId!;
});

after(async () => {
  await federation?.stop();
  await removeRabbitNamespace(testUrls.amqp, namespace).catch(() => {});
  const redis = await connectRedis(testUrls.redis);
  const keys = await redis.keys(`${namespace}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
  await rm(work, { recursive: true, force: true });
});

test('resuming from round 2 replays rounds 3–4 and ends with the original model', {
  timeout: 120_000,
}, async () => {
  const out = join(work, 'resumed');
  const run = await runCli(cli.fedpet, [
    'resume',
    originalId,
    '--from-round',
    '2',
    '--out',
    out,
    ...connection,
  ]);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, new RegExp(`resuming ${originalId} from round 2`));
  const resumed = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as Results;
  assert.equal(resumed.status, 'completed');
  assert.deepEqual(resumed.resumedFrom, { experimentId: originalId, round: 2 });
  assert.deepEqual(
    resumed.rounds.map((r) => r.round),
    [1, 2, 3, 4],
  );
  // Rounds 1–2 are the original's records; 3–4 were trained again from its round-2 model.
  assert.deepEqual(resumed.rounds.slice(0, 2), original.rounds.slice(0, 2));
  assert.equal(resumed.rounds[2]!.model.sha256, original.rounds[2]!.model.sha256);
  assert.equal(resumed.model.weights.sha256, original.model.weights.sha256);
});

test('a round past the stored ones, or an unknown experiment, is refused with one clear line', async () => {
  const past = await runCli(cli.fedpet, ['resume', originalId, '--from-round', '9', ...connection]);
  assert.equal(past.code, 2);
  assert.match(past.stderr, /has stored models up to round 4; --from-round 9 is past them/);
  const unknown = await runCli(cli.fedpet, ['resume', 'no-such-1', '--from-round', '1', ...connection]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /no stored experiment "no-such-1"/);
});

test('a malformed frame sent to the aggregator is counted in results.json by its code', () => {
  assert.ok((original.messageChecks.INVALID_MESSAGE ?? 0) >= 1, JSON.stringify(original.messageChecks));
});
