import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { convBackpropFilter, convBackpropInput, convForward } from './conv-gemm.ts';
import { conv2dGeometry, conv3dGeometry } from './conv-geometry.ts';
import { assertClose, on, seeded, useWasmKernels } from './test-support.ts';
import { asWasmBackend } from './wasm-heap.ts';

let restore: () => Promise<void>;
before(async () => {
  restore = await useWasmKernels();
});
after(async () => {
  await restore();
});

type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;

interface Case {
  name: string;
  x: number[];
  filter: number[];
  strides: number | number[];
  pad: Pad;
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * Loss Σ y ⊙ r for a fixed pseudo-random r, so that dy is not uniform; returns the
 * loss, dL/dx and dL/dfilter, all through the backend's Conv* kernels and their gradients.
 */
function convGradients(c: Case): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.tensor(seeded(size(c.x), 1), c.x);
    const w = tf.tensor(seeded(size(c.filter), 2, 0.5), c.filter);
    const conv = (a: tf.Tensor, b: tf.Tensor) =>
      c.x.length === 4
        ? tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides as [number, number], c.pad)
        : tf.conv3d(
            a as tf.Tensor5D,
            b as tf.Tensor5D,
            c.strides as [number, number, number],
            c.pad as 'same',
          );
    const y = conv(x, w);
    const r = tf.tensor(seeded(y.size, 3), y.shape);
    const loss = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv(a, b), r));
    const [dx, dw] = tf.grads(loss)([x, w]) as [tf.Tensor, tf.Tensor];
    return [y.dataSync() as Float32Array, dx.dataSync() as Float32Array, dw.dataSync() as Float32Array];
  });
}

const cases: Case[] = [
  {
    name: '2D 3×3 same, stride 1, 3→4 channels',
    x: [2, 7, 9, 3],
    filter: [3, 3, 3, 4],
    strides: 1,
    pad: 'same',
  },
  {
    name: '2D 3×3 same, stride 2, odd sizes',
    x: [2, 9, 11, 2],
    filter: [3, 3, 2, 5],
    strides: 2,
    pad: 'same',
  },
  { name: '2D 3×2 valid, stride 2', x: [3, 8, 7, 3], filter: [3, 2, 3, 2], strides: 2, pad: 'valid' },
  { name: '2D 5×5 valid, stride 1', x: [2, 10, 9, 4], filter: [5, 5, 4, 3], strides: 1, pad: 'valid' },
  {
    name: '2D 4×4 same (even filter), stride 1',
    x: [1, 8, 9, 2],
    filter: [4, 4, 2, 3],
    strides: 1,
    pad: 'same',
  },
  { name: '2D 1×1, 16→8 channels', x: [2, 5, 5, 16], filter: [1, 1, 16, 8], strides: 1, pad: 'valid' },
  // Numeric padding with unequal strides is left out: stock wasm Conv2D (the forward pass)
  // corrupts its heap there (tfjs-backend-wasm 4.22, e.g. strides [2, 1], pad 1).
  { name: '2D numeric padding 1, stride 2', x: [2, 7, 8, 2], filter: [3, 3, 2, 3], strides: 2, pad: 1 },
  { name: '2D same, strides [2, 1]', x: [2, 7, 8, 2], filter: [3, 3, 2, 3], strides: [2, 1], pad: 'same' },
  { name: '2D valid, strides [1, 3]', x: [2, 6, 10, 2], filter: [2, 3, 2, 3], strides: [1, 3], pad: 'valid' },
  {
    name: '2D explicit padding',
    x: [1, 6, 7, 3],
    filter: [3, 3, 3, 2],
    strides: 1,
    pad: [
      [0, 0],
      [2, 0],
      [1, 3],
      [0, 0],
    ],
  },
  {
    name: '3D 3³ same, stride 1, 2→4 channels',
    x: [2, 5, 6, 7, 2],
    filter: [3, 3, 3, 2, 4],
    strides: 1,
    pad: 'same',
  },
  { name: '3D 3×2×3 valid, stride 2', x: [2, 7, 6, 5, 3], filter: [3, 2, 3, 3, 2], strides: 2, pad: 'valid' },
  {
    name: '3D 3³ same, stride 2, odd sizes',
    x: [1, 7, 5, 9, 3],
    filter: [3, 3, 3, 3, 2],
    strides: 2,
    pad: 'same',
  },
  // The direct SIMD convolution (≤ 2 input channels, output channels in sixteens, stride 1):
  // odd widths leave a last position without a pair; valid padding crops nothing, same pads.
  {
    name: '3D 3³ same, 1→16 channels (direct)',
    x: [2, 5, 6, 7, 1],
    filter: [3, 3, 3, 1, 16],
    strides: 1,
    pad: 'same',
  },
  {
    name: '3D 3×2×3 valid, 2→32 channels (direct)',
    x: [1, 6, 5, 8, 2],
    filter: [3, 2, 3, 2, 32],
    strides: 1,
    pad: 'valid',
  },
  {
    name: '2D 3×3 same, 1→16 channels (stock forward)',
    x: [2, 7, 9, 1],
    filter: [3, 3, 1, 16],
    strides: 1,
    pad: 'same',
  },
  {
    name: '3D 3³ same, 5→16 channels (direct)',
    x: [1, 4, 5, 6, 5],
    filter: [3, 3, 3, 5, 16],
    strides: 1,
    pad: 'same',
  },
  {
    name: '2D 3×3 same, 20→32 channels (direct)',
    x: [2, 6, 7, 20],
    filter: [3, 3, 20, 32],
    strides: 1,
    pad: 'same',
  },
  {
    name: '2D 5×5 valid, 3→16 channels (direct forward, patch filter gradient)',
    x: [2, 9, 8, 3],
    filter: [5, 5, 3, 16],
    strides: 1,
    pad: 'valid',
  },
];

for (const c of cases) {
  test(`conv gradients on wasm equal the cpu backend's: ${c.name}`, async () => {
    const [y, dx, dw] = await on('wasm', () => convGradients(c));
    const [yCpu, dxCpu, dwCpu] = await on('cpu', () => convGradients(c));
    assertClose(y as Float32Array, yCpu as Float32Array, 'y');
    assertClose(dx as Float32Array, dxCpu as Float32Array, 'dL/dx');
    assertClose(dw as Float32Array, dwCpu as Float32Array, 'dL/dfilter');
    assert.ok(
      (dw as Float32Array).some((v) => Math.abs(v) > 1e-3),
      'the filter gradient is not trivially zero',
    );
  });
}

test('a batch cut into many patch slabs gives the same results as one slab', async () => {
  await on('wasm', () => {
    const backend = asWasmBackend(tf.backend(), 'test');
    for (const [xShape, fShape, strides] of [
      [[3, 9, 7, 2], [3, 3, 2, 4], 1],
      [[3, 9, 7, 2], [3, 3, 2, 4], 2],
      [[2, 5, 6, 4, 2], [3, 3, 3, 2, 3], 1],
    ] as Array<[number[], number[], number]>) {
      const g =
        xShape.length === 4
          ? conv2dGeometry('t', xShape, fShape, { strides, pad: 'same' })
          : conv3dGeometry('t', xShape, fShape, { strides, pad: 'same' });
      const yShape =
        xShape.length === 4 ? [g.batch, g.outH, g.outW, g.outC] : [g.batch, g.outD, g.outH, g.outW, g.outC];
      tf.tidy(() => {
        const x = tf.tensor(seeded(size(xShape), 4), xShape);
        const w = tf.tensor(seeded(size(fShape), 5), fShape);
        const dy = tf.tensor(seeded(size(yShape), 6), yShape);
        const read = (info: tf.TensorInfo) =>
          tf.engine().makeTensorFromTensorInfo(info).dataSync() as Float32Array;
        // The default budget holds these small batches in one slab; a budget of one float
        // forces one output line per slab (and, for the filter gradient, a sum over slabs).
        const run = (slabFloats?: number) => [
          read(convForward(backend, x, w, g, yShape, slabFloats)),
          read(convBackpropFilter(backend, x, dy, g, fShape, slabFloats)),
          read(convBackpropInput(backend, dy, w, g, xShape, slabFloats)),
        ];
        const whole = run();
        const sliced = run(1);
        for (const [i, r] of sliced.entries()) {
          assertClose(r, whole[i] as Float32Array, `result ${i}, x [${xShape}], stride ${strides}`);
        }
      });
    }
  });
});

test('unsupported attributes fail with an error naming the kernel', async () => {
  await on('wasm', () => {
    const x = tf.zeros([1, 4, 4, 4, 1]) as tf.Tensor5D;
    const w = tf.zeros([3, 3, 3, 1, 1]) as tf.Tensor5D;
    assert.throws(() => tf.conv3d(x, w, 1, 'same', 'NDHWC', 2), /Conv3D: dilations 2 is not supported/);
    assert.throws(
      () =>
        tf
          .engine()
          .runKernel(
            'Conv2DBackpropFilter',
            { x: tf.zeros([1, 1, 4, 4]), dy: tf.zeros([1, 1, 4, 4]) },
            { strides: 1, pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, 1, 1] },
          ),
      /Conv2DBackpropFilter: dataFormat 'NCHW' is not supported/,
    );
    tf.dispose([x, w]);
  });
});
