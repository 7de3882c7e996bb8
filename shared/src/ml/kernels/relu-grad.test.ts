import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { registerFedpetWasmKernels, unregisterFedpetWasmKernels } from './register-wasm-kernels.ts';
import { RELU_GRAD_KERNEL } from './relu-grad.ts';
import { on, seeded, useWasmKernels } from './test-support.ts';

let restore: () => Promise<void>;
before(async () => {
  restore = await useWasmKernels();
});
after(async () => {
  await restore();
});

/** d/dx Σ relu(x)·r for x with zeros, NaN and signed values, and a random r (some negative). */
function reluGradient(): number[] {
  return tf.tidy(() => {
    const values = seeded(1027, 70); // not a multiple of 4: the SIMD loop's remainder runs too
    values[0] = 0;
    values[1] = Number.NaN;
    values[2] = -0;
    values[3] = Number.POSITIVE_INFINITY;
    const x = tf.tensor(values);
    const r = tf.tensor(seeded(1027, 71));
    return [
      ...tf
        .grad((a: tf.Tensor) => tf.sum(tf.mul(tf.relu(a), r)))(x)
        .dataSync(),
    ];
  });
}

test('ReLU gradient on wasm (one fused pass) equals the cpu backend bit for bit, NaN and −0 included', async () => {
  const wasm = await on('wasm', reluGradient);
  const cpu = await on('cpu', reluGradient);
  assert.equal(wasm.length, cpu.length);
  for (let i = 0; i < cpu.length; i++)
    assert.ok(Object.is(wasm[i], cpu[i]), `element ${i}: ${wasm[i]} vs ${cpu[i]}`);
  assert.ok(Number.isNaN(wasm[1]));
});

test('the fused kernel runs on wasm; unregistering puts tfjs own gradient back', async () => {
  const kernelsRun = async () => {
    const profile = await tf.profile(() => reluGradient());
    return profile.kernels.map((k) => k.name);
  };
  assert.ok((await on('wasm', kernelsRun)).includes(RELU_GRAD_KERNEL));
  unregisterFedpetWasmKernels();
  try {
    const names = await on('wasm', kernelsRun);
    assert.ok(!names.includes(RELU_GRAD_KERNEL));
    assert.ok(names.includes('Step'), 'tfjs differentiates Relu through Step');
    assert.ok(!(await on('cpu', kernelsRun)).includes(RELU_GRAD_KERNEL));
  } finally {
    registerFedpetWasmKernels();
  }
});
