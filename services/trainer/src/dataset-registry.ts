import { open, stat } from 'node:fs/promises';
import type { Plan } from '@fedpet/shared/contracts/experiment-spec';
import type { NodeStatus } from '@fedpet/shared/contracts/messages';
import { ErrorCodes, FedpetError } from '@fedpet/shared/errors/fedpet-error';
import { resolveClinicalColumns } from '@fedpet/shared/imaging/clinical/clinical-columns';
import {
  PET_CT_COLUMN_NAMES,
  petCtCounts,
  petCtTabular,
} from '@fedpet/shared/imaging/pipeline/patient-table';
import { loadPetCtDataset, type PetCtDataset } from '@fedpet/shared/imaging/pipeline/pet-ct-dataset';
import type { Logger } from '@fedpet/shared/log/logger';
import { applyFeatureScaling, loadTabularCsv, type TabularData } from '@fedpet/shared/ml/tabular-dataset';
import type { DatasetConfig } from './config.ts';
import type { DatasetEntry, RegistryStore } from './registry/registry-store.ts';

/** Counts below this are reported as "<5" so that small groups cannot be singled out. */
export const MIN_REPORTED_COUNT = 5;

export function reportedCount(count: number): number | '<5' {
  return count < MIN_REPORTED_COUNT ? '<5' : count;
}

type Loaded =
  | { kind: 'csv'; name: string; path: string; tags: string[]; rows: number; columns: number }
  | { kind: 'pet-ct'; name: string; tags: string[]; dataset: PetCtDataset };

/**
 * The datasets this hospital offers: CSV files given on the command line and
 * every dataset in the hospital's registry. PET-CT datasets are loaded at
 * start-up from the preprocessing cache (parsed only if their files changed)
 * and kept in memory; CSV tables are parsed per (dataset, columns) once.
 * Only counts, shapes and tags leave this class, through `summary()`.
 */
export class DatasetRegistry {
  private readonly cache = new Map<string, Promise<TabularData>>();

  private constructor(
    private readonly entries: Map<string, Loaded>,
    private readonly logger: Logger | undefined,
  ) {}

  static async open(
    datasets: readonly DatasetConfig[],
    options: { store?: RegistryStore; logger?: Logger } = {},
  ): Promise<DatasetRegistry> {
    const entries = new Map<string, Loaded>();
    const add = (loaded: Loaded) => {
      if (entries.has(loaded.name)) {
        throw new FedpetError(ErrorCodes.invalidConfig, `dataset "${loaded.name}" is given twice`);
      }
      entries.set(loaded.name, loaded);
    };
    for (const dataset of datasets) {
      add({ kind: 'csv', name: dataset.name, path: dataset.path, tags: [], ...(await countCsv(dataset)) });
    }
    for (const entry of options.store ? await options.store.list() : []) {
      add(await loadEntry(entry, options.store!, options.logger));
    }
    return new DatasetRegistry(entries, options.logger);
  }

  get size(): number {
    return this.entries.size;
  }

  summary(): NodeStatus['datasets'] {
    return [...this.entries.values()].map((entry) => {
      if (entry.kind === 'csv') {
        return {
          name: entry.name,
          kind: 'csv',
          rows: reportedCount(entry.rows),
          columns: entry.columns,
          tags: entry.tags,
        };
      }
      const counts = petCtCounts(entry.dataset.patients);
      const shapes = entry.dataset.manifest.tensorShapes;
      return {
        name: entry.name,
        kind: 'pet-ct',
        rows: reportedCount(counts.patients),
        columns: PET_CT_COLUMN_NAMES.length,
        tags: entry.tags,
        events: reportedCount(counts.events),
        shapes: {
          mip: shapes.mip,
          petCrop: shapes.petCrop,
          ...(shapes.ctCrop.length > 0 ? { ctCrop: shapes.ctCrop } : {}),
        },
      };
    });
  }

  load(name: string, plan: Plan): Promise<TabularData> {
    const entry = this.entries.get(name);
    if (!entry) {
      const known = [...this.entries.keys()].join(', ');
      return Promise.reject(
        new FedpetError(
          ErrorCodes.datasetMissing,
          `this hospital has no dataset "${name}" (it has: ${known})`,
        ),
      );
    }
    const key = JSON.stringify([name, plan.features, plan.label, plan.task, plan.scaling]);
    let table = this.cache.get(key);
    if (!table) {
      if (entry.kind === 'csv')
        table = loadTabularCsv(entry.path, plan).then((data) => applyFeatureScaling(data, plan));
      else {
        table = Promise.resolve().then(() => {
          const { data, rowsWithMissingValues } = petCtTabular(entry.dataset.patients, plan, name);
          if (rowsWithMissingValues > 0) {
            this.logger?.warn('patients left out: a column the plan uses is empty', {
              dataset: name,
              patients: reportedCount(rowsWithMissingValues),
            });
          }
          return applyFeatureScaling(data, plan);
        });
      }
      table.catch(() => this.cache.delete(key));
      this.cache.set(key, table);
    }
    return table;
  }
}

async function loadEntry(
  entry: DatasetEntry,
  store: RegistryStore,
  logger: Logger | undefined,
): Promise<Loaded> {
  if (entry.kind === 'csv') {
    return { kind: 'csv', name: entry.name, path: entry.path, tags: entry.tags, ...(await countCsv(entry)) };
  }
  let lastLogged = 0;
  const dataset = await loadPetCtDataset({
    dicomDirectory: entry.dicom,
    clinicalFile: entry.clinical,
    columns: resolveClinicalColumns(entry.columns),
    cacheDirectory: store.cacheDirectory,
    onProgress: (progress) => {
      if (
        progress.phase === 'process' &&
        (progress.done === progress.total || Date.now() - lastLogged > 5000)
      ) {
        lastLogged = Date.now();
        logger?.info('preprocessing dataset', {
          dataset: entry.name,
          done: progress.done,
          total: progress.total,
        });
      }
    },
  });
  const unusable = dataset.patients.filter((patient) => !patient.usable).length;
  // Counts only: patient ids stay in `dataset inspect`, on the operator's screen.
  logger?.info('dataset loaded', {
    dataset: entry.name,
    kind: 'pet-ct',
    fromCache: dataset.fromCache,
    seconds: Number(dataset.seconds.toFixed(2)),
    usablePatients: petCtCounts(dataset.patients).patients,
  });
  if (unusable > 0 || dataset.manifest.fileProblems.length > 0 || dataset.clinicalProblems.length > 0) {
    logger?.warn('dataset has problems', {
      dataset: entry.name,
      patientsNotUsable: unusable,
      filesSkipped: dataset.manifest.fileProblems.length,
      clinicalRowsRejected: dataset.clinicalProblems.length,
      details: `fedpet-trainer dataset inspect ${entry.name}`,
    });
  }
  return { kind: 'pet-ct', name: entry.name, tags: entry.tags, dataset };
}

/** Rows and columns from the header and line count, without parsing values. */
async function countCsv(dataset: { name: string; path: string }): Promise<{ rows: number; columns: number }> {
  try {
    const info = await stat(dataset.path);
    if (!info.isFile()) throw new Error('not a file');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new FedpetError(
      ErrorCodes.datasetMissing,
      `dataset "${dataset.name}": cannot read ${dataset.path} (${code})`,
    );
  }
  const handle = await open(dataset.path);
  let lines = 0;
  let header: string | undefined;
  try {
    for await (const line of handle.readLines()) {
      if (header === undefined) header = line;
      else if (line.trim() !== '') lines++;
    }
  } finally {
    await handle.close();
  }
  if (header === undefined) {
    throw new FedpetError(ErrorCodes.datasetInvalid, `dataset "${dataset.name}": ${dataset.path} is empty`);
  }
  return { rows: lines, columns: header.split(',').length };
}
