/**
 * (f) Training speed against PyTorch (issue 7): one Adam training step of the
 * same network in fedpet (tfjs 4.22) and in PyTorch, in the same run.
 *
 * Models (float32, Adam lr 1e-3, 3×3(×3) ReLU convolutions with 'same'
 * padding, 2× max pooling, mean squared error against random targets):
 * - 2D MIP CNN: coronal + sagittal MIPs [16, 128, 128, 2]; conv 16/32/64/64,
 *   pools after the first three, global average pooling, dense 1 (60,433 parameters);
 * - 3D CNN 32³: [8, 32, 32, 32, 1]; conv 16/32/48/72, pools after the first
 *   three, 4³ average pooling, dense 1 (149,281 parameters);
 * - 3D CNN 64³: [4, 64, 64, 64, 1]; conv 16/32/64/128/224, pools after the
 *   first four, 4³ average pooling, dense 1 (1,065,569 parameters);
 * and fedpet's own plans, built by buildPlanModel(modelSpecOf(plan)) and trained by
 * the real trainLocal (Cox loss) on random data: pet-mip-cnn at its defaults
 * (64² MIPs, conv 8/16/16, dense 16; batch 16) and clinical-cox (8 features, batch 32).
 *
 * Backends: wasm with fedpet's kernels (selectBackend('wasm') registers them),
 * single-threaded under Node, on the main thread and data-parallel on every
 * core (DataParallelTrainer: one wasm instance per worker thread, the batch
 * split between them, the real trainer's path); the pure-JS cpu backend only where a step is
 * estimated under CPU_STEP_LIMIT_MS (from one batch-1 step), otherwise the row
 * says it was skipped. Peer: test/bench/peer/torch_models.py, the same
 * networks in PyTorch at 1 thread and at every core, run by FEDPET_TORCH_PYTHON, else
 * .venv-torch/bin/python, else python3; where `import torch` fails the bench
 * says so and prints fedpet's figures alone.
 *
 * Run: node --import tsx test/bench/training.bench.ts
 * Writes test/bench/results/training.json. No pass/fail thresholds. 1.5–2.5
 * minutes on 2 cores, most of it the cpu rows.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import {
  clinicalCoxPlanSchema,
  type Hyperparameters,
  type Plan,
  petMipCnnPlanSchema,
} from '../../shared/src/contracts/experiment-spec.ts';
import { selectBackend } from '../../shared/src/ml/backend.ts';
import { DataParallelTrainer } from '../../shared/src/ml/parallel/data-parallel-trainer.ts';
import { type ModelSpec, modelSpecOf } from '../../shared/src/ml/plans/model-spec.ts';
import type { PlanData } from '../../shared/src/ml/plans/plan-data.ts';
import { buildPlanModel, imageShapeOf } from '../../shared/src/ml/plans/plan-model.ts';
import { createRng } from '../../shared/src/ml/random.ts';
import { type TrainOptions, type TrainResult, trainLocal } from '../../shared/src/ml/train.ts';
import { median } from './support/median.ts';

type Backend = 'wasm' | 'cpu';
/** Model names understood by the PyTorch peer. */
type PeerModel = 'mip-cnn-128' | 'cnn3d-32' | 'cnn3d-64' | 'pet-mip-cnn';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = join(HERE, '..', '..');
const PEER_SCRIPT = join(HERE, 'peer', 'torch_models.py');
/** The cpu backend runs a model only when one step is estimated under this (it needs minutes for some). */
const CPU_STEP_LIMIT_MS = 20_000;
const WARMUP_STEPS = 1;
const MIN_TIMED_STEPS = 3;
const MAX_TIMED_STEPS = 10;
/** Timed steps: at least 3; more, up to 10, while they fit in about this many milliseconds. */
const TIMED_BUDGET_MS = 3_000;
/** Data-parallel rows and the peer's second column use every core (2 on the machine issue 7 measured). */
const ALL_CORES = availableParallelism();
const PEER_THREADS = ALL_CORES > 1 ? [1, ALL_CORES] : [1];
const SEED = 2026;

interface Row {
  model: string;
  backend: Backend;
  /** Threads training one step: 1 on the main thread, more data-parallel. */
  threads: number;
  parameters: number;
  batch: number;
  /** Timed steps after the warm-up one. */
  steps?: number;
  /** Median over the timed steps. */
  msPerStep?: number;
  /** Plans: trainLocal's wall time ÷ TrainResult.steps for the timed call. */
  wallMsPerStep?: number;
  examplesPerSecond?: number;
  /** Why no figure: skipped or failed. */
  note?: string;
  peer?: PeerModel;
}

interface PeerResult {
  model: PeerModel;
  threads: number;
  batch: number;
  steps: number;
  msPerStep: number;
  examplesPerSecond: number;
  parameters: number;
  torch: string;
}

/** One of the benchmark networks: a tfjs Sequential that the peer mirrors layer for layer. */
interface Architecture {
  label: string;
  peer: PeerModel;
  inputShape: number[];
  batch: number;
  build(): tf.Sequential;
}

/** conv(3, 'same') + ReLU per filter count, 2× max pooling after the first `pooled`, then global averaging. */
function convNet(inputShape: number[], filters: number[], pooled: number): tf.Sequential {
  const threeD = inputShape.length === 4;
  const model = tf.sequential();
  filters.forEach((count, index) => {
    const conv = {
      ...(index === 0 ? { inputShape } : {}),
      filters: count,
      kernelSize: 3,
      padding: 'same' as const,
      activation: 'relu' as const,
    };
    model.add(threeD ? tf.layers.conv3d(conv) : tf.layers.conv2d(conv));
    if (index < pooled) {
      model.add(threeD ? tf.layers.maxPooling3d({ poolSize: 2 }) : tf.layers.maxPooling2d({ poolSize: 2 }));
    }
  });
  if (threeD) {
    // The feature maps are 4³ by now: a 4³ average pool + flatten is a global average.
    model.add(tf.layers.averagePooling3d({ poolSize: 4 }));
    model.add(tf.layers.flatten());
  } else {
    model.add(tf.layers.globalAveragePooling2d({}));
  }
  model.add(tf.layers.dense({ units: 1 }));
  return model;
}

const ARCHITECTURES: readonly Architecture[] = [
  {
    label: '2D MIP CNN, 2×128²',
    peer: 'mip-cnn-128',
    inputShape: [128, 128, 2],
    batch: 16,
    build: () => convNet([128, 128, 2], [16, 32, 64, 64], 3),
  },
  {
    label: '3D CNN 32³',
    peer: 'cnn3d-32',
    inputShape: [32, 32, 32, 1],
    batch: 8,
    build: () => convNet([32, 32, 32, 1], [16, 32, 48, 72], 3),
  },
  {
    label: '3D CNN 64³',
    peer: 'cnn3d-64',
    inputShape: [64, 64, 64, 1],
    batch: 4,
    build: () => convNet([64, 64, 64, 1], [16, 32, 64, 128, 224], 4),
  },
];

function randomNormal(count: number, seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: count }, () => rng.normal());
}

/** A model of `arch` with a seeded random batch and Adam on the active backend; `step` is one training step. */
function architectureTrainer(arch: Architecture, batch: number) {
  const model = arch.build();
  const shape = [batch, ...arch.inputShape];
  const x = tf.tensor(
    randomNormal(
      shape.reduce((a, b) => a * b, 1),
      SEED,
    ),
    shape,
  );
  const y = tf.tensor(randomNormal(batch, SEED + 1), [batch, 1]);
  const optimizer = tf.train.adam(1e-3);
  const step = (): void => {
    const loss = optimizer.minimize(
      () => tf.losses.meanSquaredError(y, model.apply(x) as tf.Tensor) as tf.Scalar,
      true,
    );
    // Reading the loss back makes the step complete before the clock stops.
    const value = loss?.dataSync()[0] ?? Number.NaN;
    loss?.dispose();
    if (!Number.isFinite(value)) throw new Error(`loss is ${value}`);
  };
  const dispose = () => {
    tf.dispose([x, y]);
    optimizer.dispose();
    model.dispose();
  };
  return { parameters: model.countParams(), step, dispose };
}

function timed(run: () => void): number {
  const start = performance.now();
  run();
  return performance.now() - start;
}

const firstLine = (error: unknown): string =>
  (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? 'unknown error';

/** Estimated ms per full-batch step from one batch-1 step, or undefined when within the cpu limit. */
function tooSlowForCpu(batch1Ms: number, batch: number): string | undefined {
  const estimate = batch1Ms * batch;
  if (estimate <= CPU_STEP_LIMIT_MS) return undefined;
  return `skipped: ~${(estimate / 1000).toFixed(0)} s/step estimated (one batch-1 step took ${(batch1Ms / 1000).toFixed(1)} s)`;
}

async function measureArchitecture(arch: Architecture, backend: Backend): Promise<Row> {
  await selectBackend(backend);
  const row: Row = {
    model: arch.label,
    backend,
    threads: 1,
    parameters: 0,
    batch: arch.batch,
    peer: arch.peer,
  };
  try {
    if (backend === 'cpu') {
      const probe = architectureTrainer(arch, 1);
      try {
        row.parameters = probe.parameters;
        const skip = tooSlowForCpu(timed(probe.step), arch.batch);
        if (skip) {
          row.note = skip;
          return row;
        }
      } finally {
        probe.dispose();
      }
    }
    const trainer = architectureTrainer(arch, arch.batch);
    try {
      row.parameters = trainer.parameters;
      let warmup = 0;
      for (let i = 0; i < WARMUP_STEPS; i++) warmup = timed(trainer.step);
      const count = Math.max(
        MIN_TIMED_STEPS,
        Math.min(MAX_TIMED_STEPS, Math.floor(TIMED_BUDGET_MS / warmup)),
      );
      const samples = Array.from({ length: count }, () => timed(trainer.step));
      row.steps = count;
      row.msPerStep = median(samples);
      row.examplesPerSecond = (arch.batch * 1000) / row.msPerStep;
    } finally {
      trainer.dispose();
    }
  } catch (error) {
    row.note = `fails: ${firstLine(error)}`;
  }
  return row;
}

/** One of fedpet's plans, trained by trainLocal on random rows. */
interface PlanCase {
  label: string;
  plan: Plan;
  batch: number;
  peer?: PeerModel;
}

const PLAN_CASES: readonly PlanCase[] = [
  {
    label: 'plan pet-mip-cnn (64² MIPs, defaults)',
    plan: petMipCnnPlanSchema.parse({ kind: 'pet-mip-cnn', mipSize: 64 }),
    batch: 16,
    peer: 'pet-mip-cnn',
  },
  {
    label: 'plan clinical-cox (8 features)',
    plan: clinicalCoxPlanSchema.parse({
      kind: 'clinical-cox',
      features: Array.from({ length: 8 }, (_, i) => `feature_${i + 1}`),
    }),
    batch: 32,
  },
];

/** `rows` random rows for a plan: normal images and covariates, times 1–1000 days, half of them events. */
function randomPlanData(planCase: PlanCase, rows: number): PlanData {
  const spec = modelSpecOf(planCase.plan);
  const imageShape = imageShapeOf(spec);
  const rng = createRng(SEED + 2);
  const target = new Float32Array(rows * 2);
  for (let row = 0; row < rows; row++) {
    target[row * 2] = 1 + Math.floor(rng.next() * 1000);
    target[row * 2 + 1] = row % 2 === 0 ? 1 : 0;
  }
  return {
    rows,
    tabular: randomNormal(rows * spec.columns.length, SEED + 3),
    tabularWidth: spec.columns.length,
    images: imageShape ? randomNormal(rows * imageShape.reduce((a, b) => a * b, 1), SEED + 4) : undefined,
    imageShape,
    target,
    targetWidth: 2,
  };
}

/**
 * trainLocal on one batch of rows for `epochs` epochs: one optimizer step per
 * epoch, each ending with trainLocal's own read-back of the epoch loss, so
 * the onProgress callbacks time whole steps.
 */
async function trainPlan(planCase: PlanCase, rows: number, epochs: number, parallel?: DataParallelTrainer) {
  const spec = modelSpecOf(planCase.plan);
  const model = buildPlanModel(spec, SEED);
  const data = randomPlanData(planCase, rows);
  const hyperparameters: Hyperparameters = {
    localEpochs: epochs,
    batchSize: rows,
    learningRate: 1e-3,
    optimizer: 'adam',
  };
  const marks: number[] = [];
  const start = performance.now();
  try {
    const options = { onProgress: () => marks.push(performance.now()) };
    const result = parallel
      ? await parallel.train(model, data, hyperparameters, spec, SEED, options)
      : await trainLocal(model, data, hyperparameters, spec, SEED, options);
    const wallMs = performance.now() - start;
    const stepMs = marks.map((mark, i) => mark - (i === 0 ? start : marks[i - 1]!));
    return { parameters: model.countParams(), result, wallMs, stepMs };
  } finally {
    model.dispose();
  }
}

async function measurePlan(planCase: PlanCase, backend: Backend): Promise<Row> {
  await selectBackend(backend);
  const row: Row = { model: planCase.label, backend, threads: 1, parameters: 0, batch: planCase.batch };
  if (planCase.peer) row.peer = planCase.peer;
  try {
    // Warm-up call (one step); on cpu it runs at batch 1 and doubles as the speed probe.
    const warmup = await trainPlan(planCase, backend === 'cpu' ? 1 : planCase.batch, 1);
    row.parameters = warmup.parameters;
    const skip = backend === 'cpu' ? tooSlowForCpu(warmup.wallMs, planCase.batch) : undefined;
    if (skip) {
      row.note = skip;
      return row;
    }
    const stepMs = backend === 'cpu' ? warmup.wallMs * planCase.batch : warmup.wallMs;
    const count = Math.max(MIN_TIMED_STEPS, Math.min(MAX_TIMED_STEPS, Math.floor(TIMED_BUDGET_MS / stepMs)));
    const run = await trainPlan(planCase, planCase.batch, count);
    row.steps = run.result.steps;
    row.msPerStep = median(run.stepMs);
    row.wallMsPerStep = run.wallMs / run.result.steps;
    row.examplesPerSecond = (planCase.batch * 1000) / row.msPerStep;
  } catch (error) {
    row.note = `fails: ${firstLine(error)}`;
  }
  return row;
}

/** An architecture's batch as one-batch PlanData, and the spec that trains it with the squared error. */
function architectureData(arch: Architecture): { data: PlanData; spec: ModelSpec } {
  const size = arch.inputShape.reduce((a, b) => a * b, 1);
  const data: PlanData = {
    rows: arch.batch,
    tabular: new Float32Array(0),
    tabularWidth: 0,
    images: randomNormal(arch.batch * size, SEED),
    imageShape: arch.inputShape,
    target: randomNormal(arch.batch, SEED + 1),
    targetWidth: 1,
  };
  const base = modelSpecOf(PLAN_CASES[0]!.plan);
  return { data, spec: { ...base, objective: 'mse', columns: [], image: { kind: 'mip', size: 0 } } };
}

/**
 * Warm-up steps of the data-parallel rows: fresh worker threads compile their
 * code paths in the first few steps (~2× slower), which a round's training
 * pays once, not per step.
 */
const PARALLEL_WARMUP_STEPS = 3;

/** Per-step times from onProgress marks: one step per epoch, as trainPlan does. */
async function timeEpochs(
  run: (epochs: number, options: TrainOptions) => Promise<TrainResult>,
): Promise<{ steps: number; msPerStep: number }> {
  const timeRun = async (epochs: number) => {
    const marks: number[] = [];
    const start = performance.now();
    await run(epochs, { onProgress: () => marks.push(performance.now()) });
    return marks.map((mark, i) => mark - (i === 0 ? start : marks[i - 1]!));
  };
  const warmup = (await timeRun(PARALLEL_WARMUP_STEPS)).at(-1);
  const count = Math.max(MIN_TIMED_STEPS, Math.min(MAX_TIMED_STEPS, Math.floor(TIMED_BUDGET_MS / warmup!)));
  const samples = await timeRun(count);
  return { steps: samples.length, msPerStep: median(samples) };
}

/** An architecture trained data-parallel on `threads` wasm worker threads (DataParallelTrainer.train). */
async function measureArchitectureParallel(arch: Architecture, threads: number): Promise<Row> {
  await selectBackend('wasm');
  const row: Row = {
    model: arch.label,
    backend: 'wasm',
    threads,
    parameters: 0,
    batch: arch.batch,
    peer: arch.peer,
  };
  const { data, spec } = architectureData(arch);
  const model = arch.build();
  let trainer: DataParallelTrainer | undefined;
  try {
    trainer = await DataParallelTrainer.start(threads, 'wasm');
    const parallel = trainer;
    row.parameters = model.countParams();
    const hyperparameters = { batchSize: arch.batch, learningRate: 1e-3, optimizer: 'adam' as const };
    const timing = await timeEpochs((localEpochs, options) =>
      parallel.train(model, data, { ...hyperparameters, localEpochs }, spec, SEED, options),
    );
    row.steps = timing.steps;
    row.msPerStep = timing.msPerStep;
    row.examplesPerSecond = (arch.batch * 1000) / timing.msPerStep;
  } catch (error) {
    row.note = `fails: ${firstLine(error)}`;
  } finally {
    await trainer?.close();
    model.dispose();
  }
  return row;
}

/** A plan trained data-parallel on `threads` wasm worker threads. */
async function measurePlanParallel(planCase: PlanCase, threads: number): Promise<Row> {
  await selectBackend('wasm');
  const row: Row = { model: planCase.label, backend: 'wasm', threads, parameters: 0, batch: planCase.batch };
  if (planCase.peer) row.peer = planCase.peer;
  let trainer: DataParallelTrainer | undefined;
  try {
    trainer = await DataParallelTrainer.start(threads, 'wasm');
    const warmup = await trainPlan(planCase, planCase.batch, PARALLEL_WARMUP_STEPS, trainer);
    row.parameters = warmup.parameters;
    const stepMs = warmup.stepMs.at(-1) ?? warmup.wallMs;
    const count = Math.max(MIN_TIMED_STEPS, Math.min(MAX_TIMED_STEPS, Math.floor(TIMED_BUDGET_MS / stepMs)));
    const run = await trainPlan(planCase, planCase.batch, count, trainer);
    row.steps = run.result.steps;
    row.msPerStep = median(run.stepMs);
    row.wallMsPerStep = run.wallMs / run.result.steps;
    row.examplesPerSecond = (planCase.batch * 1000) / row.msPerStep;
  } catch (error) {
    row.note = `fails: ${firstLine(error)}`;
  } finally {
    await trainer?.close();
  }
  return row;
}

/** The Python that runs the peer, and whether it imports torch (with why not). */
function findPeerPython(): { python: string; importable: boolean; reason?: string } {
  const venv = join(REPO_ROOT, '.venv-torch', 'bin', 'python');
  const python = process.env.FEDPET_TORCH_PYTHON || (existsSync(venv) ? venv : 'python3');
  try {
    execFileSync(python, ['-W', 'ignore', '-c', 'import torch'], { stdio: 'pipe', timeout: 60_000 });
    return { python, importable: true };
  } catch (error) {
    // Python's last stderr line names the failure (ModuleNotFoundError: No module named 'torch').
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
    return { python, importable: false, reason: stderr.split('\n').at(-1) || firstLine(error) };
  }
}

function runPeer(python: string, model: PeerModel, threads: number): PeerResult | { error: string } {
  const steps = model === 'cnn3d-64' ? 5 : 10;
  try {
    const stdout = execFileSync(python, [PEER_SCRIPT, JSON.stringify({ model, steps, threads })], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 180_000,
    });
    const last = stdout.trim().split('\n').at(-1) ?? '';
    return JSON.parse(last) as PeerResult;
  } catch (error) {
    return { error: firstLine(error) };
  }
}

export async function runTrainingBench() {
  tf.env().set('PROD', true);
  const loadBefore = loadavg()[0]!;
  const peerPython = findPeerPython();
  if (!peerPython.importable) {
    console.log(`PyTorch not importable: fedpet figures only (${peerPython.python}: ${peerPython.reason})`);
  }
  const peer: Record<string, PeerResult | { error: string }> = {};
  // Each peer model runs right after fedpet's wasm row of it, never beside it: each side has the
  // machine to itself, and on a shared machine the two are measured under the same conditions.
  const measurePeer = (model: PeerModel | undefined) => {
    if (!model || !peerPython.importable) return;
    for (const threads of PEER_THREADS)
      peer[`${model}/${threads}`] = runPeer(peerPython.python, model, threads);
  };
  const rows: Row[] = [];
  const parallelThreads = PEER_THREADS.filter((t) => t > 1);
  for (const arch of ARCHITECTURES) {
    rows.push(await measureArchitecture(arch, 'wasm'));
    for (const threads of parallelThreads) rows.push(await measureArchitectureParallel(arch, threads));
    measurePeer(arch.peer);
    rows.push(await measureArchitecture(arch, 'cpu'));
  }
  for (const planCase of PLAN_CASES) {
    rows.push(await measurePlan(planCase, 'wasm'));
    for (const threads of parallelThreads) rows.push(await measurePlanParallel(planCase, threads));
    measurePeer(planCase.peer);
    rows.push(await measurePlan(planCase, 'cpu'));
  }
  const loadAfter = loadavg()[0]!;
  const wasmThreads = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT') ? 'multi' : 'single';
  const wasmSimd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');

  const peerMs = (row: Row, threads: number): number | undefined => {
    const result = row.peer ? peer[`${row.peer}/${threads}`] : undefined;
    return result && 'msPerStep' in result ? result.msPerStep : undefined;
  };
  const mismatches = Object.values(peer).flatMap((result) => {
    if (!('parameters' in result)) return [];
    const ours = rows.find((r) => r.peer === result.model && r.parameters > 0);
    return ours && ours.parameters !== result.parameters
      ? [`${result.model}: fedpet ${ours.parameters} parameters, PyTorch ${result.parameters}`]
      : [];
  });

  const f = (n: number | undefined, digits = 0) =>
    n === undefined ? '—' : n.toLocaleString('en-US', { maximumFractionDigits: digits });
  const ratio = (ours: number | undefined, theirs: number | undefined) =>
    ours !== undefined && theirs !== undefined ? `${(ours / theirs).toFixed(1)}×` : '—';
  const table = rows.map((r) => ({
    model: r.model,
    backend: r.backend === 'wasm' ? 'wasm + fedpet kernels' : 'cpu',
    threads: r.threads,
    params: f(r.parameters),
    batch: r.batch,
    'ms/step': r.note ?? f(r.msPerStep, r.msPerStep !== undefined && r.msPerStep < 100 ? 1 : 0),
    'examples/s': f(r.examplesPerSecond, 1),
    'PyTorch ms, same threads': f(peerMs(r, r.threads), 1),
    'fedpet ÷ PyTorch, same threads': ratio(r.msPerStep, peerMs(r, r.threads)),
    'fedpet ÷ PyTorch 1t': r.threads > 1 ? ratio(r.msPerStep, peerMs(r, 1)) : '',
  }));
  console.table(table);
  console.log(
    `fedpet: tfjs ${tf.version.tfjs}, wasm ${wasmThreads}-threaded${wasmSimd ? ' with SIMD' : ''} under Node: ` +
      `one core per thread; ${ALL_CORES} threads = data-parallel on ${ALL_CORES} worker threads. The target ` +
      'compares the same thread count (PyTorch torch.set_num_threads); the last column shows what the extra ' +
      'cores buy against PyTorch on one. Ratios: fedpet ms ÷ PyTorch ms (1 = as fast).',
  );
  console.log(
    'Plans: trainLocal with the Cox loss (PyTorch peer: same network, Cox partial likelihood); ' +
      'clinical-cox has no peer (a linear model).',
  );
  for (const [key, result] of Object.entries(peer)) {
    if ('error' in result) console.log(`PyTorch peer ${key} failed: ${result.error}`);
  }
  for (const mismatch of mismatches) console.log(`WARNING: architectures differ: ${mismatch}`);
  console.log(
    `1-minute load average ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after ` +
      `(${cpus().length} cores): above ~0.2 another process shared the cores and the figures are noisier.`,
  );

  const torchVersion = Object.values(peer).find((r): r is PeerResult => 'torch' in r)?.torch;
  const results = {
    benchmark: 'training',
    date: new Date().toISOString(),
    node: process.version,
    cpu: `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}`,
    tfjs: tf.version.tfjs,
    wasmThreads,
    wasmSimd,
    cpuStepLimitMs: CPU_STEP_LIMIT_MS,
    loadAverage: { before: loadBefore, after: loadAfter },
    torch: peerPython.importable
      ? { python: peerPython.python, version: torchVersion ?? null }
      : { python: peerPython.python, importable: false, reason: peerPython.reason },
    rows: rows.map((r) => ({
      ...r,
      torch1ThreadMsPerStep: peerMs(r, 1) ?? null,
      torchSameThreadsMsPerStep: peerMs(r, r.threads) ?? null,
    })),
    peer,
    mismatches,
  };
  const out = join(HERE, 'results', 'training.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  return results;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await runTrainingBench();
