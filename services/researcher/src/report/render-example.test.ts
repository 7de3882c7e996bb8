import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createRng, type Rng } from '@fedpet/shared/ml/random';
import { chiSquareSurvival } from '@fedpet/shared/survival/chi-square';
import type { KaplanMeierGroup, ReportInput, RoundMetrics, WithheldMetric } from './report-model.ts';
import { writeReport } from './write-report.ts';

/**
 * Demo: renders a realistic 10-hospital, 40-round report into a temporary
 * file. Set FEDPET_REPORT_EXAMPLE=/some/path.html to keep a copy to open in a
 * browser. The figures are simulated for the demo, not results of fedpet.
 */

const HOSPITALS = [
  'Centre Antoine-Lacassagne',
  'CHU Lyon',
  'Gustave Roussy',
  'Institut Curie',
  'CHU Bordeaux',
  'CHU Lille',
  'Centre Léon Bérard',
  'CHU Nantes',
  'Institut Bergonié',
  'Hôpital <petit> & Cie',
];
const ROUNDS = 40;
const METRICS = ['cIndex', 'tdAuc180', 'tdAuc365'] as const;

function simulateRounds(rng: Rng): { perRound: RoundMetrics[]; withheld: WithheldMetric[] } {
  const sites = HOSPITALS.map((_, index) => ({
    lossFloor: 2.6 + 0.4 * rng.next(),
    target: 0.62 + 0.1 * rng.next(),
    events: index === HOSPITALS.length - 1 ? 3 : 12 + rng.int(30),
  }));
  const perRound: RoundMetrics[] = [];
  const withheld: WithheldMetric[] = [];
  for (let round = 1; round <= ROUNDS; round += 1) {
    const progress = 1 - Math.exp(-round / 7);
    const hospitals: Record<string, Record<string, number>> = {};
    sites.forEach((site, index) => {
      const name = HOSPITALS[index] ?? `hospital-${index}`;
      const values: Record<string, number> = {
        valLoss: site.lossFloor + 0.9 * (1 - progress) + 0.04 * rng.normal(),
      };
      for (const metric of METRICS) {
        if (site.events < 5) {
          withheld.push({
            round,
            hospital: name,
            metric,
            reason: `${site.events} events in the held-out split (at least 5 needed)`,
          });
          continue;
        }
        values[metric] = 0.5 + (site.target - 0.5) * progress + 0.025 * rng.normal();
      }
      hospitals[name] = values;
    });
    perRound.push({
      round,
      combined: {
        valLoss: 2.75 + 0.9 * (1 - progress) + 0.01 * rng.normal(),
        cIndex: 0.5 + 0.19 * progress + 0.006 * rng.normal(),
        tdAuc180: 0.5 + 0.21 * progress + 0.008 * rng.normal(),
        tdAuc365: 0.5 + 0.2 * progress + 0.008 * rng.normal(),
      },
      hospitals,
    });
  }
  return { perRound, withheld };
}

interface Patient {
  time: number;
  event: boolean;
}

/** Exponential progression times (median ≈ 230 days at average risk), uniform censoring up to 3 years. */
function simulateGroup(rng: Rng, size: number, hazardRatio: number): Patient[] {
  const baseRate = Math.log(2) / 230;
  return Array.from({ length: size }, () => {
    const eventTime = -Math.log(1 - rng.next()) / (baseRate * hazardRatio);
    const censorTime = 60 + rng.next() * 1035;
    return { time: Math.ceil(Math.min(eventTime, censorTime)), event: eventTime <= censorTime };
  });
}

/** Kaplan–Meier with Greenwood's variance (plain 95% band, clipped to [0, 1]); enough for a demo. */
function kaplanMeier(label: string, patients: readonly Patient[]): KaplanMeierGroup {
  const eventTimes = [...new Set(patients.filter((p) => p.event).map((p) => p.time))].sort((a, b) => a - b);
  const group: Required<KaplanMeierGroup> = {
    label,
    times: [],
    survival: [],
    lower: [],
    upper: [],
    atRisk: [],
    censorTimes: patients.filter((p) => !p.event).map((p) => p.time),
  };
  let survival = 1;
  let greenwood = 0;
  for (const time of eventTimes) {
    const atRisk = patients.filter((p) => p.time >= time).length;
    const deaths = patients.filter((p) => p.event && p.time === time).length;
    survival *= 1 - deaths / atRisk;
    greenwood += atRisk > deaths ? deaths / (atRisk * (atRisk - deaths)) : 0;
    const halfWidth = 1.96 * survival * Math.sqrt(greenwood);
    group.times.push(time);
    group.survival.push(survival);
    group.lower.push(Math.max(0, survival - halfWidth));
    group.upper.push(Math.min(1, survival + halfWidth));
    group.atRisk.push(atRisk);
  }
  return group;
}

/** Two-group log-rank test: Σ(O − E)² / Σ V over the pooled event times, χ² with 1 df. */
function logRankP(a: readonly Patient[], b: readonly Patient[]): number {
  const all = [...a, ...b];
  const times = [...new Set(all.filter((p) => p.event).map((p) => p.time))];
  let observedMinusExpected = 0;
  let variance = 0;
  for (const time of times) {
    const n = all.filter((p) => p.time >= time).length;
    const d = all.filter((p) => p.event && p.time === time).length;
    const nA = a.filter((p) => p.time >= time).length;
    const dA = a.filter((p) => p.event && p.time === time).length;
    observedMinusExpected += dA - (d * nA) / n;
    variance += n > 1 ? (d * (nA / n) * (1 - nA / n) * (n - d)) / (n - 1) : 0;
  }
  return chiSquareSurvival((observedMinusExpected * observedMinusExpected) / variance, 1);
}

function exampleInput(): ReportInput {
  const rng = createRng(20250301);
  const { perRound, withheld } = simulateRounds(rng);
  const low = simulateGroup(rng, 160, 0.7);
  const high = simulateGroup(rng, 160, 1.6);
  return {
    title: 'Progression-free survival under immunotherapy: federated PET-CT model',
    generatedAt: '2025-03-01T10:00:00.000Z',
    experiment: {
      id: 'exp-7f3a9c',
      name: 'pet-mip-cnn with clinical covariates, 10 hospitals',
      plan: 'pet-mip-cnn: 2D CNN on coronal and sagittal SUV MIPs + clinical covariates, Cox loss (Efron ties), FedAvg',
      hospitals: HOSPITALS,
      rounds: ROUNDS,
      protection: 'secure aggregation (Bonawitz et al. 2017), threshold 7 of 10',
    },
    perRound,
    withheld,
    kaplanMeier: {
      groups: [kaplanMeier('Predicted low risk', low), kaplanMeier('Predicted high risk', high)],
      logRankP: logRankP(low, high),
      note: 'Patients split at the median predicted risk; pooled held-out splits of all hospitals.',
    },
    comparison: {
      columns: ['C-index', 'td-AUC 6 mo', 'td-AUC 12 mo'],
      rows: [
        { label: 'Federated (FedAvg)', values: [0.694, 0.712, 0.703] },
        { label: 'Centralized (pooled)', values: [0.703, 0.721, 0.709] },
        {
          label: 'Local-only (mean of 10)',
          values: [0.641, 0.655, null],
          note: 'one hospital withheld: 3 events',
        },
        {
          label: 'Oracle (true hazards)',
          values: [0.742, null, null],
          note: 'upper bound from the generator',
        },
      ],
      caption: 'Same plan, budget and seeds; evaluated on every hospital’s held-out split.',
    },
    coxModel: {
      covariates: ['age', 'sex', 'ph.ecog'],
      beta: [0.011232, -0.556593, 0.469216],
      se: [0.00927, 0.16753, 0.11347],
      hr: [0.011232, -0.556593, 0.469216].map(Math.exp),
      ci95: (
        [
          [0.011232, 0.00927],
          [-0.556593, 0.16753],
          [0.469216, 0.11347],
        ] as const
      ).map(([beta, se]): [number, number] => [Math.exp(beta - 1.96 * se), Math.exp(beta + 1.96 * se)]),
      logLik: -724.1193,
      logLikInitial: -739.375,
      method:
        'Exact federated Newton–Raphson (WebDISCO, pooled), Efron ties, NCCTG lung data split by institution',
    },
    notes: ['All figures in this example are simulated for the demo.'],
  };
}

test('renders a realistic example report under 500 KB', async () => {
  const folder = await mkdtemp(join(tmpdir(), 'fedpet-report-example-'));
  try {
    const input = exampleInput();
    const path = process.env.FEDPET_REPORT_EXAMPLE ?? join(folder, 'report.html');
    const { bytes } = await writeReport(path, input);
    const html = await readFile(path, 'utf8');
    assert.ok(bytes < 500 * 1024, `report is ${bytes} bytes`);
    assert.ok(html.startsWith('<!DOCTYPE html>'));
    assert.equal(html.match(/<svg/g)?.length, 5, 'loss, C-index, two td-AUC charts, Kaplan–Meier');
    assert.ok(!/<script|https?:\/\//i.test(html));
    assert.ok(html.includes('Hôpital &lt;petit&gt; &amp; Cie'));
    assert.ok(/Log-rank p (=|&lt;) 0\.\d{3}/.test(html));
    assert.ok(html.includes('likelihood-ratio χ² = 30.51 on 3 df, p &lt; 0.001'));
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});
