import { RedisBlobStore } from '@fedpet/shared/blob/redis-blob-store';
import { BufferPool } from '@fedpet/shared/codec/buffer-pool';
import { encodeMessage, formatIssues } from '@fedpet/shared/contracts/frame';
import {
  type ExperimentJob,
  type ExperimentResultRef,
  experimentJobSchema,
  type RoundJob,
} from '@fedpet/shared/contracts/jobs';
import type { NodeStatus } from '@fedpet/shared/contracts/messages';
import { EXPERIMENTS_QUEUE, queueOptions, trainQueueName } from '@fedpet/shared/jobs/queues';
import { createLogger, parseLogLevel } from '@fedpet/shared/log/logger';
import { modelSpecOf } from '@fedpet/shared/ml/plans/model-spec';
import { FrameVerifier } from '@fedpet/shared/security/frame-signing';
import { loadServiceKeys } from '@fedpet/shared/security/service-keys';
import { connectBrokers } from '@fedpet/shared/service/connect-brokers';
import { onShutdownSignal, runMain } from '@fedpet/shared/service/run-main';
import { injectTraceContext } from '@fedpet/shared/telemetry/propagation';
import { startTelemetry } from '@fedpet/shared/telemetry/sdk';
import { withConsumerSpan } from '@fedpet/shared/telemetry/spans';
import { consumeEnvelopes } from '@fedpet/shared/transport/consume';
import { SigningBus } from '@fedpet/shared/transport/signing-bus';
import { Topics } from '@fedpet/shared/transport/topics';
import { DelayedError, type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import { CheckpointStore } from './checkpoint-store.ts';
import { AGGREGATOR_HELP, readAggregatorConfig } from './config.ts';
import { runExperiment } from './experiment-runner.ts';
import { createGlobalModel } from './global-model.ts';
import { UpdateInbox } from './update-inbox.ts';

await runMain('fedpet-aggregator', async () => {
  const config = readAggregatorConfig(process.argv.slice(2), process.env);
  if (config === 'help') {
    process.stdout.write(AGGREGATOR_HELP + '\n');
    return 0;
  }
  const telemetry = startTelemetry('fedpet-aggregator');
  const logger = createLogger({ service: 'aggregator', level: parseLogLevel(config.logLevel) });
  const keys = await loadServiceKeys({
    identityPath: config.identityPath,
    federationKeysPath: config.federationKeysPath,
    role: 'aggregator',
    id: config.id,
  });
  for (const warning of keys.identity.warnings) logger.warn('identity key file', { warning });
  const {
    redis,
    bus: rawBus,
    stopWatching: stopRedisWatch,
  } = await connectBrokers(config, config.id, logger);
  // Everything the aggregator publishes is signed; hospital messages are verified before use.
  const bus = new SigningBus(rawBus, keys.identity.signingKey, { sender: config.id });
  const verifier = new FrameVerifier({ keyOf: (sender) => keys.federation.hospitals.get(sender) });
  /** Frames that failed decoding, by code (INVALID_MESSAGE, UNSUPPORTED_VERSION, …): results.json messageChecks. */
  const invalidFrames: Record<string, number> = {};
  const verified = {
    verifier,
    onInvalid: (code: string) => {
      invalidFrames[code] = (invalidFrames[code] ?? 0) + 1;
    },
  };
  const blobs = new RedisBlobStore(redis, { prefix: config.namespace });
  const checkpoints = new CheckpointStore(redis, config.namespace);
  const shutdown = new AbortController();
  const inbox = new UpdateInbox(logger, {
    signal: shutdown.signal,
    // After a restart, updates for the round being resumed wait for it rather than being dropped.
    willOpen: async (experimentId, round) => {
      const checkpoint = await checkpoints.load(experimentId).catch(() => undefined);
      if (checkpoint?.status !== 'running') return false;
      return round === (checkpoint.current?.round ?? checkpoint.rounds.length + 1);
    },
  });
  /** Latest heartbeat per hospital: what results.json reports about each site's worker. */
  const nodeStatus = new Map<string, NodeStatus>();
  /** Every worker's last heartbeat, per hospital: which of them have a GPU. */
  const workers = new Map<string, Map<string, { status: NodeStatus; at: number }>>();
  const updates = await consumeEnvelopes(
    bus,
    {
      name: `${config.id}.updates`,
      topics: [Topics.allUpdates, Topics.allErrors, Topics.allSecaggUp],
      // Each chunk waits on its Redis write before it is acknowledged: 16 in flight keeps memory down.
      prefetch: 16,
    },
    ['update', 'error', 'secagg'],
    logger,
    (message) => inbox.handle(message),
    verified,
  );
  const nodes = await consumeEnvelopes(
    bus,
    { name: `${config.id}.status`, topics: [Topics.allStatus], prefetch: 16 },
    ['node.status'],
    logger,
    async (message) => {
      const status = message.body as NodeStatus;
      nodeStatus.set(status.hospital, status);
      const known = workers.get(status.hospital) ?? new Map();
      if (status.state === 'stopping') known.delete(status.workerId);
      else known.set(status.workerId, { status, at: Date.now() });
      workers.set(status.hospital, known);
      logger.debug('node status', { status });
    },
    verified,
  );

  const trainQueues = new Map<string, Queue>();
  const trainQueue = (name: string): Queue => {
    let queue = trainQueues.get(name);
    if (!queue) {
      queue = new Queue(name, queueOptions(config.redisUrl, config.namespace));
      trainQueues.set(name, queue);
    }
    return queue;
  };
  const requiresGpu = (job: RoundJob) => job.plan.kind !== 'exact-cox' && modelSpecOf(job.plan).requiresGpu;
  const receiveBuffers = new BufferPool();

  const publish = async (topic: string, frame: Buffer) => {
    await bus.publish(topic, frame, injectTraceContext({}));
  };

  const processExperiment = async (job: Job, token?: string): Promise<ExperimentResultRef> => {
    const parsed = experimentJobSchema.safeParse(job.data);
    if (!parsed.success) {
      const reason = `experiment job ${job.id}: ${formatIssues(parsed.error.issues)}`;
      logger.error('invalid experiment job', { reason });
      throw new UnrecoverableError(reason);
    }
    const data: ExperimentJob = parsed.data;
    try {
      return await runExperimentJob(data);
    } catch (error) {
      if (!shutdown.signal.aborted) throw error;
      // Shutting down: the checkpoint is stored; hand the job back so the next aggregator resumes it.
      await job.moveToDelayed(Date.now() + 1000, token);
      throw new DelayedError();
    }
  };

  const runExperimentJob = (data: ExperimentJob): Promise<ExperimentResultRef> =>
    withConsumerSpan(
      'experiment.run',
      data.trace,
      { 'fedpet.experiment': data.experimentId, 'messaging.destination.name': EXPERIMENTS_QUEUE },
      () =>
        runExperiment(data, {
          sender: config.id,
          inbox,
          logger,
          signal: shutdown.signal,
          receiveBuffers,
          putBlob: (bytes) => blobs.put(bytes),
          getBlob: (ref) => blobs.get(ref),
          checkpoints,
          deadLetterUpdate: async (fields, hospital, code, reason) => {
            // The update's chunks were acknowledged when it was stored: a notice stands for it.
            const notice = encodeMessage('error', fields, { code, reason, retryable: false, hospital });
            await rawBus.deadLetter(
              {
                topic: Topics.update(fields.experimentId, hospital),
                body: notice,
                headers: {},
                redelivered: false,
              },
              `${code}: ${reason}`,
            );
          },
          enqueueRoundJob: async (roundJob: RoundJob, jobId: string) => {
            await trainQueue(trainQueueName(roundJob.hospital, { gpu: requiresGpu(roundJob) })).add(
              'round',
              roundJob,
              {
                jobId,
                attempts: 2,
                backoff: { type: 'exponential', delay: 1000 },
                removeOnComplete: { age: 24 * 3600, count: 1000 },
                removeOnFail: { age: 7 * 24 * 3600 },
              },
            );
          },
          discardRoundJob: async (hospital, jobId) => {
            for (const gpu of [false, true]) {
              const pending = await trainQueue(trainQueueName(hospital, { gpu })).getJob(jobId);
              if (pending && (await pending.isWaiting())) await pending.remove();
            }
          },
          publishProgress: (fields, progress) =>
            publish(Topics.progress(fields.experimentId), encodeMessage('progress', fields, progress)),
          announceModel: (fields, model, parameterCount) =>
            publish(
              Topics.model(fields.experimentId),
              encodeMessage('model.announcement', fields, { model, parameterCount }),
            ),
          createModel: (experiment) => createGlobalModel(experiment.spec.plan, experiment.spec.seed),
          security: {
            identityKeys: keys.federation.hospitals,
            sealingKey: keys.identity.sealingKey!,
            publishSecagg: (fields, hospital, body) =>
              publish(
                Topics.secaggDown(fields.experimentId, hospital),
                encodeMessage('secagg', fields, body),
              ),
            rejectedMessages: () => ({ ...verifier.counts(), ...invalidFrames }),
          },
          gpuWorkerKnown: (hospital) => {
            // Workers heard from in the last 5 minutes (heartbeats come every few seconds).
            const live = [...(workers.get(hospital)?.values() ?? [])].filter(
              (w) => Date.now() - w.at < 300_000,
            );
            if (live.length === 0) return undefined;
            return live.some((w) => w.status.capabilities.gpu.available);
          },
          describeHospital: (hospital) => {
            const status = nodeStatus.get(hospital);
            return status
              ? {
                  backend: status.capabilities.backend,
                  gpu: status.capabilities.gpu,
                  workerId: status.workerId,
                }
              : undefined;
          },
        }),
    );

  const worker = new Worker(EXPERIMENTS_QUEUE, processExperiment, {
    ...queueOptions(config.redisUrl, config.namespace),
    concurrency: config.concurrency,
    // A killed aggregator's experiment is handed to the next one within ~15 s (lock expiry plus
    // the stalled check); it resumes from its checkpoint however often that happens.
    lockDuration: 10_000,
    stalledInterval: 5_000,
    maxStalledCount: 1000,
    // After a Redis restart the blocking wait can miss the new-job signal: poll every second.
    drainDelay: 1,
  });
  worker.on('failed', (job, error) => logger.error('experiment job failed', { jobId: job?.id, error }));
  worker.on('error', (error) => logger.warn('experiment worker error', { error }));
  await worker.waitUntilReady();
  logger.info('aggregator ready', {
    pid: process.pid,
    bus: bus.kind,
    namespace: config.namespace,
    tracing: telemetry.exporting ? telemetry.endpoint : 'off',
  });

  await onShutdownSignal(async (signal) => {
    logger.info('shutting down', { signal });
    shutdown.abort();
    // Consumers first: a message still waiting for a round goes back to the queue, not to us again.
    await Promise.all([updates.close(), nodes.close()]);
    await worker.close();
    await Promise.all([...trainQueues.values()].map((queue) => queue.close()));
    await bus.close();
    stopRedisWatch();
    redis.disconnect();
    await telemetry.shutdown();
  });
  return 0;
});
