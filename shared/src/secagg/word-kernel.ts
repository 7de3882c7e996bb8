/**
 * A WebAssembly SIMD kernel for the inner loop of masking: add or subtract
 * a block of keystream words into a block of target words, four 32-bit
 * lanes at a time (i32x4.add / i32x4.sub wrap mod 2^32, exactly the `>>> 0`
 * arithmetic of the JavaScript path). V8 does not vectorise JavaScript
 * loops; with this kernel folding the masks costs little next to producing
 * the AES keystream (test/bench/secagg-mask.bench.ts).
 *
 * Memory: one 64 KiB page, never grown (so views stay valid): the keystream
 * block at [0, 32 KiB), the target block at [32 KiB, 64 KiB). Callers copy a
 * target block in, fold every mask into it, and copy it out. One instance
 * per isolate, used synchronously, so the shared scratch is never contended.
 *
 * The module is assembled from opcodes here (WebAssembly core spec §5 binary
 * format; SIMD opcodes 0xfd 0x00 v128.load, 0x0b v128.store, 0xae
 * i32x4.add, 0xb1 i32x4.sub). Where SIMD is unavailable `wordKernel()` is
 * null and mask-prg.ts runs its JavaScript loops.
 */

export const KERNEL_BLOCK_BYTES = 32 * 1024;
const STREAM_AT = 0;
const TARGET_AT = KERNEL_BLOCK_BYTES;

function uleb(value: number): number[] {
  const out: number[] = [];
  let rest = value >>> 0;
  do {
    let byte = rest & 0x7f;
    rest >>>= 7;
    if (rest !== 0) byte |= 0x80;
    out.push(byte);
  } while (rest !== 0);
  return out;
}

const vector = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const exportName = (text: string): number[] => [...uleb(text.length), ...Buffer.from(text, 'ascii')];

const I32 = 0x7f;
const LOCAL_GET = 0x20;
const LOCAL_SET = 0x21;
const I32_CONST = 0x41;
const I32_ADD = 0x6a;
const I32_GE_U = 0x4f;
const MEMARG_16 = [0x04, 0x00]; // alignment hint 2^4, offset 0

/**
 * (dst, src, bytes) → (): for each 16-byte lane group, dst ← dst ∘ src, with
 * ∘ the SIMD opcode given. `bytes` must be a multiple of 16.
 */
function laneLoop(simdOpcode: number): number[] {
  const code = [
    ...vector([[1, I32]]), // local 3: end pointer
    ...[LOCAL_GET, 0, LOCAL_GET, 2, I32_ADD, LOCAL_SET, 3],
    ...[0x02, 0x40], // block
    ...[0x03, 0x40], // loop
    ...[LOCAL_GET, 0, LOCAL_GET, 3, I32_GE_U, 0x0d, 1], // br_if out of the block when dst ≥ end
    ...[LOCAL_GET, 0],
    ...[LOCAL_GET, 0, 0xfd, 0x00, ...MEMARG_16], // v128.load dst
    ...[LOCAL_GET, 1, 0xfd, 0x00, ...MEMARG_16], // v128.load src
    ...[0xfd, ...uleb(simdOpcode)],
    ...[0xfd, 0x0b, ...MEMARG_16], // v128.store dst
    ...[LOCAL_GET, 0, I32_CONST, 16, I32_ADD, LOCAL_SET, 0],
    ...[LOCAL_GET, 1, I32_CONST, 16, I32_ADD, LOCAL_SET, 1],
    ...[0x0c, 0], // br to the loop head
    0x0b, // end loop
    0x0b, // end block
    0x0b, // end function
  ];
  return [...uleb(code.length), ...code];
}

const MODULE_BYTES = new Uint8Array([
  ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
  ...section(1, vector([[0x60, ...vector([[I32], [I32], [I32]]), 0]])), // type 0: (i32, i32, i32) → ()
  ...section(3, vector([[0], [0]])), // two functions of type 0
  ...section(5, vector([[0x01, 1, 1]])), // memory: exactly one page
  ...section(
    7,
    vector([
      [...exportName('memory'), 0x02, 0],
      [...exportName('add'), 0x00, 0],
      [...exportName('sub'), 0x00, 1],
    ]),
  ),
  ...section(10, vector([laneLoop(0xae), laneLoop(0xb1)])),
]);

/** The slice of the WebAssembly JS API used here (the project's lib has no DOM/WebAssembly types). */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: unknown };
}

interface Exports {
  memory: { readonly buffer: ArrayBuffer };
  add(dst: number, src: number, bytes: number): void;
  sub(dst: number, src: number, bytes: number): void;
}

export interface WordKernel {
  readonly kind: 'wasm-simd';
  /** Where the next keystream block is copied. */
  readonly stream: Uint8Array;
  /** The target block being folded. */
  readonly target: Uint32Array;
  /** target[0, words) ← target ± stream words (mod 2^32); lanes past `words` hold garbage. */
  fold(words: number, sign: 1 | -1): void;
}

let instance: WordKernel | null | undefined;

export function wordKernel(): WordKernel | null {
  if (instance !== undefined) return instance;
  const wasm = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
  if (wasm === undefined || !wasm.validate(MODULE_BYTES)) {
    instance = null;
    return instance;
  }
  const exports = new wasm.Instance(new wasm.Module(MODULE_BYTES)).exports as Exports;
  const { buffer } = exports.memory;
  instance = {
    kind: 'wasm-simd',
    stream: new Uint8Array(buffer, STREAM_AT, KERNEL_BLOCK_BYTES),
    target: new Uint32Array(buffer, TARGET_AT, KERNEL_BLOCK_BYTES / 4),
    fold(words, sign) {
      const bytes = Math.ceil(words / 4) * 16;
      if (sign === 1) exports.add(TARGET_AT, STREAM_AT, bytes);
      else exports.sub(TARGET_AT, STREAM_AT, bytes);
    },
  };
  return instance;
}
