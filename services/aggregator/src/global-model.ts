import {
  encodeTensors,
  flattenTensors,
  type TensorLayout,
  unflattenTensors,
} from '@fedpet/shared/codec/tensor-codec';
import type { Plan } from '@fedpet/shared/contracts/experiment-spec';
import { selectBackend } from '@fedpet/shared/ml/backend';
import { buildModel, getWeights, setWeights } from '@fedpet/shared/ml/model';
import { modelToBytes } from '@fedpet/shared/ml/model-export';

/**
 * The experiment's current global model: a flat parameter vector plus the
 * layout that maps it onto the plan's network. The aggregator only needs
 * tfjs to create the initial weights and to write the final model in tfjs
 * format; aggregation itself works on the flat vector.
 */
export interface GlobalModel {
  readonly parameterCount: number;
  /** The current weights in the tensor codec (what trainers fetch). */
  encode(): Uint8Array;
  /** The current weights as one flat vector (read-only: replace() swaps it). */
  flat(): Float32Array;
  /** Makes `values` (the new FedAvg average) the current weights. */
  replace(values: Float32Array): void;
  /** model.json and weights.bin in the standard tfjs layers format. */
  exportTfjs(): Promise<{ modelJson: Uint8Array; weights: Uint8Array }>;
  /** Frees the tfjs model behind it. */
  dispose(): void;
}

let backendReady: Promise<unknown> | undefined;

export async function createGlobalModel(plan: Plan, seed: number): Promise<GlobalModel> {
  backendReady ??= selectBackend();
  await backendReady;
  const model = buildModel(plan, seed);
  const initial = flattenTensors(getWeights(model));
  const layout: TensorLayout = initial.layout;
  let values = initial.values;
  return {
    parameterCount: values.length,
    encode: () => encodeTensors(unflattenTensors(values, layout)),
    flat: () => values,
    replace: (next) => {
      if (next.length !== values.length) {
        throw new Error(`new weights have ${next.length} parameters, the model ${values.length}`);
      }
      // A copy: `next` may be a view of the accumulator's memory, which can then be freed.
      values = next.slice();
    },
    exportTfjs: async () => {
      setWeights(model, unflattenTensors(values, layout));
      return modelToBytes(model);
    },
    dispose: () => model.dispose(),
  };
}
