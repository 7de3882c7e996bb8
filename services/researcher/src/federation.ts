import { dirname, isAbsolute, resolve } from 'node:path';
import { idSchema } from '@fedpet/shared/contracts/common';
import type { ExperimentSpec } from '@fedpet/shared/contracts/experiment-spec';
import { readYamlDocument } from '@fedpet/shared/contracts/yaml-document';
import { ErrorCodes, FedpetError } from '@fedpet/shared/errors/fedpet-error';
import { z } from 'zod';

/**
 * A local federation for `fedpet sandbox`: the hospitals to start and the
 * datasets each one offers (paths relative to the federation file).
 */
const federationSchema = z
  .object({
    name: z.string().min(1),
    hospitals: z
      .array(
        z
          .object({
            id: idSchema,
            datasets: z.record(z.string().regex(/^[A-Za-z0-9._-]+$/), z.string().min(1)),
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
  for (const hospital of federation.hospitals) {
    for (const [name, file] of Object.entries(hospital.datasets)) {
      hospital.datasets[name] = isAbsolute(file) ? file : resolve(base, file);
    }
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
