import { setTimeout as sleep } from 'node:timers/promises';
import type { Rng } from '../../shared/src/ml/random.ts';
import { Duplicator, type InjectedCopy } from './support/duplicator.ts';
import type { FederationProcesses } from './support/federation-processes.ts';
import type { ProgressRecord, ProgressRecorder } from './support/progress-recorder.ts';
import { restartRabbit } from './support/rabbit-restart.ts';
import type { RedisInstance } from './support/redis-instance.ts';

/** What a scenario's fault may touch while its experiment runs. */
export interface FaultContext {
  federation: FederationProcesses;
  redis: RedisInstance;
  progress: ProgressRecorder;
  random: Rng;
  amqpUrl: string;
  namespace: string;
  /**
   * Waits for a random moment inside the experiment: 15–60 % of the
   * fault-free run's duration after it started. False if the experiment
   * ended first (the fault is then not injected and the run fails).
   */
  randomMoment(): Promise<boolean>;
  /**
   * Marks the fault as injected now. Transient faults: recovery is the next
   * progress event `counts` accepts (default: any).
   */
  injected(description: string, counts?: (record: ProgressRecord) => boolean): void;
  /** Marks the fault as over: a killed process ready again, a broker answering again. */
  restored(): void;
  log(line: string): void;
}

/** What a fault leaves to measure once the experiment ended. */
export interface FaultOutcome {
  /** The duplicator's copies (duplicates scenario). */
  copies?: InjectedCopy[];
}

export interface Fault {
  /** Runs alongside the experiment (from its submission); resolves when the fault is over and undone. */
  during?(): Promise<void>;
  /** After the experiment ended, before the federation stops (e.g. send the last delayed copies). */
  finish?(): Promise<FaultOutcome>;
  /** Always called, last (e.g. stop a throttle or a duplicator left running). */
  cleanup?(): Promise<void>;
}

export interface Scenario {
  /** Name for --only and the results file. */
  id: string;
  /** The fault, as the table shows it. */
  fault: string;
  /** Fault-free references are run first; the others are compared with the one of their mode. */
  reference?: boolean;
  secureAggregation: boolean;
  /** Hospitals of the experiment with no trainer at all. */
  absent?: readonly string[];
  /** Experiment fields for this scenario (on top of the suite's base experiment). */
  spec?: Record<string, unknown>;
  /** When policy drops a hospital, the model is expected to differ: said in the table. */
  modelExpectation?: string;
  /**
   * A fault that comes and goes at a random moment: its time to recover is
   * measured, and a run where it could not be injected (the experiment ended
   * first) fails.
   */
  transient?: boolean;
  /** Longest a run may take (submit is stopped then and the run fails). */
  timeoutMs: number;
  prepare(context: FaultContext): Promise<Fault>;
}

const noFault = async (): Promise<Fault> => ({});

/** Back after 1–3 s, as a supervisor (systemd, Kubernetes) would restart it. */
const restartDelay = (random: Rng) => 1000 + Math.round(random.next() * 2000);

function aggregatorKill(
  id: string,
  secureAggregation: boolean,
  signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL',
): Scenario {
  return {
    id,
    fault: `aggregator ${signal} (${secureAggregation ? 'secure aggregation' : 'sealed updates'})`,
    secureAggregation,
    transient: true,
    timeoutMs: 180_000,
    prepare: async (context) => ({
      during: async () => {
        if (!(await context.randomMoment())) return;
        const { aggregator } = context.federation;
        context.injected(`aggregator ${signal}`);
        // SIGTERM: it checkpoints and hands its experiment back; the next aggregator resumes it.
        await aggregator.kill(signal);
        const down = restartDelay(context.random);
        await sleep(down);
        context.log(`aggregator restarted after ${down} ms (same arguments)`);
        await aggregator.start();
        context.restored();
      },
    }),
  };
}

/**
 * Secure aggregation: a dropout before its keys are shared costs one phase
 * timeout; after, the round goes on without it (the restarted trainer cannot
 * rejoin: its keys died with it). Sealed: the stalled job is retried (trainer
 * lock 15 s) and trains the same update again.
 */
function trainerKill(id: string, secureAggregation: boolean): Scenario {
  return {
    id,
    transient: true,
    fault: `trainer SIGKILL (${secureAggregation ? 'secure aggregation' : 'sealed updates'})`,
    secureAggregation,
    spec: secureAggregation
      ? { roundTimeoutSeconds: 30, secureAggregation: { phaseTimeoutSeconds: 10 } }
      : { roundTimeoutSeconds: 60 },
    timeoutMs: 240_000,
    prepare: async (context) => ({
      during: async () => {
        if (!(await context.randomMoment())) return;
        const ids = [...context.federation.trainers.keys()];
        const hospital = ids[context.random.int(ids.length)]!;
        const trainer = context.federation.trainer(hospital);
        // Recovered when the aggregator reports on the hospital again after it came back.
        context.injected(`trainer ${hospital} SIGKILL`, (record) => reportedBy(record, hospital));
        await trainer.kill('SIGKILL');
        const down = restartDelay(context.random);
        await sleep(down);
        context.log(`trainer ${hospital} restarted after ${down} ms (same arguments)`);
        await trainer.start();
        context.restored();
      },
    }),
  };
}

export const SCENARIOS: readonly Scenario[] = [
  {
    id: 'fault-free',
    fault: 'none (reference, secure aggregation)',
    reference: true,
    secureAggregation: true,
    timeoutMs: 120_000,
    prepare: noFault,
  },
  {
    id: 'fault-free-sealed',
    fault: 'none (reference, sealed updates)',
    reference: true,
    secureAggregation: false,
    timeoutMs: 120_000,
    prepare: noFault,
  },
  aggregatorKill('aggregator-kill', true),
  aggregatorKill('aggregator-kill-sealed', false),
  aggregatorKill('aggregator-sigterm', true, 'SIGTERM'),
  trainerKill('trainer-kill', true),
  trainerKill('trainer-kill-sealed', false),
  {
    id: 'rabbitmq-restart',
    transient: true,
    fault: 'RabbitMQ restart',
    secureAggregation: true,
    timeoutMs: 180_000,
    prepare: async (context) => ({
      during: async () => {
        if (!(await context.randomMoment())) return;
        context.injected('RabbitMQ stop_app');
        const restart = await restartRabbit({ downMs: 2000, amqpUrl: context.amqpUrl, log: context.log });
        context.restored();
        context.log(`RabbitMQ back after ${restart.upAt - restart.stoppedAt} ms`);
      },
    }),
  },
  {
    id: 'redis-restart',
    transient: true,
    fault: 'Redis restart',
    secureAggregation: true,
    timeoutMs: 180_000,
    prepare: async (context) => ({
      during: async () => {
        if (!(await context.randomMoment())) return;
        context.injected('Redis SIGTERM');
        await context.redis.restart(1000);
        context.restored();
        context.log('Redis restarted (same port and data directory)');
      },
    }),
  },
  {
    id: 'duplicates',
    fault: 'duplicated + delayed messages',
    secureAggregation: true,
    timeoutMs: 120_000,
    prepare: async (context) => {
      const duplicator = await Duplicator.start({
        amqpUrl: context.amqpUrl,
        namespace: context.namespace,
        random: context.random,
      });
      context.injected('every hospital → aggregator frame copied once');
      return {
        finish: async () => {
          await duplicator.stop();
          return { copies: duplicator.injected };
        },
        cleanup: () => duplicator.stop(),
      };
    },
  },
  {
    id: 'hospital-down',
    fault: 'one hospital permanently down (h4)',
    secureAggregation: true,
    absent: ['h4'],
    spec: {
      minHospitals: 3,
      maxFailuresPerHospital: 2,
      roundTimeoutSeconds: 20,
      secureAggregation: { phaseTimeoutSeconds: 5 },
    },
    modelExpectation: 'h4 never trains',
    timeoutMs: 240_000,
    prepare: noFault,
  },
  {
    id: 'hospital-slow',
    fault: 'one hospital 10× slower (h1, the largest)',
    secureAggregation: true,
    spec: {
      minHospitals: 3,
      stragglerGraceSeconds: 0.5,
      maxFailuresPerHospital: 2,
      roundTimeoutSeconds: 60,
      secureAggregation: { phaseTimeoutSeconds: 20 },
    },
    modelExpectation: 'h1 late once the grace expires, then excluded',
    timeoutMs: 240_000,
    prepare: async (context) => {
      const trainer = context.federation.trainer('h1');
      trainer.throttle(10);
      context.injected('trainer h1 throttled to 1/10 of the CPU time (SIGSTOP/SIGCONT)');
      return { cleanup: async () => trainer.unthrottle() };
    },
  },
];

function reportedBy(record: ProgressRecord, hospital: string): boolean {
  return record.event.event === 'hospital.reported' && record.event.outcome.hospital === hospital;
}
