import { dirname, isAbsolute, join, resolve } from 'node:path';
import { idSchema } from '@fedpet/shared/contracts/common';
import type { ExperimentSpec } from '@fedpet/shared/contracts/experiment-spec';
import { readYamlDocument } from '@fedpet/shared/contracts/yaml-document';
import { ErrorCodes, FedpetError } from '@fedpet/shared/errors/fedpet-error';
import { z } from 'zod';

/** A PET-CT dataset: a DICOM tree plus a clinical CSV, registered in the hospital's registry. */
const petCtDatasetSchema = z
  .object({
    kind: z.literal('pet-ct'),
    dicom: z.string().min(1),
    clinical: z.string().min(1),
    tags: z.array(z.string()).default([]),
    columns: z.record(z.string(), z.string()).default({}),
  })
  .strict();
export type FederationPetCtDataset = z.infer<typeof petCtDatasetSchema>;

/**
 * A local federation for `fedpet sandbox`: the hospitals to start and the
 * datasets each one offers (paths relative to the federation file): a CSV
 * path, or a PET-CT dataset. Each hospital's registry and preprocessing cache
 * live in its `dataDir` (default `.trainer-data/<id>` beside the file), so
 * DICOM is parsed once, not at every sandbox run.
 */
const federationSchema = z
  .object({
    name: z.string().min(1),
    hospitals: z
      .array(
        z
          .object({
            id: idSchema,
            datasets: z.record(
              z.string().regex(/^[A-Za-z0-9._-]+$/),
              z.union([z.string().min(1), petCtDatasetSchema]),
            ),
            dataDir: z.string().min(1).optional(),
            /** The hospital's policy: refuse any training job whose update would not be masked. */
            requireSecureAggregation: z.boolean().default(false),
            workers: z.number().int().min(1).max(16).default(1),
            backend: z.enum(['tensorflow', 'wasm', 'cpu']).optional(),
          })
          .strict(),
      )
      .min(1),
  })
  .strict();

export type Federation = z.infer<typeof federationSchema>;

export async function loadFederation(path: string): Promise<Federation> {
  const federation = await readYamlDocument(path, federationSchema);
  const ids = federation.hospitals.map((hospital) => hospital.id);
  if (new Set(ids).size !== ids.length)
    throw new FedpetError(ErrorCodes.invalidSpec, `${path}: hospital ids must be unique`);
  const base = dirname(resolve(path));
  const absolute = (file: string) => (isAbsolute(file) ? file : resolve(base, file));
  for (const hospital of federation.hospitals) {
    for (const [name, dataset] of Object.entries(hospital.datasets)) {
      hospital.datasets[name] =
        typeof dataset === 'string'
          ? absolute(dataset)
          : { ...dataset, dicom: absolute(dataset.dicom), clinical: absolute(dataset.clinical) };
    }
    hospital.dataDir = absolute(hospital.dataDir ?? join('.trainer-data', hospital.id));
  }
  return federation;
}

/** The experiment must only name hospitals of the federation that hold its dataset. */
export function checkExperimentFits(federation: Federation, spec: ExperimentSpec, specPath: string): void {
  for (const id of spec.hospitals) {
    const hospital = federation.hospitals.find((candidate) => candidate.id === id);
    if (!hospital) {
      throw new FedpetError(
        ErrorCodes.invalidSpec,
        `${specPath}: hospital "${id}" is not in federation "${federation.name}"`,
      );
    }
    if (!(spec.dataset in hospital.datasets)) {
      throw new FedpetError(
        ErrorCodes.invalidSpec,
        `${specPath}: hospital "${id}" has no dataset "${spec.dataset}"`,
      );
    }
  }
}
