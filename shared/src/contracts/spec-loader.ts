import { type ExperimentSpec, experimentSpecSchema } from './experiment-spec.ts';
import { parseYamlDocument, readYamlDocument } from './yaml-document.ts';

/** Parses an experiment spec from YAML or JSON text; errors name the file and field. */
export function parseExperimentSpec(text: string, source: string): ExperimentSpec {
  return parseYamlDocument(text, source, experimentSpecSchema);
}

export function loadExperimentSpec(path: string): Promise<ExperimentSpec> {
  return readYamlDocument(path, experimentSpecSchema);
}
