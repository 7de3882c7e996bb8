import assert from 'node:assert/strict';
import { join } from 'node:path';
import { cli, runCli } from './run-cli.ts';

/**
 * A small synthetic PET-CT federation written by the real `fedpet synth`
 * (coarse 32² PET matrix, 16 mm slices: seconds, not minutes), for the
 * end-to-end tests. Returns the federation file's path.
 */
export async function writeSmallPetCohort(
  directory: string,
  options: { patients: readonly number[]; seed: number },
): Promise<string> {
  const synth = await runCli(cli.fedpet, [
    'synth',
    '--out',
    directory,
    '--hospitals',
    String(options.patients.length),
    '--patients',
    options.patients.join(','),
    '--pet-matrix',
    '32',
    '--slice-mm',
    '16',
    '--seed',
    String(options.seed),
  ]);
  assert.equal(synth.code, 0, synth.stderr);
  return join(directory, 'federation.yaml');
}
