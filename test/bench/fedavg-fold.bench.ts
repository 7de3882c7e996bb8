/**
 * FedAvg fold benchmark: folds 10 updates of 10M float32 parameters one by
 * one, as the aggregator does when updates arrive, and reports
 *  - memory traffic of add() (12 bytes/parameter/update: read sums, read
 *    update, write sums) as a ratio to a plain Float32Array copy
 *    (dst.set(src), 8 bytes/parameter) measured in the same run, and the
 *    same for the fold loop alone (add() also reads the update once more to
 *    validate it before touching the sums);
 *  - peak memory above the idle baseline, in model sizes, with each update
 *    generated just in time and dropped after folding.
 * Medians over repetitions after a warm-up; no pass/fail thresholds.
 *
 * Run: node --import tsx test/bench/fedavg-fold.bench.ts
 * Writes test/bench/results/fedavg-fold.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FedAvgAccumulator } from '../../shared/src/aggregation/fedavg.ts';
import { createFoldKernel } from '../../shared/src/aggregation/fold-kernel.ts';

const PARAMS = 10_000_000;
const UPDATES = 10;
const REPETITIONS = 3;
const COPY_REPETITIONS = 15;
const MODEL_BYTES = PARAMS * 4;
const GB = 1e9;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function seconds(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** An update as it would arrive: a fresh array of plausible weights (cheap LCG, not Math.random). */
function arrivingUpdate(seed: number, into?: Float32Array): Float32Array {
  const values = into ?? new Float32Array(PARAMS);
  let state = seed >>> 0;
  for (let i = 0; i < PARAMS; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    values[i] = state / 2 ** 32 - 0.5;
  }
  return values;
}

function warmUp(): void {
  const small = new FedAvgAccumulator(200_000);
  const update = new Float32Array(200_000).fill(0.25);
  for (let i = 0; i < 50; i++) small.add(update, 1 + i);
  small.result();
  const src = new Float32Array(200_000);
  const dst = new Float32Array(200_000);
  for (let i = 0; i < 50; i++) dst.set(src);
}

interface FoldRun {
  addSeconds: number[];
  resultSeconds: number;
  peakArrayBuffersBytes: number;
  peakRssSampledBytes: number;
}

/**
 * One aggregation round: updates arrive one at a time, are folded, then
 * dropped. With `reuse`, each update arrives into one receive buffer that is
 * overwritten (how an aggregator can bound its memory); without, each arrives
 * in a fresh array and V8 decides when the dropped ones are freed.
 * process.memoryUsage().arrayBuffers does not count WebAssembly memory, so
 * the accumulator's sums are added to it explicitly.
 */
function foldRound(repetition: number, baseline: NodeJS.MemoryUsage, reuse: boolean): FoldRun {
  let peakArrayBuffers = 0;
  let peakRss = 0;
  const sample = (): void => {
    const usage = process.memoryUsage();
    const sums = accumulator.kernel === 'wasm-simd' ? MODEL_BYTES : 0;
    peakArrayBuffers = Math.max(peakArrayBuffers, usage.arrayBuffers - baseline.arrayBuffers + sums);
    peakRss = Math.max(peakRss, usage.rss - baseline.rss);
  };
  const accumulator = new FedAvgAccumulator(PARAMS);
  const addSeconds: number[] = [];
  const receiveBuffer = reuse ? new Float32Array(PARAMS) : undefined;
  for (let k = 0; k < UPDATES; k++) {
    let update: Float32Array | undefined = arrivingUpdate(repetition * UPDATES + k + 1, receiveBuffer);
    sample();
    const arrived = update;
    addSeconds.push(seconds(() => accumulator.add(arrived, 100 + 37 * k)));
    sample();
    update = undefined;
  }
  let result: Float32Array | undefined;
  const resultSeconds = seconds(() => {
    result = accumulator.result();
  });
  sample();
  if (result === undefined || !Number.isFinite(result[PARAMS - 1]!))
    throw new Error('fold produced no result');
  return { addSeconds, resultSeconds, peakArrayBuffersBytes: peakArrayBuffers, peakRssSampledBytes: peakRss };
}

function copySeconds(): number {
  const src = arrivingUpdate(999);
  const dst = new Float32Array(PARAMS);
  const times: number[] = [];
  for (let r = 0; r < COPY_REPETITIONS; r++) times.push(seconds(() => dst.set(src)));
  return median(times);
}

/** The fold loop alone (no validation pass), same kernel, pre-generated update. */
function foldLoopSeconds(): number {
  const kernel = createFoldKernel(PARAMS);
  const update = arrivingUpdate(4242);
  const times: number[] = [];
  for (let r = 0; r < COPY_REPETITIONS; r++) times.push(seconds(() => kernel.fold(update, 1.5)));
  return median(times);
}

export function runFedAvgFoldBench(): Record<string, unknown> {
  warmUp();
  globalThis.gc?.();
  const baseline = process.memoryUsage();
  const baselineMaxRssBytes = process.resourceUsage().maxRSS * 1024;

  // Memory-sensitive phase first, so maxRSS reflects the fold and not the copy baseline below.
  // The first reused-buffer round starts from a clean process: its peak is exact. Later rounds
  // (and the fresh-array rounds) can also hold garbage of earlier rounds: an upper bound.
  const reusedRuns: FoldRun[] = [foldRound(0, baseline, true)];
  const maxRssAfterReusedBytes = process.resourceUsage().maxRSS * 1024;
  for (let r = 1; r < REPETITIONS; r++) reusedRuns.push(foldRound(r, baseline, true));
  const runs: FoldRun[] = [];
  for (let r = 0; r < REPETITIONS; r++) runs.push(foldRound(r, baseline, false));
  const maxRssAfterFoldBytes = process.resourceUsage().maxRSS * 1024;

  const copy = copySeconds();
  const foldLoop = foldLoopSeconds();
  const copyAgain = copySeconds();
  const copyMedian = median([copy, copyAgain]);

  const addMedian = median([...reusedRuns, ...runs].flatMap((run) => run.addSeconds));
  const copyGBps = (8 * PARAMS) / copyMedian / GB;
  const addGBps = (12 * PARAMS) / addMedian / GB;
  const foldLoopGBps = (12 * PARAMS) / foldLoop / GB;
  const peakArrayBuffers = Math.max(...runs.map((run) => run.peakArrayBuffersBytes));
  const peakRssSampled = Math.max(...runs.map((run) => run.peakRssSampledBytes));
  const peakRssHighWater = maxRssAfterFoldBytes - baseline.rss;

  const results = {
    node: process.version,
    kernel: new FedAvgAccumulator(4).kernel,
    params: PARAMS,
    updates: UPDATES,
    repetitions: REPETITIONS,
    modelBytes: MODEL_BYTES,
    copy: { medianMs: copyMedian * 1e3, trafficGBps: copyGBps },
    add: { medianMs: addMedian * 1e3, trafficGBps: addGBps, ratioToCopy: addGBps / copyGBps },
    foldLoopOnly: {
      medianMs: foldLoop * 1e3,
      trafficGBps: foldLoopGBps,
      ratioToCopy: foldLoopGBps / copyGBps,
    },
    resultMs: median(runs.map((run) => run.resultSeconds)) * 1e3,
    peakMemoryModelSizes: {
      reusedReceiveBuffer: {
        buffersSampled: reusedRuns[0]!.peakArrayBuffersBytes / MODEL_BYTES,
        rssSampled: reusedRuns[0]!.peakRssSampledBytes / MODEL_BYTES,
        rssHighWater: (maxRssAfterReusedBytes - baseline.rss) / MODEL_BYTES,
      },
      freshArrayPerUpdate: {
        buffersSampled: peakArrayBuffers / MODEL_BYTES,
        rssSampled: peakRssSampled / MODEL_BYTES,
        rssHighWater: peakRssHighWater / MODEL_BYTES,
      },
    },
    baselineMaxRssBytesBeforeFold: baselineMaxRssBytes,
  };

  const f = (n: number, digits = 2): string => n.toFixed(digits);
  console.table([
    {
      measure: 'copy dst.set(src), 8 B/param',
      ms: f(copyMedian * 1e3),
      'GB/s': f(copyGBps),
      'ratio to copy': '1.00',
    },
    {
      measure: 'FedAvg add(), 12 B/param',
      ms: f(addMedian * 1e3),
      'GB/s': f(addGBps),
      'ratio to copy': f(addGBps / copyGBps),
    },
    {
      measure: 'fold loop only, 12 B/param',
      ms: f(foldLoop * 1e3),
      'GB/s': f(foldLoopGBps),
      'ratio to copy': f(foldLoopGBps / copyGBps),
    },
  ]);
  const memoryRows = Object.entries(results.peakMemoryModelSizes).map(([arrival, peak]) => ({
    'update arrives in': arrival,
    'buffers + sums (sampled)': f(peak.buffersSampled),
    'RSS (sampled)': f(peak.rssSampled),
    'RSS high-water': f(peak.rssHighWater),
  }));
  console.log('peak memory above idle, in model sizes (40 MB):');
  console.table(memoryRows);

  const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'fedavg-fold.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`wrote ${out}`);
  return results;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) runFedAvgFoldBench();
