import { readFileSync } from 'node:fs';
import wabt from 'wabt';
import type { ConvGeometry } from '../conv-geometry.ts';
import type { PoolGeometry, TieRule } from '../max-pool-grad.ts';

/**
 * fedpet's WebAssembly SIMD kernels (fedpet-kernels.wat), run on the tfjs
 * wasm backend's own memory so tensors are read and written in place. They
 * replace the JavaScript loops that dominated the 3D CNN's steps after the
 * matrix products: im2col gathers (~75 ms of a 275 ms 32³ step) and max
 * pooling (~55 ms), then bias-gradient sums and bias additions; see docs/performance.md. The JavaScript versions remain
 * the fallback (no SIMD, or FEDPET_WASM_SIMD_KERNELS=0) and the tests' reference.
 *
 * Arguments are Float32Array views into the backend's heap (heapF32), whose
 * byteOffset is the tensor's address.
 */
export interface SimdKernels {
  gatherPatchRows(x: Float32Array, g: ConvGeometry, l0: number, l1: number, out: Float32Array): void;
  /** Stride 1 along the width only (g.strideW === 1); x in channel-major order. */
  gatherPatchColumns(
    xByChannel: Float32Array,
    g: ConvGeometry,
    l0: number,
    l1: number,
    out: Float32Array,
  ): void;
  maxPoolForward(x: Float32Array, g: PoolGeometry, y: Float32Array): void;
  maxPoolBackprop(x: Float32Array, dy: Float32Array, g: PoolGeometry, dx: Float32Array, ties: TieRule): void;
  /** Column sums of [rows, cols] x into out; `scratch` holds 2·cols floats (cols float64 accumulators). */
  sumRows(x: Float32Array, rows: number, cols: number, out: Float32Array, scratch: Float32Array): void;
  /** out = x + bias broadcast over the rows of [rows, cols] x. */
  addRowVector(x: Float32Array, bias: Float32Array, rows: number, cols: number, out: Float32Array): void;
  /**
   * Stride-1 convolution y = conv(x, w) from x zero-padded to [batch, outD + fD − 1,
   * outH + fH − 1, outW + fW − 1, inC] (plus inC floats of slack); outC a multiple of 16.
   */
  convDirect(xPadded: Float32Array, filter: Float32Array, y: Float32Array, g: ConvGeometry): void;
  /** The filter gradient of convDirect's convolution, for 3-wide filters (g.fW === 3); dw is overwritten. */
  convFilterGradDirect(xPadded: Float32Array, dy: Float32Array, dw: Float32Array, g: ConvGeometry): void;
  /** out = dy · step(x), element-wise (ReLU's gradient). */
  reluBackward(dy: Float32Array, x: Float32Array, out: Float32Array): void;
}

interface Exports {
  gatherPatchRows(...args: number[]): void;
  gatherPatchColumns(...args: number[]): void;
  maxPoolForward(...args: number[]): void;
  maxPoolBackprop(...args: number[]): void;
  maxPoolBackpropTiled(...args: number[]): void;
  sumRows(...args: number[]): void;
  addRowVector(...args: number[]): void;
  reluBackward(...args: number[]): void;
  convDirect(...args: number[]): void;
  convFilterGradDirect3(...args: number[]): void;
}

let compiled: WebAssembly.Module | undefined;
let failure: string | undefined;
const instances = new WeakMap<WebAssembly.Memory, SimdKernels>();

/** Whether FEDPET_WASM_SIMD_KERNELS turns them off ('0'). */
export function simdKernelsDisabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.FEDPET_WASM_SIMD_KERNELS === '0';
}

/**
 * Compiles the kernels once per thread (wabt parses the text, ~35 ms). Returns
 * why they are unavailable, or undefined when they are ready.
 */
export async function prepareSimdKernels(): Promise<string | undefined> {
  if (compiled || failure) return failure;
  if (simdKernelsDisabled()) return 'disabled by FEDPET_WASM_SIMD_KERNELS=0';
  try {
    const toolkit = await wabt();
    const source = readFileSync(new URL('./fedpet-kernels.wat', import.meta.url), 'utf8');
    const parsed = toolkit.parseWat('fedpet-kernels.wat', source, { simd: true, bulk_memory: true });
    try {
      parsed.validate();
      const { buffer } = parsed.toBinary({});
      compiled = new WebAssembly.Module(buffer);
    } finally {
      parsed.destroy();
    }
  } catch (error) {
    failure = `fedpet SIMD kernels unavailable: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`;
  }
  return failure;
}

/** The tfjs wasm backend's WebAssembly.Memory (Emscripten keeps it as Module.asm.memory). */
function memoryOf(backend: unknown): WebAssembly.Memory | undefined {
  const module = (backend as { wasm?: { asm?: { memory?: unknown }; wasmMemory?: unknown } }).wasm;
  const memory = module?.asm?.memory ?? module?.wasmMemory;
  return memory instanceof WebAssembly.Memory ? memory : undefined;
}

const address = (view: Float32Array) => view.byteOffset;

/** Windows that tile the input without overlap or padding: the gradient needs no scattered additions. */
const tiles = (g: PoolGeometry) =>
  g.fD === g.strideD &&
  g.fH === g.strideH &&
  g.fW === g.strideW &&
  g.padFront === 0 &&
  g.padTop === 0 &&
  g.padLeft === 0;

/** A pooling geometry as the WAT functions take it: batch, channels, in/out extents, window, strides, padding. */
const poolArgs = (g: PoolGeometry) => [
  g.batch,
  g.channels,
  g.inD,
  g.inH,
  g.inW,
  g.outD,
  g.outH,
  g.outW,
  g.fD,
  g.fH,
  g.fW,
  g.strideD,
  g.strideH,
  g.strideW,
  g.padFront,
  g.padTop,
  g.padLeft,
];

/** A convolution's extents after `lead`: in D/H/W/C, out D/H/W, filter D/H/W (the gathers' order). */
const convExtents = (g: ConvGeometry) => [
  g.inD,
  g.inH,
  g.inW,
  g.inC,
  g.outD,
  g.outH,
  g.outW,
  g.fD,
  g.fH,
  g.fW,
];

/** The direct kernels' arguments: batch, out D/H/W, channels in and out, filter D/H/W. */
const directArgs = (g: ConvGeometry) => [g.batch, g.outD, g.outH, g.outW, g.inC, g.outC, g.fD, g.fH, g.fW];

function requireDirect(g: ConvGeometry, kernel: string, threeWide: boolean): void {
  if (
    g.outC % 16 !== 0 ||
    g.strideD !== 1 ||
    g.strideH !== 1 ||
    g.strideW !== 1 ||
    (threeWide && g.fW !== 3)
  ) {
    throw new RangeError(
      `${kernel} needs stride 1${threeWide ? ', 3-wide filters' : ''} and output channels in sixteens`,
    );
  }
}

function bind(exports: Exports): SimdKernels {
  return {
    sumRows: (x, rows, cols, out, scratch) => {
      if (scratch.length < 2 * cols) throw new RangeError('sumRows needs 2·cols floats of scratch');
      exports.sumRows(address(x), address(out), address(scratch), rows, cols);
    },
    addRowVector: (x, bias, rows, cols, out) =>
      exports.addRowVector(address(x), address(bias), address(out), rows, cols),
    convDirect: (xPadded, filter, y, g) => {
      requireDirect(g, 'convDirect', false);
      exports.convDirect(address(xPadded), address(filter), address(y), ...directArgs(g));
    },
    convFilterGradDirect: (xPadded, dy, dw, g) => {
      requireDirect(g, 'convFilterGradDirect', true);
      // The WAT function is specialised for fW = 3 and takes no width.
      exports.convFilterGradDirect3(
        address(xPadded),
        address(dy),
        address(dw),
        ...directArgs(g).slice(0, -1),
      );
    },
    reluBackward: (dy, x, out) => exports.reluBackward(address(dy), address(x), address(out), out.length),
    gatherPatchRows: (x, g, l0, l1, out) =>
      exports.gatherPatchRows(
        address(x),
        address(out),
        l0,
        l1,
        ...convExtents(g),
        g.strideD,
        g.strideH,
        g.strideW,
        g.padFront,
        g.padTop,
        g.padLeft,
      ),
    gatherPatchColumns: (xByChannel, g, l0, l1, out) => {
      if (g.strideW !== 1) throw new RangeError('gatherPatchColumns (SIMD) needs stride 1 along the width');
      exports.gatherPatchColumns(
        address(xByChannel),
        address(out),
        l0,
        l1,
        g.batch * g.inD * g.inH * g.inW,
        ...convExtents(g),
        g.strideD,
        g.strideH,
        g.padFront,
        g.padTop,
        g.padLeft,
      );
    },
    maxPoolForward: (x, g, y) => exports.maxPoolForward(address(x), address(y), ...poolArgs(g)),
    maxPoolBackprop: (x, dy, g, dx, ties) => {
      const last = ties === 'last' ? 1 : 0;
      // Tiling windows take no strides or padding (they equal the window and 0).
      if (tiles(g)) {
        exports.maxPoolBackpropTiled(address(x), address(dy), address(dx), last, ...poolArgs(g).slice(0, 11));
      } else {
        exports.maxPoolBackprop(address(x), address(dy), address(dx), last, ...poolArgs(g));
      }
    },
  };
}

/**
 * The kernels bound to this backend's memory, or undefined (not prepared, no
 * SIMD, not a tfjs wasm backend, or disabled): callers then use JavaScript.
 */
export function simdKernelsFor(backend: unknown): SimdKernels | undefined {
  if (!compiled || simdKernelsDisabled()) return undefined;
  const memory = memoryOf(backend);
  if (!memory) return undefined;
  let kernels = instances.get(memory);
  if (!kernels) {
    const instance = new WebAssembly.Instance(compiled, { env: { memory } });
    kernels = bind(instance.exports as unknown as Exports);
    instances.set(memory, kernels);
  }
  return kernels;
}

/** The same kernels on a memory of their own, for tests that compare them with the JavaScript versions. */
export function simdKernelsOn(memory: WebAssembly.Memory): SimdKernels | undefined {
  if (!compiled) return undefined;
  return bind(new WebAssembly.Instance(compiled, { env: { memory } }).exports as unknown as Exports);
}
