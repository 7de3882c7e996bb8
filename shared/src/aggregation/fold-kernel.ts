/**
 * The inner loops of FedAvg: "are all values finite?" and "sums += w × values"
 * over float32 vectors. V8 does not vectorise JavaScript loops, so a plain loop
 * runs at about one element per nanosecond, well below memory bandwidth; a
 * tiny WebAssembly SIMD module (128-bit lanes, Node >= 16.4) keeps up with it.
 * The sums live in the module's linear memory; each update is copied through
 * a scratch block small enough to stay in L2, so the update is read from
 * main memory once per pass. Where SIMD is unavailable the plain loops run.
 */
export interface FoldKernel {
  readonly kind: 'wasm-simd' | 'js';
  /** The running weighted sums, zero at creation. */
  readonly sums: Float32Array;
  /**
   * A receive area of `byteLength` bytes inside the kernel's own memory
   * (16-byte aligned), or undefined where the kernel has none. Values that
   * arrive there are checked and folded in place, without the staging copy
   * values from elsewhere need. The area is reused: one update at a time.
   */
  inbox?(byteLength: number): Uint8Array | undefined;
  /** Index of the first NaN or ±Infinity in `values`, or -1. */
  firstNonFinite(values: Float32Array): number;
  /** sums[i] += weight × values[i] for every i; values.length must equal sums.length. */
  fold(values: Float32Array, weight: number): void;
}

export type FoldKernelKind = FoldKernel['kind'];

/** Scratch block in floats: 256 KiB, fits a core's L2 next to the streaming sums. */
const BLOCK = 64 * 1024;
const PAGE_BYTES = 64 * 1024;
/** wasm32 linear memory tops out at 4 GiB (65536 pages). */
const MAX_PAGES = 65536;

// --- WebAssembly module, assembled from opcodes (spec: webassembly.github.io/spec, SIMD proposal opcodes) ---

function uleb(value: number): number[] {
  const out: number[] = [];
  let n = value >>> 0;
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function sleb(value: number): number[] {
  const out: number[] = [];
  let n = value | 0;
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const name = (text: string): number[] => [...uleb(text.length), ...Buffer.from(text, 'ascii')];
const simd = (op: number): number[] => [0xfd, ...uleb(op)];
const get = (i: number): number[] => [0x20, i];
const set = (i: number): number[] => [0x21, i];
const tee = (i: number): number[] => [0x22, i];
const i32Const = (n: number): number[] => [0x41, ...sleb(n)];
const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;
const MEMARG = [0x02, 0x00]; // align 2^2, offset 0
const V128_LOAD = [...simd(0x00), ...MEMARG];
const V128_STORE = [...simd(0x0b), ...MEMARG];
const I32_ADD = 0x6a;
const I32_SHL = 0x74;
const I32_LT_U = 0x49;
const I32_GE_U = 0x4f;
const BLOCK_OP = [0x02, 0x40];
const LOOP_OP = [0x03, 0x40];
const BR_IF_0 = [0x0d, 0x00];
const END = 0x0b;

/** fold(sums ptr, values ptr, n floats (multiple of 4), w): sums[i] += w × values[i]. */
const foldBody = [
  ...vec([
    [1, I32],
    [1, V128],
  ]), // local 4 = end pointer, local 5 = w in all lanes
  ...get(0),
  ...get(2),
  ...i32Const(2),
  I32_SHL,
  I32_ADD,
  ...set(4),
  ...get(3),
  ...simd(0x13) /* f32x4.splat */,
  ...set(5),
  ...BLOCK_OP,
  ...get(0),
  ...get(4),
  I32_GE_U,
  ...BR_IF_0,
  ...LOOP_OP,
  ...get(0),
  ...get(0),
  ...V128_LOAD,
  ...get(1),
  ...V128_LOAD,
  ...get(5),
  ...simd(0xe6) /* f32x4.mul */,
  ...simd(0xe4) /* f32x4.add */,
  ...V128_STORE,
  ...get(1),
  ...i32Const(16),
  I32_ADD,
  ...set(1),
  ...get(0),
  ...i32Const(16),
  I32_ADD,
  ...tee(0),
  ...get(4),
  I32_LT_U,
  ...BR_IF_0,
  END,
  END,
  END,
];

/**
 * anyNonFinite(values ptr, n floats (multiple of 4)) → 0 or 1. A float is NaN
 * or ±Infinity exactly when its bits without the sign exceed 0x7f7fffff, so
 * track the lane-wise unsigned maximum of (bits & 0x7fffffff).
 */
const checkBody = [
  ...vec([
    [1, I32],
    [2, V128],
  ]), // local 2 = end pointer, local 3 = abs mask, local 4 = running max
  ...get(0),
  ...get(1),
  ...i32Const(2),
  I32_SHL,
  I32_ADD,
  ...set(2),
  ...i32Const(0x7fffffff),
  ...simd(0x11) /* i32x4.splat */,
  ...set(3),
  ...BLOCK_OP,
  ...get(0),
  ...get(2),
  I32_GE_U,
  ...BR_IF_0,
  ...LOOP_OP,
  ...get(4),
  ...get(0),
  ...V128_LOAD,
  ...get(3),
  ...simd(0x4e) /* v128.and */,
  ...simd(0xb9) /* i32x4.max_u */,
  ...set(4),
  ...get(0),
  ...i32Const(16),
  I32_ADD,
  ...tee(0),
  ...get(2),
  I32_LT_U,
  ...BR_IF_0,
  END,
  END,
  ...get(4),
  ...i32Const(0x7f7fffff),
  ...simd(0x11),
  ...simd(0x3c) /* i32x4.gt_u */,
  ...simd(0x53) /* v128.any_true */,
  END,
];

const MODULE_BYTES = new Uint8Array([
  ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
  ...section(
    1,
    vec([
      [0x60, ...vec([[I32], [I32], [I32], [F32]]), 0],
      [0x60, ...vec([[I32], [I32]]), 1, I32],
    ]),
  ),
  ...section(3, vec([[0], [1]])),
  ...section(5, vec([[0x00, 1]])), // one memory, 1 page to start, grown per accumulator
  ...section(
    7,
    vec([
      [...name('memory'), 0x02, 0],
      [...name('fold'), 0x00, 0],
      [...name('check'), 0x00, 1],
    ]),
  ),
  ...section(
    10,
    vec([
      [...uleb(foldBody.length), ...foldBody],
      [...uleb(checkBody.length), ...checkBody],
    ]),
  ),
]);

/**
 * The slice of the WebAssembly JS API used here. The project's lib (ES2023,
 * no DOM) has no WebAssembly types, so they are declared locally.
 */
interface WasmModule {
  readonly __wasmModule?: never;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule) => { exports: unknown };
}
const WebAssembly = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

let compiled: WasmModule | null | undefined;

function simdModule(): WasmModule | null {
  if (WebAssembly === undefined) return null;
  if (compiled === undefined)
    compiled = WebAssembly.validate(MODULE_BYTES) ? new WebAssembly.Module(MODULE_BYTES) : null;
  return compiled;
}

interface KernelExports {
  memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  fold: (sums: number, values: number, n: number, weight: number) => void;
  check: (values: number, n: number) => number;
}

function jsFirstNonFinite(values: Float32Array, from = 0, to = values.length): number {
  for (let i = from; i < to; i++) {
    const x = values[i]!;
    // x - x is 0 for every finite x, NaN for NaN and ±Infinity.
    if (x - x !== 0) return i;
  }
  return -1;
}

function createJsKernel(length: number): FoldKernel {
  const sums = new Float32Array(length);
  return {
    kind: 'js',
    sums,
    firstNonFinite: (values) => jsFirstNonFinite(values),
    fold(values, weight) {
      if (values.length !== length)
        throw new RangeError(`fold of ${values.length} values into ${length} sums`);
      const n = sums.length;
      let i = 0;
      // Unrolled by four: V8 keeps the loads independent, about twice the plain loop's speed.
      for (; i + 3 < n; i += 4) {
        const a0 = sums[i]! + weight * values[i]!;
        const a1 = sums[i + 1]! + weight * values[i + 1]!;
        const a2 = sums[i + 2]! + weight * values[i + 2]!;
        const a3 = sums[i + 3]! + weight * values[i + 3]!;
        sums[i] = a0;
        sums[i + 1] = a1;
        sums[i + 2] = a2;
        sums[i + 3] = a3;
      }
      for (; i < n; i++) sums[i] = sums[i]! + weight * values[i]!;
    },
  };
}

function createSimdKernel(module: WasmModule, length: number): FoldKernel | null {
  const paddedBytes = ((length + 3) & ~3) * 4;
  const scratchAt = paddedBytes;
  const inboxAt = scratchAt + BLOCK * 4;
  let pages = Math.ceil(inboxAt / PAGE_BYTES);
  if (pages > MAX_PAGES) return null;
  const exports = new WebAssembly!.Instance(module).exports as unknown as KernelExports;
  exports.memory.grow(pages - 1);
  // Growing memory detaches every view of it: views are rebuilt after each grow.
  let sums = new Float32Array(exports.memory.buffer, 0, length);
  let scratch = new Float32Array(exports.memory.buffer, scratchAt, BLOCK);
  const grow = (bytes: number): boolean => {
    const needed = Math.ceil(bytes / PAGE_BYTES);
    if (needed <= pages) return true;
    if (needed > MAX_PAGES) return false;
    exports.memory.grow(needed - pages);
    pages = needed;
    sums = new Float32Array(exports.memory.buffer, 0, length);
    scratch = new Float32Array(exports.memory.buffer, scratchAt, BLOCK);
    return true;
  };
  const resident = (values: Float32Array): boolean => values.buffer === exports.memory.buffer;

  /** Copies values[from, from + BLOCK) into scratch, zeroing lanes past the end; returns the SIMD length. */
  const stage = (values: Float32Array, from: number): number => {
    const count = Math.min(BLOCK, values.length - from);
    scratch.set(values.subarray(from, from + count));
    const padded = (count + 3) & ~3;
    if (padded !== count) scratch.fill(0, count, padded);
    return padded;
  };

  return {
    kind: 'wasm-simd',
    get sums() {
      return sums;
    },
    inbox(byteLength) {
      if (!grow(inboxAt + byteLength)) return undefined;
      return new Uint8Array(exports.memory.buffer, inboxAt, byteLength);
    },
    firstNonFinite(values) {
      if (resident(values)) {
        // In place: the SIMD check over whole lanes, the last 0-3 values in JavaScript.
        const whole = values.length & ~3;
        if (whole > 0 && exports.check(values.byteOffset, whole) !== 0)
          return jsFirstNonFinite(values, 0, whole);
        return jsFirstNonFinite(values, whole);
      }
      for (let from = 0; from < values.length; from += BLOCK) {
        if (exports.check(scratchAt, stage(values, from)) !== 0) {
          return jsFirstNonFinite(values, from, Math.min(values.length, from + BLOCK));
        }
      }
      return -1;
    },
    fold(values, weight) {
      // The sums share linear memory with the scratch block: never write past them.
      if (values.length !== length)
        throw new RangeError(`fold of ${values.length} values into ${length} sums`);
      if (resident(values)) {
        const whole = length & ~3;
        if (whole > 0) exports.fold(0, values.byteOffset, whole, weight);
        const f = Math.fround;
        for (let i = whole; i < length; i++) sums[i] = f(sums[i]! + f(weight * values[i]!));
        return;
      }
      for (let from = 0; from < values.length; from += BLOCK) {
        exports.fold(from * 4, scratchAt, stage(values, from), weight);
      }
    },
  };
}

/**
 * A kernel over `length` sums: WebAssembly SIMD where the runtime supports it
 * and the sums fit in 4 GiB, plain JavaScript otherwise (or when asked).
 */
export function createFoldKernel(length: number, prefer: FoldKernelKind = 'wasm-simd'): FoldKernel {
  const module = prefer === 'wasm-simd' ? simdModule() : null;
  return (module && createSimdKernel(module, length)) ?? createJsKernel(length);
}
