import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FedpetError } from '../errors/fedpet-error.ts';
import { chiSquareSurvival, normalCriticalValue } from './chi-square.ts';
import { kaplanMeier, logRankTest, survivalAt } from './kaplan-meier.ts';

const close = (actual: number, expected: number, tolerance: number, what = ''): void => {
  assert.ok(
    Math.abs(actual - expected) <= tolerance,
    `${what} ${actual} differs from ${expected} by > ${tolerance}`,
  );
};

// Freireich et al. (1963) leukaemia remission data, the textbook KM example
// (Kleinbaum & Klein, Survival Analysis, ch. 2): 6-MP arm with censoring, placebo arm without.
const time6mp = [6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35];
const event6mp = [1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0];
const timePlacebo = [1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22, 23];
const eventPlacebo = timePlacebo.map(() => 1);

test('6-MP arm by hand: steps, at-risk counts and Greenwood standard errors', () => {
  const km = kaplanMeier(time6mp, event6mp);
  assert.deepEqual(km.times, [6, 7, 9, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 34, 35]);
  assert.deepEqual(km.atRisk, [21, 17, 16, 15, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 2, 1]);
  assert.deepEqual(km.events, [3, 1, 0, 1, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0]);
  assert.deepEqual(km.censored, [1, 0, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 1, 2, 1, 1]);
  // t = 6: S = 18/21, SE = S·√(3/(21·18)); t = 7: S = 18/21 · 16/17, SE = S·√(3/(21·18) + 1/(17·16)).
  const s6 = 18 / 21;
  const s7 = s6 * (16 / 17);
  close(km.survival[0]!, s6, 1e-15);
  close(km.standardError[0]!, s6 * Math.sqrt(3 / (21 * 18)), 1e-15);
  close(km.survival[1]!, s7, 1e-15);
  close(km.standardError[1]!, s7 * Math.sqrt(3 / (21 * 18) + 1 / (17 * 16)), 1e-15);
  assert.equal(km.survival[2], km.survival[1], 'a censoring-only time does not step');
  close(km.survival[3]!, s7 * (14 / 15), 1e-15);
  assert.equal(km.medianSurvival, 23);
  assert.equal(km.transform, 'log-log');
});

test('6-MP arm against R survival 3.5-3 survfit (log-log, log and plain 95% intervals)', () => {
  // survfit(Surv(t, e) ~ 1, conf.type = ...) at the event times 6, 7, 10, 13, 16, 22, 23.
  const rows = [0, 1, 3, 5, 6, 10, 11];
  const survival = [
    0.857142857143, 0.806722689076, 0.752941176471, 0.690196078431, 0.627450980392, 0.53781512605,
    0.448179271709,
  ];
  const se = [
    0.0763603548321, 0.0869352851801, 0.0963496529943, 0.106814707775, 0.1140538652568, 0.128233751693,
    0.1345914567558,
  ];
  const logLog = [
    [0.619717955266, 0.951551747647],
    [0.563146564622, 0.922809019203],
    [0.5031995108, 0.889361835169],
    [0.431610222486, 0.849065963349],
    [0.367510855988, 0.804912189472],
    [0.267778936767, 0.746790717635],
    [0.188052005959, 0.680142628495],
  ];
  const plain = [
    [0.707479311825, 1],
    [0.636332661137, 0.977112717014],
    [0.564099326679, 0.941783026262],
    [0.480843098173, 0.89954905869],
    [0.403909512191, 0.850992448593],
    [0.28648159113, 0.789148660971],
    [0.184384863841, 0.711973679577],
  ];
  const log = [
    [0.719817083916, 1],
    [0.653124218462, 0.996443675909],
    [0.58591898203, 0.967574754552],
    [0.509613099102, 0.934769195536],
    [0.439393924969, 0.895994938535],
    [0.337036616158, 0.858200848045],
    [0.248788226818, 0.807372045529],
  ];
  const byTransform = {
    'log-log': kaplanMeier(time6mp, event6mp),
    plain: kaplanMeier(time6mp, event6mp, { transform: 'plain' }),
    log: kaplanMeier(time6mp, event6mp, { transform: 'log' }),
  };
  rows.forEach((row, k) => {
    close(byTransform['log-log'].survival[row]!, survival[k]!, 1e-11);
    close(byTransform['log-log'].standardError[row]!, se[k]!, 1e-11);
    for (const [name, expected] of [
      ['log-log', logLog],
      ['plain', plain],
      ['log', log],
    ] as const) {
      close(byTransform[name].lower[row]!, expected[k]![0]!, 1e-10, `${name} lower @${row}`);
      close(byTransform[name].upper[row]!, expected[k]![1]!, 1e-10, `${name} upper @${row}`);
    }
  });
});

test('placebo arm: median 8; survivalAt reads the step function and its left limit', () => {
  const km = kaplanMeier(timePlacebo, eventPlacebo);
  assert.equal(km.medianSurvival, 8);
  close(survivalAt(km, 0.5), 1, 0);
  close(survivalAt(km, 1), 19 / 21, 1e-15);
  close(survivalAt(km, 1, true), 1, 0);
  close(survivalAt(km, 7.9), 12 / 21, 1e-15);
  close(survivalAt(km, 8), 8 / 21, 1e-15);
  // The last row fails at 23: S = 0 there, with undefined SE and interval.
  assert.equal(km.survival.at(-1), 0);
  assert.ok(Number.isNaN(km.standardError.at(-1)!));
  assert.ok(Number.isNaN(km.lower.at(-1)!) && Number.isNaN(km.upper.at(-1)!));
});

test('no events: the curve stays at 1 with a [1, 1] interval and no median', () => {
  const km = kaplanMeier([3, 1, 2], [0, 0, 0]);
  assert.deepEqual(km.survival, [1, 1, 1]);
  assert.deepEqual(km.lower, [1, 1, 1]);
  assert.deepEqual(km.standardError, [0, 0, 0]);
  assert.equal(km.medianSurvival, null);
});

test('a median exactly at S = 0.5 is that time', () => {
  assert.equal(kaplanMeier([1, 2, 3, 4], [1, 1, 1, 1]).medianSurvival, 2);
  // (9/10)(8/9)(7/8)(6/7)(5/6) is 0.5 up to rounding.
  assert.equal(
    kaplanMeier([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [1, 1, 1, 1, 1, 0, 0, 0, 0, 0]).medianSurvival,
    5,
  );
});

test('chi-square upper tail at known quantiles', () => {
  close(chiSquareSurvival(3.841458820694124), 0.05, 1e-14);
  close(chiSquareSurvival(6.634896601021214), 0.01, 1e-14);
  close(chiSquareSurvival(0.5) / 0.479500122187, 1, 1e-11);
  close(chiSquareSurvival(20) / 7.74421643104e-6, 1, 1e-11);
  close(chiSquareSurvival(50) / 1.53745979443e-12, 1, 1e-10);
  close(chiSquareSurvival(1e-6) / 0.999202115572, 1, 1e-11);
  close(chiSquareSurvival(5.991464547107979, 2), 0.05, 1e-14);
  close(chiSquareSurvival(3, 2), Math.exp(-1.5), 1e-15);
  close(chiSquareSurvival(30, 2) / 3.05902320502e-7, 1, 1e-10);
  assert.equal(chiSquareSurvival(0), 1);
  assert.equal(chiSquareSurvival(Number.POSITIVE_INFINITY), 0);
  close(normalCriticalValue(0.95), 1.959963984540054, 1e-12);
  close(normalCriticalValue(0.99), 2.5758293035489, 1e-12);
});

test('log-rank, 6-MP vs placebo, against R survdiff', () => {
  const time = [...time6mp, ...timePlacebo];
  const event = [...event6mp, ...eventPlacebo];
  const group = [...time6mp.map(() => 0 as const), ...timePlacebo.map(() => 1 as const)];
  const result = logRankTest(time, event, group);
  assert.deepEqual(result.observed, [9, 21]);
  close(result.expected[0], 19.250500948, 1e-8);
  close(result.expected[1], 10.749499052, 1e-8);
  close(result.chiSquare, 16.7929409892, 1e-9);
  close(result.pValue / 4.16880910933e-5, 1, 1e-9);
});

test('identical groups give χ² = 0 and p = 1; well separated groups a tiny p', () => {
  const same = logRankTest(
    [...time6mp, ...time6mp],
    [...event6mp, ...event6mp],
    [...time6mp.map(() => 0), ...time6mp.map(() => 1)],
  );
  close(same.chiSquare, 0, 1e-12);
  close(same.pValue, 1, 1e-9);
  const early = Array.from({ length: 20 }, (_, i) => i + 1);
  const late = Array.from({ length: 20 }, (_, i) => i + 100);
  const separated = logRankTest(
    [...early, ...late],
    [...early, ...late].map(() => 1),
    [...early.map(() => 0), ...late.map(() => 1)],
  );
  assert.ok(separated.pValue < 1e-6, `p = ${separated.pValue}`);
  assert.ok(separated.observed[0] > separated.expected[0]);
});

test('one empty group gives NaN; bad input is refused', () => {
  const oneGroup = logRankTest([1, 2, 3], [1, 1, 0], [0, 0, 0]);
  assert.ok(Number.isNaN(oneGroup.chiSquare) && Number.isNaN(oneGroup.pValue));
  assert.throws(() => logRankTest([1, 2], [1, 1], [0, 2]), /group\[1\] must be 0 or 1/);
  assert.throws(() => kaplanMeier([], []), FedpetError);
  assert.throws(() => kaplanMeier([1, Number.NaN], [1, 1]), /time\[1\]/);
  assert.throws(() => kaplanMeier([1], [1], { confidenceLevel: 1.5 }), /confidence level/);
});
