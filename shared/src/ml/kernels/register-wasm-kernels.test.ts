import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  fedpetWasmKernels,
  registerFedpetWasmKernels,
  unregisterFedpetWasmKernels,
} from './register-wasm-kernels.ts';
import { assertClose, on, seeded, useWasmKernels } from './test-support.ts';

let restore: () => Promise<void>;
before(async () => {
  restore = await useWasmKernels();
});
after(async () => {
  registerFedpetWasmKernels();
  await restore();
});

const conv2dFilterGradient = () =>
  tf.tidy(() => {
    const x = tf.ones([1, 5, 5, 1]) as tf.Tensor4D;
    return tf
      .grad((w: tf.Tensor) => tf.sum(tf.conv2d(x, w as tf.Tensor4D, 1, 'same')))(tf.ones([3, 3, 1, 1]))
      .dataSync();
  });

test('stock wasm cannot train a 2D CNN; with fedpet kernels it can', async () => {
  unregisterFedpetWasmKernels();
  assert.equal(tf.getKernel('Conv2DBackpropFilter', 'wasm'), undefined);
  await assert.rejects(
    on('wasm', conv2dFilterGradient),
    /Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'/,
  );
  const serving = registerFedpetWasmKernels();
  assert.deepEqual(
    serving,
    fedpetWasmKernels().map((k) => k.kernelName),
  );
  // On a 5×5 'same' convolution of ones, tap (i, j) sees (5 − |i − 1|·1)·(5 − |j − 1|·1) input pixels.
  assert.deepEqual([...(await on('wasm', conv2dFilterGradient))], [16, 20, 16, 20, 25, 20, 16, 20, 16]);
});

test('registration is idempotent and can keep the stock kernels that exist', () => {
  const first = registerFedpetWasmKernels();
  const configs = first.map((name) => tf.getKernel(name, 'wasm'));
  assert.deepEqual(registerFedpetWasmKernels(), first);
  assert.deepEqual(
    first.map((name) => tf.getKernel(name, 'wasm')),
    configs,
    'a second registration replaces nothing',
  );

  unregisterFedpetWasmKernels();
  const stockSum = tf.getKernel('Sum', 'wasm');
  assert.ok(stockSum, 'unregistering puts the stock Sum back');
  assert.deepEqual(registerFedpetWasmKernels({ replaceSlow: false }), [
    'Conv2DBackpropFilter',
    'UnsortedSegmentSum',
  ]);
  assert.equal(tf.getKernel('Sum', 'wasm'), stockSum);
  unregisterFedpetWasmKernels();
  assert.deepEqual(registerFedpetWasmKernels(), first);
  assert.notEqual(tf.getKernel('Sum', 'wasm'), stockSum);
});

test('fedpet kernels list why each is there', () => {
  const reasons = Object.fromEntries(fedpetWasmKernels().map((k) => [k.kernelName, k.reason]));
  assert.equal(reasons.Conv2DBackpropFilter, 'missing');
  assert.equal(reasons.Conv3D, 'faster');
});

type CnnKind = '2d' | '3d' | '2d-16' | '3d-16';

/**
 * The same small CNN, same initial weights, on whichever backend is active.
 * The '-16' kinds have 16-filter stride-1 layers, which run fedpet's direct
 * SIMD convolutions (forward, input and filter gradients); the others the
 * patch-matrix kernels.
 */
function buildCnn(kind: CnnKind): tf.Sequential {
  const model = tf.sequential();
  if (kind === '2d-16' || kind === '3d-16') {
    const threeD = kind === '3d-16';
    const conv = (options: object) =>
      threeD
        ? tf.layers.conv3d({ filters: 16, kernelSize: 3, padding: 'same', activation: 'relu', ...options })
        : tf.layers.conv2d({ filters: 16, kernelSize: 3, padding: 'same', activation: 'relu', ...options });
    model.add(conv({ inputShape: threeD ? [6, 5, 7, 1] : [9, 11, 2] }));
    model.add(threeD ? tf.layers.maxPooling3d({ poolSize: 2 }) : tf.layers.maxPooling2d({ poolSize: 2 }));
    model.add(conv({}));
    model.add(tf.layers.flatten());
  } else if (kind === '2d') {
    model.add(
      tf.layers.conv2d({
        inputShape: [13, 11, 2],
        filters: 4,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
      }),
    );
    model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    model.add(
      tf.layers.conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
    );
    model.add(tf.layers.conv2d({ filters: 5, kernelSize: 2, padding: 'valid', activation: 'relu' }));
    model.add(tf.layers.globalAveragePooling2d({}));
  } else {
    model.add(
      tf.layers.conv3d({
        inputShape: [7, 6, 5, 1],
        filters: 4,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
      }),
    );
    model.add(tf.layers.maxPooling3d({ poolSize: 2 }));
    model.add(tf.layers.conv3d({ filters: 5, kernelSize: 2, padding: 'valid', activation: 'relu' }));
    model.add(tf.layers.flatten());
  }
  model.add(tf.layers.dense({ units: 1 }));
  model.setWeights(model.getWeights().map((w, i) => tf.tensor(seeded(w.size, 100 + i, 0.3), w.shape)));
  return model;
}

/** One Adam step; returns the loss before it, the gradients it used and the weights after it. */
function trainOneStep(kind: CnnKind): { loss: number; grads: Float32Array[]; weights: Float32Array[] } {
  const model = buildCnn(kind);
  const inputShape = {
    '2d': [4, 13, 11, 2],
    '3d': [3, 7, 6, 5, 1],
    '2d-16': [3, 9, 11, 2],
    '3d-16': [2, 6, 5, 7, 1],
  }[kind];
  const batch = inputShape[0] as number;
  const x = tf.tensor(
    seeded(
      inputShape.reduce((a, b) => a * b, 1),
      7,
    ),
    inputShape,
  );
  const y = tf.tensor(
    Array.from({ length: batch }, (_, i) => i % 2),
    [batch, 1],
  );
  const lossFn = () => tf.losses.sigmoidCrossEntropy(y, model.apply(x) as tf.Tensor) as tf.Scalar;
  const { value, grads } = tf.variableGrads(lossFn);
  // Variable names differ between the two models (layer name counters); their order does not.
  const gradValues = Object.values(grads).map((g) => g.dataSync() as Float32Array);
  const optimizer = tf.train.adam(0.01);
  optimizer.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
  const result = {
    loss: value.dataSync()[0] as number,
    grads: gradValues,
    weights: model.getWeights().map((w) => w.dataSync() as Float32Array),
  };
  tf.dispose([x, y, value, ...Object.values(grads)]);
  optimizer.dispose();
  model.dispose();
  return result;
}

for (const kind of ['2d', '3d', '2d-16', '3d-16'] as const) {
  test(`one Adam training step of a small ${kind.toUpperCase()} CNN on wasm equals the cpu backend's`, async () => {
    const wasm = await on('wasm', () => trainOneStep(kind));
    const cpu = await on('cpu', () => trainOneStep(kind));
    assertClose([wasm.loss], [cpu.loss], 'loss');
    assert.equal(wasm.grads.length, cpu.grads.length);
    for (const [i, g] of wasm.grads.entries()) assertClose(g, cpu.grads[i] as Float32Array, `gradient ${i}`);
    for (const [i, w] of wasm.weights.entries()) {
      assertClose(w, cpu.weights[i] as Float32Array, `weights ${i} after the step`);
    }
    assert.ok(
      wasm.grads.every((g) => g.some((v) => v !== 0)),
      'every layer receives a gradient',
    );
  });
}
