import * as tf from '@tensorflow/tfjs';

/**
 * Identity for 'wasm' that shares the input's memory (one more reference),
 * as the cpu backend's Identity and the wasm backend's own Reshape do. tfjs
 * clones every tensor it saves for the backward pass through Identity; stock
 * wasm copies the data each time (~0.9 ms per 4 Mi-float activation, ~3 ms of
 * a 32³ CNN step). Kernels never write into their inputs, so sharing is safe.
 * Strings go to the stock kernel.
 */
interface RefCounting {
  incRef(dataId: object): void;
}

export function sharedIdentityConfig(stock: tf.KernelConfig): tf.KernelConfig {
  return {
    kernelName: tf.Identity,
    backendName: 'wasm',
    kernelFunc: (args) => {
      const x = (args.inputs as Record<string, tf.TensorInfo | undefined>).x;
      const backend = args.backend as Partial<RefCounting>;
      if (!x || x.dtype === 'string' || typeof backend.incRef !== 'function') return stock.kernelFunc(args);
      backend.incRef(x.dataId);
      return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
    },
  };
}
