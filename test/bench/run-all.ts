/**
 * make bench: every benchmark in turn, each printing its table and writing
 * JSON under test/bench/results/. Figures are ratios to baselines measured in
 * the same run; run on an otherwise idle machine.
 */
import { cpus } from 'node:os';
import { runConvKernelsBench } from './conv-kernels.bench.ts';
import { runDicomPipelineBench } from './dicom-pipeline.bench.ts';
import { runFedAvgFoldBench } from './fedavg-fold.bench.ts';
import { runSecureRoundBench } from './secure-round.bench.ts';
import { runTrainingBench } from './training.bench.ts';
import { runTransferBench } from './transfer.bench.ts';

console.log(
  `fedpet benchmarks — ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, Node ${process.version}, ${new Date().toISOString()}`,
);
console.log('\n(a) FedAvg streaming fold: 10 updates of 10M float32 parameters');
await runFedAvgFoldBench();
console.log('\n(b) model and update transfer through the brokers');
await runTransferBench();
console.log('\n(c) PET-CT imaging pipeline: DICOM → SUV → cached tensors and features, against dcmdump');
await runDicomPipelineBench();
console.log('\n(d) secure aggregation: a whole round, secure vs sealed, and the mask arithmetic');
await runSecureRoundBench();
console.log(
  '\n(e) training kernels: CNN training steps on wasm with fedpet kernels (SIMD and JavaScript) vs stock wasm and cpu',
);
await runConvKernelsBench();
console.log(
  '\n(f) training speed: fedpet (wasm + kernels on 1 and all cores, cpu) against the same networks in PyTorch, and fedpet plans',
);
await runTrainingBench();
