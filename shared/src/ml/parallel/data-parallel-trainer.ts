/**
 * Data-parallel training inside one trainer: worker threads, one tfjs backend
 * instance and model replica each, share every batch (contiguous shards) and
 * sum their gradient contributions each step (see data-parallel-worker.ts for
 * why the sum is the exact batch gradient, the Cox loss included). A hospital
 * server with many cores uses them; the wasm backend alone uses one core.
 *
 * Same batches, same shuffling, same loss as trainLocal: the result matches
 * it to float32 rounding (the sums run in another order), and is the same
 * from run to run for a given thread count.
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import type { Hyperparameters } from '../../contracts/experiment-spec.ts';
import { ErrorCodes, FedpetError } from '../../errors/fedpet-error.ts';
import {
  asPlanData,
  asSpec,
  batchArrays,
  checkFit,
  type DataLike,
  epochBatches,
  epochLoss,
  type SpecLike,
  type TrainOptions,
  type TrainResult,
  throwIfAborted,
} from '../train.ts';
import type { LoadRequest, StepRequest, WorkerReply, WorkerRequest, WorkerStart } from './protocol.ts';
import { shardsOf } from './shards.ts';
import { STEP_BARRIER_BYTES, StepBarrier } from './step-barrier.ts';

export type ParallelBackend = WorkerStart['backend'];

interface Thread {
  worker: Worker;
  /** Resolvers of the requests sent to this thread, oldest first. */
  waiting: { resolve: (reply: WorkerReply) => void; reject: (error: Error) => void }[];
}

const here = fileURLToPath(import.meta.url);
const BOOTSTRAP = new URL('./worker-bootstrap.mjs', import.meta.url);
const WORKER_ENTRY = new URL(`./data-parallel-worker${extname(here)}`, import.meta.url).href;

const failure = (message: string) =>
  new FedpetError(ErrorCodes.trainingFailed, `data-parallel training: ${message}`);

export class DataParallelTrainer {
  private broken: string | undefined;
  private barrier: StepBarrier | undefined;
  private busy = false;

  private constructor(
    private readonly threads: Thread[],
    readonly backend: string,
  ) {}

  /** Starts `threads` worker threads, each selecting `backend`; resolves when all are ready. */
  static async start(threads: number, backend: ParallelBackend): Promise<DataParallelTrainer> {
    if (!Number.isInteger(threads) || threads < 2) {
      throw new FedpetError(
        ErrorCodes.invalidConfig,
        `data-parallel training needs 2 or more threads, got ${threads}`,
      );
    }
    const started: Thread[] = [];
    const trainer = new DataParallelTrainer(started, backend);
    for (let index = 0; index < threads; index++) {
      const workerData: WorkerStart = { entry: WORKER_ENTRY, backend };
      const thread: Thread = { worker: new Worker(BOOTSTRAP, { workerData }), waiting: [] };
      started.push(thread);
      thread.worker.on('message', (message: WorkerReply) => thread.waiting.shift()?.resolve(message));
      thread.worker.on('error', (error) => trainer.lost(index, error.message));
      thread.worker.on('exit', (code) => trainer.lost(index, `exited with code ${code}`));
    }
    try {
      const replies = await Promise.all(started.map((thread) => trainer.next(thread)));
      const other = replies.find((r) => r.type !== 'ready' || r.backend !== backend);
      if (other)
        throw failure(`a worker thread could not select backend '${backend}': ${JSON.stringify(other)}`);
    } catch (error) {
      await trainer.close();
      throw error;
    }
    return trainer;
  }

  get threadCount(): number {
    return this.threads.length;
  }

  /** Why this trainer can no longer train (a thread died or failed mid-step), or undefined. */
  get unusable(): string | undefined {
    return this.broken;
  }

  /** A thread died: every request in flight fails, and waiters in a step are released. */
  private lost(index: number, why: string): void {
    this.broken ??= `worker thread ${index} ${why}`;
    this.barrier?.abort();
    for (const thread of this.threads) {
      for (const waiter of thread.waiting.splice(0)) waiter.reject(failure(this.broken));
    }
  }

  private next(thread: Thread): Promise<WorkerReply> {
    return new Promise((resolve, reject) => {
      if (this.broken) reject(failure(this.broken));
      else thread.waiting.push({ resolve, reject });
    });
  }

  private request(
    thread: Thread,
    request: WorkerRequest,
    transfer: ArrayBuffer[] = [],
  ): Promise<WorkerReply> {
    const reply = this.next(thread);
    if (!this.broken) thread.worker.postMessage(request, transfer);
    return reply;
  }

  /** Sends one request per thread and waits for all; a failed thread's own error wins over the others' "aborted". */
  private async all<T extends WorkerReply['type']>(
    requests: { request: WorkerRequest; transfer?: ArrayBuffer[] }[],
    expected: T,
  ): Promise<Extract<WorkerReply, { type: T }>[]> {
    const replies = await Promise.all(
      requests.map(({ request, transfer }, i) => this.request(this.threads[i]!, request, transfer)),
    );
    const failed = replies.filter((r): r is Extract<WorkerReply, { type: 'failed' }> => r.type === 'failed');
    if (failed.length > 0) {
      const cause = failed.find((r) => !r.aborted) ?? failed[0]!;
      // The failed step's tapes and barrier are in an unknown state: this trainer is done.
      this.broken = `a worker thread failed: ${cause.message}`;
      void this.close();
      throw failure(cause.message);
    }
    const other = replies.find((r) => r.type !== expected);
    if (other) throw failure(`expected '${expected}' from a worker thread, got '${other.type}'`);
    return replies as Extract<WorkerReply, { type: T }>[];
  }

  /**
   * trainLocal's contract, trained across the threads: the model's weights go
   * to the threads, come back trained, and are set on `model`.
   */
  async train(
    model: tf.LayersModel,
    dataLike: DataLike,
    hyperparameters: Hyperparameters,
    specLike: SpecLike,
    seed: number,
    options: TrainOptions = {},
  ): Promise<TrainResult> {
    if (this.broken) throw failure(this.broken);
    if (this.busy) throw failure('this trainer is already training a model (one call at a time)');
    this.busy = true;
    try {
      return await this.trainNow(model, dataLike, hyperparameters, specLike, seed, options);
    } finally {
      this.busy = false;
    }
  }

  private async trainNow(
    model: tf.LayersModel,
    dataLike: DataLike,
    hyperparameters: Hyperparameters,
    specLike: SpecLike,
    seed: number,
    options: TrainOptions,
  ): Promise<TrainResult> {
    const data = asPlanData(dataLike);
    const spec = asSpec(specLike);
    checkFit(model, data, spec);
    const outputShape = model.outputs[0]?.shape;
    if (model.outputs.length !== 1 || outputShape?.length !== 2 || outputShape[1] !== 1) {
      throw new FedpetError(
        ErrorCodes.invalidConfig,
        `data-parallel training needs a model with one output of shape [batch, 1], got ${JSON.stringify(model.outputs.map((o) => o.shape))}`,
      );
    }
    const threads = this.threads.length;
    const batchSize = Math.min(hyperparameters.batchSize, data.rows);
    const parameters = model.trainableWeights.reduce((sum, w) => sum + w.read().size, 0);
    const barrier = new SharedArrayBuffer(STEP_BARRIER_BYTES);
    this.barrier = new StepBarrier(barrier, threads);
    const outputs = new SharedArrayBuffer(batchSize * Float32Array.BYTES_PER_ELEMENT);
    const gradients = new SharedArrayBuffer(threads * parameters * Float32Array.BYTES_PER_ELEMENT);
    const connected = new SharedArrayBuffer(model.trainableWeights.length * Int32Array.BYTES_PER_ELEMENT);
    const topology = JSON.stringify(model.toJSON(null, false));
    const weights = model
      .getWeights()
      .map((w) => ({ values: Float32Array.from(w.dataSync()), shape: [...w.shape] }));
    const loads = this.threads.map((_, index) => {
      const request: LoadRequest = {
        type: 'load',
        topology,
        weights,
        loss: { objective: spec.objective, ties: spec.ties },
        optimizer: { optimizer: hyperparameters.optimizer, learningRate: hyperparameters.learningRate },
        index,
        threads,
        barrier,
        outputs,
        gradients,
        connected,
      };
      return { request };
    });
    const loaded = await this.all(loads, 'loaded');
    if (loaded.some((r) => r.parameters !== parameters)) {
      throw failure(
        `a replica counts ${loaded.map((r) => r.parameters).join('/')} parameters, the model ${parameters}`,
      );
    }

    const nextEpoch = epochBatches(data.rows, batchSize, seed);
    const epochLosses: number[] = [];
    let steps = 0;
    for (let epoch = 1; epoch <= hyperparameters.localEpochs; epoch++) {
      let sum = 0;
      for (const rows of nextEpoch()) {
        throwIfAborted(options.signal);
        const size = rows.length;
        const batch = batchArrays(data, rows);
        const imageSize = (batch.imageShape ?? []).reduce((a, b) => a * b, 1);
        const requests = shardsOf(size, threads).map((shard) => {
          const request: StepRequest = {
            type: 'step',
            batchRows: size,
            offset: shard.offset,
            shardRows: shard.rows,
            images: batch.images?.slice(shard.offset * imageSize, (shard.offset + shard.rows) * imageSize),
            imageShape: batch.imageShape ? [...batch.imageShape] : undefined,
            tabular: batch.tabular.slice(
              shard.offset * batch.tabularWidth,
              (shard.offset + shard.rows) * batch.tabularWidth,
            ),
            tabularWidth: batch.tabularWidth,
            target: batch.target,
            targetWidth: batch.targetWidth,
          };
          const transfer = [request.tabular.buffer as ArrayBuffer];
          if (request.images) transfer.push(request.images.buffer as ArrayBuffer);
          return { request, transfer };
        });
        const replies = await this.all(requests, 'stepped');
        sum += replies[0]!.loss * size;
        steps++;
      }
      const loss = epochLoss(sum, data.rows, epoch);
      epochLosses.push(loss);
      options.onProgress?.(epoch, loss);
    }

    const [trained] = await this.all([{ request: { type: 'weights' } }], 'weights');
    const tensors = trained!.weights.map((w) => tf.tensor(w.values, w.shape));
    try {
      model.setWeights(tensors);
    } finally {
      tf.dispose(tensors);
    }
    return { epochLosses, numSamples: data.rows, steps };
  }

  /** Stops every thread; safe to call more than once. */
  async close(): Promise<void> {
    this.broken ??= 'closed';
    this.barrier?.abort();
    await Promise.all(this.threads.map((thread) => thread.worker.terminate()));
  }
}
