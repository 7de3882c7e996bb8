import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ErrorCodes, FedpetError } from '@fedpet/shared/errors/fedpet-error';
import { resolveClinicalColumns } from '@fedpet/shared/imaging/clinical/clinical-columns';
import { loadPetCtDataset } from '@fedpet/shared/imaging/pipeline/pet-ct-dataset';
import { formatInspectJson, formatInspectText, formatLoadSummary } from './inspect-view.ts';
import { createLoadProgressPrinter } from './load-progress.ts';
import { type DatasetEntry, datasetNameSchema, datasetTagSchema, RegistryStore } from './registry-store.ts';

export const DATASET_HELP = `fedpet-trainer dataset — this hospital's dataset registry

Usage:
  fedpet-trainer dataset add --name <name> --kind pet-ct --dicom <dir> --clinical <file.csv>
                             [--tags <t1,t2>] [--column <field>=<csv column> ...] [--replace]
  fedpet-trainer dataset add --name <name> --kind csv --clinical <file.csv> [--tags <t1,t2>]
  fedpet-trainer dataset list [--json]
  fedpet-trainer dataset remove <name>
  fedpet-trainer dataset inspect <name | dicom-dir> [--clinical <file.csv>] [--json]

Options:
  --data-dir <dir>   where the registry (datasets.json) and the preprocessing
                     cache live                  FEDPET_DATA_DIR, default ~/.fedpet/trainer
  --replace          replace a registered dataset of the same name
  --column f=c       read clinical field f from CSV column c (fields: patient_id, age,
                     sex, ecog, pdl1_tps, histology, treatment_line, pfs_days,
                     pfs_event, best_response)

"add" of a pet-ct dataset reads the DICOM tree once: SUV volumes, radiomics
and fixed-size tensors are cached under the data directory, keyed by a content
hash of the files and the preprocessing settings, and every later load (each
trainer start, each round) reuses them. "inspect" shows, per patient, the
series found, the SUV factor and how it was derived, the radiomic features and
any problem. It runs on this hospital's machine only: the trainer shares
counts, shapes, tags and event counts, never identifiers or dates.`;

export function dataDirectory(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  return resolve(flag ?? env.FEDPET_DATA_DIR ?? join(homedir(), '.fedpet', 'trainer'));
}

function usage(message: string): FedpetError {
  return new FedpetError(ErrorCodes.invalidConfig, `dataset ${message} (see fedpet-trainer dataset --help)`);
}

function parseTags(text: string | undefined): string[] {
  if (text === undefined || text.trim() === '') return [];
  const tags = text
    .split(',')
    .map((tag) => tag.trim())
    .filter((tag) => tag !== '');
  for (const tag of tags) {
    if (!datasetTagSchema.safeParse(tag).success)
      throw usage(`add: tag "${tag}" must be letters, digits and . _ : -`);
  }
  return [...new Set(tags)];
}

function parseColumns(pairs: readonly string[] | undefined): Record<string, string> {
  const columns: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const match = /^([A-Za-z_]+)=(.+)$/.exec(pair);
    if (!match) throw usage(`add: --column "${pair}" must be <field>=<csv column>`);
    columns[match[1]!] = match[2]!;
  }
  try {
    resolveClinicalColumns(columns);
  } catch (error) {
    throw usage(`add: ${(error as Error).message}`);
  }
  return columns;
}

/** Runs `fedpet-trainer dataset <subcommand> ...`; returns the exit code. */
export async function runDatasetCommand(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      name: { type: 'string' },
      kind: { type: 'string' },
      dicom: { type: 'string' },
      clinical: { type: 'string' },
      csv: { type: 'string' },
      tags: { type: 'string' },
      column: { type: 'string', multiple: true },
      json: { type: 'boolean' },
      replace: { type: 'boolean' },
      'data-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  });
  const [subcommand, ...rest] = positionals;
  if (values.help || subcommand === undefined || subcommand === 'help') {
    process.stdout.write(`${DATASET_HELP}\n`);
    return subcommand === undefined && !values.help ? 2 : 0;
  }
  const store = new RegistryStore(dataDirectory(values['data-dir'], env));
  switch (subcommand) {
    case 'add': {
      const name = values.name;
      if (name === undefined) throw usage('add: --name is required');
      if (!datasetNameSchema.safeParse(name).success)
        throw usage(`add: name "${name}" must be letters, digits, . _ - (≤ 64)`);
      const tags = parseTags(values.tags);
      const addedAt = new Date().toISOString();
      let entry: DatasetEntry;
      if (values.kind === 'pet-ct') {
        if (values.dicom === undefined || values.clinical === undefined) {
          throw usage('add: a pet-ct dataset needs --dicom <dir> and --clinical <file.csv>');
        }
        entry = {
          name,
          kind: 'pet-ct',
          dicom: resolve(values.dicom),
          clinical: resolve(values.clinical),
          columns: parseColumns(values.column),
          tags,
          addedAt,
        };
        if (!values.replace && (await store.get(name))) {
          throw usage(`add: a dataset named "${name}" is already registered (use --replace)`);
        }
        // Read it now: problems show at once, and the cache makes every trainer start fast.
        const progress = createLoadProgressPrinter(`dataset ${name}`);
        const dataset = await loadPetCtDataset({
          dicomDirectory: entry.dicom,
          clinicalFile: entry.clinical,
          columns: resolveClinicalColumns(entry.columns),
          cacheDirectory: store.cacheDirectory,
          onProgress: (event) => progress.onProgress(event),
        });
        progress.done();
        if (values.replace) await store.remove(name);
        await store.add(entry);
        process.stdout.write(`${formatLoadSummary(entry, dataset)}\n`);
        return 0;
      }
      if (values.kind === 'csv') {
        const path = values.csv ?? values.clinical;
        if (path === undefined) throw usage('add: a csv dataset needs --clinical <file.csv> (or --csv)');
        entry = { name, kind: 'csv', path: resolve(path), tags, addedAt };
        if (values.replace) await store.remove(name);
        await store.add(entry);
        process.stdout.write(`registered csv dataset "${name}" (${entry.path})\n`);
        return 0;
      }
      throw usage(`add: --kind must be pet-ct or csv${values.kind ? `, not "${values.kind}"` : ''}`);
    }
    case 'list': {
      const entries = await store.list();
      if (values.json) process.stdout.write(`${JSON.stringify(entries, null, 2)}\n`);
      else if (entries.length === 0) process.stdout.write(`no datasets registered in ${store.file}\n`);
      else {
        for (const entry of entries) {
          const where = entry.kind === 'pet-ct' ? `${entry.dicom} + ${entry.clinical}` : entry.path;
          const tags = entry.tags.length > 0 ? `  [${entry.tags.join(', ')}]` : '';
          process.stdout.write(`${entry.name.padEnd(20)} ${entry.kind.padEnd(7)} ${where}${tags}\n`);
        }
      }
      return 0;
    }
    case 'remove': {
      const name = rest[0] ?? values.name;
      if (name === undefined) throw usage('remove: which dataset? (fedpet-trainer dataset remove <name>)');
      if (!(await store.remove(name))) {
        throw new FedpetError(ErrorCodes.datasetMissing, `no dataset named "${name}" in ${store.file}`);
      }
      process.stdout.write(`removed dataset "${name}" from the registry (its files are untouched)\n`);
      return 0;
    }
    case 'inspect': {
      const target = rest[0] ?? values.name;
      if (target === undefined) throw usage('inspect: give a dataset name or a DICOM folder');
      const entry = await store.get(target);
      if (entry?.kind === 'csv') {
        process.stdout.write(
          `csv dataset "${entry.name}": ${entry.path} (tabular; nothing to inspect per patient)\n`,
        );
        return 0;
      }
      const dicom = entry?.kind === 'pet-ct' ? entry.dicom : resolve(target);
      const clinical =
        entry?.kind === 'pet-ct' ? entry.clinical : values.clinical && resolve(values.clinical);
      const columns = resolveClinicalColumns(
        entry?.kind === 'pet-ct' ? entry.columns : parseColumns(values.column),
      );
      const progress = createLoadProgressPrinter(`inspect ${entry?.name ?? dicom}`);
      const dataset = await loadPetCtDataset({
        dicomDirectory: dicom,
        clinicalFile: clinical,
        columns,
        cacheDirectory: entry ? store.cacheDirectory : undefined,
        onProgress: (event) => progress.onProgress(event),
      });
      progress.done();
      process.stdout.write(
        values.json
          ? `${formatInspectJson(dataset)}\n`
          : `${formatInspectText(dataset, entry?.name ?? dicom)}\n`,
      );
      return 0;
    }
    default:
      throw usage(`"${subcommand}" is not a dataset command (add, list, remove, inspect)`);
  }
}
