import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRng } from '../../ml/random.ts';
import {
  chiSquarePValue,
  chiSquareSurvival,
  lnGamma,
  pearsonCorrelation,
  topByteCounts,
} from './uniformity.ts';

const close = (actual: number, expected: number, tolerance: number) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} vs ${expected}`);

test('lnGamma matches factorials and Γ(½) = √π', () => {
  close(lnGamma(1), 0, 1e-12);
  close(lnGamma(5), Math.log(24), 1e-12);
  close(lnGamma(0.5), 0.5 * Math.log(Math.PI), 1e-12);
  close(lnGamma(128.5), 493.9784867952413, 1e-9); // reference: Python math.lgamma
});

test('chi-square tail probabilities match table values', () => {
  close(chiSquareSurvival(3.841459, 1), 0.05, 1e-6);
  close(chiSquareSurvival(18.307038, 10), 0.05, 1e-6);
  close(chiSquareSurvival(23.209251, 10), 0.01, 1e-6);
  close(chiSquareSurvival(10, 2), Math.exp(-5), 1e-12); // χ²_2 is exponential
  // df = 255: the 0.001 critical value is 330.52.
  close(chiSquareSurvival(330.52, 255), 0.001, 2e-5);
  close(chiSquareSurvival(255, 255), 0.4882225, 1e-6); // reference: scipy chi2.sf
});

test('uniform words pass, skewed words fail; correlation tells related series from unrelated', () => {
  const rng = createRng(5);
  const uniform = Uint32Array.from({ length: 20_000 }, () => Math.floor(rng.next() * 2 ** 32));
  assert.ok(chiSquarePValue(topByteCounts(uniform)) > 0.001);
  const small = Uint32Array.from({ length: 20_000 }, () => Math.floor(rng.next() * 2 ** 30));
  assert.ok(chiSquarePValue(topByteCounts(small)) < 1e-10);
  const x = Array.from({ length: 5000 }, () => rng.normal());
  const y = x.map((v) => v + 0.5 * rng.normal());
  const z = x.map(() => rng.normal());
  assert.ok(pearsonCorrelation(x, y) > 0.8);
  assert.ok(Math.abs(pearsonCorrelation(x, z)) < 0.05);
  close(pearsonCorrelation(x, x), 1, 1e-12);
});
