import * as tf from '@tensorflow/tfjs';
import { simdKernelsFor } from './simd/simd-kernels.ts';
import { asWasmBackend, heapF32 } from './wasm-heap.ts';

/**
 * The float32 sum of a tensor [..., C] and a vector of its last axis (shape
 * [C] or [1, …, 1, C]): every layer's bias addition. Stock wasm's broadcasting
 * Add took ~3.8 ms of a 32³ CNN step for the first layer alone; the SIMD row
 * loop (simd-kernels.ts addRowVector) makes the same IEEE additions. Any other
 * addition, or no SIMD kernels, goes to the stock kernel unchanged.
 */

/** [rows, cols] when `big` + `small` is a row-vector broadcast over big's last axis; else undefined. */
export function rowVectorBroadcast(
  big: number[],
  small: number[],
): { rows: number; cols: number } | undefined {
  if (big.length === 0 || small.length === 0 || small.length > big.length) return undefined;
  const cols = big[big.length - 1] as number;
  if (small[small.length - 1] !== cols || small.slice(0, -1).some((d) => d !== 1)) return undefined;
  const rows = tf.util.sizeFromShape(big.slice(0, -1));
  // Equal shapes are an ordinary element-wise sum; leave them to the stock kernel.
  if (rows <= 1 || cols < 4) return undefined;
  return { rows, cols };
}

export function biasAddConfig(stock: tf.KernelConfig): tf.KernelConfig {
  return {
    kernelName: tf.Add,
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { a, b } = args.inputs as Record<string, tf.TensorInfo | undefined>;
      const simd = simdKernelsFor(args.backend);
      if (!a || !b || !simd || a.dtype !== 'float32' || b.dtype !== 'float32') return stock.kernelFunc(args);
      // Addition commutes exactly in IEEE arithmetic: the vector may be either input.
      const [big, small] = tf.util.sizeFromShape(a.shape) >= tf.util.sizeFromShape(b.shape) ? [a, b] : [b, a];
      const layout = rowVectorBroadcast(big.shape, small.shape);
      if (!layout) return stock.kernelFunc(args);
      const backend = asWasmBackend(args.backend, tf.Add);
      const out = backend.makeOutput([...big.shape], 'float32');
      simd.addRowVector(
        heapF32(backend, big),
        heapF32(backend, small),
        layout.rows,
        layout.cols,
        heapF32(backend, out),
      );
      return out;
    },
  };
}
