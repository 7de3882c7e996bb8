import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import {
  decodeTensors,
  encodeTensors,
  flattenTensors,
  layoutSize,
  type NamedTensor,
  unflattenTensors,
} from './tensor-codec.ts';

function sample(): NamedTensor[] {
  return [
    {
      name: 'conv1/kernel',
      shape: [3, 3, 1, 2],
      values: Float32Array.from({ length: 18 }, (_, i) => i * 0.5 - 4),
    },
    { name: 'conv1/bias', shape: [2], values: new Float32Array([Math.PI, -0]) },
    { name: 'scalar', shape: [], values: new Float32Array([Number.MAX_VALUE > 0 ? 3.4e38 : 0]) },
    { name: 'empty', shape: [0, 5], values: new Float32Array(0) },
    {
      name: 'dense/ünïcode',
      shape: [1, 3],
      values: new Float32Array([1e-40, Number.NaN, Number.NEGATIVE_INFINITY]),
    },
  ];
}

function assertInvalid(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof FedpetError);
    assert.equal(error.code, ErrorCodes.invalidMessage);
    assert.match(error.message, pattern);
    return true;
  });
}

/** Header JSON as a decoder sees it, for crafting malformed payloads. */
function reencode(header: unknown, data: Uint8Array): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const dataStart = (8 + json.length + 3) & ~3;
  const out = Buffer.alloc(dataStart + data.length);
  out.write('FPT1', 0, 'ascii');
  out.writeUInt32LE(json.length, 4);
  json.copy(out, 8);
  out.set(data, dataStart);
  return out;
}

test('round trip preserves names, shapes and bit patterns', () => {
  const tensors = sample();
  const decoded = decodeTensors(encodeTensors(tensors));
  assert.equal(decoded.length, tensors.length);
  tensors.forEach((tensor, i) => {
    const got = decoded[i]!;
    assert.equal(got.name, tensor.name);
    assert.deepEqual(got.shape, tensor.shape);
    assert.deepEqual(
      Buffer.from(got.values.buffer, got.values.byteOffset, got.values.byteLength),
      Buffer.from(tensor.values.buffer, tensor.values.byteOffset, tensor.values.byteLength),
    );
  });
});

test('layout: magic, little-endian header length, 4-byte aligned little-endian data', () => {
  const encoded = encodeTensors([{ name: 'w', shape: [2], values: new Float32Array([1.5, -2]) }]);
  assert.equal(encoded.toString('ascii', 0, 4), 'FPT1');
  const headerLength = encoded.readUInt32LE(4);
  const header = JSON.parse(encoded.toString('utf8', 8, 8 + headerLength));
  assert.deepEqual(header, { dtype: 'float32', tensors: [{ name: 'w', shape: [2], offset: 0, bytes: 8 }] });
  const dataStart = (8 + headerLength + 3) & ~3;
  assert.equal(encoded.length, dataStart + 8);
  assert.equal(encoded.readFloatLE(dataStart), 1.5);
  assert.equal(encoded.readFloatLE(dataStart + 4), -2);
  for (let i = 8 + headerLength; i < dataStart; i++) assert.equal(encoded[i], 0);
});

test('aligned input decodes to views, unaligned input to correct copies', () => {
  const encoded = encodeTensors(sample());
  const aligned = Buffer.from(new ArrayBuffer(encoded.length));
  encoded.copy(aligned);
  const views = decodeTensors(aligned);
  assert.equal(views[0]!.values.buffer, aligned.buffer, 'aligned data should not be copied');

  const shifted = Buffer.from(new ArrayBuffer(encoded.length + 1), 1, encoded.length);
  encoded.copy(shifted);
  const copies = decodeTensors(shifted);
  assert.notEqual(copies[0]!.values.buffer, shifted.buffer);
  assert.deepEqual(Array.from(copies[0]!.values), Array.from(sample()[0]!.values));
  assert.deepEqual(Array.from(copies[1]!.values), Array.from(sample()[1]!.values));
});

test('encode rejects values that do not match the shape and duplicate names', () => {
  assertInvalid(
    () => encodeTensors([{ name: 'w', shape: [2, 2], values: new Float32Array(3) }]),
    /'w' has 3 values but shape \[2, 2\] needs 4/,
  );
  assertInvalid(
    () =>
      encodeTensors([
        { name: 'w', shape: [1], values: new Float32Array(1) },
        { name: 'w', shape: [1], values: new Float32Array(1) },
      ]),
    /duplicate tensor name 'w'/,
  );
  assertInvalid(
    () => encodeTensors([{ name: 'w', shape: [-1], values: new Float32Array(0) }]),
    /invalid dimension -1/,
  );
  assertInvalid(
    () => encodeTensors([{ name: 'w', shape: [1.5], values: new Float32Array(0) }]),
    /invalid dimension 1.5/,
  );
});

test('decode names what is wrong', () => {
  const good = encodeTensors([{ name: 'w', shape: [2], values: new Float32Array([1, 2]) }]);
  const data = new Uint8Array(8);

  assertInvalid(() => decodeTensors(good.subarray(0, 5)), /shorter than the 8-byte prefix/);
  const badMagic = Buffer.from(good);
  badMagic.write('FPT2', 0, 'ascii');
  assertInvalid(() => decodeTensors(badMagic), /bad magic "FPT2"/);
  const longHeader = Buffer.from(good);
  longHeader.writeUInt32LE(10_000, 4);
  assertInvalid(() => decodeTensors(longHeader), /header length 10000 exceeds/);
  const notJson = Buffer.from(good);
  notJson.write('[', 8 + notJson.readUInt32LE(4) - 1, 'utf8');
  assertInvalid(() => decodeTensors(notJson), /header is not valid JSON/);

  const entry = { name: 'w', shape: [2], offset: 0, bytes: 8 };
  assertInvalid(
    () => decodeTensors(reencode({ dtype: 'float64', tensors: [entry] }, data)),
    /unsupported dtype "float64"/,
  );
  assertInvalid(() => decodeTensors(reencode({ dtype: 'float32' }, data)), /header.tensors must be an array/);
  assertInvalid(
    () => decodeTensors(reencode({ dtype: 'float32', tensors: [{ ...entry, bytes: 12 }] }, data)),
    /'w' declares 12 bytes but shape \[2\] needs 8/,
  );
  assertInvalid(
    () => decodeTensors(reencode({ dtype: 'float32', tensors: [{ ...entry, shape: [2, 'x'] }] }, data)),
    /'w' has invalid dimension "x"/,
  );
  assertInvalid(
    () => decodeTensors(reencode({ dtype: 'float32', tensors: [{ ...entry, offset: 4 }] }, data)),
    /'w' offset 4, expected 0/,
  );
  assertInvalid(
    () => decodeTensors(reencode({ dtype: 'float32', tensors: [{ ...entry, shape: [4], bytes: 16 }] }, data)),
    /'w' data \[0, 16\) exceeds the 8-byte data section/,
  );
  assertInvalid(
    () => decodeTensors(reencode({ dtype: 'float32', tensors: [entry] }, new Uint8Array(12))),
    /4 unexpected trailing bytes/,
  );
  assertInvalid(
    () =>
      decodeTensors(
        reencode({ dtype: 'float32', tensors: [entry, { ...entry, offset: 8 }] }, new Uint8Array(16)),
      ),
    /duplicate tensor name 'w'/,
  );
  assertInvalid(
    () => decodeTensors(reencode({ dtype: 'float32', tensors: [{ ...entry, offset: -1 }] }, data)),
    /'w' offset -1 is not a non-negative integer/,
  );
});

test('decode rejects truncated data', () => {
  const good = encodeTensors(sample());
  assertInvalid(() => decodeTensors(good.subarray(0, good.length - 4)), /'dense\/ünïcode' data .* exceeds/);
});

test('flatten and unflatten round trip; unflatten returns views', () => {
  const tensors = sample();
  const { values, layout } = flattenTensors(tensors);
  assert.equal(values.length, 18 + 2 + 1 + 0 + 3);
  assert.equal(layoutSize(layout), values.length);
  assert.deepEqual(
    layout.map((entry) => entry.name),
    tensors.map((tensor) => tensor.name),
  );
  const back = unflattenTensors(values, layout);
  back.forEach((tensor, i) => {
    assert.equal(tensor.name, tensors[i]!.name);
    assert.deepEqual(tensor.shape, tensors[i]!.shape);
    assert.deepEqual(Array.from(tensor.values), Array.from(tensors[i]!.values));
    assert.equal(tensor.values.buffer, values.buffer);
  });
  assertInvalid(
    () => unflattenTensors(new Float32Array(5), layout),
    /describes 24 parameters but the vector has 5/,
  );
});
