import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chiSquareSurvival, erfc, normalCdf, twoSidedNormalP } from './distributions.ts';

// Reference values from SciPy 1.17 (scipy.special.erfc, scipy.stats.norm, scipy.stats.chi2).
function close(actual: number, expected: number, relative: number): void {
  assert.ok(
    Math.abs(actual - expected) <= relative * Math.abs(expected),
    `${actual} differs from ${expected} by more than ${relative} relative`,
  );
}

test('erfc matches reference values in the body and the far tail', () => {
  close(erfc(1), 0.15729920705028513, 1e-13);
  close(erfc(3), 2.2090496998585438e-5, 1e-12);
  close(erfc(8 / Math.SQRT2), 1.2441921148543639e-15, 1e-12);
  close(erfc(-1), 2 - 0.15729920705028513, 1e-14);
  assert.equal(erfc(0), 1);
  assert.equal(erfc(40), 0);
  assert.ok(Number.isNaN(erfc(Number.NaN)));
});

test('two-sided normal p-values: z = 1.96 gives 0.05, z = 2.576 gives 0.01, z = 3.29 gives 0.001', () => {
  close(twoSidedNormalP(1.96), 0.04999579029644087, 1e-12);
  close(twoSidedNormalP(-1.96), 0.04999579029644087, 1e-12);
  close(twoSidedNormalP(2.5758293035489), 0.01, 1e-10);
  close(twoSidedNormalP(3.2905267314919), 0.001, 1e-10);
  close(twoSidedNormalP(5), 5.733031437583892e-7, 1e-12);
  assert.equal(twoSidedNormalP(0), 1);
  assert.ok(Number.isNaN(twoSidedNormalP(Number.NaN)));
});

test('normal CDF is symmetric and keeps precision deep in the lower tail', () => {
  close(normalCdf(-1), 0.15865525393145707, 1e-13);
  close(normalCdf(0.3), 0.6179114221889526, 1e-13);
  close(normalCdf(-6), 9.865876450376946e-10, 1e-12);
  close(normalCdf(-10), 7.61985302416047e-24, 1e-12);
  for (const z of [0.1, 0.9, 2.2, 3.7]) close(normalCdf(z) + normalCdf(-z), 1, 1e-15);
});

test('chi-square upper tail for even and odd degrees of freedom', () => {
  close(chiSquareSurvival(3.841458820694124, 1), 0.05, 1e-12);
  close(chiSquareSurvival(5.991464547107979, 2), 0.05, 1e-12);
  close(chiSquareSurvival(7.814727903251178, 3), 0.05, 1e-12);
  close(chiSquareSurvival(10, 4), 0.04042768199451279, 1e-12);
  close(chiSquareSurvival(20, 5), 0.0012497305630313773, 1e-12);
  close(chiSquareSurvival(30.5, 12), 0.0023467591367947386, 1e-12);
  close(chiSquareSurvival(100, 7), 1.0787979671702833e-18, 1e-10);
  close(chiSquareSurvival(0.001, 1), 0.9747728793699604, 1e-12);
  assert.equal(chiSquareSurvival(0, 3), 1);
  assert.ok(Number.isNaN(chiSquareSurvival(4, 0)));
  assert.ok(Number.isNaN(chiSquareSurvival(4, 2.5)));
});
