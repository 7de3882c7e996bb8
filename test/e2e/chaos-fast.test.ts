import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type RunReport, runScenario, type Suite } from '../chaos/run-scenario.ts';
import { SCENARIOS, type Scenario } from '../chaos/scenarios.ts';
import { prepareCohort } from '../chaos/support/cohort.ts';
import { testUrls } from '../support/unique.ts';

/**
 * The fast part of `make chaos` (test/chaos/): a 4-hospital federation as
 * separate processes on the real brokers, its experiment run fault-free,
 * then with every hospital → aggregator message duplicated and delayed, then
 * through a RabbitMQ restart, and (sealed updates) through an aggregator
 * SIGKILL and restart. Each must complete with the fault-free model,
 * lose no update, and (duplicates) ignore every copy. The whole suite, with
 * kills, a Redis restart and down or slow hospitals, is `make chaos`.
 */
const scenario = (id: string): Scenario => {
  const found = SCENARIOS.find((s) => s.id === id);
  assert.ok(found, `no chaos scenario ${id}`);
  return found;
};

let work: string;
let suite: Suite;
let reference: RunReport;
const lines: string[] = [];

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'fedpet-chaos-fast-'));
  const cohort = await prepareCohort(join(work, 'cohort'), {
    hospitals: ['h1', 'h2', 'h3', 'h4'],
    rows: [300, 240, 180, 150],
    seed: 11,
  });
  suite = { cohort, amqpUrl: testUrls.amqp, directory: work, seed: 1, log: (line) => lines.push(line) };
  reference = await runScenario(scenario('fault-free'), 1, suite, 5000);
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

/** What went wrong, for assertion messages: the run's report and the suite's log lines. */
const explain = (report: RunReport) => `${JSON.stringify(report, null, 2)}\n${lines.join('\n')}`;

function assertUnharmed(report: RunReport): void {
  assert.equal(report.completed, true, explain(report));
  assert.equal(report.error, undefined, explain(report));
  assert.deepEqual(report.lost, [], explain(report));
  assert.deepEqual(report.notCounted, [], explain(report));
  assert.equal(report.modelSha256, reference.modelSha256, explain(report));
}

test('fault-free reference run completes with every update counted', () => {
  assert.equal(reference.completed, true, explain(reference));
  assert.deepEqual(reference.notCounted, [], explain(reference));
  assert.match(reference.modelSha256 ?? '', /^[0-9a-f]{64}$/);
});

test('duplicated and delayed messages are all ignored and change nothing', { timeout: 120_000 }, async () => {
  const report = await runScenario(scenario('duplicates'), 1, suite, reference.experimentMs ?? 5000);
  assertUnharmed(report);
  assert.ok((report.copies?.injected ?? 0) > 20, explain(report));
  assert.equal(report.copies?.notRefused, 0, explain(report));
  assert.ok(report.duplicatesIgnored >= report.copies!.injected, explain(report));
});

test('a RabbitMQ restart mid-experiment loses nothing', { timeout: 180_000 }, async () => {
  // restartRabbit starts RabbitMQ again in `finally` and on SIGINT/SIGTERM.
  const report = await runScenario(scenario('rabbitmq-restart'), 1, suite, reference.experimentMs ?? 5000);
  assertUnharmed(report);
  assert.equal(report.faultInjected, true, explain(report));
  assert.ok(report.recoverMs !== undefined, explain(report));
});

test('an aggregator killed mid-experiment resumes it: same model, nothing lost', {
  timeout: 240_000,
}, async () => {
  const sealedReference = await runScenario(scenario('fault-free-sealed'), 1, suite, 5000);
  assert.equal(sealedReference.completed, true, explain(sealedReference));
  const report = await runScenario(
    scenario('aggregator-kill-sealed'),
    1,
    suite,
    sealedReference.experimentMs ?? 5000,
  );
  assert.equal(report.completed, true, explain(report));
  assert.equal(report.faultInjected, true, explain(report));
  assert.deepEqual(report.lost, [], explain(report));
  assert.deepEqual(report.notCounted, [], explain(report));
  assert.equal(report.modelSha256, sealedReference.modelSha256, explain(report));
});
