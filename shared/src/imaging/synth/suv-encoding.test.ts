import assert from 'node:assert/strict';
import { test } from 'node:test';
import { epochOfDay } from './dicom-time.ts';
import { decayedDoseBq, petScaling } from './suv-encoding.ts';
import { F18_HALF_LIFE_S, vendorProfile } from './vendor-profiles.ts';

const day = epochOfDay(2020, 1, 1);
const at = (h: number, m: number, s: number) => day + h * 3600 + m * 60 + s;

test('BQML START reproduces SCIENCE.md §1 Siemens reference factor', () => {
  const scaling = petScaling(vendorProfile('siemens'), {
    weightKg: 67,
    injectedDoseBq: 374e6,
    halfLifeS: F18_HALF_LIFE_S,
    injectionTime: at(8, 30, 45),
    scanStart: at(10, 48, 29),
  });
  assert.ok(Math.abs(scaling.suvPerUnit / 4.2748316187197236e-4 - 1) < 1e-12, String(scaling.suvPerUnit));
  assert.deepEqual(scaling.privateElements, []);
});

test('ADMIN skips the decay; CNTS passes the written SUV scale factor through', () => {
  const dose = {
    weightKg: 70,
    injectedDoseBq: 250e6,
    halfLifeS: F18_HALF_LIFE_S,
    injectionTime: at(9, 0, 0),
    scanStart: at(10, 0, 0),
  };
  assert.equal(petScaling(vendorProfile('siemens-admin'), dose).suvPerUnit, 70_000 / 250e6);
  const start = petScaling(vendorProfile('siemens'), dose).suvPerUnit;
  assert.ok(Math.abs(start - 70_000 / decayedDoseBq(250e6, F18_HALF_LIFE_S, 3600)) < 1e-15);

  const philips = petScaling(vendorProfile('philips'), dose);
  const byTag = new Map(philips.privateElements.map((e) => [e.tag, e]));
  assert.equal(byTag.get('70530010')?.value, 'Philips PET Private Group');
  const suvScale = byTag.get('70531000');
  const activityScale = byTag.get('70531009');
  assert.equal(suvScale?.vr, 'DS');
  assert.ok(typeof suvScale?.value === 'string' && suvScale.value.length <= 16);
  assert.equal(philips.suvPerUnit, Number(suvScale?.value));
  // (7053,1009) × the BQML factor is the same scale, to DS precision.
  assert.ok(Math.abs((Number(activityScale?.value) * start) / philips.suvPerUnit - 1) < 1e-10);
});

test('rejects a scan before the injection or at a fractional second', () => {
  const dose = {
    weightKg: 70,
    injectedDoseBq: 250e6,
    halfLifeS: F18_HALF_LIFE_S,
    injectionTime: at(9, 0, 0),
  };
  assert.throws(() => petScaling(vendorProfile('ge'), { ...dose, scanStart: at(8, 0, 0) }), RangeError);
  assert.throws(
    () => petScaling(vendorProfile('ge'), { ...dose, scanStart: at(10, 0, 0) + 0.5 }),
    RangeError,
  );
});
