import { join } from 'node:path';
import { cli, runCli } from '../../support/run-cli.ts';

/** The suite's data and keys, written once by the real CLI and shared by every scenario. */
export interface Cohort {
  hospitals: readonly { id: string; csv: string }[];
  /** What `fedpet keys generate` wrote: a private key file per party and federation-keys.yaml. */
  keysDirectory: string;
}

/**
 * A small non-IID tabular cohort (`fedpet synth --kind tabular`) and the
 * federation's key set (`fedpet keys generate`). Small on purpose: a
 * fault-free experiment takes seconds, so every fault lands inside one.
 */
export async function prepareCohort(
  directory: string,
  options: { hospitals: readonly string[]; rows: readonly number[]; seed: number },
): Promise<Cohort> {
  const data = join(directory, 'data');
  const keysDirectory = join(directory, 'keys');
  const ids = options.hospitals.join(',');
  const steps = [
    ['synth', '--kind', 'tabular', '--out', data, '--hospitals', ids, '--rows', options.rows.join(',')],
    ['keys', 'generate', '--out', keysDirectory, '--hospitals', ids],
  ];
  steps[0]!.push('--seed', String(options.seed));
  for (const args of steps) {
    const result = await runCli(cli.fedpet, args);
    if (result.code !== 0) throw new Error(`fedpet ${args.join(' ')} failed:\n${result.stderr}`);
  }
  return {
    hospitals: options.hospitals.map((id) => ({ id, csv: join(data, `${id}.csv`) })),
    keysDirectory,
  };
}
