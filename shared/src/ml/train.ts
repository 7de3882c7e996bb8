import * as tf from '@tensorflow/tfjs';
import type { Hyperparameters, Plan } from '../contracts/experiment-spec.ts';
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import {
  binaryAccuracy,
  binaryCrossEntropy,
  meanAbsoluteError,
  meanSquaredError,
  rocAuc,
} from './metrics.ts';
import { createRng, deriveSeed } from './random.ts';
import type { TabularData } from './tabular-dataset.ts';

export type TrainPlan = Pick<Plan, 'task' | 'features'>;

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

export interface EvaluationMetrics {
  /** Binary cross-entropy (classification) or mean squared error (regression). */
  loss: number;
  accuracy?: number;
  /** Absent when the data hold a single class. */
  auc?: number;
  mae?: number;
}

function checkFit(model: tf.LayersModel, data: TabularData, plan: TrainPlan): void {
  const width = plan.features.length;
  const inputWidth = model.inputs[0]?.shape[1];
  if (inputWidth !== width) {
    throw new FedpetError(
      ErrorCodes.invalidConfig,
      `model takes ${String(inputWidth)} features, the plan names ${width}`,
    );
  }
  if (data.featureCount !== width) {
    throw new FedpetError(
      ErrorCodes.datasetInvalid,
      `dataset has ${data.featureCount} features, the plan names ${width}`,
    );
  }
  if (data.rows < 1) throw new FedpetError(ErrorCodes.datasetInvalid, 'dataset has no rows');
}

/** Loss per plan.task: binary cross-entropy on sigmoid outputs (clipped as Keras does) or MSE. */
function lossFunction(task: TrainPlan['task']): (labels: tf.Tensor, predictions: tf.Tensor) => tf.Scalar {
  return task === 'binary-classification'
    ? (labels, predictions) => tf.metrics.binaryCrossentropy(labels, predictions).mean()
    : (labels, predictions) => tf.losses.meanSquaredError(labels, predictions) as tf.Scalar;
}

function createOptimizer(hyperparameters: Hyperparameters): tf.Optimizer {
  return hyperparameters.optimizer === 'adam'
    ? tf.train.adam(hyperparameters.learningRate)
    : tf.train.sgd(hyperparameters.learningRate);
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new FedpetError(ErrorCodes.cancelled, 'training cancelled');
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
  data: TabularData,
  hyperparameters: Hyperparameters,
  plan: TrainPlan,
  seed: number,
  options: TrainOptions = {},
): Promise<TrainResult> {
  checkFit(model, data, plan);
  const width = data.featureCount;
  const batchSize = Math.min(hyperparameters.batchSize, data.rows);
  const computeLoss = lossFunction(plan.task);
  // LayerVariable.read() hands back the underlying tf.Variable (typed as Tensor).
  const variables = model.trainableWeights.map((weight) => weight.read() as tf.Variable);
  const optimizer = createOptimizer(hyperparameters);
  const rng = createRng(deriveSeed(seed, 'shuffle'));
  const epochLosses: number[] = [];
  let steps = 0;
  const batchCosts: tf.Tensor[] = [];
  try {
    for (let epoch = 1; epoch <= hyperparameters.localEpochs; epoch++) {
      const order = rng.permutation(data.rows);
      for (let start = 0; start < data.rows; start += batchSize) {
        throwIfAborted(options.signal);
        const size = Math.min(batchSize, data.rows - start);
        const xs = new Float32Array(size * width);
        const ys = new Float32Array(size);
        for (let i = 0; i < size; i++) {
          const row = order[start + i]!;
          xs.set(data.features.subarray(row * width, (row + 1) * width), i * width);
          ys[i] = data.labels[row]!;
        }
        // The batch loss times its size, kept on the device: reading it back per batch would stall GPUs.
        const weightedCost = tf.tidy(() => {
          const x = tf.tensor2d(xs, [size, width]);
          const y = tf.tensor2d(ys, [size, 1]);
          const cost = optimizer.minimize(
            () => computeLoss(y, model.apply(x, { training: true }) as tf.Tensor),
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
      const loss = (sum ?? Number.NaN) / data.rows;
      if (!Number.isFinite(loss)) {
        throw new FedpetError(
          ErrorCodes.trainingFailed,
          `training loss diverged (${loss}) in epoch ${epoch}`,
        );
      }
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
  data: TabularData,
  batchSize = 4096,
): Promise<Float32Array> {
  const width = data.featureCount;
  const out = new Float32Array(data.rows);
  for (let start = 0; start < data.rows; start += batchSize) {
    const size = Math.min(batchSize, data.rows - start);
    const output = tf.tidy(() => {
      const x = tf.tensor2d(data.features.subarray(start * width, (start + size) * width), [size, width]);
      return model.predict(x) as tf.Tensor;
    });
    out.set(await output.data(), start);
    output.dispose();
  }
  return out;
}

/** Loss plus accuracy and ROC AUC (classification) or MAE (regression), computed in plain JS. */
export async function evaluate(
  model: tf.LayersModel,
  data: TabularData,
  plan: TrainPlan,
): Promise<EvaluationMetrics> {
  checkFit(model, data, plan);
  const predictions = await predict(model, data);
  if (plan.task === 'regression') {
    return {
      loss: meanSquaredError(data.labels, predictions),
      mae: meanAbsoluteError(data.labels, predictions),
    };
  }
  const metrics: EvaluationMetrics = {
    loss: binaryCrossEntropy(data.labels, predictions),
    accuracy: binaryAccuracy(data.labels, predictions),
  };
  const auc = rocAuc(data.labels, predictions);
  if (auc !== undefined) metrics.auc = auc;
  return metrics;
}
