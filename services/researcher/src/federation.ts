import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { idSchema } from '@fedpet/shared/contracts/common';
import type { ExperimentSpec } from '@fedpet/shared/contracts/experiment-spec';
import { formatIssues } from '@fedpet/shared/contracts/frame';
import { ErrorCodes, FedpetError } from '@fedpet/shared/errors/fedpet-error';
import { parse as parseYaml } from 'yaml';
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
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new FedpetError(
      ErrorCodes.invalidSpec,
      `${path}: cannot read: ${(error as NodeJS.ErrnoException).code}`,
    );
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new FedpetError(ErrorCodes.invalidSpec, `${path}: not valid YAML: ${(error as Error).message}`);
  }
  const parsed = federationSchema.safeParse(raw);
  if (!parsed.success)
    throw new FedpetError(ErrorCodes.invalidSpec, `${path}: ${formatIssues(parsed.error.issues)}`);
  const ids = parsed.data.hospitals.map((hospital) => hospital.id);
  if (new Set(ids).size !== ids.length)
    throw new FedpetError(ErrorCodes.invalidSpec, `${path}: hospital ids must be unique`);
  const base = dirname(resolve(path));
  for (const hospital of parsed.data.hospitals) {
    for (const [name, file] of Object.entries(hospital.datasets)) {
      hospital.datasets[name] = isAbsolute(file) ? file : resolve(base, file);
    }
  }
  return parsed.data;
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
