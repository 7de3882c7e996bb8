import * as tf from '@tensorflow/tfjs';
import { ErrorCodes, FedpetError } from '../../errors/fedpet-error.ts';
import { convBackpropFilter, convBackpropInput, convForward, directConvolution } from './conv-gemm.ts';
import { type ConvGeometry, conv2dGeometry, conv3dGeometry } from './conv-geometry.ts';
import { simdKernelsFor } from './simd/simd-kernels.ts';
import { asWasmBackend, requireFloat32 } from './wasm-heap.ts';

/**
 * tfjs kernel configs for backend 'wasm' that run convolutions as im2col plus
 * the backend's matrix multiply (conv-gemm.ts). Inputs and attributes are the
 * ones tfjs-core's ops and gradients pass (kernel_names.d.ts, 4.22).
 */

type KernelArgs = Parameters<tf.KernelFunc>[0];
type Attrs = Record<string, unknown>;

function input(args: KernelArgs, kernel: string, name: string): tf.TensorInfo {
  const info = (args.inputs as Record<string, tf.TensorInfo | undefined>)[name];
  if (!info)
    throw new FedpetError(ErrorCodes.internal, `fedpet wasm kernel ${kernel}: input '${name}' missing`);
  requireFloat32(kernel, name, info);
  return info;
}

function checkShape(
  kernel: string,
  name: string,
  actual: readonly number[],
  expected: readonly number[],
): void {
  if (actual.length !== expected.length || actual.some((v, i) => v !== expected[i])) {
    throw new FedpetError(
      ErrorCodes.invalidConfig,
      `fedpet wasm kernel ${kernel}: ${name} has shape [${actual.join(',')}], the convolution gives [${expected.join(',')}]`,
    );
  }
}

function outputShape(g: ConvGeometry, rank: 4 | 5): number[] {
  return rank === 4 ? [g.batch, g.outH, g.outW, g.outC] : [g.batch, g.outD, g.outH, g.outW, g.outC];
}

type Geometry = (kernel: string, xShape: number[], filterShape: number[], attrs: never) => ConvGeometry;

function backpropFilterConfig(kernelName: string, geometry: Geometry, rank: 4 | 5): tf.KernelConfig {
  return {
    kernelName,
    backendName: 'wasm',
    kernelFunc: (args) => {
      const backend = asWasmBackend(args.backend, kernelName);
      const x = input(args, kernelName, 'x');
      const dy = input(args, kernelName, 'dy');
      const filterShape = [...((args.attrs as Attrs).filterShape as number[])];
      const g = geometry(kernelName, x.shape, filterShape, args.attrs as never);
      checkShape(kernelName, 'dy', dy.shape, outputShape(g, rank));
      return convBackpropFilter(backend, x, dy, g, filterShape);
    },
  };
}

function backpropInputConfig(kernelName: string, geometry: Geometry, rank: 4 | 5): tf.KernelConfig {
  return {
    kernelName,
    backendName: 'wasm',
    kernelFunc: (args) => {
      const backend = asWasmBackend(args.backend, kernelName);
      const dy = input(args, kernelName, 'dy');
      const filter = input(args, kernelName, 'filter');
      const inputShape = [...((args.attrs as Attrs).inputShape as number[])];
      const g = geometry(kernelName, inputShape, filter.shape, args.attrs as never);
      checkShape(kernelName, 'dy', dy.shape, outputShape(g, rank));
      return convBackpropInput(backend, dy, filter, g, inputShape);
    },
  };
}

/** Gradient of tf.conv2d (and its fused form) with respect to the filter. Stock wasm 4.22 lacks it. */
export const conv2dBackpropFilterConfig = backpropFilterConfig(tf.Conv2DBackpropFilter, conv2dGeometry, 4);

/** Gradient of tf.conv2d with respect to its input (also tf.conv2dTranspose). */
export const conv2dBackpropInputConfig = backpropInputConfig(tf.Conv2DBackpropInput, conv2dGeometry, 4);

export const conv3dBackpropFilterConfig = backpropFilterConfig(tf.Conv3DBackpropFilterV2, conv3dGeometry, 5);

export const conv3dBackpropInputConfig = backpropInputConfig(tf.Conv3DBackpropInputV2, conv3dGeometry, 5);

/** tf.conv3d's forward pass. */
export const conv3dConfig: tf.KernelConfig = {
  kernelName: tf.Conv3D,
  backendName: 'wasm',
  kernelFunc: (args) => {
    const backend = asWasmBackend(args.backend, tf.Conv3D);
    const x = input(args, tf.Conv3D, 'x');
    const filter = input(args, tf.Conv3D, 'filter');
    const g = conv3dGeometry(tf.Conv3D, x.shape, filter.shape, args.attrs as never);
    return convForward(backend, x, filter, g, outputShape(g, 5));
  },
};

/**
 * tf.conv2d's forward pass: the direct SIMD convolution where it applies
 * (stride 1, output channels in sixteens; MIP CNN 2×128²: 41 → ~30 ms a step),
 * stock wasm's XNNPACK convolution otherwise (other strides, dilations, no SIMD).
 */
export function conv2dConfig(stock: tf.KernelConfig): tf.KernelConfig {
  return {
    kernelName: tf.Conv2D,
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { x, filter } = args.inputs as Record<string, tf.TensorInfo | undefined>;
      if (!x || !filter || x.dtype !== 'float32' || !simdKernelsFor(args.backend))
        return stock.kernelFunc(args);
      let g: ConvGeometry;
      try {
        g = conv2dGeometry(tf.Conv2D, x.shape, filter.shape, args.attrs as never);
      } catch {
        return stock.kernelFunc(args); // attributes fedpet's kernels do not implement (NCHW, dilations)
      }
      if (!directConvolution(g)) return stock.kernelFunc(args);
      return convForward(asWasmBackend(args.backend, tf.Conv2D), x, filter, g, outputShape(g, 4));
    },
  };
}
