import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { cli, runCli } from '../support/run-cli.ts';
import { writeSmallPetCohort } from '../support/small-pet-cohort.ts';

/**
 * `fedpet compare` on a small synthetic PET-CT federation: federated through
 * the real brokers (secure aggregation of 3 hospitals), centralized and
 * local-only in process, all scored on every hospital's held-out split next
 * to the generator's true hazards, with the HTML report written offline.
 */
let work: string;
let stdout = '';
let comparison: { scores: Record<string, { cIndex: number; tdAuc365: number }>; logRankP: number | null };

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'fedpet-compare-'));
  const data = join(work, 'data');
  await writeSmallPetCohort(data, { patients: [14, 16, 18], seed: 11 });
  const spec = parse(await readFile('examples/survival/clinical-cox.yaml', 'utf8'));
  await writeFile(
    join(work, 'experiment.yaml'),
    stringify({
      ...spec,
      rounds: 3,
      validationFraction: 0.4,
      hyperparameters: { ...spec.hyperparameters, localEpochs: 2 },
    }),
  );
  const run = await runCli(
    cli.fedpet,
    [
      'compare',
      '--federation',
      join(data, 'federation.yaml'),
      '--experiment',
      join(work, 'experiment.yaml'),
      '--out',
      join(work, 'out'),
    ],
    { timeoutMs: 300_000 },
  );
  assert.equal(run.code, 0, `compare failed:\n${run.stdout}\n${run.stderr}`);
  stdout = run.stdout;
  comparison = JSON.parse(await readFile(join(work, 'out', 'comparison.json'), 'utf8'));
});

after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

test('federated, centralized, each local model and the oracle are scored side by side', () => {
  const labels = Object.keys(comparison.scores);
  for (const label of [
    'federated',
    'centralized',
    'local h1',
    'local h2',
    'local h3',
    'local-only (mean)',
    'oracle (true hazards)',
  ]) {
    assert.ok(labels.includes(label), `${label} missing from ${labels.join(', ')}`);
    const c = comparison.scores[label]!.cIndex;
    assert.ok(c > 0 && c < 1, `${label}: C-index ${c}`);
  }
  // The generator's hazards depend on MTV, ECOG, PD-L1 and line: the oracle ranks better than chance.
  assert.ok(comparison.scores['oracle (true hazards)']!.cIndex > 0.55);
  assert.match(stdout, /model\s+C-index\s+td-AUC 6 months\s+td-AUC 12 months/);
  assert.ok(comparison.logRankP !== null && comparison.logRankP >= 0 && comparison.logRankP <= 1);
});

test('the report is one offline HTML file with the curves, the Kaplan–Meier plot and the table', async () => {
  const html = await readFile(join(work, 'out', 'report.html'), 'utf8');
  assert.match(html, /^<!DOCTYPE html>/);
  assert.ok((html.match(/<svg/g) ?? []).length >= 3, 'per-round charts and the Kaplan–Meier plot');
  assert.match(html, /log-rank/i);
  assert.match(html, /oracle \(true hazards\)/);
  assert.ok(!/<script|https?:\/\//.test(html), 'nothing to fetch, nothing to run');
  // The federated run's own report, written by the sandbox.
  const sandboxHtml = await readFile(join(work, 'out', 'federated', 'report.html'), 'utf8');
  assert.match(sandboxHtml, /C-index/);
});
