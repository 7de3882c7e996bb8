import { hostname } from 'node:os';
import { RedisBlobStore } from '@fedpet/shared/blob/redis-blob-store';
import { encodeMessage, formatIssues } from '@fedpet/shared/contracts/frame';
import { roundJobSchema } from '@fedpet/shared/contracts/jobs';
import type { SecaggBody } from '@fedpet/shared/contracts/messages';
import { describeError, ErrorCodes, FedpetError } from '@fedpet/shared/errors/fedpet-error';
import { queueOptions, trainQueueName } from '@fedpet/shared/jobs/queues';
import { createLogger, parseLogLevel } from '@fedpet/shared/log/logger';
import { selectBackend } from '@fedpet/shared/ml/backend';
import { FrameVerifier } from '@fedpet/shared/security/frame-signing';
import { loadServiceKeys } from '@fedpet/shared/security/service-keys';
import { connectBrokers } from '@fedpet/shared/service/connect-brokers';
import { onShutdownSignal, runMain } from '@fedpet/shared/service/run-main';
import { startTelemetry } from '@fedpet/shared/telemetry/sdk';
import { withConsumerSpan } from '@fedpet/shared/telemetry/spans';
import { consumeEnvelopes } from '@fedpet/shared/transport/consume';
import { SigningBus } from '@fedpet/shared/transport/signing-bus';
import { Topics } from '@fedpet/shared/transport/topics';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import { readTrainerConfig, TRAINER_HELP } from './config.ts';
import { handleCoxJob } from './cox-handler.ts';
import { DatasetRegistry } from './dataset-registry.ts';
import { startHeartbeat } from './heartbeat.ts';
import { createLocalTrainer, resolveTrainThreads } from './local-trainer.ts';
import { RegistryStore } from './registry/registry-store.ts';
import { handleRoundJob } from './round-handler.ts';
import { SecaggMailbox } from './secagg-mailbox.ts';
import { deliverUpdate } from './update-protection.ts';

const SOFTWARE_VERSION = '0.1.0';

await runMain('fedpet-trainer', async () => {
  const config = readTrainerConfig(process.argv.slice(2), process.env);
  if (config === 'help') {
    process.stdout.write(TRAINER_HELP + '\n');
    return 0;
  }
  const telemetry = startTelemetry(`fedpet-trainer-${config.hospital}`);
  const workerId = `${config.hospital}-${hostname()}-${process.pid}`;
  const logger = createLogger(
    { service: 'trainer', level: parseLogLevel(config.logLevel) },
    { hospital: config.hospital, workerId },
  );
  // Local checks first, cheapest first: a wrong key file or a missing dataset is reported
  // before any dataset is preprocessed or any broker is touched.
  const keys = await loadServiceKeys({
    identityPath: config.identityPath,
    federationKeysPath: config.federationKeysPath,
    role: 'hospital',
    id: config.hospital,
  });
  for (const warning of keys.identity.warnings) logger.warn('identity key file', { warning });
  const datasets = await DatasetRegistry.open(config.datasets, {
    store: new RegistryStore(config.dataDirectory),
    logger,
  });
  if (datasets.size === 0) {
    throw new FedpetError(
      ErrorCodes.invalidConfig,
      `no datasets: register one (fedpet-trainer dataset add --data-dir ${config.dataDirectory} ...) or pass --dataset <name>=<file.csv>`,
    );
  }
  const backend = await selectBackend(config.backend);
  logger.info('backend selected', { backend: backend.name, gpu: backend.gpu, notes: backend.notes });
  const localTrainer = createLocalTrainer(resolveTrainThreads(config.trainThreads), backend, logger, {
    minForwardFlops: config.trainThreadsMinMflop * 1e6,
  });

  const { redis, bus: rawBus, stopWatching: stopRedisWatch } = await connectBrokers(config, workerId, logger);
  // Every message this hospital sends is signed; only the aggregator's messages are accepted.
  const bus = new SigningBus(rawBus, keys.identity.signingKey, { sender: config.hospital });
  const verifier = new FrameVerifier({
    keyOf: (sender) =>
      sender === keys.federation.aggregator.id ? keys.federation.aggregator.signing : undefined,
  });
  const mailbox = new SecaggMailbox(config.hospital);
  const secaggSubscription = `${workerId}.secagg`;
  const secaggMessages = await consumeEnvelopes(
    bus,
    { name: secaggSubscription, topics: [Topics.secaggDownFor(config.hospital)], prefetch: 64 },
    ['secagg'],
    logger,
    async (message) => {
      mailbox.deliver(
        message.header.experimentId,
        message.header.round,
        message.body as SecaggBody,
        message.header.attempt ?? 0,
      );
    },
    { verifier },
  );
  const blobs = new RedisBlobStore(redis, { prefix: config.namespace });
  const shutdown = new AbortController();
  const heartbeat = startHeartbeat({
    bus,
    hospital: config.hospital,
    workerId,
    backend,
    trainThreads: localTrainer.threads,
    datasets,
    intervalSeconds: config.heartbeatSeconds,
    softwareVersion: SOFTWARE_VERSION,
    logger,
  });
  let active = 0;

  const processRoundJob = async (
    job: Job,
  ): Promise<{ updateId?: string; chunks?: number; error?: string }> => {
    const parsed = roundJobSchema.safeParse(job.data);
    if (!parsed.success) {
      const reason = `round job ${job.id}: ${formatIssues(parsed.error.issues)}`;
      logger.error('invalid round job', { reason });
      throw new UnrecoverableError(reason);
    }
    const roundJob = parsed.data;
    const fields = {
      experimentId: roundJob.experimentId,
      round: roundJob.round,
      attempt: roundJob.attempt,
      sender: config.hospital,
    };
    if (++active === 1) await heartbeat.setState('busy');
    try {
      return await withConsumerSpan(
        'round.train',
        roundJob.trace,
        {
          'fedpet.experiment': roundJob.experimentId,
          'fedpet.round': roundJob.round,
          'fedpet.hospital': config.hospital,
          'fedpet.round.kind': roundJob.kind,
        },
        async () => {
          try {
            // Training runs in this span (round.train); each publish gets its own update.publish span.
            const sent = await deliverUpdate(
              roundJob,
              fields,
              () =>
                roundJob.kind === 'cox'
                  ? handleCoxJob(roundJob, datasets)
                  : handleRoundJob(roundJob, {
                      hospital: config.hospital,
                      backend,
                      datasets,
                      logger,
                      signal: shutdown.signal,
                      getBlob: (ref) => blobs.get(ref),
                      train: localTrainer.train,
                      trainThreads: localTrainer.threads,
                    }),
              {
                bus,
                hospital: config.hospital,
                identityKey: keys.identity.signingKey,
                identityKeys: keys.federation.hospitals,
                aggregator: {
                  id: keys.federation.aggregator.id,
                  sealingKey: keys.federation.aggregator.sealing,
                },
                mailbox,
                requireSecureAggregation: config.requireSecureAggregation,
                logger,
                signal: shutdown.signal,
              },
            );
            logger.info('update published', {
              experimentId: roundJob.experimentId,
              round: roundJob.round,
              kind: roundJob.kind,
              protection: sent.protection,
              chunks: sent.chunks,
              ...(sent.survivor === undefined ? {} : { survivor: sent.survivor }),
            });
            return { updateId: sent.updateId, chunks: sent.chunks };
          } catch (error) {
            const { code, reason, retryable } = describeError(error);
            logger.error('round job failed', {
              experimentId: roundJob.experimentId,
              round: roundJob.round,
              code,
              reason,
            });
            const finalAttempt = !retryable || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
            if (finalAttempt) {
              // Tell the aggregator now rather than letting it wait for the deadline.
              await bus
                .publish(
                  Topics.error(roundJob.experimentId, config.hospital),
                  encodeMessage('error', fields, { code, reason, retryable, hospital: config.hospital }),
                )
                .catch((publishError: unknown) =>
                  logger.warn('could not publish error reply', { error: publishError }),
                );
            }
            if (!retryable) throw new UnrecoverableError(`${code}: ${reason}`);
            throw error;
          }
        },
      );
    } finally {
      if (--active === 0 && !shutdown.signal.aborted) await heartbeat.setState('ready');
    }
  };

  // Every worker pulls the hospital's queue; a GPU worker also pulls the jobs that need a GPU.
  const queues = [
    trainQueueName(config.hospital),
    ...(backend.gpu.available ? [trainQueueName(config.hospital, { gpu: true })] : []),
  ];
  const roundWorkers = queues.map((queue) => {
    const worker = new Worker(queue, processRoundJob, {
      ...queueOptions(config.redisUrl, config.namespace),
      concurrency: config.workers,
      // A killed worker's job is handed to another worker (or this one, restarted) within ~20 s.
      // The lock is renewed every 7.5 s; training steps take seconds on wasm. A step blocking the
      // event loop past 15 s would let the job run twice: the second update is ignored as a duplicate.
      lockDuration: 15_000,
      stalledInterval: 5_000,
      // After a Redis restart the worker's blocking wait can miss the new-job signal: poll every second.
      drainDelay: 1,
    });
    worker.on('error', (error) => logger.warn('round worker error', { error, queue }));
    return worker;
  });
  await Promise.all(roundWorkers.map((worker) => worker.waitUntilReady()));
  logger.info('trainer ready', {
    queues,
    bus: bus.kind,
    trainThreads: localTrainer.threads,
    datasets: datasets.summary(),
    tracing: telemetry.exporting ? telemetry.endpoint : 'off',
  });

  await onShutdownSignal(async (signal) => {
    logger.info('shutting down: finishing the job in hand', { signal });
    await heartbeat.setState('stopping');
    heartbeat.stop();
    await Promise.all(roundWorkers.map((worker) => worker.close()));
    shutdown.abort();
    await localTrainer.close();
    await secaggMessages.close();
    await bus.deleteSubscription(secaggSubscription).catch(() => {});
    await bus.close();
    stopRedisWatch();
    redis.disconnect();
    await telemetry.shutdown();
  });
  return 0;
});
