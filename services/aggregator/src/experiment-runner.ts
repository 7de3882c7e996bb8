import type { KeyObject } from 'node:crypto';
import type { BufferPool } from '@fedpet/shared/codec/buffer-pool';
import { decodeFlat } from '@fedpet/shared/codec/tensor-codec';
import type { BlobRef } from '@fedpet/shared/contracts/common';
import type { EnvelopeFields } from '@fedpet/shared/contracts/frame';
import type { ExperimentJob, ExperimentResultRef, RoundJobInput } from '@fedpet/shared/contracts/jobs';
import type { HospitalOutcome, Progress, SecaggBody } from '@fedpet/shared/contracts/messages';
import { PROTOCOL_VERSION } from '@fedpet/shared/contracts/version';
import { describeError, ErrorCodes, FedpetError } from '@fedpet/shared/errors/fedpet-error';
import { trainQueueName } from '@fedpet/shared/jobs/queues';
import type { Logger } from '@fedpet/shared/log/logger';
import { modelSpecOf } from '@fedpet/shared/ml/plans/model-spec';
import { fixedPointOf, updateProtectionFor } from '@fedpet/shared/secagg/round-parameters';
import { openSealed } from '@fedpet/shared/secagg/sealed-box';
import { SecaggServer, type SecureAggregate } from '@fedpet/shared/secagg/server-round';
import { injectTraceContext } from '@fedpet/shared/telemetry/propagation';
import { withSpan } from '@fedpet/shared/telemetry/spans';
import { SpanKind } from '@opentelemetry/api';
import { type CheckpointStore, type ExperimentCheckpoint, emptyCounters } from './checkpoint-store.ts';
import { combineMetrics } from './combine-metrics.ts';
import { runExactCoxExperiment } from './exact-cox-runner.ts';
import type { GlobalModel } from './global-model.ts';
import { type CollectorCounters, RoundCollector, type RoundReport } from './round-collector.ts';
import { collectSecureRound, SecureRound } from './secure-round.ts';
import type { UpdateInbox } from './update-inbox.ts';

export interface RunnerDeps {
  sender: string;
  inbox: UpdateInbox;
  logger: Logger;
  putBlob(bytes: Uint8Array): Promise<BlobRef>;
  getBlob(ref: BlobRef): Promise<Uint8Array>;
  /** Where experiment state is checkpointed after each step (Redis). */
  checkpoints: CheckpointStore;
  /** Records a rejected update in the dead-letter queue (its chunks were already acknowledged). */
  deadLetterUpdate(fields: EnvelopeFields, hospital: string, code: string, reason: string): Promise<void>;
  enqueueRoundJob(job: RoundJobInput, jobId: string): Promise<void>;
  /** Drops a round job nobody picked up before the round closed. */
  discardRoundJob(hospital: string, jobId: string): Promise<void>;
  publishProgress(fields: EnvelopeFields, progress: Progress): Promise<void>;
  announceModel(fields: EnvelopeFields, model: BlobRef, parameterCount: number): Promise<void>;
  createModel(job: ExperimentJob): Promise<GlobalModel>;
  /** The hospital's worker as its last heartbeat described it (backend, GPU), if one arrived. */
  describeHospital(hospital: string): HospitalWorker | undefined;
  /** Whether a live worker of the hospital has a GPU: undefined when none has reported yet. */
  gpuWorkerKnown(hospital: string): boolean | undefined;
  signal: AbortSignal;
  /** Update receive buffers, reused from round to round. */
  receiveBuffers: BufferPool;
  security: RunnerSecurity;
}

/** What the runner needs to protect updates (keys from the federation key files). */
export interface RunnerSecurity {
  /** Ed25519 public keys of the hospitals (secure aggregation verifies key advertisements with them). */
  identityKeys: ReadonlyMap<string, KeyObject>;
  /** The aggregator's X25519 private key: opens updates sealed to it when secure aggregation is off. */
  sealingKey: KeyObject;
  /** Publishes a secure-aggregation message to one hospital (signed by the aggregator). */
  publishSecagg(fields: EnvelopeFields, hospital: string, body: SecaggBody): Promise<void>;
  /** Messages accepted and rejected by signature and replay checks since start, by reason. */
  rejectedMessages(): Record<string, number>;
}

export interface HospitalWorker {
  backend: string;
  gpu: { available: boolean; device?: string | undefined };
  workerId: string;
}

export interface RoundRecord {
  round: number;
  kind: 'train' | 'evaluate';
  /** Above 0 when the round was restarted after an aggregator crash. */
  attempt?: number;
  startedAt: string;
  /** Everyone answered, quorum plus grace, or the deadline. */
  closedBy?: 'all-answered' | 'grace' | 'deadline';
  durationMs: number;
  model: BlobRef;
  hospitals: HospitalOutcome[];
  metrics: Record<string, number>;
  samples: number;
  /** Training rounds: how updates were protected, and what secure aggregation saw. */
  protection?: RoundProtectionRecord;
}

export interface RoundProtectionRecord {
  mode: 'secagg' | 'sealed';
  reason: string;
  survivors?: string[];
  dropped?: string[];
  /** Values clipped to ±clip, summed over the survivors (no hospital's own count is known). */
  clippedValues?: number;
  /** Largest absolute quantisation error of the averaged parameters. */
  errorBound?: number;
  phasesMs?: Record<string, number>;
}

/**
 * Runs one experiment: `rounds` training rounds of FedAvg followed by one
 * evaluation round of the final model, then stores results.json and the
 * model (tfjs format) as content-addressed blobs.
 *
 * State is checkpointed in Redis after each step (round opened, update
 * stored, round closed, model stored). When a restarted aggregator gets the
 * same experiment job again (BullMQ hands a stalled job to the next worker),
 * it resumes at the round it was in: updates already stored are kept, the
 * other hospitals are asked again under a new attempt number, and nothing is
 * counted twice. A job for an experiment that already ended returns its
 * stored result.
 */
export async function runExperiment(job: ExperimentJob, deps: RunnerDeps): Promise<ExperimentResultRef> {
  if (job.spec.plan.kind === 'exact-cox') return runExactCoxExperiment(job, deps);
  const { spec, experimentId } = job;
  const fields = (round: number): EnvelopeFields => ({ experimentId, round, sender: deps.sender });
  const logger = deps.logger.child({ experimentId });
  const stored = await deps.checkpoints.load(experimentId);
  if (stored?.result) {
    logger.info('experiment already ended: returning its stored result', { status: stored.status });
    return stored.result;
  }
  const model = await deps.createModel(job);
  try {
    const checkpoint = stored ?? (await startCheckpoint(job, model, deps));
    if (stored) {
      checkpoint.resumes++;
      model.replace(decodeFlat(await deps.getBlob(checkpoint.models.at(-1)!)).values);
      const current = checkpoint.current;
      const kept = current
        ? [...(await deps.checkpoints.storedUpdates(experimentId, current.round)).keys()]
        : [];
      logger.warn('resuming the experiment from its checkpoint', {
        round: current?.round ?? checkpoint.rounds.length + 1,
        resumes: checkpoint.resumes,
        keptUpdates: kept,
      });
      await deps.publishProgress(fields(current?.round ?? checkpoint.rounds.length + 1), {
        event: 'experiment.resumed',
        round: current?.round ?? checkpoint.rounds.length + 1,
        attempt: (current?.attempt ?? -1) + 1,
        keptUpdates: kept,
      });
    } else {
      await deps.publishProgress(fields(0), {
        event: 'experiment.started',
        rounds: spec.rounds,
        hospitals: spec.hospitals,
      });
    }
    await deps.checkpoints.save(checkpoint);
    return await runRounds(job, checkpoint, model, deps, logger);
  } finally {
    model.dispose();
  }
}

/** A new experiment's first checkpoint: its initial model, or a breakpoint of an earlier experiment. */
async function startCheckpoint(
  job: ExperimentJob,
  model: GlobalModel,
  deps: RunnerDeps,
): Promise<ExperimentCheckpoint> {
  const checkpoint: ExperimentCheckpoint = {
    v: 1,
    experimentId: job.experimentId,
    status: 'running',
    startedAt: new Date().toISOString(),
    models: [],
    rounds: [],
    failures: {},
    excluded: [],
    resumes: 0,
    counters: emptyCounters(),
  };
  const from = job.resumeFrom;
  if (!from) {
    checkpoint.models.push(await deps.putBlob(model.encode()));
    return checkpoint;
  }
  const source = await deps.checkpoints.load(from.experimentId);
  if (!source) {
    throw new FedpetError(
      ErrorCodes.invalidSpec,
      `resumeFrom: no stored checkpoint for experiment ${from.experimentId}`,
    );
  }
  const model0 = source.models[from.round];
  if (!model0 || from.round > job.spec.rounds) {
    throw new FedpetError(
      ErrorCodes.invalidSpec,
      `resumeFrom: experiment ${from.experimentId} has stored models for rounds 0–${source.models.length - 1}; round ${from.round} is not one of them or is past this experiment's ${job.spec.rounds} rounds`,
    );
  }
  // Its global model after that round, and what its hospitals did up to it.
  checkpoint.models = source.models.slice(0, from.round + 1);
  checkpoint.rounds = source.rounds.filter((record) => record.kind === 'train' && record.round <= from.round);
  for (const record of checkpoint.rounds) countFailures(checkpoint, record, job.spec.maxFailuresPerHospital);
  model.replace(decodeFlat(await deps.getBlob(model0)).values);
  return checkpoint;
}

async function runRounds(
  job: ExperimentJob,
  checkpoint: ExperimentCheckpoint,
  model: GlobalModel,
  deps: RunnerDeps,
  logger: Logger,
): Promise<ExperimentResultRef> {
  const { spec, experimentId } = job;
  const fields = (round: number): EnvelopeFields => ({ experimentId, round, sender: deps.sender });
  const lateBase = checkpoint.counters.lateMessages - deps.inbox.closedRoundMessages(experimentId);
  const finish = async (status: 'completed' | 'failed', result: ExperimentResultRef) => {
    checkpoint.status = status;
    checkpoint.result = result;
    delete checkpoint.current;
    await deps.checkpoints.save(checkpoint);
    return result;
  };
  try {
    for (let round = checkpoint.rounds.length + 1; round <= spec.rounds + 1; round++) {
      if (deps.signal.aborted) throw new FedpetError(ErrorCodes.cancelled, 'the aggregator is shutting down');
      const kind = round <= spec.rounds ? 'train' : 'evaluate';
      const previous = checkpoint.current?.round === round ? checkpoint.current : undefined;
      const attempt = previous ? previous.attempt + 1 : 0;
      checkpoint.current = { round, attempt, kind, openedAt: new Date().toISOString() };
      await deps.checkpoints.save(checkpoint);
      const { record, counters } = await withSpan(
        `round ${round}`,
        {
          attributes: {
            'fedpet.experiment': experimentId,
            'fedpet.round': round,
            'fedpet.round.kind': kind,
            'fedpet.round.attempt': attempt,
          },
        },
        () =>
          runRound(
            job,
            { round, kind, attempt, restarted: previous?.attempt },
            model,
            checkpoint,
            deps,
            logger,
          ),
      );
      checkpoint.rounds.push(record);
      if (kind === 'train') checkpoint.models.push(await deps.putBlob(model.encode()));
      const newlyExcluded = countFailures(checkpoint, record, spec.maxFailuresPerHospital);
      for (const hospital of newlyExcluded) {
        logger.warn('hospital excluded for the rest of the experiment', {
          hospital,
          failures: checkpoint.failures[hospital],
        });
      }
      checkpoint.counters.duplicatesIgnored += counters.duplicates;
      checkpoint.counters.rejectedUpdates += counters.rejected;
      checkpoint.counters.staleAttemptMessages += counters.staleAttempts;
      checkpoint.counters.lateMessages = lateBase + deps.inbox.closedRoundMessages(experimentId);
      delete checkpoint.current;
      await deps.checkpoints.save(checkpoint);
      await deps.checkpoints.clearRound(experimentId, round);
    }
  } catch (error) {
    const { code, reason } = describeError(error);
    if (code === ErrorCodes.cancelled) throw error; // shutting down: the checkpoint stays, the next aggregator resumes
    logger.error('experiment failed', { code, reason });
    await deps.publishProgress(fields(checkpoint.rounds.length), {
      event: 'experiment.failed',
      code,
      reason,
    });
    const results = await deps.putBlob(
      jsonBytes(buildResults(job, checkpoint, 'failed', { code, reason }, deps)),
    );
    return finish('failed', { experimentId, status: 'failed', results });
  }
  const artifacts = await model.exportTfjs();
  const modelJson = await deps.putBlob(artifacts.modelJson);
  const weights = await deps.putBlob(artifacts.weights);
  const results = await deps.putBlob(
    jsonBytes(
      buildResults(job, checkpoint, 'completed', undefined, deps, {
        modelJson,
        weights,
        parameterCount: model.parameterCount,
      }),
    ),
  );
  const result: ExperimentResultRef = { experimentId, status: 'completed', results, model: modelJson };
  await finish('completed', result);
  await deps.publishProgress(fields(spec.rounds + 1), {
    event: 'experiment.completed',
    results,
    model: modelJson,
  });
  logger.info('experiment completed', { rounds: spec.rounds, resumes: checkpoint.resumes });
  return result;
}

/**
 * Adds a closed round's failures (failed or late) to each hospital's count;
 * returns the hospitals that just reached maxFailuresPerHospital.
 */
function countFailures(
  checkpoint: ExperimentCheckpoint,
  record: RoundRecord,
  max: number | undefined,
): string[] {
  const excluded: string[] = [];
  for (const outcome of record.hospitals) {
    if (outcome.status !== 'failed' && outcome.status !== 'late') continue;
    const failures = (checkpoint.failures[outcome.hospital] ?? 0) + 1;
    checkpoint.failures[outcome.hospital] = failures;
    if (max !== undefined && failures >= max && !checkpoint.excluded.includes(outcome.hospital)) {
      checkpoint.excluded.push(outcome.hospital);
      excluded.push(outcome.hospital);
    }
  }
  return excluded;
}

/** BullMQ job id of a round job: a restarted round's jobs get new ids (the old ones may be done). */
function roundJobId(experimentId: string, round: number, attempt: number, hospital: string): string {
  const base = `${experimentId}.${round}.${hospital}`;
  return attempt === 0 ? base : `${base}.a${attempt}`;
}

interface RoundRun {
  round: number;
  kind: 'train' | 'evaluate';
  attempt: number;
  /** The attempt a restarted round replaces (its jobs and secure session are abandoned). */
  restarted: number | undefined;
}

async function runRound(
  job: ExperimentJob,
  run: RoundRun,
  model: GlobalModel,
  checkpoint: ExperimentCheckpoint,
  deps: RunnerDeps,
  logger: Logger,
): Promise<{ record: RoundRecord; counters: CollectorCounters }> {
  const { spec, experimentId } = job;
  const { round, kind, attempt } = run;
  const started = Date.now();
  const fields: EnvelopeFields = { experimentId, round, attempt, sender: deps.sender };
  const modelRef = checkpoint.models.at(-1)!;
  const excluded = new Set(checkpoint.excluded);
  const active = spec.hospitals.filter((hospital) => !excluded.has(hospital));
  await deps.announceModel(fields, modelRef, model.parameterCount);
  await deps.publishProgress(fields, { event: 'round.started', kind, model: modelRef });

  const decided =
    kind === 'train'
      ? updateProtectionFor(
          // A threshold set for all hospitals may not fit fewer: exclusions fall back to a majority.
          active.length === spec.hospitals.length
            ? spec.secureAggregation
            : { ...spec.secureAggregation, threshold: undefined },
          active,
          model.parameterCount,
        )
      : undefined;
  const protection = decided?.protection;
  if (run.restarted !== undefined) await abandonAttempt(job, run, active, protection?.mode, deps);
  const collectorRef: { current: RoundCollector | undefined } = { current: undefined };
  const secure =
    protection?.mode === 'secagg'
      ? new SecureRound({
          server: new SecaggServer({
            experimentId,
            round,
            participants: protection.participants,
            threshold: protection.threshold,
            identityKeys: deps.security.identityKeys,
            parameterCount: model.parameterCount,
            fixedPoint: fixedPointOf(protection),
          }),
          participants: protection.participants,
          publish: (hospital, body) => deps.security.publishSecagg(fields, hospital, body),
          phaseTimeoutMs: protection.phaseTimeoutSeconds * 1000,
          logger,
          signal: deps.signal,
          attempt,
          ...(spec.stragglerGraceSeconds === undefined
            ? {}
            : {
                grace: {
                  // The key exchange cannot close below the threshold t, whatever the quorum.
                  quorum: Math.max(spec.minHospitals ?? 1, protection.threshold),
                  graceMs: spec.stragglerGraceSeconds * 1000,
                },
              }),
          // A hospital that failed its job (or got none) will not answer: no phase waits for it.
          isOut: (hospital) => collectorRef.current?.hasFailed(hospital) === true,
        })
      : undefined;
  const durable = kind === 'train' && !secure;
  const collector = new RoundCollector(
    {
      kind,
      hospitals: spec.hospitals,
      parameterCount: model.parameterCount,
      attempt,
      quorum: spec.minHospitals ?? 1,
      ...(spec.stragglerGraceSeconds === undefined ? {} : { graceMs: spec.stragglerGraceSeconds * 1000 }),
      ...(durable
        ? {
            store: deps.checkpoints.roundStore(experimentId, round),
            reference: model.flat(),
            normRatio: spec.updateNormRatio,
          }
        : {}),
      protection: secure
        ? { mode: 'secagg', onMasked: (hospital, masked) => secure.receiveMasked(hospital, masked) }
        : {
            mode: 'sealed',
            open: (sealed, hospital) =>
              openSealed(deps.security.sealingKey, sealed, {
                experimentId,
                round,
                sender: hospital,
                recipient: deps.sender,
              }),
          },
    },
    deps.receiveBuffers,
  );
  collectorRef.current = collector;
  collector.onOutcome((outcome) => {
    deps.publishProgress(fields, { event: 'hospital.reported', outcome }).catch((error: unknown) => {
      logger.warn('could not publish progress', { error });
    });
    if (outcome.code === ErrorCodes.updateNormOutOfBounds) {
      deps
        .deadLetterUpdate(fields, outcome.hospital, outcome.code, outcome.reason ?? '')
        .catch((error: unknown) => logger.warn('could not dead-letter a rejected update', { error }));
    }
  });
  for (const hospital of excluded) {
    collector.addExcluded(
      hospital,
      `excluded after ${checkpoint.failures[hospital] ?? 0} failed rounds (maxFailuresPerHospital ${spec.maxFailuresPerHospital})`,
    );
  }
  // Updates stored before a restart count as received: those hospitals are not asked again.
  if (durable && run.restarted !== undefined) {
    for (const update of (await deps.checkpoints.storedUpdates(experimentId, round)).values()) {
      collector.restore(update);
    }
  }
  const closeRound = deps.inbox.openRound(experimentId, round, collector, secure);
  const deadline = new Date(Date.now() + spec.roundTimeoutSeconds * 1000);
  const jobIds = new Map<string, string>();
  const requiresGpu = modelSpecOf(spec.plan as Exclude<typeof spec.plan, { kind: 'exact-cox' }>).requiresGpu;
  if (requiresGpu) {
    // Heartbeats come every few seconds: give every hospital's workers a moment to be heard from.
    const until = Date.now() + 15_000;
    while (active.some((h) => deps.gpuWorkerKnown(h) === undefined) && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  try {
    for (const hospital of active) {
      if (collector.hasAnswered(hospital)) continue;
      if (requiresGpu && deps.gpuWorkerKnown(hospital) === false) {
        // Say so now rather than leave the job waiting for a GPU worker until the deadline.
        collector.addError(
          hospital,
          hospital,
          ErrorCodes.noGpuWorker,
          `the ${spec.plan.kind} plan needs a GPU worker and ${hospital} has none (its workers report no GPU)`,
          attempt,
        );
        continue;
      }
      const jobId = roundJobId(experimentId, round, attempt, hospital);
      jobIds.set(hospital, jobId);
      await withSpan(
        'round.job.enqueue',
        {
          kind: SpanKind.PRODUCER,
          attributes: {
            'fedpet.hospital': hospital,
            'messaging.destination.name': trainQueueName(hospital, { gpu: requiresGpu }),
          },
        },
        () =>
          deps.enqueueRoundJob(
            {
              v: PROTOCOL_VERSION,
              kind,
              experimentId,
              round,
              attempt,
              hospital,
              plan: spec.plan,
              dataset: spec.dataset,
              hyperparameters: spec.hyperparameters,
              seed: spec.seed,
              validationFraction: spec.validationFraction,
              model: modelRef,
              deadline: deadline.toISOString(),
              ...(protection ? { protection } : {}),
              trace: injectTraceContext({}),
            },
            jobId,
          ),
      );
    }
    let secureAggregate: SecureAggregate | undefined;
    let report: RoundReport;
    if (secure) {
      ({ report, aggregate: secureAggregate } = await collectSecureRound(
        secure,
        collector,
        active,
        deadline,
        deps.signal,
      ));
      logger.info('secure aggregation: unmasked', {
        round,
        survivors: secureAggregate.survivors,
        dropped: secureAggregate.dropped,
        clippedValues: secureAggregate.clippedValues,
        errorBound: secureAggregate.errorBound,
        phasesMs: secure.trace.phasesMs,
      });
    } else report = await collector.wait(deadline, deps.signal);
    for (const outcome of report.outcomes) {
      const jobId = jobIds.get(outcome.hospital);
      if (outcome.status !== 'ok' && jobId) await deps.discardRoundJob(outcome.hospital, jobId);
    }
    const answered = report.outcomes.filter((outcome) => outcome.status === 'ok').length;
    const needed = spec.minHospitals ?? 1;
    if (answered < needed) {
      const failures = report.outcomes
        .filter((outcome) => outcome.status !== 'ok')
        .map((outcome) => `${outcome.hospital}: ${outcome.code} ${outcome.reason}`)
        .join('; ');
      throw new FedpetError(
        ErrorCodes.noUpdates,
        `round ${round}: ${answered} of ${spec.hospitals.length} hospitals answered, ${needed} needed (${failures})`,
      );
    }
    if (kind === 'train' && report.average) {
      const average = report.average;
      await withSpan(
        'round.aggregate',
        { attributes: { 'fedpet.updates': answered, 'fedpet.samples': report.totalSamples } },
        async () => model.replace(average),
      );
    }
    const metrics = combineMetrics(report.outcomes);
    const durationMs = Date.now() - started;
    await deps.publishProgress(fields, {
      event: 'round.completed',
      kind,
      outcomes: report.outcomes,
      metrics,
      durationMs,
      ...(kind === 'train' ? { model: modelRef } : {}),
    });
    logger.info('round completed', { round, kind, attempt, answered, closedBy: report.closedBy, metrics });
    const record: RoundRecord = {
      round,
      kind,
      ...(attempt > 0 ? { attempt } : {}),
      startedAt: new Date(started).toISOString(),
      durationMs,
      closedBy: report.closedBy,
      model: modelRef,
      hospitals: report.outcomes,
      metrics,
      samples: report.totalSamples,
      ...(decided
        ? {
            protection: {
              mode: decided.protection.mode,
              reason: decided.reason,
              ...(secureAggregate && secure
                ? {
                    survivors: secureAggregate.survivors,
                    dropped: secureAggregate.dropped,
                    clippedValues: secureAggregate.clippedValues,
                    errorBound: secureAggregate.errorBound,
                    phasesMs: secure.trace.phasesMs,
                  }
                : {}),
            },
          }
        : {}),
    };
    // Resent secure-aggregation messages are copies too (reliability.duplicatesIgnored).
    const counters = {
      ...collector.counters,
      duplicates: collector.counters.duplicates + (secure?.duplicates ?? 0),
    };
    return { record, counters };
  } finally {
    closeRound();
  }
}

/**
 * A round restarted after a crash: the old attempt's jobs still waiting are
 * removed, and hospitals still running its secure-aggregation session are
 * told to stop (their masks belong to a protocol run nobody will finish).
 */
async function abandonAttempt(
  job: ExperimentJob,
  run: RoundRun,
  hospitals: readonly string[],
  mode: 'secagg' | 'sealed' | undefined,
  deps: RunnerDeps,
): Promise<void> {
  const old = run.restarted!;
  for (let attempt = 0; attempt <= old; attempt++) {
    for (const hospital of hospitals) {
      await deps.discardRoundJob(hospital, roundJobId(job.experimentId, run.round, attempt, hospital));
    }
  }
  if (mode !== 'secagg') return;
  const fields: EnvelopeFields = {
    experimentId: job.experimentId,
    round: run.round,
    attempt: old,
    sender: deps.sender,
  };
  const body: SecaggBody = {
    step: 'abort',
    code: ErrorCodes.roundRestarted,
    reason: `the aggregator restarted round ${run.round} as attempt ${run.attempt}`,
  };
  await Promise.allSettled(hospitals.map((hospital) => deps.security.publishSecagg(fields, hospital, body)));
}

function buildResults(
  job: ExperimentJob,
  checkpoint: ExperimentCheckpoint,
  status: 'completed' | 'failed',
  error: { code: string; reason: string } | undefined,
  deps: Pick<RunnerDeps, 'describeHospital' | 'security'>,
  model?: { modelJson: BlobRef; weights: BlobRef; parameterCount: number },
) {
  const finishedAt = new Date();
  const training = checkpoint.rounds.filter((round) => round.kind === 'train');
  const evaluation = checkpoint.rounds.find((round) => round.kind === 'evaluate');
  return {
    experimentId: job.experimentId,
    name: job.spec.name,
    status,
    ...(error ? { error } : {}),
    submittedAt: job.submittedAt,
    startedAt: checkpoint.startedAt,
    finishedAt: finishedAt.toISOString(),
    durationMs: finishedAt.getTime() - Date.parse(checkpoint.startedAt),
    ...(job.resumeFrom ? { resumedFrom: job.resumeFrom } : {}),
    spec: job.spec,
    hospitals: Object.fromEntries(
      job.spec.hospitals.map((hospital) => [hospital, deps.describeHospital(hospital) ?? null]),
    ),
    rounds: training,
    finalEvaluation: evaluation ?? null,
    model: model ?? null,
    /** Failures, exclusions, restarts and what was ignored on the way (docs/reliability.md). */
    reliability: {
      resumes: checkpoint.resumes,
      failures: checkpoint.failures,
      excluded: checkpoint.excluded,
      ...checkpoint.counters,
    },
    /** Signature and replay checks on hospital messages, since the aggregator started. */
    messageChecks: deps.security.rejectedMessages(),
  };
}

function jsonBytes(value: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(value, null, 2), 'utf8');
}
