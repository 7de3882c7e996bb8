import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { generateSyntheticTabular, writeCsv } from '@fedpet/shared/ml/synthetic-cohort';
import { stringify } from 'yaml';

export interface SynthOptions {
  outDirectory: string;
  hospitals: string[];
  rows: number[];
  features: number;
  seed: number;
  shift: number;
}

/**
 * Writes a synthetic non-IID tabular cohort (one CSV per hospital) and a
 * federation file that offers each CSV as dataset "tabular". Stands in for
 * real hospital data in the demo and the tests; PET-CT data come later.
 */
export async function writeSyntheticFederation(
  options: SynthOptions,
): Promise<{ federationPath: string; files: string[] }> {
  const outDirectory = resolve(options.outDirectory);
  await mkdir(outDirectory, { recursive: true });
  const cohort = generateSyntheticTabular({
    hospitals: options.hospitals,
    rowsPerHospital: options.rows.length === 1 ? options.rows[0]! : options.rows,
    features: options.features,
    seed: options.seed,
    shift: options.shift,
  });
  const files: string[] = [];
  for (const hospital of cohort.hospitals) {
    const path = join(outDirectory, `${hospital.hospital}.csv`);
    await writeCsv(path, hospital.table);
    files.push(path);
  }
  const federation = {
    name: 'synthetic',
    hospitals: cohort.hospitals.map((hospital) => ({
      id: hospital.hospital,
      datasets: { tabular: `${hospital.hospital}.csv` },
    })),
  };
  const federationPath = join(outDirectory, 'federation.yaml');
  await writeFile(
    federationPath,
    `# Written by fedpet synth (seed ${options.seed}, ${options.features} features, shift ${options.shift}).\n${stringify(federation)}`,
  );
  return { federationPath, files };
}
