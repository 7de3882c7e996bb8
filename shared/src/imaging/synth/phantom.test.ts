import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Vec3, type Volume, voxelToWorld, voxelVolumeMl } from '../volume.ts';
import { type Ellipsoid, insideEllipsoid } from './anatomy.ts';
import { buildPhantom, type Phantom, slicesForHeight } from './phantom.ts';

const phantom = buildPhantom({ seed: 77, weightKg: 74, heightM: 1.72, targetMtvMl: 60, ctMatrix: 80 });

/** Values of the voxels whose centres lie in the region. */
function valuesIn(volume: Volume, inside: (p: Vec3) => boolean): number[] {
  const [nx, ny, nz] = volume.dims;
  const values: number[] = [];
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++) {
        if (inside(voxelToWorld(volume, i, j, k)))
          values.push(volume.data[i + nx * (j + ny * k)] ?? Number.NaN);
      }
  return values;
}

const mean = (values: readonly number[]) => values.reduce((s, v) => s + v, 0) / values.length;

/** The organ shrunk by `marginMm` so that no voxel is shared with a neighbour or a lesion. */
function core(shape: Ellipsoid, marginMm: number, p: Phantom): (q: Vec3) => boolean {
  const [a, b, c] = shape.semiAxes;
  const shrunk: Ellipsoid = { centre: shape.centre, semiAxes: [a - marginMm, b - marginMm, c - marginMm] };
  return (q) =>
    insideEllipsoid(shrunk, q) &&
    p.lesions.every(
      (l) => Math.hypot(q[0] - l.centreMm[0], q[1] - l.centreMm[1], q[2] - l.centreMm[2]) > l.radiusMm + 15,
    );
}

test('the default grid is about 64 × 64 × 70–90 at 8 mm and the CT covers the same field of view, finer', () => {
  assert.deepEqual(phantom.pet.dims.slice(0, 2), [64, 64]);
  assert.equal(phantom.pet.dims[2], slicesForHeight(1.72, 8));
  assert.ok(phantom.pet.dims[2] >= 70 && phantom.pet.dims[2] <= 95);
  assert.deepEqual(phantom.ct.dims, [80, 80, phantom.pet.dims[2]]);
  const fov = (v: Volume) => [v.origin[0] - v.spacing[0] / 2, v.dims[0] * v.spacing[0]];
  assert.deepEqual(
    fov(phantom.ct).map((x) => Math.round(x * 1e6)),
    fov(phantom.pet).map((x) => Math.round(x * 1e6)),
  );
  assert.equal(phantom.ct.origin[2], phantom.pet.origin[2]);
});

test('organ uptake and CT numbers are as specified', () => {
  const o = phantom.anatomy.organs;
  const liver = valuesIn(phantom.pet, core(o.liver, 12, phantom));
  assert.ok(Math.abs(mean(liver) - 2.0) < 0.1, `liver mean ${mean(liver)}`);
  assert.ok(liver.filter((v) => v >= 2.5).length / liver.length < 0.01, 'liver stays below 2.5');
  const brain = mean(valuesIn(phantom.pet, core(o.brain, 8, phantom)));
  assert.ok(brain >= 5.5 && brain <= 8.5, `brain ${brain}`);
  const bladder = mean(valuesIn(phantom.pet, core(o.bladder, 8, phantom)));
  assert.ok(bladder >= 7.5 && bladder <= 15.5, `bladder ${bladder}`);
  const blood = mean(valuesIn(phantom.pet, core(o.heart, 12, phantom)));
  assert.ok(Math.abs(blood - 1.6) < 0.15, `blood pool ${blood}`);
  const lung = mean(valuesIn(phantom.ct, core(o.leftLung, 15, phantom)));
  assert.ok(Math.abs(lung + 800) < 20, `lung ${lung} HU`);
  const s = o.spine;
  const clearOfLesions = (p: Vec3) =>
    phantom.lesions.every(
      (l) => Math.hypot(p[0] - l.centreMm[0], p[1] - l.centreMm[1], p[2] - l.centreMm[2]) > l.radiusMm + 15,
    );
  const spineCore = (p: Vec3) =>
    Math.hypot(p[0] - s.cx, p[1] - s.cy) < s.radius - 6 &&
    p[2] < s.zHigh - 30 &&
    p[2] > s.zLow + 30 &&
    clearOfLesions(p);
  const spine = valuesIn(phantom.ct, spineCore);
  assert.ok(spine.length > 20);
  assert.ok(Math.abs(mean(spine) - 400) < 20, `spine ${mean(spine)} HU`);
  const corner = phantom.ct.data[0] ?? 0;
  assert.ok(corner < -980, `air ${corner} HU`);
  assert.ok(phantom.pet.data.every((v) => v >= 0));
});

test('physiological hot spots exceed 150 mL, each lesion is smaller, and MTV is their analytic sum', () => {
  assert.ok(phantom.brainInFovMl > 150, `brain in FOV ${phantom.brainInFovMl} mL`);
  assert.ok(phantom.bladderMl > 150, `bladder ${phantom.bladderMl} mL`);
  // The brain's voxels in the scan range agree with the analytic cap (within a slice's worth).
  const brainVoxels = valuesIn(phantom.pet, (p) => insideEllipsoid(phantom.anatomy.organs.brain, p)).length;
  const sliceMl = phantom.pet.spacing[2] * Math.PI * 62 * 78 * 1e-3;
  assert.ok(Math.abs(brainVoxels * voxelVolumeMl(phantom.pet.spacing) - phantom.brainInFovMl) < sliceMl);
  assert.ok(phantom.lesions.length >= 1);
  let sum = 0;
  for (const lesion of phantom.lesions) {
    assert.ok(lesion.volumeMl < 150);
    sum += (4 / 3) * Math.PI * lesion.radiusMm ** 3 * 1e-3;
  }
  assert.ok(Math.abs(phantom.totalMtvMl - sum) < 1e-9);
});

test('a large lesion shows its SUV at the centre and raises the CT number', () => {
  const lesion = phantom.lesions.reduce((a, b) => (b.radiusMm > a.radiusMm ? b : a));
  assert.ok(lesion.radiusMm >= 10, 'this seed has a lesion of 10 mm or more');
  const centre = valuesIn(
    phantom.pet,
    (p) =>
      Math.hypot(p[0] - lesion.centreMm[0], p[1] - lesion.centreMm[1], p[2] - lesion.centreMm[2]) <
      lesion.radiusMm - 8,
  );
  assert.ok(centre.length > 0);
  assert.ok(
    Math.abs(mean(centre) - lesion.suv) < 0.1 * lesion.suv,
    `lesion ${mean(centre)} vs ${lesion.suv}`,
  );
  const ct = valuesIn(
    phantom.ct,
    (p) =>
      Math.hypot(p[0] - lesion.centreMm[0], p[1] - lesion.centreMm[1], p[2] - lesion.centreMm[2]) <
      lesion.radiusMm - 6,
  );
  assert.ok(mean(ct) > -100, 'tumour is soft tissue on CT, even in the lung');
});

test('the same seed gives the same phantom; another seed a different one', () => {
  const again = buildPhantom({ seed: 77, weightKg: 74, heightM: 1.72, targetMtvMl: 60, ctMatrix: 80 });
  assert.deepEqual(again.pet.data, phantom.pet.data);
  assert.deepEqual(again.ct.data, phantom.ct.data);
  assert.deepEqual(again.lesions, phantom.lesions);
  const other = buildPhantom({ seed: 78, weightKg: 74, heightM: 1.72, targetMtvMl: 60, ctMatrix: 80 });
  assert.notDeepEqual(other.lesions, phantom.lesions);
});

test('rejects impossible grids', () => {
  assert.throws(
    () => buildPhantom({ seed: 1, weightKg: 70, heightM: 1.7, targetMtvMl: 10, matrix: 1 }),
    RangeError,
  );
  assert.throws(
    () => buildPhantom({ seed: 1, weightKg: 70, heightM: 1.7, targetMtvMl: 10, pixelSpacingMm: 0 }),
    RangeError,
  );
});
