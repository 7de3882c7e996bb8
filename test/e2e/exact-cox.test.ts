import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { lungSite, R_LUNG } from '../../shared/src/cox/cox-r-reference.ts';
import { cli, runCli } from '../support/run-cli.ts';

/**
 * Exact federated Cox regression end to end: the NCCTG lung data split into
 * four pseudo-hospitals by institution, each a separate trainer process with
 * its own CSV, the aggregator running Newton–Raphson over the real brokers.
 * The fits must equal R survival's on the pooled rows (stratified by
 * hospital, and pooled via WebDISCO) to 1e-6 relative.
 */
let work: string;
const hospitals = ['h1', 'h2', 'h3', 'h4'];

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'fedpet-cox-'));
  const [header, ...lines] = (await readFile('test/fixtures/lung.csv', 'utf8')).trim().split('\n');
  const columns = header!.split(',').map((name) => name.replace(/"/g, ''));
  const at = (name: string) => columns.indexOf(name);
  const byHospital = new Map<string, string[]>(hospitals.map((h) => [h, []]));
  for (const line of lines) {
    const cells = line.split(',');
    const used = ['inst', 'time', 'status', 'age', 'sex', 'ph.ecog'].map((name) => cells[at(name)] ?? '');
    if (used.some((cell) => cell === '' || cell === 'NA')) continue;
    const [inst, time, status, age, sex, ecog] = used;
    const hospital = `h${lungSite(Number(inst)).slice(1)}`;
    byHospital.get(hospital)!.push([age, sex, ecog, time, Number(status) === 2 ? 1 : 0].join(','));
  }
  const datasets: { id: string; datasets: { lung: string } }[] = [];
  for (const [hospital, rows] of byHospital) {
    await writeFile(join(work, `${hospital}.csv`), `age,sex,ph_ecog,time,event\n${rows.join('\n')}\n`);
    datasets.push({ id: hospital, datasets: { lung: `${hospital}.csv` } });
  }
  assert.equal(
    [...byHospital.values()].reduce((n, rows) => n + rows.length, 0),
    R_LUNG.n,
  );
  await writeFile(join(work, 'federation.yaml'), stringify({ name: 'lung', hospitals: datasets }));
});

after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

async function fit(name: string, plan: Record<string, unknown>) {
  const experiment = join(work, `${name}.yaml`);
  await writeFile(
    experiment,
    stringify({
      name,
      plan: { kind: 'exact-cox', features: ['age', 'sex', 'ph_ecog'], time: 'time', event: 'event', ...plan },
      dataset: 'lung',
      hospitals,
      rounds: 1,
      roundTimeoutSeconds: 60,
    }),
  );
  const run = await runCli(
    cli.fedpet,
    [
      'sandbox',
      '--federation',
      join(work, 'federation.yaml'),
      '--experiment',
      experiment,
      '--out',
      join(work, name),
    ],
    { timeoutMs: 180_000 },
  );
  assert.equal(run.code, 0, `sandbox failed:\n${run.stdout}\n${run.stderr}`);
  const results = JSON.parse(await readFile(join(work, name, 'results.json'), 'utf8'));
  return { results, stdout: run.stdout };
}

function assertMatchesR(
  cox: { beta: number[]; se: number[]; logLik: number; logLikInitial: number; converged: boolean },
  reference: {
    coefficients: readonly number[];
    standardErrors: readonly number[];
    logLik: number;
    logLikInitial: number;
  },
) {
  const close = (actual: number, expected: number, what: string) =>
    assert.ok(
      Math.abs(actual - expected) <= 1e-6 * Math.abs(expected),
      `${what}: ${actual} vs R ${expected}`,
    );
  assert.ok(cox.converged);
  for (const [i, b] of reference.coefficients.entries()) close(cox.beta[i]!, b, `beta[${i}]`);
  for (const [i, se] of reference.standardErrors.entries()) close(cox.se[i]!, se, `se[${i}]`);
  close(cox.logLik, reference.logLik, 'log-likelihood');
  close(cox.logLikInitial, reference.logLikInitial, 'initial log-likelihood');
}

test('stratified by hospital (Efron): the federated Newton–Raphson fit equals R to 1e-6', async () => {
  const { results, stdout } = await fit('stratified', { ties: 'efron', stratified: true });
  assert.equal(results.status, 'completed');
  assertMatchesR(results.coxModel, R_LUNG.stratified.efron);
  // One round per likelihood evaluation, every hospital in each.
  assert.ok(results.rounds.length >= R_LUNG.stratified.efron.iterations);
  for (const round of results.rounds)
    assert.ok(round.hospitals.every((h: { status: string }) => h.status === 'ok'));
  assert.match(stdout, /Cox model \(stratified by hospital, efron ties\)/);
  assert.match(stdout, /ph_ecog/);
});

test('pooled via WebDISCO (Breslow), with the event-time grid shared by consent: equals R to 1e-6', async () => {
  const { results } = await fit('pooled', { ties: 'breslow', stratified: false, revealEventTimes: true });
  assert.equal(results.status, 'completed');
  assert.equal(results.rounds[0].step, 'event-times');
  assertMatchesR(results.coxModel, R_LUNG.pooled.breslow);
});

test('a pooled fit without revealEventTimes is refused before anything runs', async () => {
  const experiment = join(work, 'refused.yaml');
  await writeFile(
    experiment,
    stringify({
      name: 'refused',
      plan: { kind: 'exact-cox', features: ['age'], time: 'time', event: 'event', stratified: false },
      dataset: 'lung',
      hospitals,
      rounds: 1,
    }),
  );
  const run = await runCli(cli.fedpet, [
    'sandbox',
    '--federation',
    join(work, 'federation.yaml'),
    '--experiment',
    experiment,
    '--out',
    join(work, 'refused'),
  ]);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /revealEventTimes/);
});
