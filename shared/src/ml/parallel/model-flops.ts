import type * as tf from '@tensorflow/tfjs';

/**
 * Floating-point operations of one example's forward pass through the
 * model's kernels (convolutions and dense layers: 2 per multiply-add), from
 * each layer's output shape and kernel shape: 2 · |output| · |kernel| / outC.
 * Pooling, activations and biases are left out (a few percent). Used to tell
 * whether splitting a batch across threads can pay.
 */
export function forwardFlopsPerExample(model: tf.LayersModel): number {
  let flops = 0;
  for (const layer of model.layers) {
    const kernel = layer.weights.find((w) => /kernel$/.test(w.originalName) || /kernel$/.test(w.name));
    if (!kernel) continue;
    const output = (Array.isArray(layer.outputShape[0]) ? layer.outputShape[0] : layer.outputShape) as (
      | number
      | null
    )[];
    const outputs = output.slice(1).reduce<number>((a, b) => a * (b ?? 1), 1);
    const shape = kernel.shape as number[];
    const perOutput = shape.slice(0, -1).reduce((a, b) => a * b, 1);
    flops += 2 * outputs * perOutput;
  }
  return flops;
}

/**
 * The forward work of a batch below which data-parallel threads lose time on
 * this kind of CPU: the default pet-mip-cnn plan (~75 MFLOP a batch of 16) was
 * 1.4× slower on 2 threads than on 1 (per-step barriers, gradient exchange and
 * messages outweigh ~5 ms of arithmetic), the 2D MIP CNN of issue 7 (1.7
 * GFLOP) 1.6× faster (docs/performance.md).
 */
export const MIN_PARALLEL_FORWARD_FLOPS = 300e6;
