import * as tf from '@tensorflow/tfjs';
import { simdKernelsFor } from './simd/simd-kernels.ts';
import { asWasmBackend, heapF32, release } from './wasm-heap.ts';

/**
 * tf.sum over a float32 tensor's leading axes [0, j), j < rank: the bias
 * gradient of every dense and convolution layer (dy summed over batch and
 * space, per channel). The stock wasm Sum first transposes the reduced axes
 * innermost, which costs ~270 ms a step on the 32³ 3D CNN; summing rows of
 * the [outer, inner] view in place is one pass over memory. Sums accumulate
 * in float64, then round to float32 (the cpu backend also sums in JavaScript numbers).
 * Any other reduction goes to the stock kernel unchanged.
 */

/** Column sums of the row-major [rows, cols] matrix `x`, into `out` (length cols). */
export function sumRows(x: Float32Array, rows: number, cols: number, out: Float32Array): void {
  const acc = new Float64Array(cols);
  for (let r = 0, base = 0; r < rows; r++, base += cols) {
    for (let c = 0; c < cols; c++) acc[c] = (acc[c] as number) + (x[base + c] as number);
  }
  out.set(acc);
}

/** The number of leading axes `axis` reduces, when it is exactly [0, j) with 0 < j < rank; else 0. */
export function leadingAxes(axis: number | number[], rank: number): number {
  const axes = [...new Set(tf.util.parseAxisParam(axis, new Array(rank).fill(1)))].sort((a, b) => a - b);
  if (axes.length === 0 || axes.length >= rank) return 0;
  return axes.every((a, i) => a === i) ? axes.length : 0;
}

/** A Sum kernel for 'wasm' that handles leading-axes float32 sums and hands the rest to `stock`. */
export function sumLeadingAxesConfig(stock: tf.KernelConfig): tf.KernelConfig {
  return {
    kernelName: tf.Sum,
    backendName: 'wasm',
    kernelFunc: (args) => {
      const x = (args.inputs as Record<string, tf.TensorInfo | undefined>).x;
      const { axis, keepDims } = args.attrs as unknown as tf.SumAttrs;
      const j = x && x.dtype === 'float32' ? leadingAxes(axis, x.shape.length) : 0;
      if (!x || j === 0) return stock.kernelFunc(args);
      const backend = asWasmBackend(args.backend, tf.Sum);
      const rows = tf.util.sizeFromShape(x.shape.slice(0, j));
      const cols = tf.util.sizeFromShape(x.shape.slice(j));
      const shape = keepDims ? [...x.shape.map((d, i) => (i < j ? 1 : d))] : x.shape.slice(j);
      const out = backend.makeOutput(shape, 'float32');
      const simd = simdKernelsFor(backend);
      if (!simd) {
        sumRows(heapF32(backend, x), rows, cols, heapF32(backend, out));
        return out;
      }
      const scratch = backend.makeOutput([2 * cols], 'float32');
      simd.sumRows(heapF32(backend, x), rows, cols, heapF32(backend, out), heapF32(backend, scratch));
      release(backend, scratch);
      return out;
    },
  };
}
