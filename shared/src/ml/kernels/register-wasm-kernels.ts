import * as tf from '@tensorflow/tfjs';
import { ErrorCodes, FedpetError } from '../../errors/fedpet-error.ts';
import { biasAddConfig } from './bias-add.ts';
import {
  conv2dBackpropFilterConfig,
  conv2dBackpropInputConfig,
  conv2dConfig,
  conv3dBackpropFilterConfig,
  conv3dBackpropInputConfig,
  conv3dConfig,
} from './conv-kernels.ts';
import { sharedIdentityConfig } from './identity-shared.ts';
import { maxPool2dGradConfig, maxPool3dConfig, maxPool3dGradConfig } from './max-pool-grad.ts';
import { RELU_GRAD_KERNEL, reluGradientConfig, reluGradKernelConfig } from './relu-grad.ts';
import { sumLeadingAxesConfig } from './sum-leading-axes.ts';
import { unsortedSegmentSumConfig } from './unsorted-segment-sum.ts';

/**
 * fedpet's kernels for tfjs-backend-wasm 4.22, and why each is there:
 * 'missing': stock wasm has no such kernel, so training fails without it
 *   (Conv2DBackpropFilter: no 2D CNN trains on stock wasm);
 * 'faster': stock wasm has one, but it dominates a training step (direct loops
 *   at 0.5–4 GFLOP/s for the convolutions, a transpose before every bias-gradient
 *   sum); the replacement is the same arithmetic in another summation order,
 *   checked against the cpu backend by the colocated tests.
 */
type Reason = 'missing' | 'faster';

interface FedpetKernel {
  kernelName: string;
  reason: Reason;
  /** The config to register, given the stock kernel it replaces (undefined when there is none). */
  build(stock: tf.KernelConfig | undefined): tf.KernelConfig | undefined;
}

const fixed = (config: tf.KernelConfig) => (): tf.KernelConfig => config;

const FEDPET_WASM_KERNELS: readonly FedpetKernel[] = [
  { kernelName: tf.Conv2DBackpropFilter, reason: 'missing', build: fixed(conv2dBackpropFilterConfig) },
  // GatherV2's gradient (the Cox loss gathers rows by time order).
  { kernelName: tf.UnsortedSegmentSum, reason: 'missing', build: fixed(unsortedSegmentSumConfig) },
  { kernelName: tf.Conv2DBackpropInput, reason: 'faster', build: fixed(conv2dBackpropInputConfig) },
  { kernelName: tf.Conv3D, reason: 'faster', build: fixed(conv3dConfig) },
  { kernelName: tf.Conv2D, reason: 'faster', build: (stock) => (stock ? conv2dConfig(stock) : undefined) },
  { kernelName: tf.Conv3DBackpropFilterV2, reason: 'faster', build: fixed(conv3dBackpropFilterConfig) },
  { kernelName: tf.Conv3DBackpropInputV2, reason: 'faster', build: fixed(conv3dBackpropInputConfig) },
  { kernelName: tf.MaxPoolGrad, reason: 'faster', build: fixed(maxPool2dGradConfig) },
  { kernelName: tf.MaxPool3DGrad, reason: 'faster', build: fixed(maxPool3dGradConfig) },
  { kernelName: tf.MaxPool3D, reason: 'faster', build: fixed(maxPool3dConfig) },
  // Only leading-axes sums are fedpet's; the rest still run the stock kernel, so it must exist.
  {
    kernelName: tf.Sum,
    reason: 'faster',
    build: (stock) => (stock ? sumLeadingAxesConfig(stock) : undefined),
  },
  // Bias additions (SIMD) and copies of saved activations; everything else: the stock kernel.
  { kernelName: tf.Add, reason: 'faster', build: (stock) => (stock ? biasAddConfig(stock) : undefined) },
  {
    kernelName: tf.Identity,
    reason: 'faster',
    build: (stock) => (stock ? sharedIdentityConfig(stock) : undefined),
  },
  // Not a stock kernel: ReLU's gradient in one pass, used by reluGradientConfig below.
  { kernelName: RELU_GRAD_KERNEL, reason: 'faster', build: fixed(reluGradKernelConfig) },
];

/** tfjs' own Relu gradient, kept to put back; fedpet's calls it on backends without the fused kernel. */
let stockReluGradient: tf.GradConfig | undefined;

/** What fedpet registered, per kernel name, with the stock config it displaced. */
const installed = new Map<string, { ours: tf.KernelConfig; stock: tf.KernelConfig | undefined }>();

export interface RegisterFedpetWasmKernelsOptions {
  /** Also replace the stock kernels fedpet has faster versions of (default true); false adds only missing ones. */
  replaceSlow?: boolean;
}

/**
 * Registers fedpet's kernels for backend 'wasm' and returns the names of the
 * kernels fedpet serves there now. Call it after '@tensorflow/tfjs-backend-wasm'
 * has been imported (importing it registers the stock kernels, overwriting
 * earlier ones), before or after tf.setBackend('wasm'). Idempotent; global to
 * the process's tfjs engine; other backends are untouched. The kernels' SIMD
 * parts also need `await prepareSimdKernels()` (simd/simd-kernels.ts; selectBackend
 * does both); until then they run their JavaScript loops.
 */
export function registerFedpetWasmKernels(options: RegisterFedpetWasmKernelsOptions = {}): string[] {
  if (!tf.findBackendFactory('wasm')) {
    throw new FedpetError(
      ErrorCodes.invalidConfig,
      "fedpet wasm kernels: backend 'wasm' is not registered; import '@tensorflow/tfjs-backend-wasm' first",
    );
  }
  const replaceSlow = options.replaceSlow ?? true;
  const serving: string[] = [];
  for (const kernel of FEDPET_WASM_KERNELS) {
    const current = tf.getKernel(kernel.kernelName, 'wasm');
    if (current && current === installed.get(kernel.kernelName)?.ours) {
      serving.push(kernel.kernelName);
      continue;
    }
    // A missing kernel stock wasm now has, or a faster one not asked for: leave it.
    if (kernel.reason === 'faster' ? !replaceSlow : current) continue;
    const built = kernel.build(current);
    if (!built) continue;
    // The stock kernel's setup (its binding into the wasm module) must still run at backend
    // start when only fedpet's config is registered then: fallbacks and restores call it.
    const ours: tf.KernelConfig = {
      ...built,
      ...(current?.setupFunc ? { setupFunc: current.setupFunc } : {}),
      ...(current?.disposeFunc ? { disposeFunc: current.disposeFunc } : {}),
    };
    if (current) tf.unregisterKernel(kernel.kernelName, 'wasm');
    tf.registerKernel(ours);
    installed.set(kernel.kernelName, { ours, stock: current });
    serving.push(kernel.kernelName);
  }
  if (serving.includes(RELU_GRAD_KERNEL) && !stockReluGradient) {
    const stock = tf.getGradient(tf.Relu);
    if (stock) {
      stockReluGradient = stock;
      tf.registerGradient(reluGradientConfig(stock));
    }
  }
  return serving;
}

/** Removes fedpet's wasm kernels and puts back the stock ones they displaced (for comparisons and tests). */
export function unregisterFedpetWasmKernels(): void {
  for (const [kernelName, { ours, stock }] of installed) {
    if (tf.getKernel(kernelName, 'wasm') === ours) {
      tf.unregisterKernel(kernelName, 'wasm');
      if (stock) tf.registerKernel(stock);
    }
    installed.delete(kernelName);
  }
  if (stockReluGradient) {
    tf.registerGradient(stockReluGradient);
    stockReluGradient = undefined;
  }
}

/** The kernels fedpet can register for 'wasm', and why: 'missing' from stock wasm 4.22, or 'faster' than its own. */
export function fedpetWasmKernels(): Array<{ kernelName: string; reason: Reason }> {
  return FEDPET_WASM_KERNELS.map(({ kernelName, reason }) => ({ kernelName, reason }));
}
