import { open, stat } from 'node:fs/promises';
import type { Plan } from '@fedpet/shared/contracts/experiment-spec';
import type { NodeStatus } from '@fedpet/shared/contracts/messages';
import { ErrorCodes, FedpetError } from '@fedpet/shared/errors/fedpet-error';
import { loadTabularCsv, type TabularData } from '@fedpet/shared/ml/tabular-dataset';
import type { DatasetConfig } from './config.ts';

/** Counts below this are reported as "<5" so that small groups cannot be singled out. */
export const MIN_REPORTED_COUNT = 5;

interface Entry extends DatasetConfig {
  rows: number;
  columns: number;
}

/**
 * The datasets this hospital offers, checked at start-up. Parsed tables are
 * cached per (dataset, columns), so a dataset is read once, not every round.
 * Only counts leave this class through `summary()`.
 */
export class DatasetRegistry {
  private readonly cache = new Map<string, Promise<TabularData>>();

  private constructor(private readonly entries: Map<string, Entry>) {}

  static async open(datasets: readonly DatasetConfig[]): Promise<DatasetRegistry> {
    const entries = new Map<string, Entry>();
    for (const dataset of datasets) {
      if (entries.has(dataset.name)) {
        throw new FedpetError(ErrorCodes.invalidConfig, `dataset "${dataset.name}" is given twice`);
      }
      const { rows, columns } = await countCsv(dataset);
      entries.set(dataset.name, { ...dataset, rows, columns });
    }
    return new DatasetRegistry(entries);
  }

  summary(): NodeStatus['datasets'] {
    return [...this.entries.values()].map((entry) => ({
      name: entry.name,
      kind: 'csv',
      rows: entry.rows < MIN_REPORTED_COUNT ? '<5' : entry.rows,
      columns: entry.columns,
    }));
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
    const key = JSON.stringify([name, plan.features, plan.label, plan.task]);
    let table = this.cache.get(key);
    if (!table) {
      table = loadTabularCsv(entry.path, plan);
      table.catch(() => this.cache.delete(key));
      this.cache.set(key, table);
    }
    return table;
  }
}

/** Rows and columns from the header and line count, without parsing values. */
async function countCsv(dataset: DatasetConfig): Promise<{ rows: number; columns: number }> {
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
