import type { Rng } from '../../ml/random.ts';

/**
 * Clinical covariates and outcomes of the synthetic immunotherapy cohort
 * (advanced NSCLC, first to third line).
 *
 * Progression-free survival follows a proportional-hazards model with a
 * Weibull baseline:
 *
 *   h(t | x) = (k / λ) · (t / λ)^(k−1) · exp(η),
 *   η = β_mtv·z + β_ecog·ECOG + β_pdl1·[PD-L1 TPS ≥ 50 %] + β_line·(line − 1),
 *   z = (ln totalMTV − ln 40 mL) / 1.0   (totalMTV in mL, the analytic truth),
 *
 * with β_mtv = ln 1.7 per SD of log MTV (Ling et al. 2022 pooled PFS HR 1.50
 * high vs low; Seban et al. 2020 HR 2.2 above 84 mL: higher MTV, shorter PFS),
 * β_ecog = ln 1.5 per point, β_pdl1 = ln 0.6 (high PD-L1 protects under
 * pembrolizumab), β_line = ln 1.3 per later line, shape k = 1.1. The scale λ
 * is set so that a patient at the reference population's mean η has a median
 * PFS of 7.5 months (Seban et al. 2020: 7.7 months). PFS is drawn by inverse
 * transform: T = λ · (−ln U · e^(−η))^(1/k).
 *
 * Censoring is independent of T and of the covariates: administrative end of
 * follow-up (uniform accrual over 24 months, at least 270 days of follow-up,
 * so 270–1000 days after inclusion) and loss to follow-up, exponential with
 * mean 2400 days. About 27 % of the reference population ends censored (16 %
 * of 'advanced', 35 % of 'pdl1-selected' patients, who progress later).
 *
 * Best overall response (RECIST 1.1) is ordinal in a latent score
 * −η + 0.9·w + 0.6·ε, where w = ln(−ln U) = ln H(T) is the patient's own PFS
 * residual (larger: later progression than η predicts, so PD goes with early
 * progression) and ε ~ N(0, 1): lower hazard, more responses. Thresholds
 * give about 6 % CR, 31 % PR, 32 % SD, 31 % PD in the reference population
 * (simulated).
 *
 * Nothing here is a measurement: the true η and hazard ratio go to the ground
 * truth file only, never to the clinical CSV.
 */
export const HAZARD_MODEL = {
  betaMtvPerSd: Math.log(1.7),
  betaEcog: Math.log(1.5),
  betaPdl1High: Math.log(0.6),
  betaLine: Math.log(1.3),
  /** Centre and spread of ln(total MTV in mL) that define z. */
  mtvLogCentre: Math.log(40),
  mtvLogSd: 1.0,
  pdl1HighThreshold: 50,
  weibullShape: 1.1,
  /** Median PFS (days) of a patient at the reference population's mean η: 7.5 months. */
  referenceMedianPfsDays: 7.5 * 30.4375,
  accrualDays: 730,
  minimumFollowUpDays: 270,
  lossToFollowUpMeanDays: 2400,
  response: { residualWeight: 0.9, noiseSd: 0.6, thresholds: { sd: -1.3, pr: -0.1, cr: 1.35 } },
} as const;

export type Sex = 'M' | 'F';
export type Histology = 'adenocarcinoma' | 'squamous' | 'other';
export type BestResponse = 'CR' | 'PR' | 'SD' | 'PD';
export type Ecog = 0 | 1 | 2;
export type TreatmentLine = 1 | 2 | 3;

/**
 * A hospital's patient population. 'standard' is the reference used to
 * calibrate the baseline; 'advanced' refers sicker, more pretreated patients
 * with more tumour; 'pdl1-selected' mostly treats PD-L1-high tumours (first
 * line pembrolizumab alone).
 */
export type CaseMix = 'standard' | 'advanced' | 'pdl1-selected';

interface CaseMixDistribution {
  ecog: readonly [number, number, number];
  line: readonly [number, number, number];
  /** P(TPS = 0), P(1 ≤ TPS ≤ 49), P(TPS ≥ 50). */
  pdl1: readonly [number, number, number];
  /** Added to the mean of ln(target MTV). */
  mtvLogShift: number;
}

export const CASE_MIXES: Readonly<Record<CaseMix, CaseMixDistribution>> = {
  standard: { ecog: [0.45, 0.45, 0.1], line: [0.65, 0.25, 0.1], pdl1: [0.3, 0.35, 0.35], mtvLogShift: 0 },
  advanced: { ecog: [0.2, 0.5, 0.3], line: [0.45, 0.35, 0.2], pdl1: [0.3, 0.35, 0.35], mtvLogShift: 0.5 },
  'pdl1-selected': {
    ecog: [0.5, 0.45, 0.05],
    line: [0.85, 0.12, 0.03],
    pdl1: [0.1, 0.15, 0.75],
    mtvLogShift: -0.1,
  },
};

export interface ClinicalCovariates {
  ageYears: number;
  sex: Sex;
  ecog: Ecog;
  /** Tumour proportion score, integer percent 0–100. */
  pdl1Tps: number;
  histology: Histology;
  treatmentLine: TreatmentLine;
  /** The tumour burden the phantom aims for; the truth is what the phantom realises. */
  targetMtvMl: number;
}

export interface Outcome {
  linearPredictor: number;
  /** exp(η): hazard relative to the Weibull baseline. */
  hazardRatio: number;
  pfsDays: number;
  pfsEvent: 0 | 1;
  bestResponse: BestResponse;
}

function categorical(rng: Rng, probabilities: readonly number[]): number {
  const u = rng.next();
  let cumulative = 0;
  for (let i = 0; i < probabilities.length; i++) {
    cumulative += probabilities[i] ?? 0;
    if (u < cumulative) return i;
  }
  return probabilities.length - 1;
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}

/** Draws one patient's baseline covariates for a hospital's case mix. */
export function drawCovariates(rng: Rng, caseMix: CaseMix): ClinicalCovariates {
  const mix = CASE_MIXES[caseMix];
  const ageYears = Math.round(clamp(65 + 9 * rng.normal(), 35, 90));
  const sex: Sex = rng.next() < 0.62 ? 'M' : 'F';
  const ecog = categorical(rng, mix.ecog) as Ecog;
  const pdl1Band = categorical(rng, mix.pdl1);
  const pdl1Tps = pdl1Band === 0 ? 0 : pdl1Band === 1 ? 1 + rng.int(49) : 50 + rng.int(51);
  const histologyIndex = categorical(rng, [0.62, 0.28, 0.1]);
  const histology: Histology =
    histologyIndex === 0 ? 'adenocarcinoma' : histologyIndex === 1 ? 'squamous' : 'other';
  const treatmentLine = (1 + categorical(rng, mix.line)) as TreatmentLine;
  const logMtv = HAZARD_MODEL.mtvLogCentre + mix.mtvLogShift + HAZARD_MODEL.mtvLogSd * rng.normal();
  const targetMtvMl = clamp(Math.exp(logMtv), 3, 450);
  return { ageYears, sex, ecog, pdl1Tps, histology, treatmentLine, targetMtvMl };
}

/** η for given covariates and the true total MTV (mL). */
export function linearPredictor(covariates: ClinicalCovariates, totalMtvMl: number): number {
  if (!(totalMtvMl > 0)) throw new RangeError('total MTV must be positive');
  const m = HAZARD_MODEL;
  const z = (Math.log(totalMtvMl) - m.mtvLogCentre) / m.mtvLogSd;
  const pdl1High = covariates.pdl1Tps >= m.pdl1HighThreshold ? 1 : 0;
  return (
    m.betaMtvPerSd * z +
    m.betaEcog * covariates.ecog +
    m.betaPdl1High * pdl1High +
    m.betaLine * (covariates.treatmentLine - 1)
  );
}

/** Mean η of the reference ('standard') population, with E[z] = 0 by construction. */
export function referenceMeanLinearPredictor(): number {
  const m = HAZARD_MODEL;
  const mix = CASE_MIXES.standard;
  const meanEcog = mix.ecog[1] + 2 * mix.ecog[2];
  const meanExtraLines = mix.line[1] + 2 * mix.line[2];
  return m.betaEcog * meanEcog + m.betaPdl1High * mix.pdl1[2] + m.betaLine * meanExtraLines;
}

/** Weibull scale λ (days) such that η = referenceMean has the reference median PFS. */
export function weibullScaleDays(): number {
  const k = HAZARD_MODEL.weibullShape;
  // median(η) = λ · (ln 2 · e^(−η))^(1/k)  ⇒  λ = median · e^(η̄/k) / (ln 2)^(1/k)
  return (
    (HAZARD_MODEL.referenceMedianPfsDays * Math.exp(referenceMeanLinearPredictor() / k)) /
    Math.log(2) ** (1 / k)
  );
}

function openUnit(rng: Rng): number {
  let u = rng.next();
  while (u === 0) u = rng.next();
  return u;
}

/** Draws PFS, censoring and best response given the true total MTV. */
export function drawOutcome(rng: Rng, covariates: ClinicalCovariates, totalMtvMl: number): Outcome {
  const m = HAZARD_MODEL;
  const eta = linearPredictor(covariates, totalMtvMl);
  const k = m.weibullShape;
  const u = openUnit(rng);
  const cumulativeHazard = -Math.log(u);
  const eventDays = weibullScaleDays() * (cumulativeHazard * Math.exp(-eta)) ** (1 / k);
  const adminDays = m.minimumFollowUpDays + m.accrualDays * rng.next();
  const lossDays = -m.lossToFollowUpMeanDays * Math.log(openUnit(rng));
  const censorDays = Math.min(adminDays, lossDays);
  const pfsEvent: 0 | 1 = eventDays <= censorDays ? 1 : 0;
  const pfsDays = Math.max(1, Math.round(Math.min(eventDays, censorDays)));

  const residual = Math.log(cumulativeHazard);
  const latent = -eta + m.response.residualWeight * residual + m.response.noiseSd * rng.normal();
  const t = m.response.thresholds;
  const bestResponse: BestResponse =
    latent >= t.cr ? 'CR' : latent >= t.pr ? 'PR' : latent >= t.sd ? 'SD' : 'PD';
  return { linearPredictor: eta, hazardRatio: Math.exp(eta), pfsDays, pfsEvent, bestResponse };
}
