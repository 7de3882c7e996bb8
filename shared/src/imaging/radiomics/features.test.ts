import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FedpetError } from '../../errors/fedpet-error.ts';
import type { Vec3, Volume } from '../volume.ts';
import { computeRadiomics } from './features.ts';
import { countWithin, forEachVoxel, makeVolume, paintBox, paintSphere } from './test-phantoms.ts';

const close = (actual: number, expected: number, tolerance = 1e-9): void =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} ≠ ${expected} ± ${tolerance}`);

function sphereVolumeMl(radiusMm: number): number {
  return ((4 / 3) * Math.PI * radiusMm ** 3) / 1000;
}

test('uniform sphere: MTV within voxelisation error of 4/3πR³, SUVmean = SUVmax = SUVpeak = U', () => {
  // R = 15 mm on 2 mm voxels: ρ = 7.5 voxels. Counting voxel centres inside a
  // ball differs from 4/3πρ³ by the lattice-point discrepancy, O(ρ^{3/2})
  // voxels (the surface voxels' over- and under-counts largely cancel). The
  // tolerance is 2ρ^{3/2} voxels (41 voxels, 2.3 %); the sub-voxel offsets
  // below give 1.35 %, −1.31 % and 0.05 % (other offsets reach 1.9 %). A 41 % isocontour on a flat sphere over a low
  // background is exactly the painted sphere, so MTV must also equal the
  // painted count.
  const h = 2;
  const radius = 15;
  const rho = radius / h;
  const toleranceMl = (2 * rho ** 1.5 * h ** 3) / 1000;
  for (const offset of [0, 0.5, 0.37]) {
    const v = makeVolume([30, 30, 30], [h, h, h], 0.5, [-30, -30, -30]);
    const painted = paintSphere(v, [offset * h, 0.2 * offset * h, -offset * h], radius, 8);
    const f = computeRadiomics(v);
    assert.equal(f.lesionCount, 1);
    for (const seg of Object.values(f.segmentations)) {
      assert.equal(seg.lesionCount, 1);
      assert.equal(seg.lesions[0]!.voxels, painted);
      close(seg.totalMtvMl, painted * 0.008, 1e-12);
      close(seg.totalMtvMl, sphereVolumeMl(radius), toleranceMl);
      close(seg.totalTlg, seg.totalMtvMl * 8, 1e-9);
    }
    assert.equal(f.suvMax, 8);
    assert.equal(f.suvMean, 8);
    assert.equal(f.suvPeak, 8);
    const centroid = f.segmentations.isocontour.lesions[0]!.centroidMm;
    close(centroid[0], offset * h, 0.05);
    close(centroid[2], -offset * h, 0.05);
  }
});

test('two separate spheres are two lesions; totals add up', () => {
  const v = makeVolume([40, 24, 24], [2, 2, 2], 0.8);
  const a = paintSphere(v, [20, 24, 24], 10, 6);
  const b = paintSphere(v, [56, 24, 24], 8, 12);
  const f = computeRadiomics(v);
  assert.equal(f.lesionCount, 2);
  const iso = f.segmentations.isocontour;
  assert.deepEqual(
    iso.lesions.map((l) => l.voxels),
    [a, b],
  );
  close(iso.totalMtvMl, (a + b) * 0.008, 1e-12);
  close(iso.totalTlg, (a * 6 + b * 12) * 0.008, 1e-9);
  close(iso.suvMean, (a * 6 + b * 12) / (a + b), 1e-9);
  assert.equal(f.suvMax, 12);
  // Ties for the hottest voxel go to the first in scan order: the sphere's lowest point, on its axis.
  assert.deepEqual(
    f.lesions.map((l) => l.hottestMm),
    [
      [20, 24, 14],
      [56, 24, 16],
    ],
  );
});

test('lesions touching only diagonally form one 26-connected lesion', () => {
  const v = makeVolume([16, 16, 16], [2, 2, 2], 1);
  paintBox(v, [2, 2, 2], [5, 5, 5], 6);
  paintBox(v, [6, 6, 6], [9, 9, 9], 6);
  const f = computeRadiomics(v);
  assert.equal(f.lesionCount, 1);
  assert.equal(f.segmentations.fixedLow.lesions[0]!.voxels, 128);
});

test('an organ above maxLesionMl is excluded as physiological and never entered by a neighbour', () => {
  const v = makeVolume([40, 30, 30], [4, 4, 4], 1);
  const organ = paintSphere(v, [56, 60, 60], 40, 6); // ≈ 268 mL, reaching i = 24 at j = k = 15
  // A lesion (max 6, so its 41 % threshold is 2.46) joined to the organ by a
  // bridge of 2.48: below 2.5, so a separate candidate, but above 2.46.
  paintBox(v, [26, 14, 14], [28, 16, 16], 6);
  paintBox(v, [25, 15, 15], [25, 15, 15], 2.48);
  const organVoxelsNextToBridge = v.data[24 + 40 * (15 + 30 * 15)];
  assert.equal(organVoxelsNextToBridge, 6, 'phantom: the bridge touches the organ');
  const f = computeRadiomics(v, { isocontourFloorSuv: 0 });
  assert.equal(f.excluded.physiological.count, 1);
  assert.equal(f.excluded.physiological.voxels, organ);
  close(f.excluded.physiological.volumeMl, organ * 0.064, 1e-9);
  assert.ok(f.excluded.physiological.volumeMl > 150);
  close(f.excluded.physiological.components[0]!.centroidMm[0], 56, 1e-6);
  assert.equal(f.lesionCount, 1);
  assert.equal(f.segmentations.fixedLow.lesions[0]!.voxels, 27);
  // The isocontour takes the bridge voxel but stops at the organ.
  assert.equal(f.segmentations.isocontour.lesions[0]!.voxels, 28);
  // Raising the limit turns the organ into a lesion.
  assert.equal(computeRadiomics(v, { maxLesionMl: 1000 }).lesionCount, 2);
});

test('graded lesion: 41 %, 2.5 and 4.0 give the volumes counted shell by shell', () => {
  const v = makeVolume([32, 32, 32], [2, 2, 2], 1, [-32, -32, -32]);
  const c: Vec3 = [0, 0, 0];
  paintSphere(v, c, 18, 3.0);
  paintSphere(v, c, 14, 3.5);
  paintSphere(v, c, 10, 4.5);
  paintSphere(v, c, 6, 8);
  const n6 = countWithin(v, c, 6);
  const n10 = countWithin(v, c, 10);
  const n14 = countWithin(v, c, 14);
  const n18 = countWithin(v, c, 18);
  const f = computeRadiomics(v);
  const { isocontour, fixedLow, fixedHigh } = f.segmentations;
  // 41 % of 8 = 3.28: the 8, 4.5 and 3.5 shells (r ≤ 14 mm).
  assert.equal(isocontour.lesions[0]!.voxels, n14);
  close(isocontour.lesions[0]!.suvMean, (8 * n6 + 4.5 * (n10 - n6) + 3.5 * (n14 - n10)) / n14, 1e-9);
  // SUV ≥ 2.5: everything up to 18 mm.
  assert.equal(fixedLow.lesions[0]!.voxels, n18);
  // SUV ≥ 4.0: up to 10 mm.
  assert.equal(fixedHigh.lesions[0]!.voxels, n10);
  close(fixedHigh.totalTlg, (8 * n6 + 4.5 * (n10 - n6)) * 0.008, 1e-9);
  assert.ok(n10 < n14 && n14 < n18);
  // The 123-voxel SUVpeak sphere (radius 3.1 voxels) fits inside the r ≤ 6 mm core.
  assert.equal(f.suvPeak, 8);
});

test('fixed 4.0 splits a lesion with two hot cores; both parts point at the same lesion', () => {
  const v = makeVolume([24, 12, 12], [2, 2, 2], 1);
  paintBox(v, [2, 2, 2], [21, 9, 9], 3);
  paintBox(v, [3, 4, 4], [6, 7, 7], 9);
  paintBox(v, [15, 4, 4], [18, 7, 7], 5);
  const f = computeRadiomics(v);
  assert.equal(f.lesionCount, 1);
  assert.deepEqual(
    f.segmentations.fixedHigh.lesions.map((l) => [l.lesion, l.voxels, l.suvMax]),
    [
      [1, 64, 9],
      [1, 64, 5],
    ],
  );
});

test('a cooler lesion reached by a hotter one’s isocontour is merged into it', () => {
  const v = makeVolume([24, 10, 10], [2, 2, 2], 1);
  paintBox(v, [2, 4, 4], [4, 6, 6], 6); // lesion 1: 41 % threshold 2.46
  paintBox(v, [5, 5, 5], [6, 5, 5], 2.48); // bridge below 2.5
  paintBox(v, [7, 4, 4], [9, 6, 6], 3); // lesion 2
  // The plain 41 % isocontour (no SUV floor), so the 2.48 bridge is above the threshold.
  const f = computeRadiomics(v, { isocontourFloorSuv: 0 });
  assert.equal(f.segmentations.fixedLow.lesionCount, 2);
  assert.equal(f.segmentations.isocontour.lesionCount, 1);
  assert.equal(f.segmentations.isocontour.lesions[0]!.voxels, 27 + 2 + 27);
  assert.equal(f.lesions[1]!.mergedInto, 1);
  assert.equal(f.lesions[0]!.mergedInto, undefined);
});

test('single hot voxels are noise; an empty scan gives zeros', () => {
  const v = makeVolume([12, 12, 12], [4, 4, 4], 1);
  v.data[5 + 12 * (5 + 12 * 5)] = 9;
  const f = computeRadiomics(v);
  assert.deepEqual(f.excluded.noise, { count: 1, voxels: 1 });
  assert.equal(f.lesionCount, 0);
  assert.equal(f.suvMax, 0);
  assert.equal(f.suvPeak, 0);
  assert.equal(f.suvMean, 0);
  assert.equal(f.segmentations.isocontour.totalMtvMl, 0);
  assert.equal(computeRadiomics(v, { minLesionVoxels: 1 }).lesionCount, 1);
});

test('results are deterministic and survive a JSON round trip', () => {
  const make = (): Volume => {
    const v = makeVolume([30, 30, 20], [3, 3, 4], 0.6, [-40, 10, 5]);
    let n = 0;
    forEachVoxel(v, (p) => {
      n = (n * 1103515245 + 12345) % 2147483648;
      v.data[p] = 0.6 + (n / 2147483648) * 0.4;
    });
    paintSphere(v, [0, 50, 40], 9, 7);
    paintSphere(v, [20, 70, 50], 6, 3.2);
    return v;
  };
  const a = computeRadiomics(make());
  const b = computeRadiomics(make());
  assert.deepEqual(a, b);
  assert.deepEqual(JSON.parse(JSON.stringify(a)), a);
  assert.equal(a.lesionCount, 2);
});

test('invalid options and volumes are rejected with a named field', () => {
  const v = makeVolume([4, 4, 4], [2, 2, 2], 0);
  assert.throws(
    () => computeRadiomics(v, { maxLesionMl: -1 }),
    (e: unknown) => {
      return e instanceof FedpetError && e.code === 'INVALID_CONFIG' && e.message.includes('maxLesionMl');
    },
  );
  assert.throws(() => computeRadiomics(v, { isocontourFraction: 1.5 }), FedpetError);
  assert.throws(
    () => computeRadiomics({ ...v, data: new Float32Array(3) }),
    (e: unknown) => e instanceof FedpetError && e.code === 'DATASET_INVALID',
  );
});

test('the isocontour floor keeps a low-SUVmax lesion out of liver-level background', () => {
  const v = makeVolume([24, 24, 24], [2, 2, 2], 1, [-24, -24, -24]);
  paintBox(v, [0, 0, 0], [23, 23, 11], 2.2); // a liver-like slab at SUV 2.2
  paintSphere(v, [0, 0, 4], 6, 5); // a lesion of SUVmax 5 touching it: 41 % is 2.05
  const lesionVoxels = countWithin(v, [0, 0, 4], 6);
  const floored = computeRadiomics(v, { maxLesionMl: 1000 });
  const plain = computeRadiomics(v, { maxLesionMl: 1000, isocontourFloorSuv: 0 });
  // With the default floor (2.5) the region is the lesion; without it, it leaks into the slab.
  assert.equal(floored.segmentations.isocontour.lesions[0]!.voxels, lesionVoxels);
  assert.ok(plain.segmentations.isocontour.lesions[0]!.voxels > lesionVoxels);
});
