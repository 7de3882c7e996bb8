import { open, readFile, stat } from 'node:fs/promises';
import type { ExactCoxPlan } from '@fedpet/shared/contracts/experiment-spec';
import type { NodeStatus } from '@fedpet/shared/contracts/messages';
import { coxRowsFromCsv } from '@fedpet/shared/cox/cox-csv';
import type { CoxRows } from '@fedpet/shared/cox/cox-types';
import { ErrorCodes, FedpetError } from '@fedpet/shared/errors/fedpet-error';
import { resolveClinicalColumns } from '@fedpet/shared/imaging/clinical/clinical-columns';
import {
  PET_CT_COLUMN_NAMES,
  PET_CT_COLUMNS,
  petCtCounts,
  petCtPlanData,
  requirePetCtColumns,
} from '@fedpet/shared/imaging/pipeline/patient-table';
import { loadPetCtDataset, type PetCtDataset } from '@fedpet/shared/imaging/pipeline/pet-ct-dataset';
import type { Logger } from '@fedpet/shared/log/logger';
import type { ModelSpec } from '@fedpet/shared/ml/plans/model-spec';
import { csvPlanData } from '@fedpet/shared/ml/plans/plan-columns';
import type { PlanData } from '@fedpet/shared/ml/plans/plan-data';
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
  private readonly cache = new Map<string, Promise<PlanData>>();

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

  /** Float64 survival rows for an exact Cox fit (see coxRowsOf). */
  coxRows(name: string, plan: ExactCoxPlan): Promise<CoxRows> {
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
    return coxRowsOf(entry, plan);
  }

  /** The dataset's examples for a model spec, built once per (dataset, spec) and kept. */
  load(name: string, spec: ModelSpec): Promise<PlanData> {
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
    const key = JSON.stringify([name, spec]);
    let table = this.cache.get(key);
    if (!table) {
      if (entry.kind === 'csv') table = csvPlanData(entry.path, spec);
      else {
        table = Promise.resolve().then(() => {
          const { data, patientsLeftOut } = petCtPlanData(entry.dataset, spec, name);
          if (patientsLeftOut > 0) {
            this.logger?.warn('patients left out: a column or modality the plan uses is missing', {
              dataset: name,
              patients: reportedCount(patientsLeftOut),
            });
          }
          return data;
        });
      }
      table.catch(() => this.cache.delete(key));
      this.cache.set(key, table);
    }
    return table;
  }
}

/**
 * Float64 survival rows for an exact Cox fit: the plan's covariates, time and
 * event, for every usable patient (PET-CT) or complete row (CSV); never
 * scaled or rounded to float32, so the federated fit is exact.
 */
export async function coxRowsOf(loaded: Loaded, plan: ExactCoxPlan): Promise<CoxRows> {
  if (loaded.kind === 'csv') {
    const text = await readFile(loaded.path, 'utf8');
    return coxRowsFromCsv(text, loaded.path, {
      time: plan.time,
      event: plan.event,
      covariates: plan.features,
    }).rows;
  }
  const wanted = [...plan.features, plan.time, plan.event];
  requirePetCtColumns(wanted, loaded.name);
  const x: Float64Array[] = [];
  const time: number[] = [];
  const event: number[] = [];
  for (const patient of loaded.dataset.patients) {
    const features = patient.imaging?.imaging?.features;
    if (!patient.usable || !patient.clinical || !features) continue;
    const values = wanted.map((name) => PET_CT_COLUMNS[name]!(patient.clinical!, features));
    if (!values.every(Number.isFinite)) continue;
    x.push(Float64Array.from(values.slice(0, plan.features.length)));
    time.push(values[plan.features.length]!);
    event.push(values[plan.features.length + 1]!);
  }
  return { x, time, event, label: `dataset ${loaded.name}`, covariateNames: plan.features };
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
