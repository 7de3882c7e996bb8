import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRng } from '../random.ts';
import {
  type ConvGeometry,
  conv2dGeometry,
  conv3dGeometry,
  patchColumns,
  patchRows,
} from './conv-geometry.ts';
import { channelMajor, gatherPatchColumns, gatherPatchRows, scatterPatchRows } from './patches.ts';

/** P[m, k] straight from its definition (patches.ts), one entry at a time. */
function referencePatch(x: Float32Array, g: ConvGeometry, m: number, k: number): number {
  const c = k % g.inC;
  const tap = (k - c) / g.inC;
  const kw = tap % g.fW;
  const kh = Math.floor(tap / g.fW) % g.fH;
  const kd = Math.floor(tap / (g.fW * g.fH));
  const ow = m % g.outW;
  const oh = Math.floor(m / g.outW) % g.outH;
  const od = Math.floor(m / (g.outW * g.outH)) % g.outD;
  const n = Math.floor(m / (g.outW * g.outH * g.outD));
  const d = od * g.strideD + kd - g.padFront;
  const h = oh * g.strideH + kh - g.padTop;
  const w = ow * g.strideW + kw - g.padLeft;
  if (d < 0 || d >= g.inD || h < 0 || h >= g.inH || w < 0 || w >= g.inW) return 0;
  return x[(((n * g.inD + d) * g.inH + h) * g.inW + w) * g.inC + c] as number;
}

function random(length: number, seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length }, () => rng.normal());
}

const geometries: Array<[string, ConvGeometry]> = [
  ['2D 3×3 same stride 1', conv2dGeometry('t', [2, 7, 9, 3], [3, 3, 3, 4], { strides: 1, pad: 'same' })],
  ['2D 3×2 valid stride 2', conv2dGeometry('t', [2, 9, 8, 2], [3, 2, 2, 5], { strides: 2, pad: 'valid' })],
  [
    '2D 5×5 same stride 2, odd sizes',
    conv2dGeometry('t', [1, 11, 13, 2], [5, 5, 2, 3], { strides: 2, pad: 'same' }),
  ],
  [
    '2D explicit padding, strides [1, 2]',
    conv2dGeometry('t', [2, 6, 7, 3], [2, 3, 3, 2], {
      strides: [1, 2],
      pad: [
        [0, 0],
        [2, 1],
        [0, 3],
        [0, 0],
      ],
    }),
  ],
  ['3D 3³ same stride 1', conv3dGeometry('t', [2, 5, 6, 7, 2], [3, 3, 3, 2, 4], { strides: 1, pad: 'same' })],
  [
    '3D 3×2×3 valid stride 2',
    conv3dGeometry('t', [1, 7, 6, 5, 3], [3, 2, 3, 3, 2], { strides: 2, pad: 'valid' }),
  ],
  [
    '3D 3³ same stride 1, one channel',
    conv3dGeometry('t', [2, 3, 4, 19, 1], [3, 3, 3, 1, 2], { strides: 1, pad: 'same' }),
  ],
];

for (const [name, g] of geometries) {
  const M = patchRows(g);
  const K = patchColumns(g);
  const lines = g.batch * g.outD * g.outH;
  const positions = g.batch * g.inD * g.inH * g.inW;
  const x = random(positions * g.inC, 7);
  const xByChannel = new Float32Array(x.length);
  channelMajor(x, positions, g.inC, xByChannel);

  test(`channelMajor transposes [positions, channels] (${name})`, () => {
    for (let p = 0; p < positions; p++) {
      for (let c = 0; c < g.inC; c++) assert.equal(xByChannel[c * positions + p], x[p * g.inC + c]);
    }
  });

  test(`gatherPatchRows and gatherPatchColumns match the definition (${name})`, () => {
    // Pre-filled with NaN: every entry must be written, padding included.
    const rows = new Float32Array(M * K).fill(Number.NaN);
    const cols = new Float32Array(M * K).fill(Number.NaN);
    gatherPatchRows(x, g, 0, lines, rows);
    gatherPatchColumns(xByChannel, g, 0, lines, cols);
    for (let m = 0; m < M; m++) {
      for (let k = 0; k < K; k++) {
        const expected = referencePatch(x, g, m, k);
        assert.equal(rows[m * K + k], expected, `P[${m}, ${k}] (rows)`);
        assert.equal(cols[k * M + m], expected, `P[${m}, ${k}] (columns)`);
      }
    }
  });

  test(`patch slabs compose to the whole matrix (${name})`, () => {
    const whole = new Float32Array(M * K);
    gatherPatchRows(x, g, 0, lines, whole);
    const cut = Math.max(1, Math.floor(lines / 3));
    for (const [l0, l1] of [
      [0, cut],
      [cut, lines],
    ] as const) {
      const rows = (l1 - l0) * g.outW;
      const part = new Float32Array(rows * K);
      gatherPatchRows(x, g, l0, l1, part);
      assert.deepEqual(part, whole.subarray(l0 * g.outW * K, l1 * g.outW * K));
      const partT = new Float32Array(rows * K);
      gatherPatchColumns(xByChannel, g, l0, l1, partT);
      for (let k = 0; k < K; k++) {
        for (let r = 0; r < rows; r++) assert.equal(partT[k * rows + r], part[r * K + k]);
      }
    }
  });

  test(`scatterPatchRows is the adjoint of gatherPatchRows (${name})`, () => {
    // ⟨P(x), Y⟩ = ⟨x, Pᵀ(Y)⟩ for any Y: col2im is exactly the transpose of im2col.
    const y = random(M * K, 11);
    const px = new Float32Array(M * K);
    gatherPatchRows(x, g, 0, lines, px);
    const back = new Float32Array(x.length);
    scatterPatchRows(y, g, 0, lines, back);
    let left = 0;
    let right = 0;
    for (let i = 0; i < px.length; i++) left += (px[i] as number) * (y[i] as number);
    for (let i = 0; i < x.length; i++) right += (x[i] as number) * (back[i] as number);
    assert.ok(Math.abs(left - right) <= 1e-4 * Math.max(1, Math.abs(left)), `${left} vs ${right}`);
  });
}

for (const [layout, gather, xShape, filterShape] of [
  ['rows', gatherPatchRows, [2, 9, 10, 16], [3, 3, 16, 4]],
  // One channel: channel-major x is x itself.
  ['columns', gatherPatchColumns, [2, 5, 40, 1], [3, 3, 1, 4]],
] as const) {
  test(`patch ${layout} are the same whether the tensors share one buffer (memmove path) or not`, () => {
    const g = conv2dGeometry('t', xShape, filterShape, { strides: 1, pad: 'same' });
    const length = patchRows(g) * patchColumns(g);
    const xLength = xShape.reduce((a: number, b: number) => a * b, 1);
    // x sits at an offset inside the shared buffer, as tensors do in the wasm heap.
    const heap = new Float32Array(7 + xLength + length);
    heap.set(random(xLength, 3), 7);
    const x = heap.subarray(7, 7 + xLength);
    const shared = heap.subarray(7 + xLength);
    const separate = new Float32Array(length);
    gather(x, g, 0, g.batch * g.outH, shared);
    gather(x, g, 0, g.batch * g.outH, separate);
    assert.deepEqual(shared, separate);
    assert.ok(separate.some((v) => v !== 0));
  });
}

test('geometry refuses what the kernels do not implement, naming the kernel', () => {
  assert.throws(
    () =>
      conv2dGeometry('Conv2DBackpropFilter', [1, 4, 4, 1], [3, 3, 1, 1], {
        strides: 1,
        pad: 'same',
        dataFormat: 'NCHW',
      }),
    /Conv2DBackpropFilter: dataFormat 'NCHW' is not supported/,
  );
  assert.throws(
    () =>
      conv3dGeometry('Conv3D', [1, 4, 4, 4, 1], [3, 3, 3, 1, 1], { strides: 1, pad: 'same', dilations: 2 }),
    /Conv3D: dilations 2 is not supported/,
  );
});
