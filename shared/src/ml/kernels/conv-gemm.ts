import type * as tf from '@tensorflow/tfjs';
import { type ConvGeometry, patchColumns, patchRows } from './conv-geometry.ts';
import { channelMajor, gatherPatchColumns, gatherPatchRows, scatterPatchRows } from './patches.ts';
import { simdKernelsFor } from './simd/simd-kernels.ts';
import { copyFloats, heapF32, matMul, release, type WasmBackendLike } from './wasm-heap.ts';

type TensorInfo = tf.TensorInfo;

/**
 * Convolutions as matrix products on the wasm heap (the identities are in
 * patches.ts). The patch matrix is built one slab of output lines at a time,
 * at most this many floats (4 MiB): memory stays bounded for any batch, the
 * heap block is reused from slab to slab, and a slab is still in cache when the
 * product reads it (a training step of the MIP CNN measured ~20% faster than
 * with 32 MiB slabs; 0.5–1 Mi floats did best).
 */
export const PATCH_SLAB_FLOATS = 1024 * 1024;

interface Slab {
  /** Output lines [l0, l1). */
  l0: number;
  l1: number;
  /** Output positions (patch-matrix rows) in the slab, starting at position `first`. */
  first: number;
  rows: number;
}

function slabs(g: ConvGeometry, slabFloats: number): Slab[] {
  const lines = g.batch * g.outD * g.outH;
  const perLine = Math.max(1, g.outW * patchColumns(g));
  const step = Math.max(1, Math.floor(slabFloats / perLine));
  const out: Slab[] = [];
  for (let l0 = 0; l0 < lines; l0 += step) {
    const l1 = Math.min(lines, l0 + step);
    out.push({ l0, l1, first: l0 * g.outW, rows: (l1 - l0) * g.outW });
  }
  return out;
}

/** The slab's rows of a row-major [M, cols] tensor: the tensor itself when the slab covers it, else a copy. */
function slabRows(
  backend: WasmBackendLike,
  m: TensorInfo,
  slab: Slab,
  total: number,
  cols: number,
): TensorInfo {
  if (slab.rows === total) return m;
  const part = backend.makeOutput([slab.rows, cols], 'float32');
  copyFloats(backend, m, slab.first * cols, part, 0, slab.rows * cols);
  return part;
}

function zeros(backend: WasmBackendLike, shape: number[]): TensorInfo {
  const out = backend.makeOutput(shape, 'float32');
  heapF32(backend, out).fill(0);
  return out;
}

/** Padded extents of a stride-1 convolution's input: every output's window lies inside. */
const paddedExtents = (g: ConvGeometry) => [g.outD + g.fD - 1, g.outH + g.fH - 1, g.outW + g.fW - 1] as const;

/** Copies x into `padded` (both on the wasm heap; [batch, PD, PH, PW, inC], zeroed) at the padding offsets, cropping what lies beyond. */
function padInput(x: Float32Array, g: ConvGeometry, padded: Float32Array): void {
  const [PD, PH, PW] = paddedExtents(g);
  const row = Math.max(0, Math.min(g.inW, PW - g.padLeft)) * g.inC;
  const heap = new Float32Array(x.buffer);
  const xBase = x.byteOffset >> 2;
  const pBase = padded.byteOffset >> 2;
  for (let n = 0; n < g.batch; n++) {
    for (let d = 0; d < g.inD; d++) {
      const pd = d + g.padFront;
      if (pd >= PD) break;
      for (let h = 0; h < g.inH; h++) {
        const ph = h + g.padTop;
        if (ph >= PH) break;
        const src = xBase + ((n * g.inD + d) * g.inH + h) * g.inW * g.inC;
        const dst = pBase + (((n * PD + pd) * PH + ph) * PW + g.padLeft) * g.inC;
        heap.copyWithin(dst, src, src + row);
      }
    }
  }
}

/** x zero-padded for the direct kernels, with inC floats of slack (the paired loads may read one position past the end). */
function paddedCopy(backend: WasmBackendLike, x: TensorInfo, g: ConvGeometry): TensorInfo {
  const [PD, PH, PW] = paddedExtents(g);
  const padded = backend.makeOutput([g.batch * PD * PH * PW * g.inC + 16], 'float32');
  const view = heapF32(backend, padded);
  view.fill(0);
  padInput(heapF32(backend, x), g, view);
  return padded;
}

/**
 * Stride 1 and output channels in sixteens (every layer of fedpet's CNNs but
 * the last 3D one, and every transposed convolution of an input gradient): the
 * direct SIMD kernels, which read the padded input in place. They beat patch
 * matrices + XNNPACK's product on every such layer measured (32³ CNN: first
 * layer 15 → 5 ms forward, 24 → 7 ms filter gradient; second 30 → 17 ms
 * forward, 25 → 17 ms input gradient, 33 → 24 ms filter gradient), most of all
 * with few input channels, whose 27-float patch rows are slow to build.
 */
export const directConvolution = (g: ConvGeometry) =>
  g.outC % 16 === 0 && g.strideD === 1 && g.strideH === 1 && g.strideW === 1;

/** y = P · W: x [batch, …spatial, inC], filter [K, outC] → y with shape `outShape`. */
export function convForward(
  backend: WasmBackendLike,
  x: TensorInfo,
  filter: TensorInfo,
  g: ConvGeometry,
  outShape: number[],
  slabFloats = PATCH_SLAB_FLOATS,
): TensorInfo {
  const K = patchColumns(g);
  const M = patchRows(g);
  const simd = simdKernelsFor(backend);
  if (simd && M > 0 && K > 0 && directConvolution(g)) {
    const padded = paddedCopy(backend, x, g);
    const y = backend.makeOutput(outShape, 'float32');
    simd.convDirect(heapF32(backend, padded), heapF32(backend, filter), heapF32(backend, y), g);
    release(backend, padded);
    return y;
  }
  const parts = slabs(g, slabFloats);
  if (M === 0 || K === 0) return zeros(backend, outShape);
  const out = parts.length === 1 ? undefined : backend.makeOutput(outShape, 'float32');
  const gather = simd?.gatherPatchRows ?? gatherPatchRows;
  for (const slab of parts) {
    const patches = backend.makeOutput([slab.rows, K], 'float32');
    gather(heapF32(backend, x), g, slab.l0, slab.l1, heapF32(backend, patches));
    const y = matMul(backend, patches, filter, slab.rows, K, g.outC);
    release(backend, patches);
    if (!out) return { ...y, shape: outShape };
    copyFloats(backend, y, 0, out, slab.first * g.outC, slab.rows * g.outC);
    release(backend, y);
  }
  return out as TensorInfo;
}

/** dW = Pᵀ · dY: x and dy [batch, …spatial, outC] → dW with shape `filterShape` ([…taps, inC, outC]). */
export function convBackpropFilter(
  backend: WasmBackendLike,
  x: TensorInfo,
  dy: TensorInfo,
  g: ConvGeometry,
  filterShape: number[],
  slabFloats = PATCH_SLAB_FLOATS,
): TensorInfo {
  const K = patchColumns(g);
  const M = patchRows(g);
  if (M === 0 || K === 0) return zeros(backend, filterShape);
  const direct = directConvolution(g) && g.fW === 3 ? simdKernelsFor(backend) : undefined;
  if (direct) {
    // The first layer's filter gradient: P would have 27 columns and 262,144 rows (32³ CNN),
    // a product XNNPACK runs at ~12 GFLOP/s; the direct kernel reads the padded input in place.
    const padded = paddedCopy(backend, x, g);
    const dw = backend.makeOutput(filterShape, 'float32');
    direct.convFilterGradDirect(heapF32(backend, padded), heapF32(backend, dy), heapF32(backend, dw), g);
    release(backend, padded);
    return dw;
  }
  // One channel-major copy of x (K / taps times smaller than Pᵀ) turns the gather into block copies.
  const positions = g.batch * g.inD * g.inH * g.inW;
  const xByChannel = g.inC === 1 ? x : backend.makeOutput([g.inC, positions], 'float32');
  if (xByChannel !== x) channelMajor(heapF32(backend, x), positions, g.inC, heapF32(backend, xByChannel));
  let sum: TensorInfo | undefined;
  const simd = g.strideW === 1 ? simdKernelsFor(backend) : undefined;
  const gather = simd?.gatherPatchColumns ?? gatherPatchColumns;
  for (const slab of slabs(g, slabFloats)) {
    const patchesT = backend.makeOutput([K, slab.rows], 'float32');
    gather(heapF32(backend, xByChannel), g, slab.l0, slab.l1, heapF32(backend, patchesT));
    const dySlab = slabRows(backend, dy, slab, M, g.outC);
    const part = matMul(backend, patchesT, dySlab, K, slab.rows, g.outC);
    release(backend, patchesT);
    if (dySlab !== dy) release(backend, dySlab);
    if (!sum) {
      sum = part;
      continue;
    }
    const total = heapF32(backend, sum);
    const add = heapF32(backend, part);
    for (let i = 0; i < total.length; i++) total[i] = (total[i] as number) + (add[i] as number);
    release(backend, part);
  }
  if (xByChannel !== x) release(backend, xByChannel);
  return { ...(sum as TensorInfo), shape: filterShape };
}

/**
 * The forward convolution whose output is dX, for stride 1: dX[i] = Σ_k' dY[i − pad' + k'] · Wf[k'],
 * with Wf the filter flipped in space and its channel axes swapped and pad' = f − 1 − pad
 * (substitute k' = f − 1 − k in dX[i] = Σ_k dY[i + pad − k] · W[k]ᵀ).
 */
function transposedGeometry(g: ConvGeometry): ConvGeometry {
  return {
    batch: g.batch,
    inD: g.outD,
    inH: g.outH,
    inW: g.outW,
    inC: g.outC,
    outD: g.inD,
    outH: g.inH,
    outW: g.inW,
    outC: g.inC,
    fD: g.fD,
    fH: g.fH,
    fW: g.fW,
    strideD: 1,
    strideH: 1,
    strideW: 1,
    padFront: g.fD - 1 - g.padFront,
    padTop: g.fH - 1 - g.padTop,
    padLeft: g.fW - 1 - g.padLeft,
  };
}

/** Wf[kd, kh, kw, o, c] = W[fD−1−kd, fH−1−kh, fW−1−kw, c, o]. */
function flippedFilter(backend: WasmBackendLike, filter: TensorInfo, g: ConvGeometry): TensorInfo {
  const taps = g.fD * g.fH * g.fW;
  const out = backend.makeOutput([taps * g.outC, g.inC], 'float32');
  const w = heapF32(backend, filter);
  const wf = heapF32(backend, out);
  for (let t = 0; t < taps; t++) {
    const src = (taps - 1 - t) * g.inC * g.outC;
    const dst = t * g.outC * g.inC;
    for (let c = 0; c < g.inC; c++)
      for (let o = 0; o < g.outC; o++) wf[dst + o * g.inC + c] = w[src + c * g.outC + o] as number;
  }
  return out;
}

/**
 * dX for dY and filter [K, outC], with shape `inShape`. Stride 1 (every
 * convolution in fedpet's plans): the forward convolution of transposedGeometry,
 * built from contiguous patch rows. Other strides: col2im(dY · Wᵀ).
 */
export function convBackpropInput(
  backend: WasmBackendLike,
  dy: TensorInfo,
  filter: TensorInfo,
  g: ConvGeometry,
  inShape: number[],
  slabFloats = PATCH_SLAB_FLOATS,
): TensorInfo {
  const K = patchColumns(g);
  const M = patchRows(g);
  if (M === 0 || K === 0) return zeros(backend, inShape);
  if (g.strideD === 1 && g.strideH === 1 && g.strideW === 1) {
    const flipped = flippedFilter(backend, filter, g);
    const dx = convForward(backend, dy, flipped, transposedGeometry(g), inShape, slabFloats);
    release(backend, flipped);
    return dx;
  }
  const dx = zeros(backend, inShape);
  // Wᵀ [outC, K], transposed here (K·outC floats) so the large product runs untransposed.
  const filterT = backend.makeOutput([g.outC, K], 'float32');
  {
    const w = heapF32(backend, filter);
    const wt = heapF32(backend, filterT);
    for (let k = 0; k < K; k++) for (let o = 0; o < g.outC; o++) wt[o * K + k] = w[k * g.outC + o] as number;
  }
  for (const slab of slabs(g, slabFloats)) {
    const dySlab = slabRows(backend, dy, slab, M, g.outC);
    const cols = matMul(backend, dySlab, filterT, slab.rows, g.outC, K);
    if (dySlab !== dy) release(backend, dySlab);
    scatterPatchRows(heapF32(backend, cols), g, slab.l0, slab.l1, heapF32(backend, dx));
    release(backend, cols);
  }
  release(backend, filterT);
  return dx;
}
