import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { createRng } from '../../shared/src/ml/random.ts';
import { cli, runCli } from '../support/run-cli.ts';

/**
 * Bad survival input at some hospitals of a real federation (separate
 * processes, real brokers, secure aggregation of 3 hospitals, t = 2): one
 * hospital lacks a column the plan names, one has only censored patients.
 * The first fails its job with an error naming the column; the second trains
 * but withholds its metrics; every round goes on with the others.
 */
let work: string;
let results: {
  status: string;
  rounds: {
    hospitals: {
      hospital: string;
      status: string;
      code?: string;
      reason?: string;
      metrics?: Record<string, number>;
    }[];
    metrics: Record<string, number>;
  }[];
};

function survivalCsv(
  seed: number,
  rows: number,
  options: { allCensored?: boolean; dropColumn?: string } = {},
): string {
  const rng = createRng(seed);
  const columns = ['x1', 'x2', 'time', 'event'].filter((c) => c !== options.dropColumn);
  const lines = [columns.join(',')];
  for (let i = 0; i < rows; i++) {
    const x1 = rng.normal();
    const x2 = rng.normal();
    const time = Math.max(1, Math.round((-Math.log(1 - rng.next()) / Math.exp(0.8 * x1 - 0.4 * x2)) * 300));
    const event = options.allCensored ? 0 : rng.next() < 0.75 ? 1 : 0;
    const values: Record<string, number> = { x1, x2, time, event };
    lines.push(columns.map((c) => Number(values[c]!.toFixed(4))).join(','));
  }
  return `${lines.join('\n')}\n`;
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'fedpet-survival-bad-'));
  await writeFile(join(work, 'h1.csv'), survivalCsv(1, 80));
  await writeFile(join(work, 'h2.csv'), survivalCsv(2, 60, { allCensored: true }));
  await writeFile(join(work, 'h3.csv'), survivalCsv(3, 70, { dropColumn: 'x2' }));
  await writeFile(
    join(work, 'federation.yaml'),
    stringify({
      name: 'survival-bad',
      hospitals: ['h1', 'h2', 'h3'].map((id) => ({ id, datasets: { surv: `${id}.csv` } })),
    }),
  );
  await writeFile(
    join(work, 'experiment.yaml'),
    stringify({
      name: 'survival-bad',
      plan: { kind: 'clinical-cox', features: ['x1', 'x2'], time: 'time', event: 'event' },
      dataset: 'surv',
      hospitals: ['h1', 'h2', 'h3'],
      rounds: 2,
      hyperparameters: { localEpochs: 2, batchSize: 32, learningRate: 0.05, optimizer: 'adam' },
      validationFraction: 0.3,
      roundTimeoutSeconds: 60,
      secureAggregation: { phaseTimeoutSeconds: 10 },
    }),
  );
  const run = await runCli(
    cli.fedpet,
    [
      'sandbox',
      '--federation',
      join(work, 'federation.yaml'),
      '--experiment',
      join(work, 'experiment.yaml'),
      '--out',
      join(work, 'out'),
    ],
    { timeoutMs: 240_000 },
  );
  assert.equal(run.code, 0, `sandbox failed:\n${run.stdout}\n${run.stderr}`);
  results = JSON.parse(await readFile(join(work, 'out', 'results.json'), 'utf8'));
});

after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

test('a hospital without a column the plan names fails with the column named; the rounds go on', () => {
  assert.equal(results.status, 'completed');
  for (const round of results.rounds) {
    const byHospital = Object.fromEntries(round.hospitals.map((h) => [h.hospital, h]));
    assert.equal(byHospital.h1!.status, 'ok');
    assert.equal(byHospital.h2!.status, 'ok');
    assert.equal(byHospital.h3!.status, 'failed');
    assert.match(byHospital.h3!.reason ?? '', /missing column 'x2'/);
  }
});

test('an all-censored hospital trains but withholds its survival metrics', () => {
  for (const round of results.rounds) {
    const h2 = round.hospitals.find((h) => h.hospital === 'h2')!;
    assert.equal(h2.metrics?.valWithheldFewEvents, 1);
    assert.equal(h2.metrics?.valCIndex, undefined);
    const h1 = round.hospitals.find((h) => h.hospital === 'h1')!;
    assert.ok((h1.metrics?.valCIndex ?? 0) > 0);
    // The combined C-index comes from h1's pairs alone.
    assert.equal(
      round.metrics.valCIndex,
      h1.metrics!.valCIndexConcordant! / h1.metrics!.valCIndexComparable!,
    );
  }
});
