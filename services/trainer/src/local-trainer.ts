import { availableParallelism } from 'node:os';
import type { Logger } from '@fedpet/shared/log/logger';
import type { SelectedBackend } from '@fedpet/shared/ml/backend';
import { DataParallelTrainer } from '@fedpet/shared/ml/parallel/data-parallel-trainer';
import { forwardFlopsPerExample, MIN_PARALLEL_FORWARD_FLOPS } from '@fedpet/shared/ml/parallel/model-flops';
import { asPlanData, asSpec, trainLocal } from '@fedpet/shared/ml/train';

/** trainLocal's signature: what the round handler calls to train a model on the local split. */
export type TrainFunction = typeof trainLocal;

export interface LocalTrainer {
  train: TrainFunction;
  /** Threads one job trains on. */
  threads: number;
  /** Jobs trained data-parallel so far (the rest ran on the main thread). */
  readonly parallelJobs: number;
  close(): Promise<void>;
}

/** `--train-threads`: a count, or 'auto' for every core the process may use. */
export function resolveTrainThreads(setting: number | 'auto'): number {
  return setting === 'auto' ? availableParallelism() : setting;
}

/**
 * How round jobs train: on the main thread (trainLocal), or data-parallel on
 * `threads` worker threads for the wasm and cpu backends, which use one core
 * each. Native TensorFlow (tfjs-node, -gpu) runs its own thread pool and the
 * GPU, so it trains on the main thread whatever the setting. So do plans
 * without images and batches whose forward pass is under `minForwardFlops`
 * (default MIN_PARALLEL_FORWARD_FLOPS): splitting them costs more than it
 * saves (see docs/performance.md). Each job in
 * flight (`--workers`) gets its own set of threads; a set whose thread died
 * is dropped and the next job starts a fresh one.
 */
export function createLocalTrainer(
  threads: number,
  backend: SelectedBackend,
  logger: Logger,
  options: { minForwardFlops?: number } = {},
): LocalTrainer {
  const minForwardFlops = options.minForwardFlops ?? MIN_PARALLEL_FORWARD_FLOPS;
  const parallelBackend = backend.name === 'wasm' || backend.name === 'cpu' ? backend.name : undefined;
  if (threads <= 1 || parallelBackend === undefined) {
    if (threads > 1) {
      logger.info('training on the main thread: the backend runs its own threads', {
        backend: backend.name,
        trainThreads: threads,
      });
    }
    return { train: trainLocal, threads: 1, parallelJobs: 0, close: async () => {} };
  }
  let parallelJobs = 0;
  const idle: DataParallelTrainer[] = [];
  const all = new Set<DataParallelTrainer>();
  const train: TrainFunction = async (model, data, hyperparameters, spec, seed, options) => {
    const batch = Math.min(hyperparameters.batchSize, asPlanData(data).rows);
    const forwardFlops = forwardFlopsPerExample(model) * batch;
    if (asSpec(spec).image === undefined || forwardFlops < minForwardFlops) {
      logger.debug('training on the main thread: too little work a batch to split', { forwardFlops });
      return trainLocal(model, data, hyperparameters, spec, seed, options);
    }
    const trainer = idle.pop() ?? (await DataParallelTrainer.start(threads, parallelBackend));
    all.add(trainer);
    parallelJobs++;
    try {
      const result = await trainer.train(model, data, hyperparameters, spec, seed, options);
      logger.info('job trained data-parallel', { trainThreads: threads, steps: result.steps, forwardFlops });
      return result;
    } finally {
      if (trainer.unusable === undefined) idle.push(trainer);
      else {
        all.delete(trainer);
        logger.warn('training threads dropped', { reason: trainer.unusable });
        await trainer.close();
      }
    }
  };
  return {
    train,
    threads,
    get parallelJobs() {
      return parallelJobs;
    },
    close: async () => {
      await Promise.all([...all].map((trainer) => trainer.close()));
      all.clear();
      idle.length = 0;
    },
  };
}
