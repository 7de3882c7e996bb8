import { execFile } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';

export const backendPreferences = ['tensorflow', 'wasm', 'cpu'] as const;
export type BackendPreference = (typeof backendPreferences)[number];

export interface SelectedBackend {
  /** The tfjs backend now active ('tensorflow', 'wasm' or 'cpu'). */
  name: string;
  gpu: { available: boolean; device?: string };
  /** The tfjs namespace, with `name` set as its active backend. */
  tf: typeof tf;
  /** Which backend was chosen and why the others were not (no data, safe to log). */
  notes: string[];
}

// Held in variables so TypeScript does not resolve (and need types for)
// packages that only the GPU image installs.
const tfjsNodeGpuModule = '@tensorflow/tfjs-node-gpu';
const tfjsNodeModule = '@tensorflow/tfjs-node';
const wasmBackendModule = '@tensorflow/tfjs-backend-wasm';

function reason(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0] ?? text;
}

async function activate(name: string): Promise<void> {
  if (!(await tf.setBackend(name))) throw new Error(`tf.setBackend('${name}') returned false`);
  await tf.ready();
}

/** The GPU's marketing name from nvidia-smi, when the tool exists; undefined otherwise. */
function nvidiaDeviceName(): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(
      'nvidia-smi',
      ['--query-gpu=name', '--format=csv,noheader'],
      { timeout: 3000 },
      (error, stdout) => {
        const first = error ? undefined : stdout.split('\n')[0]?.trim();
        resolve(first ? first : undefined);
      },
    );
  });
}

/**
 * tfjs-node's kernel backend exposes `isUsingGpuDevice` (true when TensorFlow
 * placed ops on a CUDA device); tfjs has no public device-listing API.
 */
async function detectGpu(): Promise<SelectedBackend['gpu']> {
  const backend: unknown = tf.backend();
  const flag =
    typeof backend === 'object' && backend !== null && 'isUsingGpuDevice' in backend
      ? (backend as { isUsingGpuDevice: unknown }).isUsingGpuDevice
      : false;
  if (flag !== true) return { available: false };
  const name = await nvidiaDeviceName();
  return { available: true, device: name ? `GPU:0 (${name})` : 'GPU:0' };
}

async function tryTensorflow(notes: string[]): Promise<SelectedBackend['gpu'] | undefined> {
  for (const moduleName of [tfjsNodeGpuModule, tfjsNodeModule]) {
    try {
      // The package registers the 'tensorflow' backend on the global tfjs engine as a side effect.
      await import(moduleName);
      await activate('tensorflow');
      const gpu = await detectGpu();
      notes.push(
        `using 'tensorflow' via ${moduleName}` +
          (gpu.available ? ` on ${gpu.device}` : ' on CPU (no GPU device in use)'),
      );
      return gpu;
    } catch (error) {
      notes.push(`${moduleName} unavailable: ${reason(error)}`);
    }
  }
  return undefined;
}

async function tryWasm(notes: string[]): Promise<boolean> {
  try {
    await import(wasmBackendModule);
    await activate('wasm');
    // Kernels stock wasm 4.22 lacks (Conv2DBackpropFilter, UnsortedSegmentSum) and faster convolutions.
    (await import('./kernels/register-wasm-kernels.ts')).registerFedpetWasmKernels();
    // Their SIMD parts (im2col, max pooling); without them the kernels run their JavaScript loops.
    const simdProblem = await (await import('./kernels/simd/simd-kernels.ts')).prepareSimdKernels();
    notes.push(
      `using 'wasm' via ${wasmBackendModule}${simdProblem ? ` (${simdProblem})` : ' with fedpet SIMD kernels'}`,
    );
    return true;
  } catch (error) {
    notes.push(`wasm backend unavailable: ${reason(error)}`);
    return false;
  }
}

async function tryCpu(notes: string[]): Promise<boolean> {
  try {
    await activate('cpu');
    notes.push(`using 'cpu' (pure JavaScript)`);
    return true;
  } catch (error) {
    notes.push(`cpu backend unavailable: ${reason(error)}`);
    return false;
  }
}

/**
 * Activates a tfjs backend for this process. Without a preference the fastest
 * that loads wins: tfjs-node-gpu, tfjs-node, wasm, then pure-JS cpu. A stated
 * preference that cannot load is a configuration error, never a silent fallback.
 */
export async function selectBackend(preferred?: BackendPreference): Promise<SelectedBackend> {
  if (preferred !== undefined && !(backendPreferences as readonly string[]).includes(preferred)) {
    throw new FedpetError(
      ErrorCodes.invalidConfig,
      `unknown tfjs backend '${String(preferred)}': expected one of ${backendPreferences.join(', ')}`,
    );
  }
  // Production mode silences tfjs' console banners (e.g. "install tfjs-node"): the choice and
  // its reasons are reported in `notes`, for the caller's structured log.
  tf.env().set('PROD', true);
  const notes: string[] = [];
  const chosen = (name: string, gpu: SelectedBackend['gpu'] = { available: false }): SelectedBackend => ({
    name,
    gpu,
    tf,
    notes,
  });

  if (preferred === 'tensorflow' || preferred === undefined) {
    const gpu = await tryTensorflow(notes);
    if (gpu) return chosen('tensorflow', gpu);
  }
  if (preferred === 'wasm' || preferred === undefined) {
    if (await tryWasm(notes)) return chosen('wasm');
  }
  if (preferred === 'cpu' || preferred === undefined) {
    if (await tryCpu(notes)) return chosen('cpu');
  }
  const what =
    preferred === undefined ? 'no tfjs backend could be loaded' : `backend '${preferred}' cannot be loaded`;
  throw new FedpetError(ErrorCodes.invalidConfig, `${what}: ${notes.join('; ')}`);
}
