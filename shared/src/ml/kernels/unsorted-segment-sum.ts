import * as tf from '@tensorflow/tfjs';
import { ErrorCodes, FedpetError } from '../../errors/fedpet-error.ts';
import { asWasmBackend, heapF32 } from './wasm-heap.ts';

/**
 * UnsortedSegmentSum for tfjs-backend-wasm 4.22, which has none: every
 * gradient through tf.gather (GatherV2's gradient is an unsorted segment sum)
 * fails on stock wasm, and the Cox loss gathers rows by time order. out[s, …]
 * = Σ over i with segmentIds[i] = s of x[i, …]; ids outside [0, numSegments)
 * are dropped, as TensorFlow does.
 */
export const unsortedSegmentSumConfig: tf.KernelConfig = {
  kernelName: tf.UnsortedSegmentSum,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const wasm = asWasmBackend(backend, 'UnsortedSegmentSum');
    const x = inputs.x as tf.TensorInfo;
    const ids = inputs.segmentIds as tf.TensorInfo;
    const numSegments = (attrs as { numSegments: number }).numSegments;
    if (x.dtype !== 'float32') {
      throw new FedpetError(
        ErrorCodes.invalidConfig,
        `fedpet wasm kernel UnsortedSegmentSum: x must be float32, got ${x.dtype}`,
      );
    }
    const rows = ids.shape.reduce((a, b) => a * b, 1);
    const inner = x.shape.slice(ids.shape.length).reduce((a, b) => a * b, 1);
    const out = wasm.makeOutput([numSegments, ...x.shape.slice(ids.shape.length)], 'float32');
    // Views after the last allocation: growing the heap detaches older ones.
    const target = heapF32(wasm, out);
    const source = heapF32(wasm, x);
    const segment = wasm.typedArrayFromHeap(ids);
    target.fill(0);
    for (let i = 0; i < rows; i++) {
      const s = segment[i]!;
      if (s < 0 || s >= numSegments) continue;
      const from = i * inner;
      const to = s * inner;
      for (let k = 0; k < inner; k++) target[to + k]! += source[from + k]!;
    }
    return out;
  },
};
