import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import { type ExperimentSpec, experimentSpecSchema } from './experiment-spec.ts';
import { formatIssues } from './frame.ts';

/** Parses an experiment spec from YAML or JSON text; errors name the file and field. */
export function parseExperimentSpec(text: string, source: string): ExperimentSpec {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new FedpetError(
      ErrorCodes.invalidSpec,
      `${source}: not valid YAML/JSON: ${(error as Error).message}`,
    );
  }
  const parsed = experimentSpecSchema.safeParse(raw);
  if (!parsed.success) {
    throw new FedpetError(ErrorCodes.invalidSpec, `${source}: ${formatIssues(parsed.error.issues)}`);
  }
  return parsed.data;
}

export async function loadExperimentSpec(path: string): Promise<ExperimentSpec> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new FedpetError(
      ErrorCodes.invalidSpec,
      `${path}: cannot read: ${(error as NodeJS.ErrnoException).code}`,
    );
  }
  return parseExperimentSpec(text, path);
}
