import assert from 'node:assert/strict';
import { test } from 'node:test';
import { writePart10 } from './part10-writer.ts';
import { decodeFrameInto, locatePixelData, Part10FormatError } from './pixel-data.ts';
import {
  axialPositions,
  encodeWithTransferSyntax,
  labelledPixels,
  testSeriesDatasets,
} from './test-fixtures.ts';

const multiFrame = testSeriesDatasets({
  rows: 3,
  columns: 2,
  positions: axialPositions(4, 2),
  pixels: labelledPixels(3, 2, 4),
  multiframe: true,
})[0]!;

function expectLocation(bytes: Uint8Array, syntax: string): void {
  const layout = locatePixelData(bytes, bytes.length);
  assert.notEqual(layout, 'need-more');
  if (layout === 'need-more') return;
  assert.equal(layout.transferSyntaxUid, syntax);
  assert.equal(layout.walked, true);
  const location = layout.pixelData!;
  // The tag (7FE0,0010) in little endian, and the value is the 4 frames of 3×2 16-bit pixels.
  assert.deepEqual(
    [...bytes.subarray(location.elementOffset, location.elementOffset + 4)],
    [0xe0, 0x7f, 0x10, 0x00],
  );
  assert.equal(location.length, 4 * 3 * 2 * 2);
  assert.equal(location.valueOffset + location.length, bytes.length);
}

test('finds the top-level PixelData past nested undefined-length sequences', () => {
  expectLocation(writePart10(multiFrame), '1.2.840.10008.1.2.1');
  expectLocation(encodeWithTransferSyntax(multiFrame, '1.2.840.10008.1.2'), '1.2.840.10008.1.2');
});

test('asks for more bytes when a prefix ends before PixelData, and calls a short file truncated', () => {
  const bytes = writePart10(multiFrame);
  const layout = locatePixelData(bytes, bytes.length);
  assert.ok(layout !== 'need-more' && layout.pixelData);
  const headerEnd = layout.pixelData.elementOffset;
  assert.equal(locatePixelData(bytes.subarray(0, headerEnd - 10), bytes.length), 'need-more');
  // Enough bytes to see the PixelData header: found, even though the pixels are not read yet.
  assert.notEqual(locatePixelData(bytes.subarray(0, headerEnd + 12), bytes.length), 'need-more');
  assert.throws(() => locatePixelData(bytes.subarray(0, headerEnd - 10), headerEnd - 10), Part10FormatError);
  assert.throws(() => locatePixelData(bytes.subarray(0, bytes.length - 2), bytes.length - 2), /truncated/);
});

test('big-endian files are not walked', () => {
  const bytes = encodeWithTransferSyntax(multiFrame, '1.2.840.10008.1.2.2');
  assert.deepEqual(locatePixelData(bytes, bytes.length), {
    transferSyntaxUid: '1.2.840.10008.1.2.2',
    walked: false,
    pixelData: undefined,
  });
});

test('decodes the requested frame with its slope and intercept', () => {
  const stored = new Uint16Array([1, 2, 3, 4, 10, 20, 30, 40]);
  const target = new Float32Array(6).fill(-1);
  const format = { rows: 2, columns: 2, bitsAllocated: 16, bitsStored: 16, signed: false } as const;
  decodeFrameInto(stored.buffer, 1, format, 0.5, 3, target, 1);
  assert.deepEqual([...target], [-1, 8, 13, 18, 23, -1]);
  assert.throws(() => decodeFrameInto(stored.buffer, 2, format, 1, 0, target, 0), RangeError);
});

test('unsigned data with unused high bits is masked to BitsStored', () => {
  const stored = new Uint16Array([0xf00f, 0x0fff]);
  const target = new Float32Array(2);
  decodeFrameInto(
    stored.buffer,
    0,
    { rows: 1, columns: 2, bitsAllocated: 16, bitsStored: 12, signed: false },
    1,
    0,
    target,
    0,
  );
  assert.deepEqual([...target], [0x00f, 0xfff]);
});
