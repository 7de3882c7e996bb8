import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { assertClose, on, seeded, useWasmKernels } from './test-support.ts';

let restore: () => Promise<void>;
before(async () => {
  restore = await useWasmKernels();
});
after(async () => {
  await restore();
});

interface Case {
  name: string;
  x: number[];
  filter: number | number[];
  strides: number | number[];
  pad: 'same' | 'valid' | number;
  /** Rounds inputs to this step so that windows hold ties (first maximum wins). */
  quantum?: number;
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** dL/dx through max pooling, for L = Σ pool(x) ⊙ r with a fixed pseudo-random r. */
function poolGradient(c: Case): Float32Array {
  return tf.tidy(() => {
    let values = seeded(size(c.x), 21);
    if (c.quantum) values = values.map((v) => Math.max(0, Math.round(v / (c.quantum as number))));
    const x = tf.tensor(values, c.x);
    const pool = (a: tf.Tensor) =>
      c.x.length === 4
        ? tf.maxPool(a as tf.Tensor4D, c.filter as [number, number], c.strides as [number, number], c.pad)
        : tf.maxPool3d(
            a as tf.Tensor5D,
            c.filter as [number, number, number],
            c.strides as [number, number, number],
            c.pad,
          );
    const y = pool(x);
    const r = tf.tensor(seeded(y.size, 22), y.shape);
    return tf
      .grad((a: tf.Tensor) => tf.sum(tf.mul(pool(a), r)))(x)
      .dataSync() as Float32Array;
  });
}

const cases: Case[] = [
  { name: '2D 2×2 stride 2', x: [2, 8, 6, 5], filter: 2, strides: 2, pad: 'valid' },
  { name: '2D 3×3 stride 2 same, odd sizes', x: [2, 9, 7, 3], filter: 3, strides: 2, pad: 'same' },
  {
    name: '2D 3×3 stride 1 same (overlapping windows add up)',
    x: [1, 6, 7, 4],
    filter: 3,
    strides: 1,
    pad: 'same',
  },
  {
    name: '2D 2×3 strides [1, 2], numeric padding',
    x: [2, 5, 8, 2],
    filter: [2, 3],
    strides: [1, 2],
    pad: 1,
  },
  {
    name: '2D with ties (ReLU-like zeros)',
    x: [2, 8, 8, 3],
    filter: 2,
    strides: 2,
    pad: 'valid',
    quantum: 0.7,
  },
  { name: '3D 2³ stride 2', x: [2, 6, 4, 8, 3], filter: 2, strides: 2, pad: 'valid' },
  { name: '3D 3³ stride 2 same, odd sizes', x: [1, 7, 5, 9, 2], filter: 3, strides: 2, pad: 'same' },
  { name: '3D with ties', x: [1, 4, 6, 6, 4], filter: 2, strides: 2, pad: 'valid', quantum: 0.7 },
  // 3D windows with height ≠ width are left out: the cpu reference encodes window positions
  // with the height where the width belongs (tfjs-backend-cpu 4.22 maxPool3dPositions).
];

test('equal maxima: 2D routes the gradient to the first, 3D to the last, as the cpu backend does', async () => {
  const grads = await on('wasm', () =>
    tf.tidy(() => [
      [
        ...tf
          .grad((a: tf.Tensor) => tf.sum(tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid')))(tf.ones([1, 2, 2, 1]))
          .dataSync(),
      ],
      [
        ...tf
          .grad((a: tf.Tensor) => tf.sum(tf.maxPool3d(a as tf.Tensor5D, 2, 2, 'valid')))(
            tf.ones([1, 2, 2, 2, 1]),
          )
          .dataSync(),
      ],
    ]),
  );
  assert.deepEqual(grads, [
    [1, 0, 0, 0],
    [0, 0, 0, 0, 0, 0, 0, 1],
  ]);
});

for (const c of cases) {
  test(`max-pool gradient on wasm equals the cpu backend's: ${c.name}`, async () => {
    const wasm = await on('wasm', () => poolGradient(c));
    const cpu = await on('cpu', () => poolGradient(c));
    assertClose(wasm, cpu, 'dL/dx');
    assert.ok(
      cpu.some((v) => v !== 0),
      'the reference gradient is not all zero',
    );
  });
}

/** maxPool3d of seeded values, some NaN and some −∞, on the active backend. */
function pool3dForward(c: Case): Float32Array {
  return tf.tidy(() => {
    const values = seeded(size(c.x), 31);
    values[3] = Number.NaN;
    values[10] = Number.NEGATIVE_INFINITY;
    values[11] = Number.NaN;
    const x = tf.tensor5d(values, c.x as [number, number, number, number, number]);
    return tf
      .maxPool3d(
        x,
        c.filter as [number, number, number],
        c.strides as [number, number, number],
        c.pad as 'same' | 'valid',
      )
      .dataSync() as Float32Array;
  });
}

for (const c of [
  ...cases.filter((k) => k.x.length === 5),
  {
    name: '3D 3³ stride 1 same (overlapping windows)',
    x: [2, 5, 4, 6, 3],
    filter: 3,
    strides: 1,
    pad: 'same',
  },
  {
    name: '3D 2×3×2 strides [2, 1, 2]',
    x: [1, 6, 5, 6, 2],
    filter: [2, 3, 2],
    strides: [2, 1, 2],
    pad: 'valid',
  },
] as Case[]) {
  test(`max-pool 3D forward on wasm equals the cpu backend's, NaN ignored: ${c.name}`, async () => {
    const wasm = await on('wasm', () => pool3dForward(c));
    const cpu = await on('cpu', () => pool3dForward(c));
    assert.deepEqual([...wasm], [...cpu]);
  });
}
