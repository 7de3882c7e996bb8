import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FedpetError } from '../errors/fedpet-error.ts';
import { createRng } from '../ml/random.ts';
import {
  decodeFixedPointSum,
  decodeWeightedSum,
  encodeFixedPoint,
  encodeWeightedUpdate,
  type FixedPointConfig,
  fixedPointLimits,
  quantisationErrorBound,
  weightedClipRange,
  weightedQuantisationErrorBound,
} from './fixed-point.ts';

/** Σ mod 2^32 of the encodings, as the unmasked sum would be. */
function modularSum(vectors: Uint32Array[]): Uint32Array {
  const sum = new Uint32Array(vectors[0]!.length);
  for (const vector of vectors) for (let i = 0; i < sum.length; i++) sum[i] = (sum[i]! + vector[i]!) >>> 0;
  return sum;
}

test('the decoded average of n encodings is within 2^-(f+1) of the plain average, negatives included', () => {
  const rng = createRng(3);
  for (const [n, f] of [
    [3, 16],
    [10, 20],
    [7, 8],
  ] as const) {
    const config: FixedPointConfig = { clip: 4, fractionBits: f, participants: n };
    const updates = Array.from({ length: n }, () => Float32Array.from({ length: 2000 }, () => rng.normal()));
    const encoded = updates.map((u) => encodeFixedPoint(u, config).encoded);
    const average = decodeFixedPointSum(modularSum(encoded), config, n, new Float64Array(2000));
    const bound = quantisationErrorBound(n, f);
    assert.equal(bound, 2 ** -(f + 1));
    let worst = 0;
    for (let i = 0; i < 2000; i++) {
      let plain = 0;
      for (const u of updates) plain += Math.max(-4, Math.min(4, u[i]!));
      worst = Math.max(worst, Math.abs(average[i]! - plain / n));
    }
    assert.ok(worst <= bound, `n=${n} f=${f}: ${worst} > ${bound}`);
    // The bound is not loose by orders of magnitude either.
    assert.ok(worst > bound / 20, `n=${n} f=${f}: ${worst} ≪ ${bound}`);
  }
});

test('values beyond ±C are clipped and counted', () => {
  const config = { clip: 1, fractionBits: 10, participants: 2 };
  const { encoded, clipped } = encodeFixedPoint(Float32Array.of(0.5, 1.5, -3, 1, -1, 0.25), config);
  assert.equal(clipped, 2);
  const decoded = decodeFixedPointSum(encoded, config, 1, new Float64Array(6));
  assert.deepEqual([...decoded], [0.5, 1, -1, 1, -1, 0.25]);
  assert.equal(new Int32Array(encoded.buffer)[2], -1024); // two's complement
});

test('a configuration without ⌈log₂ n⌉ bits of headroom is refused with a clear message', () => {
  // Q = round(8·2^23) = 2^26; 10 hospitals need 4 bits: 2^30 ≤ 2^31 − 1 fits.
  assert.equal(fixedPointLimits({ clip: 8, fractionBits: 23, participants: 10 }).headroomBits, 4);
  // 2^27·2^4 = 2^31 does not.
  assert.throws(
    () => fixedPointLimits({ clip: 8, fractionBits: 24, participants: 10 }),
    (e: unknown) =>
      e instanceof FedpetError &&
      e.code === 'INVALID_CONFIG' &&
      /10 hospitals/.test(e.message) &&
      /4 bits/.test(e.message),
  );
  // Two hospitals need only one bit at the same setting.
  assert.equal(fixedPointLimits({ clip: 8, fractionBits: 26, participants: 2 }).maxMagnitude, 2 ** 29);
  assert.throws(() => fixedPointLimits({ clip: 0, fractionBits: 8, participants: 3 }), FedpetError);
  assert.throws(() => fixedPointLimits({ clip: 1, fractionBits: 31, participants: 3 }), FedpetError);
  assert.throws(() => fixedPointLimits({ clip: 1, fractionBits: 8, participants: 0 }), FedpetError);
  assert.throws(
    () => fixedPointLimits({ clip: 1, fractionBits: 8, participants: 4, maxSamplesPerHospital: 2 ** 30 }),
    /maxSamplesPerHospital/,
  );
});

test('weighted encodings decode to Σ n_u·w_u / Σ n_u within the weighted bound, with the total clip count', () => {
  const rng = createRng(11);
  const n = 5;
  const maxSamples = 1000;
  const f = 14;
  const config: FixedPointConfig = {
    clip: weightedClipRange(2, maxSamples),
    fractionBits: f,
    participants: n,
    maxSamplesPerHospital: maxSamples,
  };
  const samples = [12, 999, 450, 1, 77];
  const updates = samples.map(() => Float32Array.from({ length: 3000 }, () => rng.normal() * 0.5));
  // C = 2000 bounds n_u·w_u: 999 × 2.5 and 77 × −30 exceed it; 450 × 2.5 and 1 × 1500 do not —
  // clipping acts on the weighted value, as documented in fixed-point.ts.
  updates[1]![17] = 2.5;
  updates[4]![18] = -30;
  updates[2]![19] = 2.5;
  updates[3]![20] = 1500;
  const encoded = updates.map((u, k) => encodeWeightedUpdate(u, samples[k]!, config));
  assert.deepEqual(
    encoded.map((e) => e.clipped),
    [0, 1, 0, 0, 1],
  );
  const result = decodeWeightedSum(modularSum(encoded.map((e) => e.encoded)), config, new Float64Array(3000));
  const total = samples.reduce((a, b) => a + b, 0);
  assert.equal(result.totalSamples, total);
  assert.equal(result.clippedValues, 2);
  const bound = weightedQuantisationErrorBound(n, f, total);
  let worst = 0;
  for (let i = 0; i < 3000; i++) {
    let plain = 0;
    updates.forEach((u, k) => {
      plain += Math.max(-config.clip, Math.min(config.clip, samples[k]! * u[i]!));
    });
    worst = Math.max(worst, Math.abs(result.average[i]! - plain / total));
  }
  assert.ok(worst <= bound, `${worst} > ${bound}`);
});

test('bad inputs name the index, never the value', () => {
  const config = { clip: 1, fractionBits: 8, participants: 3, maxSamplesPerHospital: 100 };
  assert.throws(
    () => encodeFixedPoint(Float32Array.of(0.123456, Number.NaN), config),
    (e: unknown) => e instanceof FedpetError && /index 1/.test(e.message) && !/0\.123/.test(e.message),
  );
  assert.throws(() => encodeWeightedUpdate(Float32Array.of(1), 101, config), /1\.\.100/);
  assert.throws(() => encodeWeightedUpdate(Float32Array.of(1), 0, config), FedpetError);
  // A sum whose weight slot is not positive means the masks did not cancel.
  assert.throws(
    () => decodeWeightedSum(Uint32Array.of(5, 0, 0), config, new Float32Array(1)),
    /masks did not cancel/,
  );
});
