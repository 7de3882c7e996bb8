import type { ConvGeometry } from './conv-geometry.ts';

/**
 * im2col and its adjoint for channels-last convolutions (see conv-geometry.ts).
 *
 * The patch matrix P has one row per output position m = ((n·outD + od)·outH + oh)·outW + ow
 * and one column per filter tap k = ((kd·fH + kh)·fW + kw)·inC + c, with
 * P[m, k] = x[n, od·sD + kd − padFront, oh·sH + kh − padTop, ow·sW + kw − padLeft, c]
 * (0 outside the input). Then, with W the filter as a [K, outC] matrix and dY the
 * output gradient as an [M, outC] matrix (both are their tensors' row-major data):
 *   y  = P · W            (forward convolution)
 *   dW = Pᵀ · dY          (Conv*BackpropFilter)
 *   dX = col2im(dY · Wᵀ)  (Conv*BackpropInput; col2im is the adjoint of im2col)
 * which turns each convolution into one matrix product the wasm backend runs fast.
 *
 * Every routine works on a range of output lines [l0, l1), a line being the outW
 * positions that share (n, od, oh), so that large batches are processed in slabs
 * whose patch matrix stays within a memory budget.
 */

/**
 * Valid output columns per filter column kw: those whose input column lies in
 * [0, inW), as lo[kw] ≤ ow < hi[kw].
 */
function columnRanges(g: ConvGeometry): { lo: Int32Array; hi: Int32Array } {
  const lo = new Int32Array(g.fW);
  const hi = new Int32Array(g.fW);
  for (let kw = 0; kw < g.fW; kw++) {
    const shift = kw - g.padLeft;
    // ow·sW + shift ≥ 0 ⇔ ow ≥ ceil(−shift / sW);  ow·sW + shift ≤ inW − 1 ⇔ ow ≤ floor((inW − 1 − shift) / sW)
    const first = Math.min(g.outW, Math.max(0, Math.ceil(-shift / g.strideW)));
    const last = Math.min(g.outW, Math.floor((g.inW - 1 - shift) / g.strideW) + 1);
    lo[kw] = first;
    hi[kw] = Math.max(first, last);
  }
  return { lo, hi };
}

/** Batch index of line `line`, and the input plane and row its filter tap (0, 0) reads. */
function lineOrigin(g: ConvGeometry, line: number): { n: number; d0: number; h0: number } {
  const oh = line % g.outH;
  const rest = (line - oh) / g.outH;
  const od = rest % g.outD;
  const n = (rest - od) / g.outD;
  return { n, d0: od * g.strideD - g.padFront, h0: oh * g.strideH - g.padTop };
}

/** Offset of x[n, d, h, 0, 0], or −1 when plane d or row h lies in the padding. */
function inputRowOffset(g: ConvGeometry, n: number, d: number, h: number): number {
  if (d < 0 || d >= g.inD || h < 0 || h >= g.inH) return -1;
  return ((n * g.inD + d) * g.inH + h) * g.inW * g.inC;
}

/**
 * Run copies. A JavaScript element loop moves about one float per 1.4 ns;
 * copyWithin inside one buffer (both tensors live in the wasm heap) is a
 * memmove, 3–4× faster from 16 floats on, slower below that (call overhead).
 */
const MEMMOVE_FROM = 16;

interface Mover {
  copy(src: number, dst: number, length: number): void;
  zero(dst: number, length: number): void;
}

function mover(from: Float32Array, to: Float32Array): Mover {
  const shared = from.buffer === to.buffer ? new Float32Array(to.buffer) : undefined;
  const fromBase = from.byteOffset >> 2;
  const toBase = to.byteOffset >> 2;
  return {
    copy(src, dst, length) {
      if (shared && length >= MEMMOVE_FROM) {
        shared.copyWithin(toBase + dst, fromBase + src, fromBase + src + length);
        return;
      }
      for (let i = 0; i < length; i++) to[dst + i] = from[src + i] as number;
    },
    zero(dst, length) {
      if (length >= MEMMOVE_FROM) to.fill(0, dst, dst + length);
      else for (let i = 0; i < length; i++) to[dst + i] = 0;
    },
  };
}

/**
 * Writes P[m, k] for the lines' rows into `out` as an [(l1 − l0)·outW, K] row-major matrix.
 * Every entry is written (zeros for padding), so `out` needs no clearing.
 */
export function gatherPatchRows(
  x: Float32Array,
  g: ConvGeometry,
  l0: number,
  l1: number,
  out: Float32Array,
): void {
  const { inC, inW, outW, strideW, fD, fH, fW, padLeft } = g;
  const K = fD * fH * fW * inC;
  const tapRow = fW * inC;
  const move = mover(x, out);
  for (let line = l0; line < l1; line++) {
    const { n, d0, h0 } = lineOrigin(g, line);
    const lineBase = (line - l0) * outW * K;
    for (let kd = 0; kd < fD; kd++) {
      for (let kh = 0; kh < fH; kh++) {
        const rowOffset = inputRowOffset(g, n, d0 + kd, h0 + kh);
        const kBase = (kd * fH + kh) * tapRow;
        for (let ow = 0; ow < outW; ow++) {
          const dst = lineBase + ow * K + kBase;
          const iw0 = ow * strideW - padLeft;
          if (rowOffset < 0) {
            move.zero(dst, tapRow);
          } else if (iw0 >= 0 && iw0 + fW <= inW) {
            // The whole filter row lies inside the input: fW·inC contiguous floats.
            move.copy(rowOffset + iw0 * inC, dst, tapRow);
          } else {
            for (let kw = 0; kw < fW; kw++) {
              const iw = iw0 + kw;
              if (iw < 0 || iw >= inW) move.zero(dst + kw * inC, inC);
              else move.copy(rowOffset + iw * inC, dst + kw * inC, inC);
            }
          }
        }
      }
    }
  }
}

/**
 * Copies channels-last x [positions, channels] into `out` as channel-major [channels, positions],
 * so that one channel of an input row is contiguous (what gatherPatchColumns reads).
 */
export function channelMajor(x: Float32Array, positions: number, channels: number, out: Float32Array): void {
  for (let p = 0, src = 0; p < positions; p++) {
    for (let c = 0; c < channels; c++, src++) out[c * positions + p] = x[src] as number;
  }
}

/**
 * Writes Pᵀ for the lines into `out` as a [K, (l1 − l0)·outW] row-major matrix
 * (the layout whose product with dY needs no transposition), reading x in
 * channel-major order (see channelMajor; for one channel that is x itself).
 * Each row of Pᵀ is then made of runs that are contiguous in the source at
 * stride 1, copied as blocks. Every entry is written.
 */
export function gatherPatchColumns(
  xByChannel: Float32Array,
  g: ConvGeometry,
  l0: number,
  l1: number,
  out: Float32Array,
): void {
  const { inC, outW, strideW, fD, fH, fW } = g;
  const rows = (l1 - l0) * outW;
  const positions = g.batch * g.inD * g.inH * g.inW;
  const move = mover(xByChannel, out);
  const { lo: los, hi: his } = columnRanges(g);
  for (let line = l0; line < l1; line++) {
    const { n, d0, h0 } = lineOrigin(g, line);
    const mBase = (line - l0) * outW;
    for (let kd = 0; kd < fD; kd++) {
      for (let kh = 0; kh < fH; kh++) {
        // inputRowOffset counts floats of channels-last x; divided by inC it is the position.
        const rowOffset = inputRowOffset(g, n, d0 + kd, h0 + kh);
        const rowPosition = rowOffset < 0 ? -1 : rowOffset / inC;
        for (let kw = 0; kw < fW; kw++) {
          const kBase = ((kd * fH + kh) * fW + kw) * inC;
          const lo = rowOffset < 0 ? outW : (los[kw] as number);
          const hi = rowOffset < 0 ? outW : (his[kw] as number);
          for (let c = 0; c < inC; c++) {
            const dst = (kBase + c) * rows + mBase;
            for (let ow = 0; ow < lo; ow++) out[dst + ow] = 0;
            for (let ow = hi; ow < outW; ow++) out[dst + ow] = 0;
            if (hi <= lo) continue;
            let src = c * positions + rowPosition + lo * strideW + kw - g.padLeft;
            if (strideW === 1) {
              move.copy(src, dst + lo, hi - lo);
              continue;
            }
            for (let ow = lo; ow < hi; ow++, src += strideW) out[dst + ow] = xByChannel[src] as number;
          }
        }
      }
    }
  }
}

/**
 * Adds the [(l1 − l0)·outW, K] row-major matrix `cols` back onto dx (col2im): each
 * entry goes to the input element im2col read it from; entries in the padding are dropped.
 * dx accumulates, so clear it before the first slab.
 */
export function scatterPatchRows(
  cols: Float32Array,
  g: ConvGeometry,
  l0: number,
  l1: number,
  dx: Float32Array,
): void {
  const { inC, outW, strideW, fD, fH, fW } = g;
  const K = fD * fH * fW * inC;
  const { lo: los, hi: his } = columnRanges(g);
  for (let line = l0; line < l1; line++) {
    const { n, d0, h0 } = lineOrigin(g, line);
    const lineBase = (line - l0) * outW * K;
    for (let kd = 0; kd < fD; kd++) {
      for (let kh = 0; kh < fH; kh++) {
        const rowOffset = inputRowOffset(g, n, d0 + kd, h0 + kh);
        if (rowOffset < 0) continue;
        for (let kw = 0; kw < fW; kw++) {
          const kBase = ((kd * fH + kh) * fW + kw) * inC;
          const hi = his[kw] as number;
          for (let ow = los[kw] as number; ow < hi; ow++) {
            const src = lineBase + ow * K + kBase;
            const dst = rowOffset + (ow * strideW + kw - g.padLeft) * inC;
            for (let c = 0; c < inC; c++) dx[dst + c] = (dx[dst + c] as number) + (cols[src + c] as number);
          }
        }
      }
    }
  }
}
