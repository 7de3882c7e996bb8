import type { KeyObject } from 'node:crypto';
import type { BufferPool } from '@fedpet/shared/codec/buffer-pool';
import type { BlobRef } from '@fedpet/shared/contracts/common';
import type { EnvelopeFields } from '@fedpet/shared/contracts/frame';
import type { ExperimentJob, ExperimentResultRef, RoundJob } from '@fedpet/shared/contracts/jobs';
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
import { combineMetrics } from './combine-metrics.ts';
import { runExactCoxExperiment } from './exact-cox-runner.ts';
import type { GlobalModel } from './global-model.ts';
import { RoundCollector, type RoundReport } from './round-collector.ts';
import { collectSecureRound, SecureRound } from './secure-round.ts';
import type { UpdateInbox } from './update-inbox.ts';

export interface RunnerDeps {
  sender: string;
  inbox: UpdateInbox;
  logger: Logger;
  putBlob(bytes: Uint8Array): Promise<BlobRef>;
  enqueueRoundJob(job: RoundJob, jobId: string): Promise<void>;
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
  startedAt: string;
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
 */
export async function runExperiment(job: ExperimentJob, deps: RunnerDeps): Promise<ExperimentResultRef> {
  if (job.spec.plan.kind === 'exact-cox') return runExactCoxExperiment(job, deps);
  const { spec, experimentId } = job;
  const startedAt = new Date();
  const rounds: RoundRecord[] = [];
  const fields = (round: number): EnvelopeFields => ({ experimentId, round, sender: deps.sender });
  const logger = deps.logger.child({ experimentId });
  await deps.publishProgress(fields(0), {
    event: 'experiment.started',
    rounds: spec.rounds,
    hospitals: spec.hospitals,
  });
  const model = await deps.createModel(job);
  try {
    try {
      for (let round = 1; round <= spec.rounds + 1; round++) {
        if (deps.signal.aborted)
          throw new FedpetError(ErrorCodes.cancelled, 'the aggregator is shutting down');
        const kind = round <= spec.rounds ? 'train' : 'evaluate';
        const record = await withSpan(
          `round ${round}`,
          {
            attributes: {
              'fedpet.experiment': experimentId,
              'fedpet.round': round,
              'fedpet.round.kind': kind,
            },
          },
          () => runRound(job, round, kind, model, deps, logger),
        );
        rounds.push(record);
      }
    } catch (error) {
      const { code, reason } = describeError(error);
      logger.error('experiment failed', { code, reason });
      await deps.publishProgress(fields(rounds.length), { event: 'experiment.failed', code, reason });
      const results = await deps.putBlob(
        jsonBytes(buildResults(job, startedAt, rounds, 'failed', { code, reason }, deps)),
      );
      return { experimentId, status: 'failed', results };
    }
    const artifacts = await model.exportTfjs();
    const modelJson = await deps.putBlob(artifacts.modelJson);
    const weights = await deps.putBlob(artifacts.weights);
    const results = await deps.putBlob(
      jsonBytes(
        buildResults(job, startedAt, rounds, 'completed', undefined, deps, {
          modelJson,
          weights,
          parameterCount: model.parameterCount,
        }),
      ),
    );
    await deps.publishProgress(fields(spec.rounds + 1), {
      event: 'experiment.completed',
      results,
      model: modelJson,
    });
    logger.info('experiment completed', { rounds: spec.rounds });
    return { experimentId, status: 'completed', results, model: modelJson };
  } finally {
    model.dispose();
  }
}

async function runRound(
  job: ExperimentJob,
  round: number,
  kind: 'train' | 'evaluate',
  model: GlobalModel,
  deps: RunnerDeps,
  logger: Logger,
): Promise<RoundRecord> {
  const { spec, experimentId } = job;
  const started = Date.now();
  const fields: EnvelopeFields = { experimentId, round, sender: deps.sender };
  const modelRef = await withSpan('model.store', {}, async () => deps.putBlob(model.encode()));
  await deps.announceModel(fields, modelRef, model.parameterCount);
  await deps.publishProgress(fields, { event: 'round.started', kind, model: modelRef });

  const decided =
    kind === 'train'
      ? updateProtectionFor(spec.secureAggregation, spec.hospitals, model.parameterCount)
      : undefined;
  const protection = decided?.protection;
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
          // A hospital that failed its job (or got none) will not answer: no phase waits for it.
          isOut: (hospital) => collectorRef.current?.hasFailed(hospital) === true,
        })
      : undefined;
  const collector = new RoundCollector({
    kind,
    hospitals: spec.hospitals,
    parameterCount: model.parameterCount,
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
  });
  collectorRef.current = collector;
  collector.onOutcome((outcome) => {
    deps.publishProgress(fields, { event: 'hospital.reported', outcome }).catch((error: unknown) => {
      logger.warn('could not publish progress', { error });
    });
  });
  const closeRound = deps.inbox.openRound(experimentId, round, collector, secure);
  const deadline = new Date(Date.now() + spec.roundTimeoutSeconds * 1000);
  const jobIds = new Map<string, string>();
  const requiresGpu = spec.plan.kind !== 'exact-cox' && modelSpecOf(spec.plan).requiresGpu;
  if (requiresGpu) {
    // Heartbeats come every few seconds: give every hospital's workers a moment to be heard from.
    const until = Date.now() + 15_000;
    while (spec.hospitals.some((h) => deps.gpuWorkerKnown(h) === undefined) && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  try {
    for (const hospital of spec.hospitals) {
      if (requiresGpu && deps.gpuWorkerKnown(hospital) === false) {
        // Say so now rather than leave the job waiting for a GPU worker until the deadline.
        collector.addError(
          hospital,
          hospital,
          ErrorCodes.noGpuWorker,
          `the ${spec.plan.kind} plan needs a GPU worker and ${hospital} has none (its workers report no GPU)`,
        );
        continue;
      }
      const jobId = `${experimentId}.${round}.${hospital}`;
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
        spec.hospitals,
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
    logger.info('round completed', { round, kind, answered, metrics });
    return {
      round,
      kind,
      startedAt: new Date(started).toISOString(),
      durationMs,
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
  } finally {
    closeRound();
  }
}

function buildResults(
  job: ExperimentJob,
  startedAt: Date,
  rounds: RoundRecord[],
  status: 'completed' | 'failed',
  error: { code: string; reason: string } | undefined,
  deps: Pick<RunnerDeps, 'describeHospital' | 'security'>,
  model?: { modelJson: BlobRef; weights: BlobRef; parameterCount: number },
) {
  const finishedAt = new Date();
  const training = rounds.filter((round) => round.kind === 'train');
  const evaluation = rounds.find((round) => round.kind === 'evaluate');
  return {
    experimentId: job.experimentId,
    name: job.spec.name,
    status,
    ...(error ? { error } : {}),
    submittedAt: job.submittedAt,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationMs: finishedAt.getTime() - startedAt.getTime(),
    spec: job.spec,
    hospitals: Object.fromEntries(
      job.spec.hospitals.map((hospital) => [hospital, deps.describeHospital(hospital) ?? null]),
    ),
    rounds: training,
    finalEvaluation: evaluation ?? null,
    model: model ?? null,
    /** Signature and replay checks on hospital messages, since the aggregator started. */
    messageChecks: deps.security.rejectedMessages(),
  };
}

function jsonBytes(value: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(value, null, 2), 'utf8');
}
