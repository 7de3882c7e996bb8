import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { cli, runCli } from '../support/run-cli.ts';
import { writeSmallPetCohort } from '../support/small-pet-cohort.ts';

/**
 * The imaging plan end to end on CPU: synthetic DICOM → each hospital's
 * cached 32 × 32 SUV MIPs → a 2D CNN with Cox loss trained by FedAvg under
 * secure aggregation on wasm (which needs fedpet's Conv2DBackpropFilter), with
 * the per-round C-index pooled by the aggregator.
 */
let work: string;
let sandboxOutput: string;
let results: {
  status: string;
  rounds: { metrics: Record<string, number>; hospitals: { status: string }[] }[];
};

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'fedpet-mip-'));
  const data = join(work, 'data');
  await writeSmallPetCohort(data, { patients: [16, 18, 20], seed: 13 });
  const spec = parse(await readFile('examples/survival/pet-mip-cnn.yaml', 'utf8'));
  await writeFile(
    join(work, 'experiment.yaml'),
    stringify({
      ...spec,
      rounds: 2,
      validationFraction: 0.4,
      plan: { ...spec.plan, mipSize: 64, filters: [4, 8] },
    }),
  );
  const run = await runCli(
    cli.fedpet,
    [
      'sandbox',
      '--federation',
      join(data, 'federation.yaml'),
      '--experiment',
      join(work, 'experiment.yaml'),
      '--out',
      join(work, 'out'),
    ],
    // Every trainer trains data-parallel on two threads (each job's batches split between
    // them), this small model included (it would train on one thread by default).
    { timeoutMs: 300_000, env: { FEDPET_TRAIN_THREADS: '2', FEDPET_TRAIN_THREADS_MIN_MFLOP: '0' } },
  );
  assert.equal(run.code, 0, `sandbox failed:\n${run.stdout}\n${run.stderr}`);
  sandboxOutput = run.stdout;
  results = JSON.parse(await readFile(join(work, 'out', 'results.json'), 'utf8'));
});

after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

test('a MIP CNN trains at every hospital on wasm, on two threads each, and reports a pooled C-index each round', async () => {
  assert.equal(results.status, 'completed');
  for (const round of results.rounds) {
    assert.ok(round.hospitals.every((h) => h.status === 'ok'));
    assert.ok(round.metrics.valCIndex! > 0 && round.metrics.valCIndex! < 1);
    assert.ok(Number.isFinite(round.metrics.trainLoss));
  }
  const log = await readFile(join(work, 'out', 'logs', 'trainer-h1.log'), 'utf8');
  assert.match(log, /"backend":"wasm"/);
  assert.match(log, /"trainThreads":2/);
  assert.match(log, /job trained data-parallel/);
  assert.match(sandboxOutput, /h1 ready: backend wasm on 2 threads/);
});
