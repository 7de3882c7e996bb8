import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRng } from '../../ml/random.ts';
import {
  type CaseMix,
  type ClinicalCovariates,
  drawCovariates,
  drawOutcome,
  HAZARD_MODEL,
  linearPredictor,
  type Outcome,
  referenceMeanLinearPredictor,
  weibullScaleDays,
} from './hazard-model.ts';
import { allocateLesionSizes, sphereVolumeMl } from './lesions.ts';

interface Simulated {
  covariates: ClinicalCovariates;
  mtvMl: number;
  outcome: Outcome;
}

/** Patients as the cohort makes them (MTV = the realised lesion volumes), without any imaging. */
function simulate(n: number, seed: number, caseMix: CaseMix = 'standard'): Simulated[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => {
    const covariates = drawCovariates(rng, caseMix);
    const sizes = allocateLesionSizes(rng, covariates.targetMtvMl);
    const mtvMl =
      sphereVolumeMl(sizes.primaryRadiusMm) +
      sizes.metastasisRadiiMm.reduce((s, r) => s + sphereVolumeMl(r), 0);
    return { covariates, mtvMl, outcome: drawOutcome(rng, covariates, mtvMl) };
  });
}

/** Kaplan–Meier median (days): the first time the survival estimate drops to 0.5 or below. */
function kaplanMeierMedian(patients: readonly Simulated[]): number {
  const sorted = [...patients].sort(
    (a, b) => a.outcome.pfsDays - b.outcome.pfsDays || b.outcome.pfsEvent - a.outcome.pfsEvent,
  );
  let survival = 1;
  let atRisk = sorted.length;
  for (const p of sorted) {
    if (p.outcome.pfsEvent === 1) survival *= (atRisk - 1) / atRisk;
    atRisk--;
    if (survival <= 0.5) return p.outcome.pfsDays;
  }
  return Number.POSITIVE_INFINITY;
}

const population = simulate(4000, 20240611);

test('the published direction: the top MTV tercile progresses sooner than the bottom one', () => {
  const byMtv = [...population].sort((a, b) => a.mtvMl - b.mtvMl);
  const third = Math.floor(byMtv.length / 3);
  const low = kaplanMeierMedian(byMtv.slice(0, third));
  const high = kaplanMeierMedian(byMtv.slice(-third));
  assert.ok(high < low, `median PFS high-MTV ${high} d must be below low-MTV ${low} d`);
  // β_mtv = ln 1.7 per SD: the terciles are ~2 SD of log MTV apart, a clear gap.
  assert.ok(high / low < 0.7, `median ratio ${high / low} should show a strong MTV effect`);
});

test('ECOG raises and high PD-L1 lowers the hazard; a later line raises it', () => {
  const median = (filter: (p: Simulated) => boolean) => kaplanMeierMedian(population.filter(filter));
  assert.ok(median((p) => p.covariates.ecog === 2) < median((p) => p.covariates.ecog === 0));
  assert.ok(median((p) => p.covariates.pdl1Tps >= 50) > median((p) => p.covariates.pdl1Tps < 50));
  assert.ok(
    median((p) => p.covariates.treatmentLine === 3) < median((p) => p.covariates.treatmentLine === 1),
  );
});

test('censoring is 20–35 % and the reference median PFS is 7–8 months', () => {
  const censored = population.filter((p) => p.outcome.pfsEvent === 0).length / population.length;
  assert.ok(censored >= 0.2 && censored <= 0.35, `censored fraction ${censored}`);
  const months = kaplanMeierMedian(population) / 30.4375;
  assert.ok(months >= 6 && months <= 9, `population median PFS ${months} months`);
  // Analytically, a patient at the mean linear predictor has exactly the reference median.
  const k = HAZARD_MODEL.weibullShape;
  const eta = referenceMeanLinearPredictor();
  const median = weibullScaleDays() * (Math.LN2 * Math.exp(-eta)) ** (1 / k);
  assert.ok(Math.abs(median - HAZARD_MODEL.referenceMedianPfsDays) < 1e-9);
});

test('lower hazard means more responses, and PD goes with early progression', () => {
  const byEta = [...population].sort((a, b) => a.outcome.linearPredictor - b.outcome.linearPredictor);
  const half = byEta.length / 2;
  const responseRate = (group: readonly Simulated[]) =>
    group.filter((p) => p.outcome.bestResponse === 'CR' || p.outcome.bestResponse === 'PR').length /
    group.length;
  assert.ok(responseRate(byEta.slice(0, half)) > responseRate(byEta.slice(half)) + 0.1);
  const pd = population.filter((p) => p.outcome.bestResponse === 'PD');
  const responders = population.filter(
    (p) => p.outcome.bestResponse === 'PR' || p.outcome.bestResponse === 'CR',
  );
  assert.ok(kaplanMeierMedian(pd) < kaplanMeierMedian(responders));
  for (const response of ['CR', 'PR', 'SD', 'PD']) {
    const share = population.filter((p) => p.outcome.bestResponse === response).length / population.length;
    assert.ok(share > 0.02 && share < 0.5, `${response} share ${share}`);
  }
});

test('linear predictor follows the stated coefficients', () => {
  const base: ClinicalCovariates = {
    ageYears: 60,
    sex: 'F',
    ecog: 0,
    pdl1Tps: 10,
    histology: 'adenocarcinoma',
    treatmentLine: 1,
    targetMtvMl: 40,
  };
  assert.ok(Math.abs(linearPredictor(base, 40)) < 1e-12);
  const m = HAZARD_MODEL;
  const other: ClinicalCovariates = { ...base, ecog: 2, pdl1Tps: 50, treatmentLine: 3 };
  const mtv = 40 * Math.E ** 1.5;
  const expected = 1.5 * Math.log(1.7) + 2 * Math.log(1.5) + Math.log(0.6) + 2 * Math.log(1.3);
  assert.ok(Math.abs(linearPredictor(other, mtv) - expected) < 1e-12);
  assert.equal(m.betaMtvPerSd, Math.log(1.7));
  assert.ok(m.betaEcog > 0 && m.betaPdl1High < 0 && m.betaLine > 0);
  const outcome = drawOutcome(createRng(1), other, mtv);
  assert.ok(Math.abs(outcome.hazardRatio - Math.exp(outcome.linearPredictor)) < 1e-12);
});

test('covariates have the stated ranges and shapes, and are deterministic', () => {
  const covariates = population.map((p) => p.covariates);
  assert.ok(covariates.every((c) => c.ageYears >= 35 && c.ageYears <= 90 && Number.isInteger(c.ageYears)));
  const meanAge = covariates.reduce((s, c) => s + c.ageYears, 0) / covariates.length;
  assert.ok(Math.abs(meanAge - 65) < 1.5);
  assert.ok(covariates.filter((c) => c.ecog <= 1).length / covariates.length > 0.8);
  const zero = covariates.filter((c) => c.pdl1Tps === 0).length / covariates.length;
  const high = covariates.filter((c) => c.pdl1Tps >= 50).length / covariates.length;
  assert.ok(zero > 0.2 && high > 0.25, `PD-L1 0: ${zero}, ≥50: ${high}`);
  assert.ok(covariates.every((c) => Number.isInteger(c.pdl1Tps) && c.pdl1Tps >= 0 && c.pdl1Tps <= 100));
  assert.deepEqual(
    new Set(covariates.map((c) => c.histology)),
    new Set(['adenocarcinoma', 'squamous', 'other']),
  );
  assert.deepEqual(new Set(covariates.map((c) => c.treatmentLine)), new Set([1, 2, 3]));
  const mtvs = population.map((p) => p.mtvMl).sort((a, b) => a - b);
  const medianMtv = mtvs[Math.floor(mtvs.length / 2)] ?? 0;
  assert.ok(medianMtv > 30 && medianMtv < 55, `median MTV ${medianMtv} mL`);
  assert.deepEqual(simulate(50, 3), simulate(50, 3));
});

test("the 'advanced' case mix is sicker and progresses sooner", () => {
  const advanced = simulate(1500, 99, 'advanced');
  const ecog2 = (group: readonly Simulated[]) =>
    group.filter((p) => p.covariates.ecog === 2).length / group.length;
  assert.ok(ecog2(advanced) > ecog2(population) + 0.1);
  assert.ok(kaplanMeierMedian(advanced) < kaplanMeierMedian(population));
});
