import * as tf from '@tensorflow/tfjs';
import { ErrorCodes, FedpetError } from '../../errors/fedpet-error.ts';
import { simdKernelsFor } from './simd/simd-kernels.ts';
import { asWasmBackend, heapF32, requireFloat32 } from './wasm-heap.ts';

/**
 * Max-pooling gradients for backend 'wasm', 2D and 3D (a 2D pool is a 3D one
 * of depth 1), channels-last. Each output's gradient goes to one maximum of
 * its window, padding excluded; overlapping windows add up. Which maximum,
 * when several are equal (common after ReLU), follows the cpu backend
 * (tfjs-backend-cpu 4.22 utils/pool_utils.js): the first in (d, h, w) order
 * for 2D (maxPoolPositions compares with '>'), the last for 3D
 * (maxPool3dPositions compares with '>='). Stock wasm 2D takes the last one.
 * A window of NaNs passes nothing, as on cpu.
 *
 * Why replace the stock kernels: in one training step (tf.profile, 2-core EPYC)
 * stock MaxPoolGrad took ~115 ms for the MIP CNN's three 2×2 pools and a
 * plain window scan per channel ~40 ms; MaxPool3DGrad on the 32³ CNN ~80 and
 * ~30 ms. Scanning all channels of a pixel together (forEachWindow) cuts
 * those further. MaxPool3D itself is replaced too: stock wasm's C++ loop took
 * ~21 ms for the 32³ CNN's first pool.
 */
export interface PoolGeometry {
  batch: number;
  channels: number;
  inD: number;
  inH: number;
  inW: number;
  outD: number;
  outH: number;
  outW: number;
  fD: number;
  fH: number;
  fW: number;
  strideD: number;
  strideH: number;
  strideW: number;
  padFront: number;
  padTop: number;
  padLeft: number;
}

/** Which of equal maxima in a window receives the gradient. */
export type TieRule = 'first' | 'last';

/**
 * Calls visit(outputOffset, windowOffsets) for every output cell in order,
 * with the channel-0 offsets of its window's input pixels in (d, h, w) order,
 * padding excluded. The channel loop then runs innermost over contiguous
 * floats in the callers: about 5× faster in V8 than one channel at a time
 * (a window scan per channel), e.g. 30 → 6 ms for the 32³ CNN's first pool.
 */
function forEachWindow(
  g: PoolGeometry,
  visit: (out: number, window: Int32Array, size: number) => void,
): void {
  const C = g.channels;
  const window = new Int32Array(g.fD * g.fH * g.fW);
  let out = 0;
  for (let n = 0; n < g.batch; n++) {
    for (let od = 0; od < g.outD; od++) {
      const d0 = od * g.strideD - g.padFront;
      const dLo = Math.max(0, d0);
      const dHi = Math.min(g.inD, d0 + g.fD);
      for (let oh = 0; oh < g.outH; oh++) {
        const h0 = oh * g.strideH - g.padTop;
        const hLo = Math.max(0, h0);
        const hHi = Math.min(g.inH, h0 + g.fH);
        for (let ow = 0; ow < g.outW; ow++, out += C) {
          const w0 = ow * g.strideW - g.padLeft;
          const wLo = Math.max(0, w0);
          const wHi = Math.min(g.inW, w0 + g.fW);
          let size = 0;
          for (let d = dLo; d < dHi; d++) {
            for (let h = hLo; h < hHi; h++) {
              const row = ((n * g.inD + d) * g.inH + h) * g.inW;
              for (let w = wLo; w < wHi; w++) window[size++] = (row + w) * C;
            }
          }
          visit(out, window, size);
        }
      }
    }
  }
}

/** dx (cleared by the caller) += the routed dy, for input x. */
export function maxPoolBackprop(
  x: Float32Array,
  dy: Float32Array,
  g: PoolGeometry,
  dx: Float32Array,
  ties: TieRule,
): void {
  const C = g.channels;
  const best = new Float32Array(C);
  const where = new Int32Array(C);
  forEachWindow(g, (out, window, size) => {
    best.fill(Number.NEGATIVE_INFINITY);
    where.fill(-1);
    for (let p = 0; p < size; p++) {
      const base = window[p] as number;
      // '>=' lets a later equal value win (and a window of −∞ route to its last pixel), as cpu's 3D rule does.
      if (ties === 'last') {
        for (let c = 0; c < C; c++) {
          const v = x[base + c] as number;
          if (v >= (best[c] as number)) {
            best[c] = v;
            where[c] = base + c;
          }
        }
      } else {
        for (let c = 0; c < C; c++) {
          const v = x[base + c] as number;
          if (v > (best[c] as number)) {
            best[c] = v;
            where[c] = base + c;
          }
        }
      }
    }
    for (let c = 0; c < C; c++) {
      const at = where[c] as number;
      if (at >= 0) dx[at] = (dx[at] as number) + (dy[out + c] as number);
    }
  });
}

/** y = the window maxima of x, NaN ignored and −∞ for a window without a number, as cpu's pool3d computes them. */
export function maxPoolForward(x: Float32Array, g: PoolGeometry, y: Float32Array): void {
  const C = g.channels;
  forEachWindow(g, (out, window, size) => {
    y.fill(Number.NEGATIVE_INFINITY, out, out + C);
    for (let p = 0; p < size; p++) {
      const base = window[p] as number;
      for (let c = 0; c < C; c++) {
        const v = x[base + c] as number;
        if (v > (y[out + c] as number)) y[out + c] = v;
      }
    }
  });
}

function unsupported(kernel: string, what: string): never {
  throw new FedpetError(
    ErrorCodes.invalidConfig,
    `fedpet wasm kernel ${kernel}: ${what} is not supported (channels-last, dilation 1)`,
  );
}

type Attrs = Record<string, unknown>;

function geometry2d(kernel: string, xShape: number[], attrs: Attrs): PoolGeometry {
  if (xShape.length !== 4) unsupported(kernel, `input rank ${xShape.length}`);
  const info = tf.backend_util.computePool2DInfo(
    xShape as [number, number, number, number],
    attrs.filterSize as number | [number, number],
    attrs.strides as number | [number, number],
    1,
    attrs.pad as 'valid' | 'same' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
  );
  return {
    batch: info.batchSize,
    channels: info.inChannels,
    inD: 1,
    inH: info.inHeight,
    inW: info.inWidth,
    outD: 1,
    outH: info.outHeight,
    outW: info.outWidth,
    fD: 1,
    fH: info.filterHeight,
    fW: info.filterWidth,
    strideD: 1,
    strideH: info.strideHeight,
    strideW: info.strideWidth,
    padFront: 0,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}

export function geometry3d(kernel: string, xShape: number[], attrs: Attrs): PoolGeometry {
  if (xShape.length !== 5) unsupported(kernel, `input rank ${xShape.length}`);
  const info = tf.backend_util.computePool3DInfo(
    xShape as [number, number, number, number, number],
    attrs.filterSize as number | [number, number, number],
    attrs.strides as number | [number, number, number],
    1,
    attrs.pad as 'valid' | 'same' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
  );
  return {
    batch: info.batchSize,
    channels: info.inChannels,
    inD: info.inDepth,
    inH: info.inHeight,
    inW: info.inWidth,
    outD: info.outDepth,
    outH: info.outHeight,
    outW: info.outWidth,
    fD: info.filterDepth,
    fH: info.filterHeight,
    fW: info.filterWidth,
    strideD: info.strideDepth,
    strideH: info.strideHeight,
    strideW: info.strideWidth,
    padFront: info.padInfo.front,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}

function maxPoolGradConfig(
  kernelName: string,
  geometry: (kernel: string, xShape: number[], attrs: Attrs) => PoolGeometry,
  ties: TieRule,
): tf.KernelConfig {
  return {
    kernelName,
    backendName: 'wasm',
    kernelFunc: (args) => {
      const backend = asWasmBackend(args.backend, kernelName);
      const { dy, input } = args.inputs as Record<string, tf.TensorInfo | undefined>;
      if (!dy || !input)
        throw new FedpetError(ErrorCodes.internal, `fedpet wasm kernel ${kernelName}: inputs missing`);
      requireFloat32(kernelName, 'dy', dy);
      requireFloat32(kernelName, 'input', input);
      const g = geometry(kernelName, input.shape, args.attrs as Attrs);
      const expected = g.batch * g.outD * g.outH * g.outW * g.channels;
      if (tf.util.sizeFromShape(dy.shape) !== expected) {
        throw new FedpetError(
          ErrorCodes.invalidConfig,
          `fedpet wasm kernel ${kernelName}: dy has shape [${dy.shape.join(',')}], the pooling gives ${expected} values`,
        );
      }
      const dx = backend.makeOutput([...input.shape], 'float32');
      heapF32(backend, dx).fill(0);
      const backprop = simdKernelsFor(backend)?.maxPoolBackprop ?? maxPoolBackprop;
      backprop(heapF32(backend, input), heapF32(backend, dy), g, heapF32(backend, dx), ties);
      return dx;
    },
  };
}

export const maxPool2dGradConfig = maxPoolGradConfig(tf.MaxPoolGrad, geometry2d, 'first');
export const maxPool3dGradConfig = maxPoolGradConfig(tf.MaxPool3DGrad, geometry3d, 'last');

/** MaxPool3D for backend 'wasm' (channels-last): maxPoolForward over the heap tensors. */
export const maxPool3dConfig: tf.KernelConfig = {
  kernelName: tf.MaxPool3D,
  backendName: 'wasm',
  kernelFunc: (args) => {
    const backend = asWasmBackend(args.backend, tf.MaxPool3D);
    const { x } = args.inputs as Record<string, tf.TensorInfo | undefined>;
    if (!x) throw new FedpetError(ErrorCodes.internal, `fedpet wasm kernel ${tf.MaxPool3D}: input x missing`);
    requireFloat32(tf.MaxPool3D, 'x', x);
    const g = geometry3d(tf.MaxPool3D, x.shape, args.attrs as Attrs);
    const y = backend.makeOutput([g.batch, g.outD, g.outH, g.outW, g.channels], 'float32');
    const forward = simdKernelsFor(backend)?.maxPoolForward ?? maxPoolForward;
    forward(heapF32(backend, x), g, heapF32(backend, y));
    return y;
  },
};
