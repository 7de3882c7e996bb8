import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FedpetError } from '../../errors/fedpet-error.ts';
import { forEachVoxel, makeVolume, paintSphere } from '../radiomics/test-phantoms.ts';
import type { Vec3, Volume } from '../volume.ts';
import {
  DEFAULT_PREPROCESS_SETTINGS,
  type PreprocessSettings,
  preparePetCt,
  preprocessSettingsKey,
} from './prepare-pet-ct.ts';

// Patient: an elliptic cylinder body along z, centred at x = 0, y = 0; head at z = +200.
const insideBody = (w: Vec3): boolean =>
  (w[0] / 120) ** 2 + (w[1] / 90) ** 2 <= 1 && w[2] >= -60 && w[2] <= 200;
const LESION: Vec3 = [50, -20, 150]; // patient's left, anterior, upper body
const BLADDER: Vec3 = [0, 10, -30];

function petPhantom(): Volume {
  // 4.07 × 4.07 × 3.27 mm, axial slices ordered head to feet.
  const pet = makeVolume(
    [80, 64, 90],
    [4.07, 4.07, 3.27],
    0,
    [-160, -130, 230],
    [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, -1],
    ],
  );
  forEachVoxel(pet, (p, w) => {
    if (insideBody(w)) pet.data[p] = 1;
  });
  paintSphere(pet, LESION, 12, 12);
  paintSphere(pet, BLADDER, 25, 40);
  return pet;
}

function ctPhantom(): Volume {
  // 3 × 3 × 5 mm, feet first, its own origin; a table under the patient (posterior, +y).
  const ct = makeVolume([100, 80, 60], [3, 3, 5], -1000, [-150, -120, -90]);
  forEachVoxel(ct, (p, w) => {
    if (insideBody(w)) ct.data[p] = 40;
    else if (w[1] > 100 && w[1] < 110) ct.data[p] = 300;
  });
  return ct;
}

const small: PreprocessSettings = { ...DEFAULT_PREPROCESS_SETTINGS, mipSize: 32, cropSize: 16, voxelMm: 5 };

function argmax(data: Float32Array, from = 0, to = data.length): number {
  let best = from;
  for (let p = from; p < to; p++) if (data[p]! > data[best]!) best = p;
  return best;
}

test('PET + CT: fixed shapes, values in [0, 1], body found from the CT', () => {
  const out = preparePetCt(petPhantom(), ctPhantom(), small);
  assert.deepEqual(out.mipCoronal.shape, [32, 32]);
  assert.deepEqual(out.mipSagittal.shape, [32, 32]);
  assert.equal(out.mipCoronal.data.length, 32 * 32);
  assert.deepEqual(out.pet.shape, [16, 16, 16]);
  assert.equal(out.pet.data.length, 16 ** 3);
  assert.deepEqual(out.ct?.shape, [16, 16, 16]);
  for (const arr of [out.mipCoronal, out.mipSagittal, out.pet, out.ct!]) {
    assert.ok(arr.data.every((v) => v >= 0 && v <= 1 + 1e-6));
  }
  assert.equal(out.geometry.bodyFrom, 'ct');
  assert.deepEqual(out.geometry.grid.spacing, [5, 5, 5]);
  // The body box holds the body (x ±120, y ±90) plus 10 mm, not the table (y > 100) or all the air.
  const { grid, bodyBox } = out.geometry;
  const yMax = grid.origin[1] + bodyBox.max[1] * 5;
  assert.ok(yMax >= 90 && yMax < 105, `body box ends at y = ${yMax}`);
  const xMin = grid.origin[0] + bodyBox.min[0] * 5;
  assert.ok(xMin <= -120 && xMin > -135, `body box starts at x = ${xMin}`);
  // Soft tissue (40 HU) in the default window [−1000, 1000] is 0.52.
  assert.ok(Math.abs(Math.max(...out.ct!.data) - 0.52) < 0.01);
  assert.equal(out.settingsKey, preprocessSettingsKey(small));
});

test('MIPs: the bladder (clipped) is the brightest, low in the image; the lesion is high and on the image right', () => {
  const out = preparePetCt(petPhantom(), undefined, small);
  assert.equal(out.ct, undefined);
  assert.equal(out.geometry.bodyFrom, 'pet');
  const cor = out.mipCoronal.data;
  const bladder = argmax(cor);
  assert.ok(Math.abs(cor[bladder]! - 1) < 1e-6, 'SUV 40 clipped at 20 and scaled');
  assert.ok(Math.floor(bladder / 32) > 16, 'bladder in the lower half');
  // The lesion: brightest pixel in the top third.
  const lesion = argmax(cor, 0, 32 * 10);
  assert.ok(cor[lesion]! > 0.2, 'lesion visible above body uptake (0.05)');
  assert.ok(lesion % 32 > 16, 'patient’s left on the image right');
  const sag = out.mipSagittal.data;
  const lesionSag = argmax(sag, 0, 32 * 10);
  assert.ok(sag[lesionSag]! > 0.2);
  assert.ok(lesionSag % 32 < 16, 'anterior on the image left');
});

test('the 3D crop keeps world coordinates: the lesion is found where it was painted', () => {
  const out = preparePetCt(petPhantom(), undefined, small);
  const g = out.geometry.cropGrid;
  // Exclude the bladder region (z < 20) and find the hottest voxel.
  const data = out.pet.data;
  let best = -1;
  for (let p = 0; p < data.length; p++) {
    const k = Math.floor(p / 256);
    const z = g.origin[2] + k * g.spacing[2] * g.direction[2][2];
    if (z > 20 && (best < 0 || data[p]! > data[best]!)) best = p;
  }
  const i = best % 16;
  const j = Math.floor(best / 16) % 16;
  const k = Math.floor(best / 256);
  const w = [0, 1, 2].map(
    (c) =>
      g.origin[c as 0] +
      i * g.spacing[0] * g.direction[0][c as 0] +
      j * g.spacing[1] * g.direction[1][c as 0] +
      k * g.spacing[2] * g.direction[2][c as 0],
  );
  for (let c = 0; c < 3; c++) assert.ok(Math.abs(w[c]! - LESION[c]!) <= g.spacing[c as 0], `axis ${c}`);
});

test('settings keys are stable and change with the settings; results are deterministic', () => {
  const reordered = Object.fromEntries(Object.entries(small).reverse()) as unknown as PreprocessSettings;
  assert.equal(preprocessSettingsKey(reordered), preprocessSettingsKey(small));
  assert.notEqual(preprocessSettingsKey({ ...small, cropSize: 32 }), preprocessSettingsKey(small));
  const parsed = JSON.parse(preprocessSettingsKey(DEFAULT_PREPROCESS_SETTINGS)) as Record<string, unknown>;
  assert.equal(parsed.voxelMm, 4);
  assert.equal(parsed.version, 1);
  const pet = petPhantom();
  assert.deepEqual(preparePetCt(pet, undefined, small), preparePetCt(pet, undefined, small));
});

test('invalid settings name the field', () => {
  const pet = makeVolume([4, 4, 4], [4, 4, 4], 1);
  assert.throws(
    () => preparePetCt(pet, undefined, { ...small, cropSize: 0 }),
    (e: unknown) => e instanceof FedpetError && e.message.includes('cropSize'),
  );
  assert.throws(
    () => preparePetCt(pet, undefined, { ...small, voxelMm: -2 }),
    (e: unknown) => e instanceof FedpetError && e.message.includes('voxelMm'),
  );
});

test('an empty scan keeps the whole grid', () => {
  const out = preparePetCt(makeVolume([10, 10, 10], [4, 4, 4], 0), undefined, small);
  assert.equal(out.geometry.bodyFrom, 'none');
  assert.deepEqual(out.geometry.bodyBox, { min: [0, 0, 0], max: [7, 7, 7] });
});
