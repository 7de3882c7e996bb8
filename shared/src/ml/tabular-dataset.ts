import { readFile } from 'node:fs/promises';
import type { TabularMlpPlan } from '../contracts/experiment-spec.ts';
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import {
  concatPlanData,
  fromTabular,
  type PlanData,
  selectPlanRows,
  splitPlanData,
} from './plans/plan-data.ts';

/** Numeric rows ready for training: `features` is row-major, rows × featureCount. */
export interface TabularData {
  features: Float32Array;
  labels: Float32Array;
  rows: number;
  featureCount: number;
}

/** The parts of a plan that decide which columns are read and how labels are checked. */
export type TabularColumns = Pick<TabularMlpPlan, 'features' | 'label' | 'task'>;

// Plain decimal or scientific notation only: Number() would also accept hex,
// 'Infinity' and whitespace, which are never valid measurements.
const decimalPattern = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function invalid(message: string): FedpetError {
  return new FedpetError(ErrorCodes.datasetInvalid, message);
}

function splitHeader(line: string): string[] {
  return line.split(',').map((cell) => {
    const trimmed = cell.trim();
    return trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"')
      ? trimmed.slice(1, -1)
      : trimmed;
  });
}

/**
 * Parses CSV text (header row, comma-separated, numeric cells, no quoting in
 * data rows). Errors name `source`, the column and the line, never the value.
 */
export function parseTabularCsv(text: string, plan: TabularColumns, source: string): TabularData {
  if (plan.features.includes(plan.label)) {
    throw new FedpetError(ErrorCodes.invalidSpec, `label '${plan.label}' is also listed as a feature`);
  }
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const headerLine = lines[0];
  if (headerLine === undefined || headerLine.trim() === '')
    throw invalid(`${source}: empty file, no header row`);
  const header = splitHeader(headerLine);
  const position = new Map<string, number>();
  header.forEach((name, index) => {
    if (name === '') throw invalid(`${source}: header column ${index + 1} has no name`);
    if (position.has(name)) throw invalid(`${source}: header names column '${name}' twice`);
    position.set(name, index);
  });
  const missing = [...plan.features, plan.label].filter((name) => !position.has(name));
  if (missing.length > 0) {
    throw invalid(
      `${source}: missing column${missing.length > 1 ? 's' : ''} ${missing.map((m) => `'${m}'`).join(', ')}`,
    );
  }
  const featureIndex = plan.features.map((name) => position.get(name)!);
  const labelIndex = position.get(plan.label)!;

  // Blank lines (typically a trailing newline) are skipped; line numbers stay those of the file.
  const dataLines: number[] = [];
  for (let i = 1; i < lines.length; i++) if (lines[i]!.trim() !== '') dataLines.push(i);
  if (dataLines.length === 0) throw invalid(`${source}: no data rows after the header`);

  const featureCount = plan.features.length;
  const features = new Float32Array(dataLines.length * featureCount);
  const labels = new Float32Array(dataLines.length);
  dataLines.forEach((lineIndex, row) => {
    const cells = lines[lineIndex]!.split(',');
    const where = `${source}: line ${lineIndex + 1} (data row ${row + 1})`;
    if (cells.length !== header.length) {
      throw invalid(`${where} has ${cells.length} fields, the header has ${header.length}`);
    }
    const read = (column: number): number => {
      const cell = cells[column]!.trim();
      const name = header[column]!;
      if (cell === '') throw invalid(`${where}, column '${name}': empty value`);
      if (!decimalPattern.test(cell)) throw invalid(`${where}, column '${name}': not a finite number`);
      const value = Number(cell);
      if (!Number.isFinite(value)) throw invalid(`${where}, column '${name}': not a finite number`);
      return value;
    };
    for (let f = 0; f < featureCount; f++) features[row * featureCount + f] = read(featureIndex[f]!);
    const label = read(labelIndex);
    if (plan.task === 'binary-classification' && label !== 0 && label !== 1) {
      throw invalid(`${where}, column '${plan.label}': a binary label must be 0 or 1`);
    }
    labels[row] = label;
  });
  return { features, labels, rows: dataLines.length, featureCount };
}

/** Reads and parses a CSV file; a missing file is DATASET_MISSING naming the path. */
export async function loadTabularCsv(path: string, plan: TabularColumns): Promise<TabularData> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new FedpetError(ErrorCodes.datasetMissing, `dataset file not found: ${path}`, { cause: error });
    }
    throw new FedpetError(
      ErrorCodes.datasetInvalid,
      `cannot read dataset file ${path}: ${code ?? 'unknown error'}`,
      {
        cause: error,
      },
    );
  }
  return parseTabularCsv(text, plan, path);
}

/** PlanData back to the tabular shape (a label target, no images). */
function toTabular(data: PlanData): TabularData {
  return { features: data.tabular, labels: data.target, rows: data.rows, featureCount: data.tabularWidth };
}

/** The given rows, in the given order, as a new dataset. */
export function selectRows(data: TabularData, indices: ArrayLike<number>): TabularData {
  return toTabular(selectPlanRows(fromTabular(data), indices));
}

/** Stacks datasets with the same feature count (e.g. pooling hospitals for a central baseline). */
export function concatTabularData(parts: readonly TabularData[]): TabularData {
  return toTabular(concatPlanData(parts.map(fromTabular)));
}

/**
 * Deterministic train/validation split (plans/plan-data.ts splitPlanData):
 * with binary labels each class contributes round(fraction × its count) rows
 * to validation, so both parts keep the class prevalence.
 */
export function splitTrainValidation(
  data: TabularData,
  fraction: number,
  seed: number,
  options: { stratify?: boolean } = {},
): { train: TabularData; validation: TabularData } {
  const { train, validation } = splitPlanData(fromTabular(data), fraction, seed, options);
  return { train: toTabular(train), validation: toTabular(validation) };
}
