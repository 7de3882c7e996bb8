import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FedpetError } from '../errors/fedpet-error.ts';
import { compareIds, encodeFields, sortIds } from './canonical.ts';

test('different tuples never encode to the same bytes', () => {
  const encodings = [
    encodeFields('L', ['ab', 'c']),
    encodeFields('L', ['a', 'bc']),
    encodeFields('L', ['abc']),
    encodeFields('L', [5]),
    encodeFields('L', ['5']),
    encodeFields('L', [new Uint8Array([0x35])]),
    encodeFields('M', ['ab', 'c']),
    encodeFields('L', ['ab', 'c', '']),
  ].map((bytes) => Buffer.from(bytes).toString('hex'));
  assert.equal(new Set(encodings).size, encodings.length);
  assert.deepEqual(encodeFields('L', ['ab', 7]), encodeFields('L', ['ab', 7]));
});

test('numbers are written as 8-byte big-endian after a type tag and length', () => {
  const bytes = encodeFields('', [258]);
  // label: tag 2, length 0; field: tag 3, length 8, then 00..01 02
  assert.deepEqual([...bytes], [2, 0, 0, 0, 0, 3, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 1, 2]);
  assert.throws(() => encodeFields('L', [-1]), FedpetError);
  assert.throws(() => encodeFields('L', [1.5]), FedpetError);
});

test('ids sort by UTF-16 code units, the same for every party', () => {
  assert.deepEqual(sortIds(['hospital-b', 'Hospital-c', 'hospital-a', 'h10', 'h9']), [
    'Hospital-c',
    'h10',
    'h9',
    'hospital-a',
    'hospital-b',
  ]);
  assert.equal(compareIds('a', 'a'), 0);
  assert.equal(compareIds('a', 'b'), -1);
  assert.equal(compareIds('b', 'a'), 1);
});
