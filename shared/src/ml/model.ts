import * as tf from '@tensorflow/tfjs';
import type { Plan } from '../contracts/experiment-spec.ts';
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import { asModelSpec, type MlpShape } from './plans/model-spec.ts';
import { buildPlanModel } from './plans/plan-model.ts';

/** One weight tensor by its stable name (e.g. 'hidden_1/kernel'), as plain data. */
export interface NamedWeights {
  name: string;
  shape: number[];
  values: Float32Array;
}

/** The shape-deciding part of a tabular MLP plan. */
export type ModelPlan = MlpShape;

/** The network of a plan (plans/plan-model.ts); (plan, seed) fixes the initial weights. */
export function buildModel(plan: Plan | MlpShape, seed: number): tf.LayersModel {
  return buildPlanModel(asModelSpec(plan), seed);
}

/** Copies every weight out of the model, in model order, under its stable name. */
export function getWeights(model: tf.LayersModel): NamedWeights[] {
  return model.weights.map((weight) => ({
    name: weight.originalName,
    shape: [...weight.shape] as number[],
    // slice(): the cpu backend hands out its own storage, which must not be aliased.
    values: Float32Array.from(weight.read().dataSync()),
  }));
}

function mismatch(message: string): FedpetError {
  return new FedpetError(ErrorCodes.invalidMessage, `weights do not fit the model: ${message}`);
}

/**
 * Writes named weights into the model. The set must match exactly: every
 * model weight present once, same shape, finite values; any difference is an
 * error naming the weight, and nothing is written.
 */
export function setWeights(model: tf.LayersModel, tensors: readonly NamedWeights[]): void {
  const byName = new Map<string, NamedWeights>();
  for (const tensor of tensors) {
    if (byName.has(tensor.name)) throw mismatch(`'${tensor.name}' given twice`);
    byName.set(tensor.name, tensor);
  }
  const expected = new Set(model.weights.map((weight) => weight.originalName));
  const unknown = [...byName.keys()].filter((name) => !expected.has(name));
  if (unknown.length > 0) throw mismatch(`unknown weight ${unknown.map((n) => `'${n}'`).join(', ')}`);
  for (const weight of model.weights) {
    const name = weight.originalName;
    const given = byName.get(name);
    if (given === undefined) throw mismatch(`'${name}' is missing`);
    const shape = weight.shape as number[];
    if (given.shape.length !== shape.length || given.shape.some((dim, i) => dim !== shape[i])) {
      throw mismatch(
        `'${name}' has shape [${given.shape.join(', ')}], the model needs [${shape.join(', ')}]`,
      );
    }
    const size = shape.reduce((product, dim) => product * dim, 1);
    if (given.values.length !== size) {
      throw mismatch(
        `'${name}' has ${given.values.length} values, shape [${shape.join(', ')}] needs ${size}`,
      );
    }
    if (!given.values.every(Number.isFinite)) throw mismatch(`'${name}' contains NaN or infinite values`);
  }
  tf.tidy(() => {
    for (const weight of model.weights) {
      const given = byName.get(weight.originalName)!;
      weight.write(tf.tensor(given.values, given.shape, 'float32'));
    }
  });
}
