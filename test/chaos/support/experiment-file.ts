import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

const EXAMPLE = fileURLToPath(new URL('../../../examples/tabular/experiment.yaml', import.meta.url));

type Json = Record<string, unknown>;

/**
 * Writes a scenario's experiment: examples/tabular/experiment.yaml with the
 * given fields replaced (objects merged one level deep, e.g.
 * `secureAggregation: { enabled: false }` keeps the other defaults).
 */
export async function writeExperiment(path: string, fields: Json): Promise<void> {
  const spec = parse(await readFile(EXAMPLE, 'utf8')) as Json;
  for (const [key, value] of Object.entries(fields)) {
    const current = spec[key];
    spec[key] = isObject(value) && isObject(current) ? { ...current, ...value } : value;
  }
  await writeFile(path, stringify(spec));
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
