import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FedpetError } from '../../errors/fedpet-error.ts';
import { makeVolume } from '../radiomics/test-phantoms.ts';
import { type Vec3, voxelIndex, voxelToWorld } from '../volume.ts';
import { fitImage2D, fitLayout, fitVolume } from './fixed-size.ts';
import type { Image2D } from './image2d.ts';

function image(width: number, height: number, f: (x: number, y: number) => number): Image2D {
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[x + width * y] = f(x, y);
  return { width, height, data };
}

test('same size is the identity', () => {
  const img = image(7, 5, (x, y) => x * 10 + y);
  assert.deepEqual(fitImage2D(img, 7, 5, -1), img);
});

test('a wide image is scaled to the width and centred vertically with the fill value', () => {
  const out = fitImage2D(
    image(100, 50, () => 3),
    64,
    64,
    -1,
  );
  assert.equal(out.data.length, 64 * 64);
  for (let y = 0; y < 64; y++) {
    const expected = y >= 16 && y < 48 ? 3 : -1;
    for (let x = 0; x < 64; x++) assert.ok(Math.abs(out.data[x + 64 * y]! - expected) < 1e-6, `(${x}, ${y})`);
  }
  // Physical aspect: 50 columns of 2 mm by 50 rows of 1 mm is twice as wide as tall.
  const square = fitImage2D(
    image(50, 50, () => 1),
    40,
    40,
    0,
    [2, 1],
  );
  assert.equal(square.data.filter((v) => v === 0).length, 40 * 20);
});

test('upsampling is linear interpolation; downsampling keeps ramps and preserves total intensity', () => {
  const up = fitImage2D(
    image(4, 4, (x) => x),
    8,
    8,
    0,
  );
  // Output column u maps to x = (u + ½)/2 − ½, held at the edges.
  const row = [...up.data.subarray(0, 8)];
  const expected = [0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3];
  for (let u = 0; u < 8; u++) assert.ok(Math.abs(row[u]! - expected[u]!) < 1e-6);

  const ramp = fitImage2D(
    image(32, 32, (x, y) => x + 2 * y),
    16,
    16,
    0,
  );
  // Interior output pixel (u, v) is centred on source (2u + ½, 2v + ½).
  assert.ok(Math.abs(ramp.data[5 + 16 * 7]! - (10.5 + 2 * 14.5)) < 1e-4);

  const dot = image(32, 32, (x, y) => (x === 13 && y === 18 ? 100 : 0));
  const small = fitImage2D(dot, 16, 16, 0);
  const total = small.data.reduce((s, v) => s + v, 0);
  assert.ok(Math.abs(total * 4 - 100) < 1e-3, 'each output pixel covers 4 source pixels');
  // Dimmed, not lost: the source pixel sits ½ a source pixel from the centre of
  // output (6, 9): weight (1 − 0.5/2)/2 = 0.375 per axis.
  assert.ok(Math.abs(Math.max(...small.data) - 100 * 0.375 * 0.375) < 1e-4);
});

test('fitLayout keeps the physical aspect ratio and centres the content', () => {
  assert.deepEqual(fitLayout([60, 40, 20], [2, 2, 4], [32, 32, 32]), {
    size: [32, 21, 21],
    offset: [0, 5, 5],
  });
  assert.throws(() => fitLayout([4, 4, 4], [1, 1, 1], [0, 4, 4]), FedpetError);
});

test('fitVolume: fixed shape, and voxels keep their patient coordinates', () => {
  const v = makeVolume([60, 40, 20], [2, 2, 4], 1, [-50, 20, 100]);
  const out = fitVolume(v, [32, 32, 32], 0);
  assert.deepEqual(out.dims, [32, 32, 32]);
  assert.equal(out.data.length, 32 ** 3);
  const ratio = [60 / 32, 40 / 21, 20 / 21];
  for (let a = 0; a < 3; a++)
    assert.ok(Math.abs(out.spacing[a as 0] - v.spacing[a as 0] * ratio[a]!) < 1e-12);
  // Centre of the content ↔ centre of the source.
  const a = voxelToWorld(out, 0 + 31 / 2, 5 + 20 / 2, 5 + 20 / 2);
  const b = voxelToWorld(v, 59 / 2, 39 / 2, 19 / 2);
  for (let c = 0; c < 3; c++) assert.ok(Math.abs(a[c]! - b[c]!) < 1e-9);
  // Padding is fill, content is the (constant) value.
  assert.equal(out.data[voxelIndex(out.dims, 10, 2, 10)], 0);
  assert.ok(Math.abs(out.data[voxelIndex(out.dims, 10, 10, 10)]! - 1) < 1e-6);

  // A bright block lands within a voxel of where it was.
  const w = makeVolume([40, 40, 40], [2, 2, 2], 0, [0, 0, 0]);
  for (let k = 28; k < 32; k++)
    for (let j = 8; j < 12; j++) for (let i = 20; i < 24; i++) w.data[voxelIndex(w.dims, i, j, k)] = 5;
  const small = fitVolume(w, [16, 16, 16], 0);
  let best = 0;
  for (let p = 1; p < small.data.length; p++) if (small.data[p]! > small.data[best]!) best = p;
  const at = voxelToWorld(small, best % 16, Math.floor(best / 16) % 16, Math.floor(best / 256));
  const centre: Vec3 = [43, 19, 59];
  for (let c = 0; c < 3; c++) assert.ok(Math.abs(at[c]! - centre[c]!) <= small.spacing[c as 0]);
});
