import * as tf from '@tensorflow/tfjs';
import type { Hyperparameters, Plan } from '../contracts/experiment-spec.ts';
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import { coxLoss } from '../survival/cox-loss-tf.ts';
import {
  binaryAccuracy,
  binaryCrossEntropy,
  meanAbsoluteError,
  meanSquaredError,
  rocAuc,
} from './metrics.ts';
import { asModelSpec, type MlpShape, type ModelSpec } from './plans/model-spec.ts';
import { fromTabular, type PlanData } from './plans/plan-data.ts';
import { survivalMetrics } from './plans/survival-metrics.ts';
import { createRng, deriveSeed } from './random.ts';
import type { TabularData } from './tabular-dataset.ts';

export interface TrainOptions {
  /** Called after each epoch (1-based) with that epoch's mean training loss. */
  onProgress?: (epoch: number, loss: number) => void;
  /** Aborting stops training between batches with a CANCELLED error. */
  signal?: AbortSignal;
}

export interface TrainResult {
  /** Sample-weighted mean of the batch losses seen during each epoch. */
  epochLosses: number[];
  /** Rows trained on: the FedAvg weight n_k. */
  numSamples: number;
  /** Optimizer steps taken. */
  steps: number;
}

/**
 * Loss (binary cross-entropy, mean squared error or the mean negative Cox
 * partial log-likelihood) and its objective's metrics: accuracy and ROC AUC;
 * MAE; or C-index with its pair counts and time-dependent AUCs. Survival
 * metrics over fewer than 5 events are withheld (see survival-metrics.ts).
 */
export type EvaluationMetrics = { loss?: number } & Record<string, number>;

/** Tabular data and plans are accepted as they are: they are the plain case of PlanData and ModelSpec. */
export type DataLike = PlanData | TabularData;
export type SpecLike = ModelSpec | Plan | MlpShape;
export const asPlanData = (data: DataLike): PlanData => ('targetWidth' in data ? data : fromTabular(data));
export const asSpec = (spec: SpecLike): ModelSpec => asModelSpec(spec);

export function checkFit(model: tf.LayersModel, data: PlanData, spec: ModelSpec): void {
  const width = spec.columns.length;
  const tabularInput = model.inputs.find((input) => input.shape.length === 2);
  if (width > 0 && tabularInput?.shape[1] !== width) {
    throw new FedpetError(
      ErrorCodes.invalidConfig,
      `model takes ${String(tabularInput?.shape[1])} tabular inputs, the plan names ${width}`,
    );
  }
  if (data.tabularWidth !== width) {
    throw new FedpetError(
      ErrorCodes.datasetInvalid,
      `dataset has ${data.tabularWidth} columns, the plan names ${width}`,
    );
  }
  if ((spec.image !== undefined) !== (data.images !== undefined)) {
    throw new FedpetError(
      ErrorCodes.datasetInvalid,
      spec.image ? 'the plan needs images, the dataset has none' : 'unexpected images',
    );
  }
  if (data.targetWidth !== (spec.objective === 'cox' ? 2 : 1)) {
    throw new FedpetError(ErrorCodes.datasetInvalid, 'the dataset target does not fit the plan objective');
  }
  if (data.rows < 1) throw new FedpetError(ErrorCodes.datasetInvalid, 'dataset has no rows');
}

/** The loss of a batch, from its target tensor ([n,1] label or [n,2] time, event) and the model output. */
export function lossFunction(
  spec: Pick<ModelSpec, 'objective' | 'ties'>,
): (target: tf.Tensor2D, output: tf.Tensor) => tf.Scalar {
  switch (spec.objective) {
    case 'bce':
      return (target, output) => tf.metrics.binaryCrossentropy(target, output).mean();
    case 'mse':
      return (target, output) => tf.losses.meanSquaredError(target, output) as tf.Scalar;
    case 'cox':
      // Batch-wise partial likelihood (risk sets within the batch), as DeepSurv-style training does.
      return (target, output) => {
        const [time, event] = tf.split(target, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
        return coxLoss(
          output.reshape([-1]) as tf.Tensor1D,
          time.reshape([-1]),
          event.reshape([-1]),
          spec.ties,
        );
      };
  }
}

export function createOptimizer(hyperparameters: Hyperparameters): tf.Optimizer {
  return hyperparameters.optimizer === 'adam'
    ? tf.train.adam(hyperparameters.learningRate)
    : tf.train.sgd(hyperparameters.learningRate);
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new FedpetError(ErrorCodes.cancelled, 'training cancelled');
}

/** One batch as flat arrays: images [n, ...imageShape] when the data has them, tabular [n, width], target [n, targetWidth]. */
export interface BatchArrays {
  rows: number;
  images: Float32Array | undefined;
  imageShape: readonly number[] | undefined;
  tabular: Float32Array;
  tabularWidth: number;
  target: Float32Array;
  targetWidth: number;
}

/** Copies the given rows (indices into `data`) into a batch's flat arrays. */
export function batchArrays(data: PlanData, rows: ArrayLike<number>): BatchArrays {
  const n = rows.length;
  const tabular = new Float32Array(n * data.tabularWidth);
  const target = new Float32Array(n * data.targetWidth);
  const imageSize = (data.imageShape ?? []).reduce((a, b) => a * b, 1);
  const images = data.images ? new Float32Array(n * imageSize) : undefined;
  for (let i = 0; i < n; i++) {
    const row = rows[i]!;
    tabular.set(
      data.tabular.subarray(row * data.tabularWidth, (row + 1) * data.tabularWidth),
      i * data.tabularWidth,
    );
    target.set(
      data.target.subarray(row * data.targetWidth, (row + 1) * data.targetWidth),
      i * data.targetWidth,
    );
    if (images) images.set(data.images!.subarray(row * imageSize, (row + 1) * imageSize), i * imageSize);
  }
  return {
    rows: n,
    images,
    imageShape: data.imageShape,
    tabular,
    tabularWidth: data.tabularWidth,
    target,
    targetWidth: data.targetWidth,
  };
}

/** The model's input tensors for a batch: the image first (when there is one), then the tabular columns. */
export function inputTensors(batch: Omit<BatchArrays, 'target' | 'targetWidth'>): tf.Tensor[] {
  const inputs: tf.Tensor[] = [];
  if (batch.images) inputs.push(tf.tensor(batch.images, [batch.rows, ...batch.imageShape!]));
  if (batch.tabularWidth > 0 || !batch.images) {
    inputs.push(tf.tensor2d(batch.tabular, [batch.rows, batch.tabularWidth]));
  }
  return inputs;
}

function batchInputs(data: PlanData, rows: ArrayLike<number>): { inputs: tf.Tensor[]; target: tf.Tensor2D } {
  const batch = batchArrays(data, rows);
  return { inputs: inputTensors(batch), target: tf.tensor2d(batch.target, [batch.rows, batch.targetWidth]) };
}

export function apply(model: tf.LayersModel, inputs: tf.Tensor[], training: boolean): tf.Tensor {
  return model.apply(inputs.length === 1 ? inputs[0]! : inputs, { training }) as tf.Tensor;
}

/**
 * The seeded shuffle every trainer shares (trainLocal, the data-parallel
 * trainer): each call gives the next epoch's batches of row indices, the last
 * one possibly smaller, so both train on exactly the same batches.
 */
export function epochBatches(rows: number, batchSize: number, seed: number): () => Uint32Array[] {
  const rng = createRng(deriveSeed(seed, 'shuffle'));
  return () => {
    const order = rng.permutation(rows);
    const batches: Uint32Array[] = [];
    for (let start = 0; start < rows; start += batchSize)
      batches.push(order.subarray(start, start + batchSize));
    return batches;
  };
}

/** An epoch's mean loss from its sample-weighted sum; a non-finite one fails training. */
export function epochLoss(weightedSum: number, rows: number, epoch: number): number {
  const loss = weightedSum / rows;
  if (!Number.isFinite(loss)) {
    throw new FedpetError(ErrorCodes.trainingFailed, `training loss diverged (${loss}) in epoch ${epoch}`);
  }
  return loss;
}

/**
 * Mini-batch training with our own seeded shuffling (not model.fit, whose
 * shuffling is not seedable), so the same (weights, data, hyperparameters,
 * seed) always gives the same result on a given backend. A fresh optimizer
 * per call, as in FedAvg where each round's local training starts anew.
 * Yields to the event loop after every batch so heartbeats keep flowing.
 */
export async function trainLocal(
  model: tf.LayersModel,
  dataLike: DataLike,
  hyperparameters: Hyperparameters,
  specLike: SpecLike,
  seed: number,
  options: TrainOptions = {},
): Promise<TrainResult> {
  const data = asPlanData(dataLike);
  const spec = asSpec(specLike);
  checkFit(model, data, spec);
  const batchSize = Math.min(hyperparameters.batchSize, data.rows);
  const computeLoss = lossFunction(spec);
  // LayerVariable.read() hands back the underlying tf.Variable (typed as Tensor).
  const variables = model.trainableWeights.map((weight) => weight.read() as tf.Variable);
  const optimizer = createOptimizer(hyperparameters);
  const nextEpoch = epochBatches(data.rows, batchSize, seed);
  const epochLosses: number[] = [];
  let steps = 0;
  const batchCosts: tf.Tensor[] = [];
  try {
    for (let epoch = 1; epoch <= hyperparameters.localEpochs; epoch++) {
      for (const rows of nextEpoch()) {
        throwIfAborted(options.signal);
        const size = rows.length;
        // The batch loss times its size, kept on the device: reading it back per batch would stall GPUs.
        const weightedCost = tf.tidy(() => {
          const { inputs, target } = batchInputs(data, rows);
          const cost = optimizer.minimize(
            () => computeLoss(target, apply(model, inputs, true)),
            true,
            variables,
          );
          if (cost === null) throw new FedpetError(ErrorCodes.trainingFailed, 'optimizer returned no loss');
          return cost.mul(size);
        });
        batchCosts.push(weightedCost);
        steps++;
        await tf.nextFrame(); // setImmediate under Node
      }
      const total = tf.tidy(() => tf.addN(batchCosts));
      const [sum] = await total.data();
      total.dispose();
      for (const cost of batchCosts.splice(0)) cost.dispose();
      const loss = epochLoss(sum ?? Number.NaN, data.rows, epoch);
      epochLosses.push(loss);
      options.onProgress?.(epoch, loss);
    }
  } finally {
    for (const cost of batchCosts) cost.dispose();
    optimizer.dispose();
  }
  return { epochLosses, numSamples: data.rows, steps };
}

/** Model outputs for every row, computed in batches to bound memory. */
export async function predict(
  model: tf.LayersModel,
  dataLike: DataLike,
  batchSize = 1024,
): Promise<Float32Array> {
  const data = asPlanData(dataLike);
  const out = new Float32Array(data.rows);
  const all = Uint32Array.from({ length: data.rows }, (_, i) => i);
  for (let start = 0; start < data.rows; start += batchSize) {
    const rows = all.subarray(start, Math.min(data.rows, start + batchSize));
    const output = tf.tidy(() => apply(model, batchInputs(data, rows).inputs, false));
    out.set(await output.data(), start);
    output.dispose();
  }
  return out;
}

/** Loss and the objective's metrics, computed in plain JS (double precision) from the predictions. */
export async function evaluate(
  model: tf.LayersModel,
  dataLike: DataLike,
  specLike: SpecLike,
): Promise<EvaluationMetrics> {
  const data = asPlanData(dataLike);
  const spec = asSpec(specLike);
  checkFit(model, data, spec);
  const predictions = await predict(model, data);
  if (spec.objective === 'cox') return survivalMetrics(predictions, data, spec.ties);
  const labels = data.target;
  if (spec.objective === 'mse') {
    return { loss: meanSquaredError(labels, predictions), mae: meanAbsoluteError(labels, predictions) };
  }
  const metrics: EvaluationMetrics = {
    loss: binaryCrossEntropy(labels, predictions),
    accuracy: binaryAccuracy(labels, predictions),
  };
  const auc = rocAuc(labels, predictions);
  if (auc !== undefined) metrics.auc = auc;
  return metrics;
}
