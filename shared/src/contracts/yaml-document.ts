import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import { formatIssues } from './frame.ts';

/**
 * Parses a YAML (or JSON, a subset) document against a schema. Every error
 * is INVALID_SPEC and names the source and the offending fields.
 */
export function parseYamlDocument<S extends z.ZodType>(text: string, source: string, schema: S): z.infer<S> {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new FedpetError(
      ErrorCodes.invalidSpec,
      `${source}: not valid YAML/JSON: ${(error as Error).message}`,
    );
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success)
    throw new FedpetError(ErrorCodes.invalidSpec, `${source}: ${formatIssues(parsed.error.issues)}`);
  return parsed.data;
}

export async function readYamlDocument<S extends z.ZodType>(path: string, schema: S): Promise<z.infer<S>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new FedpetError(
      ErrorCodes.invalidSpec,
      `${path}: cannot read: ${(error as NodeJS.ErrnoException).code}`,
    );
  }
  return parseYamlDocument(text, path, schema);
}
