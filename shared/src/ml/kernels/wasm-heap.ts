import * as tf from '@tensorflow/tfjs';
import { ErrorCodes, FedpetError } from '../../errors/fedpet-error.ts';

type TensorInfo = tf.TensorInfo;

/**
 * The part of @tensorflow/tfjs-backend-wasm 4.22's BackendWasm that fedpet's
 * kernels use (dist/backend_wasm.js): tensors live in the module's linear
 * memory; makeOutput allocates one there, typedArrayFromHeap views it in place.
 */
export interface WasmBackendLike {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: object, force?: boolean): boolean;
}

export function asWasmBackend(backend: unknown, kernel: string): WasmBackendLike {
  const b = backend as Partial<WasmBackendLike> | null;
  if (!b || typeof b.makeOutput !== 'function' || typeof b.typedArrayFromHeap !== 'function') {
    throw new FedpetError(
      ErrorCodes.internal,
      `fedpet wasm kernel ${kernel}: the backend is not tfjs-backend-wasm's (makeOutput/typedArrayFromHeap missing)`,
    );
  }
  return b as WasmBackendLike;
}

/**
 * A float32 view of a tensor in the wasm heap. Take it after the last
 * allocation before use: growing the heap detaches earlier views.
 */
export function heapF32(backend: WasmBackendLike, info: TensorInfo): Float32Array {
  const view = backend.typedArrayFromHeap(info);
  if (!(view instanceof Float32Array)) {
    throw new FedpetError(
      ErrorCodes.internal,
      `fedpet wasm kernel: expected a float32 tensor, got ${info.dtype}`,
    );
  }
  return view;
}

export function requireFloat32(kernel: string, name: string, info: TensorInfo): void {
  if (info.dtype !== 'float32') {
    throw new FedpetError(
      ErrorCodes.invalidConfig,
      `fedpet wasm kernel ${kernel}: input '${name}' must be float32, got ${info.dtype}`,
    );
  }
}

export function release(backend: WasmBackendLike, info: TensorInfo): void {
  backend.disposeData(info.dataId);
}

/**
 * [rows, inner] · [inner, cols] → a new [rows, cols] tensor, through the wasm
 * backend's own BatchMatMul kernel (XNNPACK, SIMD): without transposition it
 * runs at tens of GFLOP/s, about ten times its transposed variants, which is
 * why callers lay their operands out untransposed.
 */
export function matMul(
  backend: WasmBackendLike,
  a: TensorInfo,
  b: TensorInfo,
  rows: number,
  inner: number,
  cols: number,
): TensorInfo {
  const kernel = tf.getKernel('BatchMatMul', 'wasm');
  if (!kernel)
    throw new FedpetError(ErrorCodes.internal, "fedpet wasm kernels: 'BatchMatMul' is not registered");
  const out = kernel.kernelFunc({
    inputs: { a: { ...a, shape: [1, rows, inner] }, b: { ...b, shape: [1, inner, cols] } },
    backend: backend as unknown as tf.KernelBackend,
    attrs: { transposeA: false, transposeB: false },
  }) as TensorInfo;
  return { ...out, shape: [rows, cols] };
}

/** Copies `count` floats from one heap tensor to another (a memmove inside the wasm heap). */
export function copyFloats(
  backend: WasmBackendLike,
  from: TensorInfo,
  fromStart: number,
  to: TensorInfo,
  toStart: number,
  count: number,
): void {
  const src = heapF32(backend, from);
  const dst = heapF32(backend, to);
  dst.set(src.subarray(fromStart, fromStart + count), toStart);
}
