import { writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { type CohortSummary, generatePetCtCohort } from '@fedpet/shared/imaging/synth/cohort';
import { createRng } from '@fedpet/shared/ml/random';
import { stringify } from 'yaml';

export interface PetCtSynthOptions {
  outDirectory: string;
  hospitals: string[];
  /** One count per hospital, or a [min, max] range drawn per hospital from the seed. */
  patients: { counts: number[] } | { range: [number, number] };
  seed: number;
  /** Coarser PET matrix / thicker slices, for fast tests. */
  grid?: { petMatrix?: number; sliceThicknessMm?: number };
  onProgress?: (line: string, permanent: boolean) => void;
}

/** Patient counts per hospital: given, or drawn uniformly from the range with the seed. */
export function patientCounts(options: Pick<PetCtSynthOptions, 'hospitals' | 'patients' | 'seed'>): number[] {
  if ('counts' in options.patients) {
    const { counts } = options.patients;
    return counts.length === 1 ? options.hospitals.map(() => counts[0]!) : counts;
  }
  const [min, max] = options.patients.range;
  const rng = createRng(options.seed ^ 0x5eed);
  return options.hospitals.map(() => min + rng.int(max - min + 1));
}

/**
 * Writes a synthetic multicentric PET-CT cohort (real DICOM and a clinical
 * CSV per hospital, ground truth beside them) and a federation file offering
 * each hospital's data as the pet-ct dataset "petct".
 */
export async function writeSyntheticPetCtFederation(
  options: PetCtSynthOptions,
): Promise<{ federationPath: string; summary: CohortSummary }> {
  const outDirectory = resolve(options.outDirectory);
  const counts = patientCounts(options);
  const done = new Map<string, number>();
  const total = counts.reduce((a, b) => a + b, 0);
  const summary = await generatePetCtCohort({
    outDirectory,
    hospitals: options.hospitals,
    patientsPerHospital: counts,
    seed: options.seed,
    ...(options.grid ? { grid: options.grid } : {}),
    onProgress: (event) => {
      done.set(event.hospital, event.patient);
      const written = [...done.values()].reduce((a, b) => a + b, 0);
      options.onProgress?.(`synth: ${written}/${total} patients written`, written === total);
    },
  });
  const federation = {
    name: 'synthetic-pet-ct',
    hospitals: summary.hospitals.map((hospital) => ({
      id: hospital.hospital,
      datasets: {
        petct: {
          kind: 'pet-ct',
          dicom: relative(outDirectory, hospital.dicomDirectory),
          clinical: relative(outDirectory, hospital.clinicalCsv),
          tags: ['pet-ct', 'fdg', 'nsclc', 'synthetic', hospital.vendor],
        },
      },
    })),
  };
  const federationPath = join(outDirectory, 'federation.yaml');
  const perHospital = summary.hospitals
    .map((h) => `${h.hospital}: ${h.patients} patients, ${h.vendor}`)
    .join('; ');
  await writeFile(
    federationPath,
    `# Written by fedpet synth --kind pet-ct (seed ${options.seed}; ${perHospital}).\n` +
      "# ground-truth.json beside this file holds every patient's true hazard: trainers never read it.\n" +
      stringify(federation),
  );
  return { federationPath, summary };
}
