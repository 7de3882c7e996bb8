import { decodeTensors, encodeTensors } from '@fedpet/shared/codec/tensor-codec';
import type { BlobRef } from '@fedpet/shared/contracts/common';
import type { RoundJob } from '@fedpet/shared/contracts/jobs';
import { ErrorCodes, FedpetError } from '@fedpet/shared/errors/fedpet-error';
import type { Logger } from '@fedpet/shared/log/logger';
import type { SelectedBackend } from '@fedpet/shared/ml/backend';
import { getWeights, setWeights } from '@fedpet/shared/ml/model';
import { modelSpecOf } from '@fedpet/shared/ml/plans/model-spec';
import { splitPlanData } from '@fedpet/shared/ml/plans/plan-data';
import { buildPlanModel } from '@fedpet/shared/ml/plans/plan-model';
import { deriveSeed } from '@fedpet/shared/ml/random';
import { evaluate } from '@fedpet/shared/ml/train';
import { withSpan } from '@fedpet/shared/telemetry/spans';
import type { DatasetRegistry } from './dataset-registry.ts';
import type { TrainFunction } from './local-trainer.ts';

export interface RoundHandlerDeps {
  hospital: string;
  backend: SelectedBackend;
  datasets: DatasetRegistry;
  logger: Logger;
  getBlob(ref: BlobRef): Promise<Buffer>;
  signal: AbortSignal;
  /** Trains on the local split: trainLocal, or data-parallel threads (local-trainer.ts). */
  train: TrainFunction;
  /** Threads that train one job (1: the main thread). */
  trainThreads: number;
}

export interface LocalUpdate {
  numSamples: number;
  metrics: Record<string, number>;
  timingsMs: Record<string, number>;
  /** Encoded weights after local training; empty for evaluation rounds. */
  payload: Uint8Array;
}

/**
 * One round job: fetch the global model, evaluate it on the local
 * validation split, train it on the local training split (training rounds),
 * and publish the new weights with sample counts and aggregate metrics.
 * The split is fixed by the experiment seed, so it is the same every round.
 */
export async function handleRoundJob(job: RoundJob, deps: RoundHandlerDeps): Promise<LocalUpdate> {
  const started = performance.now();
  const spec = modelSpecOf(job.plan);
  if (spec.requiresGpu && !deps.backend.gpu.available) {
    throw new FedpetError(
      ErrorCodes.noGpuWorker,
      `the ${job.plan.kind} plan requires a GPU worker; this worker runs on ${deps.backend.name} without a GPU`,
    );
  }
  const data = await deps.datasets.load(job.dataset, spec);
  // Stratified by label or event, fixed by the seed: the same split every round.
  const { train, validation } = splitPlanData(data, job.validationFraction, job.seed);
  const loaded = performance.now();
  const weights = decodeTensors(await deps.getBlob(job.model));
  const model = buildPlanModel(spec, job.seed);
  try {
    setWeights(model, weights);
    const fetched = performance.now();
    const metrics: Record<string, number> = { valSamples: validation.rows };
    if (validation.rows > 0) {
      // loss → valLoss, cIndex → valCIndex, tdAuc365 → valTdAuc365, …
      const before = await evaluate(model, validation, spec);
      for (const [name, value] of Object.entries(before)) {
        if (value !== undefined && Number.isFinite(value))
          metrics[`val${name[0]!.toUpperCase()}${name.slice(1)}`] = value;
      }
    }
    if (job.kind === 'evaluate') {
      return {
        numSamples: 0,
        metrics,
        timingsMs: { data: loaded - started, model: fetched - loaded, evaluate: performance.now() - fetched },
        payload: new Uint8Array(0),
      };
    }
    const trainingSeed = deriveSeed(job.seed, 'train', job.round, deps.hospital);
    const result = await withSpan(
      'train.local',
      {
        attributes: {
          'fedpet.backend': deps.backend.name,
          'fedpet.samples': train.rows,
          'fedpet.train_threads': deps.trainThreads,
        },
      },
      () =>
        deps.train(model, train, job.hyperparameters, spec, trainingSeed, {
          signal: deps.signal,
          onProgress: (epoch, loss) => deps.logger.debug('epoch done', { round: job.round, epoch, loss }),
        }),
    );
    const trained = performance.now();
    metrics.trainLoss = result.epochLosses.at(-1) ?? Number.NaN;
    metrics.steps = result.steps;
    const payload = encodeTensors(getWeights(model));
    return {
      numSamples: result.numSamples,
      metrics,
      timingsMs: { data: loaded - started, model: fetched - loaded, train: trained - fetched },
      payload,
    };
  } finally {
    model.dispose();
  }
}
