/**
 * CNN training steps with fedpet's wasm kernels (shared/src/ml/kernels).
 *
 * One Adam step (forward, sigmoid cross-entropy, backward, update) of:
 * - the 2D MIP CNN: coronal + sagittal MIPs as NHWC [16, 128, 128, 2]; conv 3×3
 *   16 / 32 / 64 / 64 (ReLU, 'same'), 2×2 max pooling after the first three,
 *   global average pooling, dense 1: 60,433 parameters;
 * - the 3D CNN: [8, 32, 32, 32, 1]; conv 3³ 16 / 32 / 48 / 72 (ReLU, 'same'),
 *   2³ max pooling after the first three, 4³ average pooling, dense 1:
 *   149,281 parameters;
 * on wasm with fedpet's kernels (and with their JavaScript loops instead of
 * their WebAssembly SIMD parts), on stock wasm (which cannot train the 2D model:
 * it has no Conv2DBackpropFilter) and on the pure-JS cpu backend. The cpu
 * backend needs minutes per 2D step (its Conv2DBackpropFilter), so the 2D cpu
 * row runs ONE step at batch 2 and says so; its examples/s compare directly.
 * Also prints where a fedpet wasm step spends its time, per kernel.
 *
 * Run: node --import tsx test/bench/conv-kernels.bench.ts
 * Writes test/bench/results/conv-kernels.json. No pass/fail thresholds.
 * Takes about a minute on 2 cores.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import {
  registerFedpetWasmKernels,
  unregisterFedpetWasmKernels,
} from '../../shared/src/ml/kernels/register-wasm-kernels.ts';
import { prepareSimdKernels } from '../../shared/src/ml/kernels/simd/simd-kernels.ts';
import { createRng } from '../../shared/src/ml/random.ts';
import { median } from './support/median.ts';

type ModelName = '2D MIP CNN' | '3D CNN 32³';
type Setup = 'wasm + fedpet kernels' | 'wasm + fedpet kernels, no SIMD' | 'wasm (stock)' | 'cpu';

interface Row {
  model: ModelName;
  setup: Setup;
  params: number;
  batch: number;
  /** Timed steps after the warm-up ones. */
  steps: number;
  msPerStep?: number;
  examplesPerSecond?: number;
  /** Why the setup could not train, when it could not. */
  error?: string;
}

interface ModelSpec {
  name: ModelName;
  inputShape: number[];
  build(): tf.Sequential;
}

const mip: ModelSpec = {
  name: '2D MIP CNN',
  inputShape: [128, 128, 2],
  build() {
    const m = tf.sequential();
    const conv = (filters: number, first = false) =>
      tf.layers.conv2d({
        ...(first ? { inputShape: [128, 128, 2] } : {}),
        filters,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
      });
    m.add(conv(16, true));
    m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    m.add(conv(32));
    m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    m.add(conv(64));
    m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    m.add(conv(64));
    m.add(tf.layers.globalAveragePooling2d({}));
    m.add(tf.layers.dense({ units: 1 }));
    return m;
  },
};

const cnn3d: ModelSpec = {
  name: '3D CNN 32³',
  inputShape: [32, 32, 32, 1],
  build() {
    const m = tf.sequential();
    const conv = (filters: number, first = false) =>
      tf.layers.conv3d({
        ...(first ? { inputShape: [32, 32, 32, 1] } : {}),
        filters,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
      });
    m.add(conv(16, true));
    m.add(tf.layers.maxPooling3d({ poolSize: 2 }));
    m.add(conv(32));
    m.add(tf.layers.maxPooling3d({ poolSize: 2 }));
    m.add(conv(48));
    m.add(tf.layers.maxPooling3d({ poolSize: 2 }));
    m.add(conv(72));
    m.add(tf.layers.averagePooling3d({ poolSize: 4 }));
    m.add(tf.layers.flatten());
    m.add(tf.layers.dense({ units: 1 }));
    return m;
  },
};

/** A model, a seeded batch and an Adam optimizer on the active backend; `step` runs one training step. */
function trainer(spec: ModelSpec, batch: number) {
  const model = spec.build();
  const rng = createRng(2026);
  const shape = [batch, ...spec.inputShape];
  const size = shape.reduce((a, b) => a * b, 1);
  const x = tf.tensor(
    Float32Array.from({ length: size }, () => rng.normal()),
    shape,
  );
  const y = tf.tensor(
    Array.from({ length: batch }, (_, i) => i % 2),
    [batch, 1],
  );
  const optimizer = tf.train.adam(1e-3);
  const step = (): number => {
    const loss = optimizer.minimize(
      () => tf.losses.sigmoidCrossEntropy(y, model.apply(x) as tf.Tensor) as tf.Scalar,
      true,
    );
    const value = loss?.dataSync()[0] ?? Number.NaN;
    loss?.dispose();
    return value;
  };
  const dispose = () => {
    tf.dispose([x, y]);
    optimizer.dispose();
    model.dispose();
  };
  return { params: model.countParams(), step, dispose };
}

async function measure(
  spec: ModelSpec,
  setup: Setup,
  batch: number,
  warmup: number,
  steps: number,
): Promise<Row> {
  await tf.setBackend(setup === 'cpu' ? 'cpu' : 'wasm');
  if (setup === 'wasm (stock)') unregisterFedpetWasmKernels();
  else registerFedpetWasmKernels();
  // The kernels' JavaScript loops instead of their WebAssembly SIMD parts (read on every call).
  const simdSetting = process.env.FEDPET_WASM_SIMD_KERNELS;
  if (setup === 'wasm + fedpet kernels, no SIMD') process.env.FEDPET_WASM_SIMD_KERNELS = '0';
  const t = trainer(spec, batch);
  const row: Row = { model: spec.name, setup, params: t.params, batch, steps };
  try {
    for (let i = 0; i < warmup; i++) t.step();
    const samples: number[] = [];
    for (let i = 0; i < steps; i++) {
      const start = performance.now();
      const loss = t.step();
      samples.push(performance.now() - start);
      if (!Number.isFinite(loss)) throw new Error(`loss is ${loss}`);
    }
    row.msPerStep = median(samples);
    row.examplesPerSecond = (batch * 1000) / row.msPerStep;
  } catch (error) {
    row.error = (error instanceof Error ? error.message : String(error)).split('\n')[0];
  } finally {
    t.dispose();
    registerFedpetWasmKernels();
    if (simdSetting === undefined) delete process.env.FEDPET_WASM_SIMD_KERNELS;
    else process.env.FEDPET_WASM_SIMD_KERNELS = simdSetting;
  }
  return row;
}

/** Milliseconds per kernel in one fedpet wasm step (tf.profile), largest first. */
async function profileStep(spec: ModelSpec, batch: number): Promise<Array<{ kernel: string; ms: number }>> {
  await tf.setBackend('wasm');
  registerFedpetWasmKernels();
  const t = trainer(spec, batch);
  t.step();
  const info = await tf.profile(() => {
    t.step();
  });
  t.dispose();
  const byKernel = new Map<string, number>();
  for (const k of info.kernels) byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + Number(k.kernelTimeMs));
  return [...byKernel]
    .map(([kernel, ms]) => ({ kernel, ms }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, 8);
}

export async function runConvKernelsBench() {
  tf.env().set('PROD', true);
  await tf.ready();
  // As selectBackend('wasm') does: compile the kernels' SIMD parts.
  const simdProblem = await prepareSimdKernels();
  if (simdProblem) console.log(simdProblem);
  const previous = tf.getBackend();
  const rows: Row[] = [
    await measure(mip, 'wasm + fedpet kernels', 16, 1, 5),
    await measure(mip, 'wasm + fedpet kernels, no SIMD', 16, 1, 3),
    await measure(mip, 'wasm (stock)', 16, 0, 1),
    await measure(mip, 'cpu', 2, 0, 1),
    await measure(cnn3d, 'wasm + fedpet kernels', 8, 1, 5),
    await measure(cnn3d, 'wasm + fedpet kernels, no SIMD', 8, 1, 3),
    await measure(cnn3d, 'wasm (stock)', 8, 1, 2),
    await measure(cnn3d, 'cpu', 8, 1, 2),
  ];
  const profiles = {
    [mip.name]: await profileStep(mip, 16),
    [cnn3d.name]: await profileStep(cnn3d, 8),
  };
  await tf.setBackend(previous);

  const fedpet = (model: ModelName) =>
    rows.find((r) => r.model === model && r.setup === 'wasm + fedpet kernels')?.examplesPerSecond;
  const f = (n: number | undefined, digits = 0) => (n === undefined ? '—' : n.toFixed(digits));
  console.table(
    rows.map((r) => {
      const ours = fedpet(r.model);
      return {
        model: r.model,
        backend: r.setup,
        params: r.params,
        batch: r.batch,
        'timed steps': r.steps,
        'ms/step': r.error ? `fails: ${r.error}` : f(r.msPerStep),
        'examples/s': f(r.examplesPerSecond, 1),
        'fedpet speed-up': r.examplesPerSecond && ours ? `${(ours / r.examplesPerSecond).toFixed(1)}×` : '—',
      };
    }),
  );
  console.log('2D cpu row: one step at batch 2 (a batch-16 step takes minutes there); compare examples/s.');
  for (const [model, kernels] of Object.entries(profiles)) {
    console.log(
      `${model}, one fedpet wasm step by kernel: ${kernels.map((k) => `${k.kernel} ${k.ms.toFixed(0)} ms`).join(', ')}`,
    );
  }

  const results = {
    benchmark: 'conv-kernels',
    date: new Date().toISOString(),
    node: process.version,
    cpu: `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}`,
    wasmThreads: tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT') ? 'multi' : 'single',
    wasmSimd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'),
    rows,
    profiles,
  };
  const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'conv-kernels.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  return results;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await runConvKernelsBench();
