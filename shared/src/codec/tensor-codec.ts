import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';

/**
 * Binary format of a list of named float32 tensors (model weights, updates):
 *
 *   "FPT1"                 4 bytes, magic
 *   header length          u32 little-endian, bytes of the JSON header
 *   header                 UTF-8 JSON {dtype, tensors: [{name, shape, offset, bytes}]}
 *   padding                zero bytes up to a multiple of 4 from the start
 *   data                   little-endian float32, tensors back to back in header order
 *
 * `offset` counts from the start of the data section. The data section is
 * 4-byte aligned within the buffer so a decoder can hand out Float32Array views
 * instead of copies whenever the buffer itself sits at an aligned address.
 */
export interface NamedTensor {
  name: string;
  shape: number[];
  values: Float32Array;
}

/** Where each tensor lives in a flat parameter vector (see flattenTensors). */
export interface TensorLayoutEntry {
  name: string;
  shape: number[];
}

export type TensorLayout = TensorLayoutEntry[];

export const TENSOR_MAGIC = 'FPT1';
const MAGIC_BYTES = Buffer.from(TENSOR_MAGIC, 'ascii');
const PREFIX_BYTES = 8;
const FLOAT_BYTES = 4;

/** Typed arrays use host byte order; the format is little-endian, so big-endian hosts must swap. */
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

interface HeaderEntry {
  name: string;
  shape: number[];
  offset: number;
  bytes: number;
}

function invalid(reason: string): FedpetError {
  return new FedpetError(ErrorCodes.invalidMessage, `tensor payload: ${reason}`);
}

/** Element count of a shape; throws naming the tensor when a dimension is not a non-negative integer. */
export function shapeSize(shape: readonly unknown[], name: string): number {
  let size = 1;
  for (const dim of shape) {
    if (typeof dim !== 'number' || !Number.isSafeInteger(dim) || dim < 0) {
      throw invalid(`tensor '${name}' has invalid dimension ${JSON.stringify(dim)} in shape`);
    }
    size *= dim;
  }
  if (!Number.isSafeInteger(size)) throw invalid(`tensor '${name}' shape has too many elements`);
  return size;
}

function checkTensors(tensors: readonly NamedTensor[]): void {
  const seen = new Set<string>();
  for (const tensor of tensors) {
    if (typeof tensor.name !== 'string' || tensor.name.length === 0)
      throw invalid('tensor name must be a non-empty string');
    if (seen.has(tensor.name)) throw invalid(`duplicate tensor name '${tensor.name}'`);
    seen.add(tensor.name);
    const size = shapeSize(tensor.shape, tensor.name);
    if (!(tensor.values instanceof Float32Array))
      throw invalid(`tensor '${tensor.name}' values must be a Float32Array`);
    if (tensor.values.length !== size) {
      throw invalid(
        `tensor '${tensor.name}' has ${tensor.values.length} values but shape [${tensor.shape.join(', ')}] needs ${size}`,
      );
    }
  }
}

function alignUp4(n: number): number {
  return (n + 3) & ~3;
}

/** Encodes tensors into one buffer (one copy of the values). Throws INVALID_MESSAGE on inconsistent input. */
export function encodeTensors(tensors: readonly NamedTensor[]): Buffer {
  checkTensors(tensors);
  const entries: HeaderEntry[] = [];
  let dataBytes = 0;
  for (const tensor of tensors) {
    const bytes = tensor.values.length * FLOAT_BYTES;
    entries.push({ name: tensor.name, shape: [...tensor.shape], offset: dataBytes, bytes });
    dataBytes += bytes;
  }
  const header = Buffer.from(JSON.stringify({ dtype: 'float32', tensors: entries }), 'utf8');
  const dataStart = alignUp4(PREFIX_BYTES + header.length);
  const out = Buffer.allocUnsafe(dataStart + dataBytes);
  MAGIC_BYTES.copy(out, 0);
  out.writeUInt32LE(header.length, 4);
  header.copy(out, PREFIX_BYTES);
  out.fill(0, PREFIX_BYTES + header.length, dataStart);
  tensors.forEach((tensor, i) => {
    const at = dataStart + entries[i]!.offset;
    if (HOST_LITTLE_ENDIAN) {
      out.set(new Uint8Array(tensor.values.buffer, tensor.values.byteOffset, tensor.values.byteLength), at);
    } else {
      for (let j = 0; j < tensor.values.length; j++)
        out.writeFloatLE(tensor.values[j]!, at + j * FLOAT_BYTES);
    }
  });
  return out;
}

function parseHeader(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw invalid(`header is not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readEntries(header: unknown): HeaderEntry[] {
  if (!isRecord(header)) throw invalid('header must be a JSON object');
  if (header.dtype !== 'float32')
    throw invalid(`unsupported dtype ${JSON.stringify(header.dtype)}, expected 'float32'`);
  if (!Array.isArray(header.tensors)) throw invalid('header.tensors must be an array');
  const names = new Set<string>();
  return header.tensors.map((raw: unknown, i: number): HeaderEntry => {
    if (!isRecord(raw)) throw invalid(`header.tensors[${i}] must be an object`);
    const { name, shape, offset, bytes } = raw;
    if (typeof name !== 'string' || name.length === 0)
      throw invalid(`header.tensors[${i}].name must be a non-empty string`);
    if (names.has(name)) throw invalid(`duplicate tensor name '${name}'`);
    names.add(name);
    if (!Array.isArray(shape)) throw invalid(`tensor '${name}' shape must be an array`);
    const size = shapeSize(shape, name);
    if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
      throw invalid(`tensor '${name}' offset ${JSON.stringify(offset)} is not a non-negative integer`);
    }
    if (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes < 0) {
      throw invalid(`tensor '${name}' byte length ${JSON.stringify(bytes)} is not a non-negative integer`);
    }
    if (bytes !== size * FLOAT_BYTES) {
      throw invalid(
        `tensor '${name}' declares ${bytes} bytes but shape [${shape.join(', ')}] needs ${size * FLOAT_BYTES}`,
      );
    }
    return { name, shape: shape as number[], offset, bytes };
  });
}

/** Float32 values at `start` (absolute, in `buffer`): a view when aligned, otherwise a copy. */
function readValues(buffer: Buffer, start: number, count: number): Float32Array {
  const absolute = buffer.byteOffset + start;
  if (HOST_LITTLE_ENDIAN && absolute % FLOAT_BYTES === 0)
    return new Float32Array(buffer.buffer, absolute, count);
  const values = new Float32Array(count);
  if (HOST_LITTLE_ENDIAN) {
    new Uint8Array(values.buffer).set(buffer.subarray(start, start + count * FLOAT_BYTES));
  } else {
    for (let j = 0; j < count; j++) values[j] = buffer.readFloatLE(start + j * FLOAT_BYTES);
  }
  return values;
}

/** Validates framing, header and data layout; returns where each tensor's data sits. */
function parsePayload(bytes: Uint8Array): { buffer: Buffer; entries: HeaderEntry[]; dataStart: number } {
  const buffer = Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.length < PREFIX_BYTES) {
    throw invalid(`${buffer.length} bytes is shorter than the ${PREFIX_BYTES}-byte prefix`);
  }
  if (!buffer.subarray(0, 4).equals(MAGIC_BYTES)) {
    throw invalid(
      `bad magic ${JSON.stringify(buffer.subarray(0, 4).toString('latin1'))}, expected '${TENSOR_MAGIC}'`,
    );
  }
  const headerLength = buffer.readUInt32LE(4);
  if (headerLength > buffer.length - PREFIX_BYTES) {
    throw invalid(
      `header length ${headerLength} exceeds the ${buffer.length - PREFIX_BYTES} bytes that follow the prefix`,
    );
  }
  const entries = readEntries(
    parseHeader(buffer.toString('utf8', PREFIX_BYTES, PREFIX_BYTES + headerLength)),
  );
  const dataStart = alignUp4(PREFIX_BYTES + headerLength);
  const dataBytes = buffer.length - dataStart;
  if (dataBytes < 0) throw invalid(`payload ends inside the header padding`);
  let expectedOffset = 0;
  for (const entry of entries) {
    if (entry.offset !== expectedOffset) {
      throw invalid(
        `tensor '${entry.name}' offset ${entry.offset}, expected ${expectedOffset} (tensors are contiguous)`,
      );
    }
    if (entry.offset + entry.bytes > dataBytes) {
      throw invalid(
        `tensor '${entry.name}' data [${entry.offset}, ${entry.offset + entry.bytes}) exceeds the ${dataBytes}-byte data section`,
      );
    }
    expectedOffset += entry.bytes;
  }
  if (expectedOffset !== dataBytes) {
    throw invalid(`${dataBytes - expectedOffset} unexpected trailing bytes after the last tensor`);
  }
  return { buffer, entries, dataStart };
}

/**
 * Decodes and fully validates a tensor payload; throws INVALID_MESSAGE naming
 * what is wrong. Tensor values are views into `bytes` when the data is
 * 4-byte aligned in memory (they share, and keep alive, its memory), copies
 * otherwise.
 */
export function decodeTensors(bytes: Uint8Array): NamedTensor[] {
  const { buffer, entries, dataStart } = parsePayload(bytes);
  return entries.map((entry) => ({
    name: entry.name,
    shape: entry.shape,
    values: readValues(buffer, dataStart + entry.offset, entry.bytes / FLOAT_BYTES),
  }));
}

/**
 * Decodes a payload straight into the flat parameter vector aggregation
 * works on. Tensors are stored contiguously, so when the data is 4-byte
 * aligned the vector is a view of `bytes` (no copy: an aggregator folding
 * updates holds no second model-sized array); otherwise one copy.
 */
export function decodeFlat(bytes: Uint8Array): { values: Float32Array; layout: TensorLayout } {
  const { buffer, entries, dataStart } = parsePayload(bytes);
  const dataBytes = buffer.length - dataStart;
  return {
    values: readValues(buffer, dataStart, dataBytes / FLOAT_BYTES),
    layout: entries.map((entry) => ({ name: entry.name, shape: [...entry.shape] })),
  };
}

/** Number of parameters a layout describes. */
export function layoutSize(layout: readonly TensorLayoutEntry[]): number {
  let total = 0;
  for (const entry of layout) total += shapeSize(entry.shape, entry.name);
  return total;
}

/**
 * Concatenates tensors into one flat parameter vector (one copy), the form
 * aggregation works on, plus the layout that unflattenTensors needs.
 */
export function flattenTensors(tensors: readonly NamedTensor[]): {
  values: Float32Array;
  layout: TensorLayout;
} {
  checkTensors(tensors);
  let total = 0;
  for (const tensor of tensors) total += tensor.values.length;
  const values = new Float32Array(total);
  const layout: TensorLayout = [];
  let at = 0;
  for (const tensor of tensors) {
    values.set(tensor.values, at);
    at += tensor.values.length;
    layout.push({ name: tensor.name, shape: [...tensor.shape] });
  }
  return { values, layout };
}

/**
 * Splits a flat vector back into named tensors. The tensors are views into
 * `values` (no copy); throws INVALID_MESSAGE if the layout does not cover the
 * vector exactly.
 */
export function unflattenTensors(values: Float32Array, layout: readonly TensorLayoutEntry[]): NamedTensor[] {
  const names = new Set<string>();
  for (const entry of layout) {
    if (names.has(entry.name)) throw invalid(`duplicate tensor name '${entry.name}' in layout`);
    names.add(entry.name);
  }
  const total = layoutSize(layout);
  if (total !== values.length) {
    throw invalid(`layout describes ${total} parameters but the vector has ${values.length}`);
  }
  let at = 0;
  return layout.map((entry) => {
    const size = shapeSize(entry.shape, entry.name);
    const tensor = { name: entry.name, shape: [...entry.shape], values: values.subarray(at, at + size) };
    at += size;
    return tensor;
  });
}
