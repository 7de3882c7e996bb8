/**
 * Messages between the data-parallel trainer (main thread) and its worker
 * threads. Batches go to the threads that train them; only weights, losses
 * and errors come back — and nothing of this leaves the trainer's process.
 */
import type { Hyperparameters } from '../../contracts/experiment-spec.ts';
import type { ModelSpec } from '../plans/model-spec.ts';

export interface WeightArray {
  values: Float32Array;
  shape: number[];
}

/** What a worker thread is started with (workerData). */
export interface WorkerStart {
  /** URL of the worker module, imported by the bootstrap. */
  entry: string;
  /** The tfjs backend to select in the thread: the main thread's. */
  backend: 'wasm' | 'cpu';
}

/** Sets the model (rebuilt only when its topology changed), its weights and a fresh optimizer for one training call. */
export interface LoadRequest {
  type: 'load';
  /** The Keras-style model topology, as LayersModel.toJSON gives it. */
  topology: string;
  weights: WeightArray[];
  loss: Pick<ModelSpec, 'objective' | 'ties'>;
  optimizer: Pick<Hyperparameters, 'optimizer' | 'learningRate'>;
  /** This thread's index: its shard order and its slot in the gradient buffer. */
  index: number;
  threads: number;
  barrier: SharedArrayBuffer;
  /** The batch's model outputs, one float per row: each thread writes its shard's. */
  outputs: SharedArrayBuffer;
  /** threads × parameters floats: each thread's gradient contribution. */
  gradients: SharedArrayBuffer;
  /** One flag per trainable variable: 1 where the loss reaches it (thread 0 writes them). */
  connected: SharedArrayBuffer;
}

/** One optimizer step: this thread's shard of the batch, and the whole batch's targets (the loss needs them all). */
export interface StepRequest {
  type: 'step';
  batchRows: number;
  offset: number;
  shardRows: number;
  images: Float32Array | undefined;
  imageShape: number[] | undefined;
  tabular: Float32Array;
  tabularWidth: number;
  target: Float32Array;
  targetWidth: number;
}

export interface WeightsRequest {
  type: 'weights';
}

export type WorkerRequest = LoadRequest | StepRequest | WeightsRequest;

export type WorkerReply =
  | { type: 'ready'; backend: string }
  | { type: 'loaded'; parameters: number }
  /** The batch loss before the update (the same on every thread; thread 0's is used). */
  | { type: 'stepped'; loss: number }
  | { type: 'weights'; weights: WeightArray[] }
  /** `aborted`: this thread stopped because another one failed. */
  | { type: 'failed'; message: string; aborted: boolean };
