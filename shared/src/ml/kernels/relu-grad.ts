import * as tf from '@tensorflow/tfjs';
import { simdKernelsFor } from './simd/simd-kernels.ts';
import { asWasmBackend, heapF32, requireFloat32 } from './wasm-heap.ts';

/**
 * ReLU's gradient in one pass on 'wasm'. tfjs differentiates Relu as
 * mul(dy, cast(step(x))): three kernels and two temporaries per activation
 * (~4 ms of a 32³ CNN step on the first layer's 4 Mi floats). fedpet's
 * gradient runs the FedpetReluGrad kernel where the active backend has it
 * and tfjs' own formula elsewhere, with the same values: dy · step(x), step
 * being 1 for x > 0, NaN for NaN, else 0.
 */
export const RELU_GRAD_KERNEL = 'FedpetReluGrad';

/** dy · step(x) in JavaScript, the fallback without SIMD kernels. */
export function reluBackward(dy: Float32Array, x: Float32Array, out: Float32Array): void {
  for (let i = 0; i < out.length; i++) {
    const v = x[i] as number;
    out[i] = (dy[i] as number) * (v > 0 ? 1 : Number.isNaN(v) ? v : 0);
  }
}

export const reluGradKernelConfig: tf.KernelConfig = {
  kernelName: RELU_GRAD_KERNEL,
  backendName: 'wasm',
  kernelFunc: (args) => {
    const backend = asWasmBackend(args.backend, RELU_GRAD_KERNEL);
    const { dy, x } = args.inputs as Record<string, tf.TensorInfo>;
    requireFloat32(RELU_GRAD_KERNEL, 'dy', dy!);
    requireFloat32(RELU_GRAD_KERNEL, 'x', x!);
    const out = backend.makeOutput([...x!.shape], 'float32');
    const run = simdKernelsFor(backend)?.reluBackward ?? reluBackward;
    run(heapF32(backend, dy!), heapF32(backend, x!), heapF32(backend, out));
    return out;
  },
};

/** Relu's gradient: the fused kernel where the active backend registers it, tfjs' formula otherwise. */
export function reluGradientConfig(stock: tf.GradConfig): tf.GradConfig {
  return {
    kernelName: tf.Relu,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const x = saved[0];
      const fused =
        x && !Array.isArray(dy) && x.dtype === 'float32' && tf.getKernel(RELU_GRAD_KERNEL, tf.getBackend());
      if (!fused) return stock.gradFunc(dy, saved, attrs);
      return { x: () => tf.engine().runKernel(RELU_GRAD_KERNEL, { dy, x }) as tf.Tensor };
    },
  };
}
