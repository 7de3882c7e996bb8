/**
 * One thread of data-parallel training: its own tfjs backend instance and a
 * replica of the model. A step runs synchronously across all threads:
 *
 * 1. forward pass of this thread's shard; its outputs go to shared memory;
 * 2. barrier; the batch loss is computed from every shard's outputs, this
 *    shard's as taped tensors and the others' as constants, so the tape
 *    gives exactly this shard's term of the batch gradient
 *    (∂L/∂θ = Σ_shards ∂L/∂y_s · ∂y_s/∂θ). That is exact for losses whose
 *    rows interact — the Cox partial likelihood's risk sets span the whole
 *    batch — not just for means of per-row losses;
 * 3. barrier; every thread sums the contributions in thread order and
 *    applies the same optimizer update, so the replicas stay identical.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type * as tfTypes from '@tensorflow/tfjs';
import { selectBackend } from '../backend.ts';
import { apply, createOptimizer, inputTensors, lossFunction } from '../train.ts';
import type {
  LoadRequest,
  StepRequest,
  WeightArray,
  WorkerReply,
  WorkerRequest,
  WorkerStart,
} from './protocol.ts';
import { StepAbortedError, StepBarrier } from './step-barrier.ts';

const port = parentPort;
if (!port) throw new Error('data-parallel-worker.ts runs as a worker thread');
const start = workerData as WorkerStart;
const selected = await selectBackend(start.backend);
const tf = selected.tf;

interface Replica {
  topology: string;
  model: tfTypes.LayersModel;
}

interface Session {
  variables: tfTypes.Variable[];
  /** Offset of each variable in one thread's slot of the gradient buffer. */
  offsets: number[];
  parameters: number;
  optimizer: tfTypes.Optimizer;
  computeLoss: ReturnType<typeof lossFunction>;
  barrier: StepBarrier;
  outputs: Float32Array;
  gradients: Float32Array;
  connected: Int32Array;
  index: number;
  threads: number;
}

let replica: Replica | undefined;
let session: Session | undefined;

const reply = (message: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

async function load(request: LoadRequest): Promise<WorkerReply> {
  if (replica?.topology !== request.topology) {
    replica?.model.dispose();
    const model = await tf.models.modelFromJSON({ modelTopology: JSON.parse(request.topology) });
    replica = { topology: request.topology, model };
  }
  const model = replica.model;
  const values = request.weights.map((w) => tf.tensor(w.values, w.shape));
  model.setWeights(values);
  tf.dispose(values);
  session?.optimizer.dispose();
  // LayerVariable.read() hands back the underlying tf.Variable (typed as Tensor).
  const variables = model.trainableWeights.map((weight) => weight.read() as tfTypes.Variable);
  const offsets: number[] = [];
  let parameters = 0;
  for (const variable of variables) {
    offsets.push(parameters);
    parameters += variable.size;
  }
  session = {
    variables,
    offsets,
    parameters,
    optimizer: createOptimizer({ ...request.optimizer, batchSize: 1, localEpochs: 1 }),
    computeLoss: lossFunction(request.loss),
    barrier: new StepBarrier(request.barrier, request.threads),
    outputs: new Float32Array(request.outputs),
    gradients: new Float32Array(request.gradients),
    connected: new Int32Array(request.connected),
    index: request.index,
    threads: request.threads,
  };
  return { type: 'loaded', parameters };
}

function step(s: Session, model: tfTypes.LayersModel, request: StepRequest): number {
  const { barrier, outputs, gradients, parameters, variables, offsets } = s;
  const slot = gradients.subarray(s.index * parameters, (s.index + 1) * parameters);
  const end = request.offset + request.shardRows;
  let loss = Number.NaN;
  tf.tidy(() => {
    if (request.shardRows > 0) {
      const target = tf.tensor2d(request.target, [request.batchRows, request.targetWidth]);
      const inputs = inputTensors({
        rows: request.shardRows,
        images: request.images,
        imageShape: request.imageShape,
        tabular: request.tabular,
        tabularWidth: request.tabularWidth,
      });
      const { value, grads } = tf.variableGrads(() => {
        const own = apply(model, inputs, true);
        outputs.set(own.dataSync(), request.offset);
        barrier.arriveAndWait(); // (1) every shard's outputs are in place
        const parts: tfTypes.Tensor[] = [];
        if (request.offset > 0)
          parts.push(tf.tensor2d(outputs.slice(0, request.offset), [request.offset, 1]));
        parts.push(own);
        if (end < request.batchRows) {
          parts.push(tf.tensor2d(outputs.slice(end, request.batchRows), [request.batchRows - end, 1]));
        }
        const all = parts.length === 1 ? own : tf.concat(parts, 0);
        return s.computeLoss(target, all as tfTypes.Tensor2D);
      }, variables);
      loss = value.dataSync()[0] ?? Number.NaN;
      variables.forEach((variable, k) => {
        const grad = grads[variable.name];
        const region = slot.subarray(offsets[k]!, offsets[k]! + variable.size);
        if (grad) region.set(grad.dataSync());
        else region.fill(0);
        // The same model on every thread: thread 0 (which always has rows) says which variables the loss reaches.
        if (s.index === 0) Atomics.store(s.connected, k, grad ? 1 : 0);
      });
    } else {
      barrier.arriveAndWait(); // (1)
      slot.fill(0);
    }
    barrier.arriveAndWait(); // (2) every shard's gradient is in place
    const named: tfTypes.NamedTensorMap = {};
    variables.forEach((variable, k) => {
      // A variable the loss does not reach is not updated, as optimizer.minimize does.
      if (Atomics.load(s.connected, k) === 0) return;
      const sum = new Float32Array(variable.size);
      for (let t = 0; t < s.threads; t++) {
        const from = t * parameters + offsets[k]!;
        const part = gradients.subarray(from, from + variable.size);
        for (let i = 0; i < sum.length; i++) sum[i]! += part[i]!;
      }
      named[variable.name] = tf.tensor(sum, variable.shape);
    });
    s.optimizer.applyGradients(named);
  });
  return loss;
}

function weights(model: tfTypes.LayersModel): WeightArray[] {
  return model.getWeights().map((w) => ({ values: Float32Array.from(w.dataSync()), shape: [...w.shape] }));
}

async function handle(request: WorkerRequest): Promise<void> {
  try {
    switch (request.type) {
      case 'load':
        reply(await load(request));
        return;
      case 'step': {
        if (!session || !replica) throw new Error('step before load');
        reply({ type: 'stepped', loss: step(session, replica.model, request) });
        return;
      }
      case 'weights': {
        if (!replica) throw new Error('weights before load');
        const list = weights(replica.model);
        reply(
          { type: 'weights', weights: list },
          list.map((w) => w.values.buffer as ArrayBuffer),
        );
        return;
      }
    }
  } catch (error) {
    const aborted = error instanceof StepAbortedError;
    // Release the other threads of this step rather than leave them waiting on this one.
    if (!aborted) session?.barrier.abort();
    const message = error instanceof Error ? error.message : String(error);
    reply({ type: 'failed', message: message.split('\n')[0] ?? message, aborted });
  }
}

// Requests are handled one at a time, in order (the main thread sends one at a time per thread anyway).
let queue = Promise.resolve();
port.on('message', (request: WorkerRequest) => {
  queue = queue.then(() => handle(request));
});
reply({ type: 'ready', backend: selected.name });
