import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRng } from '../../ml/random.ts';
import { buildAnatomy, insideEllipsoid } from './anatomy.ts';
import {
  allocateLesionSizes,
  METASTASIS_RADIUS_MM,
  PRIMARY_RADIUS_MM,
  placeLesions,
  sphereVolumeMl,
} from './lesions.ts';

const anatomy = buildAnatomy({
  topZ: -60,
  coverageMm: 720,
  trunkHalfWidthMm: 165,
  trunkHalfDepthMm: 110,
  brainSuv: 7,
  bladderSuv: 10,
  bladderScale: 1,
  brainDepthInFovMm: 40,
});

test('lesion sizes respect the radius limits and grow in number with tumour burden', () => {
  const rng = createRng(8);
  const metastases = (target: number) => {
    let total = 0;
    for (let i = 0; i < 300; i++) total += allocateLesionSizes(rng, target).metastasisRadiiMm.length;
    return total / 300;
  };
  assert.ok(metastases(200) > metastases(8) + 2);
  for (const target of [3, 12, 40, 150, 450]) {
    for (let i = 0; i < 50; i++) {
      const sizes = allocateLesionSizes(rng, target);
      assert.ok(
        sizes.primaryRadiusMm >= PRIMARY_RADIUS_MM.min && sizes.primaryRadiusMm <= PRIMARY_RADIUS_MM.max,
      );
      for (const r of sizes.metastasisRadiiMm) {
        assert.ok(r >= METASTASIS_RADIUS_MM.min && r <= METASTASIS_RADIUS_MM.max);
      }
      const realised =
        sphereVolumeMl(sizes.primaryRadiusMm) +
        sizes.metastasisRadiiMm.reduce((s, r) => s + sphereVolumeMl(r), 0);
      // Clipping moves the realised volume, but it stays in the target's range for mid-size burdens.
      if (target >= 12 && target <= 150) assert.ok(realised > 0.5 * target && realised < 2 * target);
    }
  }
});

test('placed lesions: primary in a lung, none overlapping, all clear of brain and bladder, each < 150 mL', () => {
  const rng = createRng(21);
  for (let trial = 0; trial < 40; trial++) {
    const sizes = allocateLesionSizes(rng, 30 + 10 * trial);
    const lesions = placeLesions(rng, anatomy, sizes, 18);
    const primary = lesions[0];
    assert.equal(primary?.site, 'lung-primary');
    const o = anatomy.organs;
    assert.ok(
      insideEllipsoid(o.leftLung, primary.centreMm) || insideEllipsoid(o.rightLung, primary.centreMm),
    );
    assert.ok(!insideEllipsoid(o.heart, primary.centreMm));
    for (const [i, a] of lesions.entries()) {
      assert.ok(a.volumeMl < 150);
      assert.ok(Math.abs(a.volumeMl - sphereVolumeMl(a.radiusMm)) < 1e-12);
      assert.ok(a.suv >= 3 && a.suv <= 15);
      for (const organ of [o.brain, o.bladder]) {
        const d = Math.hypot(...a.centreMm.map((c, axis) => c - (organ.centre[axis] ?? 0)));
        assert.ok(d > Math.max(...organ.semiAxes) + a.radiusMm);
      }
      for (const b of lesions.slice(i + 1)) {
        const d = Math.hypot(...a.centreMm.map((c, axis) => c - (b.centreMm[axis] ?? 0)));
        assert.ok(d >= a.radiusMm + b.radiusMm, 'lesions must not overlap');
      }
    }
  }
});
