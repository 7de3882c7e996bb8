import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRng, deriveSeed } from '../../shared/src/ml/random.ts';
import { uniqueNamespace } from '../support/unique.ts';
import {
  duplicatesIgnored,
  type LostUpdate,
  lostUpdates,
  notCounted,
  REPLAY_REASON,
  type Results,
  recoveryMs,
  unrefused,
} from './measure.ts';
import type { Fault, FaultContext, FaultOutcome, Scenario } from './scenarios.ts';
import { type DeadLetter, drainDeadLetters, removeRabbitNamespace } from './support/amqp-namespace.ts';
import type { Cohort } from './support/cohort.ts';
import { writeExperiment } from './support/experiment-file.ts';
import { FederationProcesses } from './support/federation-processes.ts';
import { onInterrupt } from './support/interrupt.ts';
import { type ProgressRecord, ProgressRecorder } from './support/progress-recorder.ts';
import { RedisInstance } from './support/redis-instance.ts';
import { submitExperiment } from './support/submit-experiment.ts';

export interface Suite {
  cohort: Cohort;
  amqpUrl: string;
  /** Each run gets a folder here: logs, Redis data, experiment, results. */
  directory: string;
  /** Seeds every random choice of the faults (moment, hospital, delays). */
  seed: number;
  log(line: string): void;
}

/** The experiment every scenario runs, before its own fields: seconds long when nothing goes wrong. */
export function baseExperiment(
  cohort: Cohort,
  secureAggregation: boolean,
): Record<string, unknown> & { secureAggregation: Record<string, unknown> } {
  return {
    name: 'chaos',
    hospitals: cohort.hospitals.map((h) => h.id),
    rounds: 5,
    seed: 42,
    roundTimeoutSeconds: 60,
    hyperparameters: { localEpochs: 5, batchSize: 32, learningRate: 0.1, optimizer: 'sgd' },
    secureAggregation: { enabled: secureAggregation, phaseTimeoutSeconds: 30 },
  };
}

export interface RunReport {
  scenario: string;
  run: number;
  namespace: string;
  directory: string;
  completed: boolean;
  /** results.json status, or why there is none. */
  status: string;
  experimentId?: string;
  modelSha256?: string;
  /** Outcomes that were not "ok" ("h2 r3 failed SECAGG_DROPPED"). */
  notCounted: string[];
  lost: LostUpdate[];
  faults: { at: number; description: string }[];
  /** False when a transient fault could not be injected before the experiment ended. */
  faultInjected: boolean;
  recoverMs?: number;
  /** How long the fault lasted: until the killed process was ready again, or the broker answered again. */
  outageMs?: number;
  /** Dead letters by reason class (replay, stale-round, …). */
  deadLetters: Record<string, number>;
  duplicatesIgnored: number;
  /** Duplicates scenario: copies sent, and copies the aggregator did not refuse. */
  copies?: { injected: number; notRefused: number };
  reliability?: Results['reliability'];
  experimentMs?: number;
  wallMs: number;
  error?: string;
}

/**
 * One run of a scenario on its own namespace and private Redis: start the
 * federation as separate processes, prepare the fault, submit the experiment
 * with `fedpet submit` while the fault runs, then measure from results.json,
 * the progress events and the dead-letter queue. Everything it started is
 * stopped and everything it created on RabbitMQ is deleted, on every path.
 */
export async function runScenario(
  scenario: Scenario,
  run: number,
  suite: Suite,
  /** How long the fault-free experiment of this mode takes (to place faults inside it). */
  referenceMs: number,
): Promise<RunReport> {
  const began = Date.now();
  const namespace = uniqueNamespace(`chaos-${scenario.id}`);
  const directory = join(suite.directory, `${scenario.id}-${run}`);
  await mkdir(directory, { recursive: true });
  const log = (line: string) => suite.log(`  [${scenario.id} #${run}] ${line}`);
  const report: RunReport = {
    scenario: scenario.id,
    run,
    namespace,
    directory,
    completed: false,
    status: 'not started',
    notCounted: [],
    lost: [],
    faults: [],
    faultInjected: !scenario.transient,
    deadLetters: {},
    duplicatesIgnored: 0,
    wallMs: 0,
  };
  const absent = new Set(scenario.absent ?? []);
  // Registered first, so on Ctrl-C it runs last: after RabbitMQ is running again.
  const forgetNamespace = onInterrupt(() => removeRabbitNamespace(suite.amqpUrl, namespace));
  const redis = await RedisInstance.start(join(directory, 'redis'));
  let progress: ProgressRecorder | undefined;
  let federation: FederationProcesses | undefined;
  let fault: Fault | undefined;
  try {
    progress = await ProgressRecorder.start(suite.amqpUrl, namespace);
    const recorder = progress;
    federation = await FederationProcesses.start({
      hospitals: suite.cohort.hospitals.filter((h) => !absent.has(h.id)),
      keysDirectory: suite.cohort.keysDirectory,
      busUrl: suite.amqpUrl,
      redisUrl: redis.url,
      namespace,
      directory,
    });
    log(`federation up in ${((Date.now() - began) / 1000).toFixed(1)} s`);
    const specPath = join(directory, 'experiment.yaml');
    const base = baseExperiment(suite.cohort, scenario.secureAggregation);
    const { secureAggregation, ...fields } = scenario.spec ?? {};
    await writeExperiment(specPath, {
      ...base,
      ...fields,
      name: `chaos-${scenario.id}`,
      secureAggregation: { ...base.secureAggregation, ...(secureAggregation as object | undefined) },
    });
    let ended = false;
    let recovery: { at: number; endedAt: number; counts: (record: ProgressRecord) => boolean } | undefined;
    const random = createRng(deriveSeed(suite.seed, scenario.id, run));
    const context: FaultContext = {
      federation,
      redis,
      progress: recorder,
      random,
      amqpUrl: suite.amqpUrl,
      namespace,
      log,
      randomMoment: async () => {
        const started = await recorder.waitFor((r) => r.event.event === 'experiment.started', 60_000);
        if (!started || ended) return false;
        const wait = Math.round((0.15 + 0.45 * random.next()) * referenceMs);
        await sleep(Math.max(0, started.receivedAt + wait - Date.now()));
        return !ended;
      },
      injected: (description, counts = () => true) => {
        const at = Date.now();
        report.faults.push({ at, description });
        report.faultInjected = true;
        recovery ??= { at, endedAt: at, counts };
        log(`fault: ${description}`);
      },
      restored: () => {
        if (!recovery) return;
        recovery.endedAt = Date.now();
        report.outageMs = recovery.endedAt - recovery.at;
      },
    };
    fault = await scenario.prepare(context);
    const during = fault.during?.().catch((error: unknown) => {
      report.error = `fault injection failed: ${message(error)}`;
    });
    const submission = await submitExperiment({
      specPath,
      outDirectory: join(directory, 'out'),
      connection: ['--bus', suite.amqpUrl, '--redis', redis.url, '--namespace', namespace],
      timeoutMs: scenario.timeoutMs,
    });
    ended = true;
    await during;
    const outcome: FaultOutcome = (await fault.finish?.()) ?? {};
    const results = submission.results as Results | undefined;
    report.experimentId = submission.experimentId;
    report.status = submission.timedOut
      ? `no end within ${scenario.timeoutMs / 1000} s`
      : (results?.status ?? `fedpet submit exited ${submission.code}: ${lastLine(submission.stderr)}`);
    report.completed = submission.code === 0 && results?.status === 'completed';
    const letters = await collectDeadLetters(suite.amqpUrl, namespace, outcome.copies?.length ?? 0);
    report.deadLetters = countReasons(letters);
    const refused = letters.filter((l) => REPLAY_REASON.test(l.reason));
    report.duplicatesIgnored = duplicatesIgnored(results, refused.length);
    if (outcome.copies) {
      report.copies = {
        injected: outcome.copies.length,
        notRefused: unrefused(outcome.copies, refused).length,
      };
    }
    if (results) {
      report.modelSha256 = results.model?.weights?.sha256;
      report.notCounted = notCounted(results);
      const downtimes = new Map([...federation.trainers].map(([id, trainer]) => [id, trainer.downtimes]));
      report.lost = lostUpdates(results, absent, downtimes);
      report.reliability = results.reliability;
      report.experimentMs = results.durationMs;
    }
    if (recovery && scenario.transient) {
      report.recoverMs = recoveryMs(
        recorder.events.filter((e) => e.experimentId === submission.experimentId),
        recovery,
        recovery.counts,
      );
    }
  } catch (error) {
    report.error = message(error);
    report.status = 'harness error';
  } finally {
    const teardown = Date.now();
    await fault?.cleanup?.().catch((error: unknown) => log(`fault cleanup: ${message(error)}`));
    await federation?.stop().catch((error: unknown) => log(`stopping the federation: ${message(error)}`));
    await progress
      ?.stop()
      .catch((error: unknown) => log(`stopping the progress recorder: ${message(error)}`));
    await removeRabbitNamespace(suite.amqpUrl, namespace).catch((error: unknown) =>
      log(`removing namespace ${namespace} from RabbitMQ: ${message(error)}`),
    );
    await redis.stop();
    forgetNamespace();
    report.wallMs = Date.now() - began;
    log(`teardown ${((Date.now() - teardown) / 1000).toFixed(1)} s`);
  }
  return report;
}

/**
 * Dead letters of the namespace, read once the aggregator had time to refuse
 * what is still in flight; with `expected` copies, read again (up to 10 s)
 * until that many replays were refused.
 */
async function collectDeadLetters(
  amqpUrl: string,
  namespace: string,
  expected: number,
): Promise<DeadLetter[]> {
  const letters: DeadLetter[] = [];
  const until = Date.now() + 10_000;
  do {
    await sleep(1000);
    letters.push(...(await drainDeadLetters(amqpUrl, namespace)));
  } while (letters.filter((l) => REPLAY_REASON.test(l.reason)).length < expected && Date.now() < until);
  return letters;
}

function countReasons(letters: readonly DeadLetter[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const letter of letters) {
    const key = /signature check failed \(([a-z-]+)\)/.exec(letter.reason)?.[1] ?? letter.reason.slice(0, 60);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

function lastLine(text: string): string {
  return text.trimEnd().split('\n').at(-1) ?? '';
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
