import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { cli, runCli } from '../support/run-cli.ts';

/**
 * A plan that requires a GPU worker, at hospitals whose workers have none:
 * each hospital is reported NO_GPU_WORKER at once (its workers' heartbeats
 * say so), instead of its job waiting for the round deadline.
 */
let work: string;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'fedpet-gpu-'));
  const synth = await runCli(cli.fedpet, [
    'synth',
    '--kind',
    'tabular',
    '--out',
    join(work, 'data'),
    '--rows',
    '40',
  ]);
  assert.equal(synth.code, 0, synth.stderr);
  await writeFile(
    join(work, 'experiment.yaml'),
    stringify({
      name: 'needs-gpu',
      plan: {
        kind: 'pet-ct-3dcnn',
        cropSize: 8,
        channels: ['pet'],
        filters: [2],
        denseUnits: 2,
        requiresGpu: true,
      },
      dataset: 'tabular',
      hospitals: ['h1', 'h2', 'h3'],
      rounds: 1,
      roundTimeoutSeconds: 600,
    }),
  );
});

after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

test('CPU-only hospitals answer NO_GPU_WORKER at once and the experiment ends with a clear error', async () => {
  const started = Date.now();
  const run = await runCli(
    cli.fedpet,
    [
      'sandbox',
      '--federation',
      join(work, 'data', 'federation.yaml'),
      '--experiment',
      join(work, 'experiment.yaml'),
      '--out',
      join(work, 'out'),
    ],
    { timeoutMs: 120_000 },
  );
  assert.equal(run.code, 1, run.stdout);
  assert.ok(Date.now() - started < 100_000, 'not left waiting for the 600 s round deadline');
  const results = JSON.parse(await readFile(join(work, 'out', 'results.json'), 'utf8'));
  assert.equal(results.status, 'failed');
  for (const hospital of ['h1', 'h2', 'h3']) {
    assert.match(run.stdout, new RegExp(`${hospital}: failed NO_GPU_WORKER`));
  }
});
