import { parseArgs } from 'node:util';
import { RedisBlobStore } from '@fedpet/shared/blob/redis-blob-store';
import { ConfigReader, readCommonConfig } from '@fedpet/shared/config/env-reader';
import type { ExperimentSpec } from '@fedpet/shared/contracts/experiment-spec';
import type { ExperimentJob } from '@fedpet/shared/contracts/jobs';
import { loadExperimentSpec } from '@fedpet/shared/contracts/spec-loader';
import { ErrorCodes, FedpetError } from '@fedpet/shared/errors/fedpet-error';
import { EXPERIMENTS_QUEUE, openQueue } from '@fedpet/shared/jobs/queues';
import { createLogger, parseLogLevel } from '@fedpet/shared/log/logger';
import { connectRedis } from '@fedpet/shared/service/connect-redis';
import { runMain } from '@fedpet/shared/service/run-main';
import { startTelemetry } from '@fedpet/shared/telemetry/sdk';
import { createBus } from '@fedpet/shared/transport/create-bus';
import { runCompare } from './compare/compare-command.ts';
import { commandHelp, HELP } from './help.ts';
import { runKeysCommand } from './keys-command.ts';
import { createProgressView } from './progress-view.ts';
import { watchProgress } from './progress-watch.ts';
import { writeResults } from './results-writer.ts';
import { runSandbox } from './sandbox.ts';
import { newExperimentId, submitExperiment } from './submit.ts';
import { printSummary } from './summary.ts';
import { writeSyntheticFederation } from './synth.ts';
import { writeSyntheticPetCtFederation } from './synth-pet-ct.ts';

const connectionOptions = {
  bus: { type: 'string' },
  redis: { type: 'string' },
  namespace: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** What sandbox and compare both take: a federation, an experiment, an output folder. */
const federationRunOptions = {
  ...connectionOptions,
  federation: { type: 'string' },
  experiment: { type: 'string' },
  out: { type: 'string' },
  'ready-timeout': { type: 'string', default: '90' },
} as const;

/** The parts of SandboxOptions and CompareOptions read from those flags. */
function federationRun(
  command: string,
  values: { federation?: string; experiment?: string; out?: string; 'ready-timeout': string } & Parameters<
    typeof common
  >[0],
) {
  return {
    federationPath: required(values.federation, '--federation', command),
    experimentPath: required(values.experiment, '--experiment', command),
    outDirectory: required(values.out, '--out', command),
    readyTimeoutMs: Number(values['ready-timeout']) * 1000,
    common: common(values),
  };
}

await runMain('fedpet', async () => {
  const [command, ...rest] = process.argv.slice(2);
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  const help = commandHelp(command);
  if (!help)
    throw new FedpetError(ErrorCodes.invalidConfig, `unknown command "${command}" (see fedpet --help)`);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(help + '\n');
    return 0;
  }
  const telemetry = startTelemetry('fedpet-researcher');
  const logger = createLogger({
    service: 'researcher',
    level: parseLogLevel(process.env.FEDPET_LOG_LEVEL ?? 'warn'),
  });
  const interrupt = new AbortController();
  const onSignal = () => interrupt.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    switch (command) {
      case 'compare':
        return await compare(rest, logger, interrupt.signal);
      case 'sandbox':
        return await sandbox(rest, logger, interrupt.signal);
      case 'submit':
        return await submit(rest, logger, interrupt.signal);
      case 'results':
        return await results(rest);
      case 'resume':
        return await resume(rest, logger, interrupt.signal);
      case 'synth':
        return await synth(rest);
      case 'keys':
        return await runKeysCommand(rest);
      default:
        return 2;
    }
  } finally {
    await telemetry.shutdown();
  }
});

function common(values: { bus?: string; redis?: string; namespace?: string }) {
  const reader = new ConfigReader(process.env);
  const config = readCommonConfig(reader, values);
  reader.done();
  return config;
}

function required(value: string | undefined, flag: string, command: string): string {
  if (!value)
    throw new FedpetError(
      ErrorCodes.invalidConfig,
      `${command}: ${flag} is required (see fedpet ${command} --help)`,
    );
  return value;
}

async function compare(
  args: string[],
  logger: ReturnType<typeof createLogger>,
  signal: AbortSignal,
): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { ...federationRunOptions, 'ground-truth': { type: 'string' } },
    strict: true,
  });
  return runCompare({
    ...federationRun('compare', values),
    groundTruthPath: values['ground-truth'],
    logger,
    signal,
  });
}

async function sandbox(
  args: string[],
  logger: ReturnType<typeof createLogger>,
  signal: AbortSignal,
): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { ...federationRunOptions, 'no-secure-aggregation': { type: 'boolean' } },
    strict: true,
  });
  return runSandbox({
    ...federationRun('sandbox', values),
    namespace: values.namespace,
    ...(values['no-secure-aggregation'] ? { secureAggregation: false } : {}),
    logger,
    signal,
  });
}

async function submit(
  args: string[],
  logger: ReturnType<typeof createLogger>,
  signal: AbortSignal,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { ...connectionOptions, watch: { type: 'boolean' }, out: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  const specPath = required(positionals[0], '<experiment.yaml>', 'submit');
  const spec = await loadExperimentSpec(specPath);
  return postExperiment(spec, undefined, values, logger, signal);
}

/**
 * fedpet resume <experiment-id> --from-round N: a new experiment that starts
 * from the global model the earlier one had after round N (its checkpoint in
 * Redis), with the same spec (or more rounds).
 */
async function resume(
  args: string[],
  logger: ReturnType<typeof createLogger>,
  signal: AbortSignal,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      ...connectionOptions,
      'from-round': { type: 'string' },
      rounds: { type: 'string' },
      watch: { type: 'boolean' },
      out: { type: 'string' },
    },
    allowPositionals: true,
    strict: true,
  });
  const sourceId = required(positionals[0], '<experiment-id>', 'resume');
  const fromRound = wholeNumber(required(values['from-round'], '--from-round', 'resume'), '--from-round');
  const config = common(values);
  const queue = openQueue(EXPERIMENTS_QUEUE, config.redisUrl, config.namespace);
  const redis = await connectRedis(config.redisUrl);
  let spec: ExperimentSpec;
  try {
    const job = await queue.getJob(sourceId);
    const raw = await redis.get(`${config.namespace}:checkpoint:${sourceId}`);
    if (!job || raw === null) {
      throw new FedpetError(
        ErrorCodes.invalidConfig,
        `resume: no stored experiment "${sourceId}" in namespace ${config.namespace}`,
      );
    }
    const stored = (JSON.parse(raw) as { models: unknown[] }).models.length - 1;
    if (fromRound > stored) {
      throw new FedpetError(
        ErrorCodes.invalidConfig,
        `resume: ${sourceId} has stored models up to round ${stored}; --from-round ${fromRound} is past them`,
      );
    }
    spec = (job.data as ExperimentJob).spec;
  } finally {
    await queue.close();
    redis.disconnect();
  }
  const rounds = values.rounds === undefined ? spec.rounds : wholeNumber(values.rounds, '--rounds');
  if (rounds < fromRound) {
    throw new FedpetError(
      ErrorCodes.invalidConfig,
      `resume: --rounds ${rounds} is below --from-round ${fromRound}`,
    );
  }
  return postExperiment(
    { ...spec, rounds },
    { experimentId: sourceId, round: fromRound },
    values,
    logger,
    signal,
  );
}

function wholeNumber(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new FedpetError(ErrorCodes.invalidConfig, `${flag} must be a whole number, got "${text}"`);
  }
  return value;
}

/** Posts an experiment job; with --watch or --out follows it to the end and writes its results. */
async function postExperiment(
  spec: ExperimentSpec,
  resumeFrom: ExperimentJob['resumeFrom'],
  values: { bus?: string; redis?: string; namespace?: string; watch?: boolean; out?: string },
  logger: ReturnType<typeof createLogger>,
  signal: AbortSignal,
): Promise<number> {
  const config = common(values);
  const experimentId = newExperimentId(spec);
  const queue = openQueue(EXPERIMENTS_QUEUE, config.redisUrl, config.namespace);
  const redis = await connectRedis(config.redisUrl);
  const watching = values.watch || values.out !== undefined;
  const bus = watching
    ? await createBus(config.busUrl, { namespace: config.namespace, clientName: 'researcher' })
    : undefined;
  try {
    const view = createProgressView(process.stdout, experimentId, spec.hospitals, spec.rounds);
    const watch = bus
      ? await watchProgress(bus, experimentId, logger, (event, round) => view.show(event, round))
      : undefined;
    await submitExperiment(queue, spec, experimentId, resumeFrom);
    if (resumeFrom)
      process.stdout.write(`resuming ${resumeFrom.experimentId} from round ${resumeFrom.round} as: `);
    process.stdout.write(`${experimentId}\n`);
    if (!watch) return 0;
    try {
      const aborted = new Promise<'aborted'>((resolve) =>
        signal.addEventListener('abort', () => resolve('aborted')),
      );
      const end = await Promise.race([watch.ended, aborted]);
      view.close();
      if (end === 'aborted') return 130;
      if (end.status === 'failed') return 1;
      if (values.out) {
        const written = await writeResults(
          new RedisBlobStore(redis, { prefix: config.namespace }),
          end.event.results,
          values.out,
        );
        printSummary(process.stdout, written.results);
        process.stdout.write(`results: ${written.resultsPath}\nmodel:   ${written.modelDirectory}\n`);
      }
      return 0;
    } finally {
      await watch.close();
    }
  } finally {
    await queue.close();
    await bus?.close();
    redis.disconnect();
  }
}

async function results(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { ...connectionOptions, out: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  const experimentId = required(positionals[0], '<experiment-id>', 'results');
  const outDirectory = required(values.out, '--out', 'results');
  const config = common(values);
  const queue = openQueue(EXPERIMENTS_QUEUE, config.redisUrl, config.namespace);
  const redis = await connectRedis(config.redisUrl);
  try {
    const job = await queue.getJob(experimentId);
    if (!job)
      throw new FedpetError(
        ErrorCodes.invalidConfig,
        `no experiment "${experimentId}" in namespace ${config.namespace}`,
      );
    const state = await job.getState();
    const ref = job.returnvalue?.results;
    if (!ref) {
      process.stdout.write(
        `${experimentId} is ${state}${job.failedReason ? `: ${job.failedReason}` : ''}; no results yet\n`,
      );
      return state === 'failed' ? 1 : 3;
    }
    const written = await writeResults(
      new RedisBlobStore(redis, { prefix: config.namespace }),
      ref,
      outDirectory,
    );
    printSummary(process.stdout, written.results);
    process.stdout.write(`results: ${written.resultsPath}\n`);
    if (written.modelDirectory) process.stdout.write(`model:   ${written.modelDirectory}\n`);
    return written.results.status === 'completed' ? 0 : 1;
  } finally {
    await queue.close();
    redis.disconnect();
  }
}

async function synth(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      kind: { type: 'string', default: 'pet-ct' },
      out: { type: 'string' },
      hospitals: { type: 'string', default: 'h1,h2,h3' },
      patients: { type: 'string', default: '30-60' },
      'pet-matrix': { type: 'string' },
      'slice-mm': { type: 'string' },
      rows: { type: 'string', default: '400,250,150' },
      features: { type: 'string', default: '8' },
      seed: { type: 'string', default: '7' },
      shift: { type: 'string', default: '1' },
    },
    strict: true,
  });
  const integer = (text: string, flag: string, min = 0) => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < min)
      throw new FedpetError(
        ErrorCodes.invalidConfig,
        `synth: ${flag} "${text}" must be an integer of at least ${min}`,
      );
    return value;
  };
  // --hospitals 4 means h1..h4; otherwise a comma-separated list of ids.
  const hospitals = /^\d+$/.test(values.hospitals.trim())
    ? Array.from({ length: integer(values.hospitals.trim(), '--hospitals', 1) }, (_, i) => `h${i + 1}`)
    : values.hospitals.split(',').map((hospital) => hospital.trim());
  const outDirectory = required(values.out, '--out', 'synth');
  const seed = integer(values.seed, '--seed');
  if (values.kind === 'pet-ct') {
    const range = /^(\d+)-(\d+)$/.exec(values.patients.trim());
    let patients: { counts: number[] } | { range: [number, number] };
    if (range) {
      const low = integer(range[1]!, '--patients', 1);
      const high = integer(range[2]!, '--patients', 1);
      if (high < low)
        throw new FedpetError(
          ErrorCodes.invalidConfig,
          `synth: --patients range "${values.patients}" is reversed`,
        );
      patients = { range: [low, high] };
    } else {
      const counts = values.patients.split(',').map((text) => integer(text.trim(), '--patients', 1));
      if (counts.length !== 1 && counts.length !== hospitals.length) {
        throw new FedpetError(
          ErrorCodes.invalidConfig,
          `synth: --patients has ${counts.length} values for ${hospitals.length} hospitals`,
        );
      }
      patients = { counts };
    }
    const grid = {
      ...(values['pet-matrix'] ? { petMatrix: integer(values['pet-matrix'], '--pet-matrix', 8) } : {}),
      ...(values['slice-mm'] ? { sliceThicknessMm: integer(values['slice-mm'], '--slice-mm', 1) } : {}),
    };
    const live = process.stderr.isTTY === true;
    let lastPlain = 0;
    const { federationPath, summary } = await writeSyntheticPetCtFederation({
      outDirectory,
      hospitals,
      patients,
      seed,
      ...(Object.keys(grid).length > 0 ? { grid } : {}),
      onProgress: (line, last) => {
        if (live) process.stderr.write(`\r\x1b[2K${line}${last ? '\n' : ''}`);
        else if (last || Date.now() - lastPlain > 5000) {
          lastPlain = Date.now();
          process.stderr.write(`${line}\n`);
        }
      },
    });
    for (const hospital of summary.hospitals) {
      process.stdout.write(
        `  ${hospital.hospital}: ${hospital.patients} patients (${hospital.events} progression events), ${hospital.vendor}, ${hospital.files} DICOM files, ${(hospital.bytes / 1e6).toFixed(1)} MB\n`,
      );
    }
    process.stdout.write(
      `wrote ${summary.patients} patients' PET-CT, ${federationPath} and ${summary.groundTruthFile} (never given to trainers)\n`,
    );
    return 0;
  }
  if (values.kind !== 'tabular') {
    throw new FedpetError(
      ErrorCodes.invalidConfig,
      `synth: --kind must be pet-ct or tabular, not "${values.kind}"`,
    );
  }
  const rows = values.rows.split(',').map((text) => integer(text, '--rows'));
  if (rows.length !== 1 && rows.length !== hospitals.length) {
    throw new FedpetError(
      ErrorCodes.invalidConfig,
      `synth: --rows has ${rows.length} values for ${hospitals.length} hospitals`,
    );
  }
  const written = await writeSyntheticFederation({
    outDirectory,
    hospitals,
    rows,
    features: integer(values.features, '--features'),
    seed,
    shift: Number(values.shift),
  });
  process.stdout.write(`wrote ${written.files.length} hospital datasets and ${written.federationPath}\n`);
  return 0;
}
