import { parseArgs } from 'node:util';
import { RedisBlobStore } from '@fedpet/shared/blob/redis-blob-store';
import { ConfigReader, readCommonConfig } from '@fedpet/shared/config/env-reader';
import { loadExperimentSpec } from '@fedpet/shared/contracts/spec-loader';
import { ErrorCodes, FedpetError } from '@fedpet/shared/errors/fedpet-error';
import { EXPERIMENTS_QUEUE, openQueue } from '@fedpet/shared/jobs/queues';
import { createLogger, parseLogLevel } from '@fedpet/shared/log/logger';
import { connectRedis } from '@fedpet/shared/service/connect-redis';
import { runMain } from '@fedpet/shared/service/run-main';
import { startTelemetry } from '@fedpet/shared/telemetry/sdk';
import { createBus } from '@fedpet/shared/transport/create-bus';
import { commandHelp, HELP } from './help.ts';
import { createProgressView } from './progress-view.ts';
import { watchProgress } from './progress-watch.ts';
import { writeResults } from './results-writer.ts';
import { runSandbox } from './sandbox.ts';
import { newExperimentId, submitExperiment } from './submit.ts';
import { printSummary } from './summary.ts';
import { writeSyntheticFederation } from './synth.ts';

const connectionOptions = {
  bus: { type: 'string' },
  redis: { type: 'string' },
  namespace: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

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
      case 'sandbox':
        return await sandbox(rest, logger, interrupt.signal);
      case 'submit':
        return await submit(rest, logger, interrupt.signal);
      case 'results':
        return await results(rest);
      case 'synth':
        return await synth(rest);
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

async function sandbox(
  args: string[],
  logger: ReturnType<typeof createLogger>,
  signal: AbortSignal,
): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...connectionOptions,
      federation: { type: 'string' },
      experiment: { type: 'string' },
      out: { type: 'string' },
      'ready-timeout': { type: 'string', default: '90' },
    },
    strict: true,
  });
  return runSandbox({
    federationPath: required(values.federation, '--federation', 'sandbox'),
    experimentPath: required(values.experiment, '--experiment', 'sandbox'),
    outDirectory: required(values.out, '--out', 'sandbox'),
    namespace: values.namespace,
    readyTimeoutMs: Number(values['ready-timeout']) * 1000,
    common: common(values),
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
    await submitExperiment(queue, spec, experimentId);
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
      out: { type: 'string' },
      hospitals: { type: 'string', default: 'h1,h2,h3' },
      rows: { type: 'string', default: '400,250,150' },
      features: { type: 'string', default: '8' },
      seed: { type: 'string', default: '7' },
      shift: { type: 'string', default: '1' },
    },
    strict: true,
  });
  const integer = (text: string, flag: string) => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 0)
      throw new FedpetError(
        ErrorCodes.invalidConfig,
        `synth: ${flag} "${text}" must be a non-negative integer`,
      );
    return value;
  };
  const hospitals = values.hospitals.split(',').map((hospital) => hospital.trim());
  const rows = values.rows.split(',').map((text) => integer(text, '--rows'));
  if (rows.length !== 1 && rows.length !== hospitals.length) {
    throw new FedpetError(
      ErrorCodes.invalidConfig,
      `synth: --rows has ${rows.length} values for ${hospitals.length} hospitals`,
    );
  }
  const written = await writeSyntheticFederation({
    outDirectory: required(values.out, '--out', 'synth'),
    hospitals,
    rows,
    features: integer(values.features, '--features'),
    seed: integer(values.seed, '--seed'),
    shift: Number(values.shift),
  });
  process.stdout.write(`wrote ${written.files.length} hospital datasets and ${written.federationPath}\n`);
  return 0;
}
