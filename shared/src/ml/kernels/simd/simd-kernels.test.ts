import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { createRng } from '../../random.ts';
import {
  type ConvGeometry,
  conv2dGeometry,
  conv3dGeometry,
  patchColumns,
  patchRows,
} from '../conv-geometry.ts';
import { maxPoolBackprop, maxPoolForward, type PoolGeometry, type TieRule } from '../max-pool-grad.ts';
import { channelMajor, gatherPatchColumns, gatherPatchRows } from '../patches.ts';
import { reluBackward } from '../relu-grad.ts';
import { sumRows } from '../sum-leading-axes.ts';
import { prepareSimdKernels, type SimdKernels, simdKernelsDisabled, simdKernelsOn } from './simd-kernels.ts';

// The SIMD kernels must write exactly what their JavaScript counterparts write
// (copies, maxima and the same additions in the same order): compared bit for bit.
// The kernel tests beside ../ compare both, through tfjs, with the cpu backend.

before(async () => {
  assert.equal(await prepareSimdKernels(), undefined, 'the SIMD kernels compile on Node 20');
});

/** Float32Array views carved from one WebAssembly memory, 16-byte aligned, as the wasm heap holds tensors. */
function arena(floats: number): { memory: WebAssembly.Memory; view(length: number): Float32Array } {
  const memory = new WebAssembly.Memory({ initial: Math.ceil((floats * 4 + 65536) / 65536) + 1 });
  let next = 64;
  return {
    memory,
    view(length) {
      const view = new Float32Array(memory.buffer, next, length);
      next += Math.ceil((length * 4) / 16) * 16 + 16;
      return view;
    },
  };
}

function kernelsOn(memory: WebAssembly.Memory): SimdKernels {
  const kernels = simdKernelsOn(memory);
  assert.ok(kernels);
  return kernels;
}

function fillRandom(view: Float32Array, seed: number, special = false): void {
  const rng = createRng(seed);
  for (let i = 0; i < view.length; i++) view[i] = rng.normal();
  if (special && view.length > 12) {
    // Ties (as after ReLU), NaN and −∞: the pooling kernels must treat them as the JavaScript does.
    for (let i = 0; i < view.length; i += 7) view[i] = 0;
    view[5] = Number.NaN;
    view[11] = Number.NEGATIVE_INFINITY;
  }
}

/** Byte-level equality, so NaN = NaN and −0 ≠ 0 are checked as written. */
function assertSameBits(actual: Float32Array, expected: Float32Array, label: string): void {
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < e.length; i++) {
    if (a[i] !== e[i]) assert.fail(`${label}: element ${i} is ${actual[i]}, JavaScript wrote ${expected[i]}`);
  }
}

const convGeometries: Array<[string, ConvGeometry]> = [
  [
    '2D 3×3 same stride 1, 2 channels (the MIP CNN)',
    conv2dGeometry('t', [2, 9, 10, 2], [3, 3, 2, 4], { strides: 1, pad: 'same' }),
  ],
  ['2D 3×2 valid stride 2', conv2dGeometry('t', [2, 9, 8, 3], [3, 2, 3, 5], { strides: 2, pad: 'valid' })],
  [
    '2D 5×5 same stride 2, odd sizes',
    conv2dGeometry('t', [1, 11, 13, 2], [5, 5, 2, 3], { strides: 2, pad: 'same' }),
  ],
  [
    '3D 3³ same stride 1, one channel (the 3D CNN)',
    conv3dGeometry('t', [2, 6, 5, 21, 1], [3, 3, 3, 1, 4], { strides: 1, pad: 'same' }),
  ],
  [
    '3D 3³ same stride 1, 16 channels',
    conv3dGeometry('t', [1, 4, 5, 6, 16], [3, 3, 3, 16, 8], { strides: 1, pad: 'same' }),
  ],
  [
    '3D 3×2×3 valid stride 2',
    conv3dGeometry('t', [1, 7, 6, 5, 3], [3, 2, 3, 3, 2], { strides: 2, pad: 'valid' }),
  ],
  [
    '2D explicit padding wider than the filter',
    conv2dGeometry('t', [1, 5, 6, 2], [2, 3, 2, 2], {
      strides: 1,
      pad: [
        [0, 0],
        [2, 1],
        [4, 3],
        [0, 0],
      ],
    }),
  ],
];

for (const [name, g] of convGeometries) {
  test(`SIMD im2col rows equal the JavaScript gather, slab by slab: ${name}`, () => {
    const K = patchColumns(g);
    const M = patchRows(g);
    const lines = g.batch * g.outD * g.outH;
    const inSize = g.batch * g.inD * g.inH * g.inW * g.inC;
    const space = arena(inSize + 2 * M * K);
    const x = space.view(inSize);
    fillRandom(x, 1);
    // Two slabs with an odd split, to exercise l0 > 0.
    for (const [l0, l1] of [
      [0, Math.ceil(lines / 3)],
      [Math.ceil(lines / 3), lines],
    ] as const) {
      const rows = (l1 - l0) * g.outW;
      const simd = space.view(rows * K).fill(Number.NaN);
      const js = new Float32Array(rows * K).fill(Number.NaN);
      kernelsOn(space.memory).gatherPatchRows(x, g, l0, l1, simd);
      gatherPatchRows(x, g, l0, l1, js);
      assertSameBits(simd, js, `lines [${l0}, ${l1})`);
    }
  });

  if (g.strideW !== 1) continue;
  test(`SIMD transposed im2col equals the JavaScript gather: ${name}`, () => {
    const K = patchColumns(g);
    const lines = g.batch * g.outD * g.outH;
    const positions = g.batch * g.inD * g.inH * g.inW;
    const space = arena(2 * positions * g.inC + 2 * lines * g.outW * K);
    const x = space.view(positions * g.inC);
    fillRandom(x, 2);
    const byChannel = space.view(positions * g.inC);
    channelMajor(x, positions, g.inC, byChannel);
    const [l0, l1] = [1, lines];
    const rows = (l1 - l0) * g.outW;
    const simd = space.view(K * rows).fill(Number.NaN);
    const js = new Float32Array(K * rows).fill(Number.NaN);
    kernelsOn(space.memory).gatherPatchColumns(byChannel, g, l0, l1, simd);
    gatherPatchColumns(byChannel, g, l0, l1, js);
    assertSameBits(simd, js, 'Pᵀ');
  });
}

test('the SIMD transposed gather refuses strides it does not implement', () => {
  const g = conv2dGeometry('t', [1, 6, 6, 1], [3, 3, 1, 1], { strides: 2, pad: 'valid' });
  const space = arena(1024);
  assert.throws(
    () => kernelsOn(space.memory).gatherPatchColumns(space.view(36), g, 0, 1, space.view(64)),
    /needs stride 1 along the width/,
  );
});

/** A pooling geometry: in [batch, d, h, w, channels], window and strides per axis, padding front/top/left. */
function pool(
  input: [number, number, number, number, number],
  window: [number, number, number],
  strides: [number, number, number],
  pad: [number, number, number] = [0, 0, 0],
): PoolGeometry {
  const [batch, inD, inH, inW, channels] = input;
  const out = (size: number, f: number, s: number, p: number) => Math.floor((size + 2 * p - f) / s) + 1;
  return {
    batch,
    channels,
    inD,
    inH,
    inW,
    outD: out(inD, window[0], strides[0], pad[0]),
    outH: out(inH, window[1], strides[1], pad[1]),
    outW: out(inW, window[2], strides[2], pad[2]),
    fD: window[0],
    fH: window[1],
    fW: window[2],
    strideD: strides[0],
    strideH: strides[1],
    strideW: strides[2],
    padFront: pad[0],
    padTop: pad[1],
    padLeft: pad[2],
  };
}

const poolGeometries: Array<[string, PoolGeometry]> = [
  ['3D 2³ stride 2, 16 channels (the 3D CNN)', pool([2, 6, 4, 8, 16], [2, 2, 2], [2, 2, 2])],
  ['2D 2×2 stride 2, 5 channels (SIMD + remainder)', pool([2, 1, 8, 6, 5], [1, 2, 2], [1, 2, 2])],
  [
    '3D 3³ stride 1 with padding (overlapping windows add up)',
    pool([1, 5, 4, 6, 3], [3, 3, 3], [1, 1, 1], [1, 1, 1]),
  ],
  ['3D 3×2×3 strides [2, 1, 2], padded, 8 channels', pool([1, 7, 5, 9, 8], [3, 2, 3], [2, 1, 2], [1, 0, 1])],
];

for (const [name, g] of poolGeometries) {
  const inSize = g.batch * g.inD * g.inH * g.inW * g.channels;
  const outSize = g.batch * g.outD * g.outH * g.outW * g.channels;

  test(`SIMD max pooling equals the JavaScript, NaN and −∞ included: ${name}`, () => {
    const space = arena(inSize + 2 * outSize);
    const x = space.view(inSize);
    fillRandom(x, 3, true);
    const simd = space.view(outSize);
    const js = new Float32Array(outSize);
    kernelsOn(space.memory).maxPoolForward(x, g, simd);
    maxPoolForward(x, g, js);
    assertSameBits(simd, js, 'y');
  });

  for (const ties of ['first', 'last'] as TieRule[]) {
    test(`SIMD max-pool gradient routes as the JavaScript does, ties to the ${ties}: ${name}`, () => {
      const space = arena(3 * inSize + outSize);
      const x = space.view(inSize);
      fillRandom(x, 4, true);
      const dy = space.view(outSize);
      fillRandom(dy, 5);
      const simd = space.view(inSize).fill(0);
      const js = new Float32Array(inSize);
      kernelsOn(space.memory).maxPoolBackprop(x, dy, g, simd, ties);
      maxPoolBackprop(x, dy, g, js, ties);
      assertSameBits(simd, js, 'dx');
      assert.ok(
        js.some((v) => v !== 0),
        'some gradient was routed',
      );
    });
  }
}

test('FEDPET_WASM_SIMD_KERNELS=0 turns the SIMD kernels off', () => {
  assert.equal(simdKernelsDisabled({ FEDPET_WASM_SIMD_KERNELS: '0' }), true);
  assert.equal(simdKernelsDisabled({}), false);
});

for (const [rows, cols] of [
  [1000, 16],
  [37, 5],
  [3, 72],
] as const) {
  test(`SIMD column sums equal the JavaScript's float64 sums, bit for bit: [${rows}, ${cols}]`, () => {
    const space = arena(rows * cols + 4 * cols);
    const x = space.view(rows * cols);
    fillRandom(x, 6);
    const simd = space.view(cols);
    const scratch = space.view(2 * cols).fill(Number.NaN); // the kernel clears its accumulators
    const js = new Float32Array(cols);
    kernelsOn(space.memory).sumRows(x, rows, cols, simd, scratch);
    sumRows(x, rows, cols, js);
    assertSameBits(simd, js, 'column sums');
  });

  test(`SIMD row-vector addition equals float32 addition element by element: [${rows}, ${cols}]`, () => {
    const space = arena(2 * rows * cols + cols);
    const x = space.view(rows * cols);
    fillRandom(x, 7);
    const bias = space.view(cols);
    fillRandom(bias, 8);
    const simd = space.view(rows * cols);
    kernelsOn(space.memory).addRowVector(x, bias, rows, cols, simd);
    const js = Float32Array.from(x, (v, i) => v + (bias[i % cols] as number));
    assertSameBits(simd, js, 'x + bias');
  });
}

test('SIMD ReLU gradient equals the JavaScript bit for bit, NaN and −0 included', () => {
  const n = 1031;
  const space = arena(3 * n);
  const x = space.view(n);
  fillRandom(x, 9, true);
  x[1] = -0;
  const dy = space.view(n);
  fillRandom(dy, 10);
  const simd = space.view(n);
  const js = new Float32Array(n);
  kernelsOn(space.memory).reluBackward(dy, x, simd);
  reluBackward(dy, x, js);
  assertSameBits(simd, js, 'dy · step(x)');
});
