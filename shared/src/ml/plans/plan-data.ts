import { ErrorCodes, FedpetError } from '../../errors/fedpet-error.ts';
import { createRng } from '../random.ts';
import type { TabularData } from '../tabular-dataset.ts';

/**
 * One hospital's examples for a plan, row-major: tabular inputs (already
 * scaled), optional per-row images (channels last), and the target — a label
 * (width 1) or [time, event] (width 2).
 */
export interface PlanData {
  rows: number;
  tabular: Float32Array;
  tabularWidth: number;
  images: Float32Array | undefined;
  /** Shape of one row's image, e.g. [64, 64, 2] or [32, 32, 32, 2]. */
  imageShape: readonly number[] | undefined;
  target: Float32Array;
  targetWidth: 1 | 2;
  /** Who each row is (patient ids), for the hospital's own use only: never sent, never logged. */
  rowIds?: readonly string[];
}

export function fromTabular(data: TabularData): PlanData {
  return {
    rows: data.rows,
    tabular: data.features,
    tabularWidth: data.featureCount,
    images: undefined,
    imageShape: undefined,
    target: data.labels,
    targetWidth: 1,
  };
}

/** Time and event of every row of a survival target ([time, event] per row). */
export function survivalColumns(data: PlanData): { time: Float64Array; event: Float64Array } {
  if (data.targetWidth !== 2) throw new FedpetError(ErrorCodes.internal, 'not a survival target');
  const time = new Float64Array(data.rows);
  const event = new Float64Array(data.rows);
  for (let i = 0; i < data.rows; i++) {
    time[i] = data.target[2 * i]!;
    event[i] = data.target[2 * i + 1]!;
  }
  return { time, event };
}

const imageSize = (data: PlanData): number => (data.imageShape ?? []).reduce((a, b) => a * b, 1);

/** The given rows, in the given order. */
export function selectPlanRows(data: PlanData, indices: ArrayLike<number>): PlanData {
  const n = indices.length;
  const tabular = new Float32Array(n * data.tabularWidth);
  const target = new Float32Array(n * data.targetWidth);
  const size = imageSize(data);
  const images = data.images ? new Float32Array(n * size) : undefined;
  for (let i = 0; i < n; i++) {
    const row = indices[i]!;
    if (!Number.isInteger(row) || row < 0 || row >= data.rows) {
      throw new FedpetError(ErrorCodes.internal, `row index ${row} outside 0..${data.rows - 1}`);
    }
    tabular.set(
      data.tabular.subarray(row * data.tabularWidth, (row + 1) * data.tabularWidth),
      i * data.tabularWidth,
    );
    target.set(
      data.target.subarray(row * data.targetWidth, (row + 1) * data.targetWidth),
      i * data.targetWidth,
    );
    if (images && data.images) images.set(data.images.subarray(row * size, (row + 1) * size), i * size);
  }
  const rowIds = data.rowIds ? Array.from({ length: n }, (_, i) => data.rowIds![indices[i]!]!) : undefined;
  return { ...data, rows: n, tabular, target, images, ...(rowIds ? { rowIds } : {}) };
}

/** Stacks hospitals' data of one plan (e.g. the pooled, centralized baseline). */
export function concatPlanData(parts: readonly PlanData[]): PlanData {
  const first = parts[0];
  if (!first) throw new FedpetError(ErrorCodes.internal, 'concatPlanData needs at least one part');
  const rows = parts.reduce((sum, part) => sum + part.rows, 0);
  const size = imageSize(first);
  const out: PlanData = {
    ...first,
    rows,
    tabular: new Float32Array(rows * first.tabularWidth),
    target: new Float32Array(rows * first.targetWidth),
    images: first.images ? new Float32Array(rows * size) : undefined,
  };
  let at = 0;
  for (const part of parts) {
    const sameImages =
      (part.images === undefined) === (first.images === undefined) &&
      (part.imageShape ?? []).join('x') === (first.imageShape ?? []).join('x');
    if (part.tabularWidth !== first.tabularWidth || part.targetWidth !== first.targetWidth || !sameImages) {
      throw new FedpetError(ErrorCodes.datasetInvalid, 'cannot pool datasets of different shapes');
    }
    out.tabular.set(part.tabular.subarray(0, part.rows * part.tabularWidth), at * first.tabularWidth);
    out.target.set(part.target.subarray(0, part.rows * part.targetWidth), at * first.targetWidth);
    if (out.images && part.images) out.images.set(part.images.subarray(0, part.rows * size), at * size);
    at += part.rows;
  }
  if (parts.every((part) => part.rowIds)) out.rowIds = parts.flatMap((part) => part.rowIds!);
  else delete out.rowIds;
  return out;
}

/** The stratum of each row for splitting: the binary label, or the event indicator of a survival target. */
function strata(data: PlanData): number[] | undefined {
  const values: number[] = [];
  for (let row = 0; row < data.rows; row++) {
    const value = data.target[row * data.targetWidth + data.targetWidth - 1]!;
    if (value !== 0 && value !== 1) return undefined;
    values.push(value);
  }
  return values;
}

/**
 * Deterministic train/validation split, fixed by the seed. Stratified by the
 * binary label or, for survival, by the event indicator, so both parts keep
 * the event rate (round(fraction × count) of each stratum go to validation).
 */
export function splitPlanData(
  data: PlanData,
  fraction: number,
  seed: number,
  options: { stratify?: boolean } = {},
): { train: PlanData; validation: PlanData } {
  if (!(fraction >= 0 && fraction < 1)) {
    throw new FedpetError(ErrorCodes.invalidConfig, `validation fraction must be in [0, 1), got ${fraction}`);
  }
  const binary = strata(data);
  if (options.stratify === true && !binary) {
    throw new FedpetError(ErrorCodes.invalidConfig, 'stratified split needs binary (0/1) labels or events');
  }
  const byStratum = options.stratify === false ? undefined : binary;
  const groups: number[][] = byStratum ? [[], []] : [[]];
  for (let row = 0; row < data.rows; row++) groups[byStratum ? byStratum[row]! : 0]!.push(row);
  const rng = createRng(seed);
  const train: number[] = [];
  const validation: number[] = [];
  for (const group of groups) {
    rng.shuffle(group);
    const count = Math.round(fraction * group.length);
    validation.push(...group.slice(0, count));
    train.push(...group.slice(count));
  }
  const ascending = (a: number, b: number): number => a - b;
  return {
    train: selectPlanRows(data, train.sort(ascending)),
    validation: selectPlanRows(data, validation.sort(ascending)),
  };
}
