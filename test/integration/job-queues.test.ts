import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { type Job, Queue, QueueEvents, UnrecoverableError, Worker } from 'bullmq';
import { type RoundJob, roundJobSchema } from '../../shared/src/contracts/jobs.ts';
import { queueOptions, trainQueueName } from '../../shared/src/jobs/queues.ts';
import { testUrls, uniqueNamespace } from '../support/unique.ts';

/** BullMQ on the real Redis, with the options the services use. */
const namespace = uniqueNamespace();
const opened: { close(): Promise<void> }[] = [];
const queues: Queue[] = [];

function queue(name: string): Queue {
  const created = new Queue(name, queueOptions(testUrls.redis, namespace));
  opened.push(created);
  queues.push(created);
  return created;
}

function roundJob(hospital: string, round: number): RoundJob {
  return {
    v: '1.0',
    kind: 'train',
    experimentId: 'exp-q',
    round,
    attempt: 0,
    hospital,
    plan: {
      kind: 'tabular-mlp',
      task: 'regression',
      scaling: {},
      features: ['a'],
      label: 'b',
      hiddenUnits: [],
      activation: 'relu',
    },
    dataset: 'tabular',
    hyperparameters: { localEpochs: 1, batchSize: 8, learningRate: 0.1, optimizer: 'sgd' },
    seed: 1,
    validationFraction: 0.2,
    model: { sha256: 'b'.repeat(64), bytes: 10 },
    deadline: new Date(Date.now() + 60_000).toISOString(),
    trace: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
  };
}

after(async () => {
  for (const created of queues) await created.obliterate({ force: true });
  for (const handle of opened.reverse()) await handle.close();
});

test('each hospital pulls only its own train queue; job data and trace context arrive intact', async () => {
  const h1 = queue(trainQueueName('h1'));
  const h2 = queue(trainQueueName('h2'));
  await h1.add('round', roundJob('h1', 1), { jobId: 'exp-q.1.h1' });
  await h2.add('round', roundJob('h2', 1), { jobId: 'exp-q.1.h2' });
  const seen: RoundJob[] = [];
  const done = new Promise<void>((resolve) => {
    const worker = new Worker(
      trainQueueName('h1'),
      async (job: Job) => {
        seen.push(roundJobSchema.parse(job.data));
        resolve();
        return { ok: true };
      },
      queueOptions(testUrls.redis, namespace),
    );
    opened.push(worker);
  });
  await done;
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.hospital, 'h1');
  assert.equal(seen[0]!.trace.traceparent, '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
  assert.equal(await h2.getWaitingCount(), 1, "h2's job stays in h2's queue");
});

test('adding a round job twice under the same id yields one job', async () => {
  const q = queue(trainQueueName('h3'));
  await q.add('round', roundJob('h3', 2), { jobId: 'exp-q.2.h3' });
  await q.add('round', roundJob('h3', 2), { jobId: 'exp-q.2.h3' });
  assert.equal(await q.getWaitingCount(), 1);
});

test('a retryable failure is retried; an unrecoverable one fails at once', async () => {
  const name = trainQueueName('h4');
  const q = queue(name);
  const events = new QueueEvents(name, queueOptions(testUrls.redis, namespace));
  opened.push(events);
  await events.waitUntilReady();
  const attempts = new Map<string, number>();
  const worker = new Worker(
    name,
    async (job: Job) => {
      attempts.set(job.id!, (attempts.get(job.id!) ?? 0) + 1);
      if (job.id === 'flaky' && job.attemptsMade === 0) throw new Error('temporary');
      if (job.id === 'broken') throw new UnrecoverableError('bad plan');
      return 'done';
    },
    queueOptions(testUrls.redis, namespace),
  );
  opened.push(worker);
  const flaky = await q.add('round', roundJob('h4', 1), {
    jobId: 'flaky',
    attempts: 3,
    backoff: { type: 'fixed', delay: 50 },
  });
  const broken = await q.add('round', roundJob('h4', 1), { jobId: 'broken', attempts: 3 });
  assert.equal(await flaky.waitUntilFinished(events, 10_000), 'done');
  await assert.rejects(broken.waitUntilFinished(events, 10_000), /bad plan/);
  assert.equal(attempts.get('flaky'), 2);
  assert.equal(attempts.get('broken'), 1);
});
