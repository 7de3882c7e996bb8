import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FedpetError } from '../../errors/fedpet-error.ts';
import { makeVolume, paintBox, paintSphere } from '../radiomics/test-phantoms.ts';
import { type Vec3, voxelIndex, voxelToWorld, worldToVoxel } from '../volume.ts';
import { CT_BODY_THRESHOLD_HU, cropVolume, findBodyBox } from './body-crop.ts';

function ctPhantom() {
  // 2 mm voxels, air everywhere; a body block, lungs inside it, a table below, a speck of noise.
  const ct = makeVolume([40, 40, 30], [2, 2, 2], -1000, [-40, -40, 100]);
  paintBox(ct, [10, 6, 3], [29, 30, 26], 40); // body: i 10–29, j 6–30, k 3–26
  paintBox(ct, [13, 10, 8], [18, 20, 20], -850); // a lung (inside)
  paintBox(ct, [0, 34, 0], [39, 35, 29], 200); // table: its own component, three voxels of air below the body
  paintBox(ct, [2, 2, 28], [3, 3, 29], 50); // noise
  return ct;
}

test('the body box is the largest component plus the margin', () => {
  const ct = ctPhantom();
  assert.deepEqual(findBodyBox(ct, { threshold: CT_BODY_THRESHOLD_HU, marginMm: 0 }), {
    min: [10, 6, 3],
    max: [29, 30, 26],
  });
  // 5 mm on 2 mm voxels rounds up to 3 voxels; clipped to the grid on k.
  assert.deepEqual(findBodyBox(ct, { threshold: CT_BODY_THRESHOLD_HU, marginMm: 5 }), {
    min: [7, 3, 0],
    max: [32, 33, 29],
  });
  assert.equal(findBodyBox(ct, { threshold: 5000, marginMm: 5 }), undefined);
});

test('PET: body uptake above a small SUV, a hot bladder inside the body stays in', () => {
  const pet = makeVolume([30, 30, 30], [4, 4, 4], 0);
  paintSphere(pet, [60, 60, 60], 40, 0.8);
  paintSphere(pet, [60, 60, 30], 8, 30);
  const box = findBodyBox(pet, { threshold: 0.1, marginMm: 0 });
  assert.deepEqual(box, { min: [5, 5, 5], max: [25, 25, 25] });
});

test('cropping keeps the body and every voxel’s world position', () => {
  const ct = ctPhantom();
  const box = findBodyBox(ct, { threshold: CT_BODY_THRESHOLD_HU, marginMm: 4 })!;
  const cropped = cropVolume(ct, box);
  assert.deepEqual(cropped.dims, [24, 29, 28]);
  assert.deepEqual(cropped.origin, voxelToWorld(ct, 8, 4, 1));
  assert.deepEqual(cropped.origin, [-24, -32, 102]);
  // Every body voxel is in the crop, at the same world position with the same value.
  let body = 0;
  for (let k = 0; k < cropped.dims[2]; k++)
    for (let j = 0; j < cropped.dims[1]; j++)
      for (let i = 0; i < cropped.dims[0]; i++) {
        const w = voxelToWorld(cropped, i, j, k);
        const [si, sj, sk] = worldToVoxel(ct, w);
        const v: number = cropped.data[voxelIndex(cropped.dims, i, j, k)]!;
        assert.equal(v, ct.data[voxelIndex(ct.dims, si, sj, sk)]);
        if (v === 40) body++;
      }
  assert.equal(body, 20 * 25 * 24 - 6 * 11 * 13);
});

test('cropping an oblique volume moves the origin along its own axes', () => {
  const s = Math.SQRT1_2;
  const direction: [Vec3, Vec3, Vec3] = [
    [s, s, 0],
    [-s, s, 0],
    [0, 0, 1],
  ];
  const v = makeVolume([6, 6, 6], [2, 3, 4], 0, [10, 20, 30], direction);
  v.data[voxelIndex(v.dims, 4, 3, 2)] = 9;
  const c = cropVolume(v, { min: [2, 1, 1], max: [5, 4, 3] });
  const at = worldToVoxel(c, voxelToWorld(v, 4, 3, 2)).map((x) => Math.round(x * 1e9) / 1e9);
  assert.deepEqual(at, [2, 2, 1]);
  assert.equal(c.data[voxelIndex(c.dims, 2, 2, 1)], 9);
});

test('a box outside the volume is refused', () => {
  const v = makeVolume([4, 4, 4], [1, 1, 1]);
  assert.throws(() => cropVolume(v, { min: [0, 0, 0], max: [4, 3, 3] }), FedpetError);
  assert.throws(() => cropVolume(v, { min: [2, 0, 0], max: [1, 3, 3] }), FedpetError);
});
