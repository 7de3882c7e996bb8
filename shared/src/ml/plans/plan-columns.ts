import { readFile } from 'node:fs/promises';
import { ErrorCodes, FedpetError } from '../../errors/fedpet-error.ts';
import { parseCsvText } from '../../imaging/clinical/csv-text.ts';
import { columnsRead, type ModelSpec } from './model-spec.ts';
import type { PlanData } from './plan-data.ts';

const decimal = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Applies the plan's fixed scaling, (value − center) / scale, to the tabular columns, in place. */
export function applyScaling(data: PlanData, spec: Pick<ModelSpec, 'columns' | 'scaling'>): PlanData {
  spec.columns.forEach((name, column) => {
    const rule = spec.scaling[name];
    if (!rule) return;
    for (let row = 0; row < data.rows; row++) {
      const at = row * data.tabularWidth + column;
      data.tabular[at] = (data.tabular[at]! - rule.center) / rule.scale;
    }
  });
  return data;
}

/** Labels must be 0/1 for classification; survival needs positive times and 0/1 events. */
export function checkTarget(data: PlanData, spec: ModelSpec, source: string): void {
  for (let row = 0; row < data.rows; row++) {
    if (spec.target.kind === 'label') {
      const label = data.target[row]!;
      if (spec.objective === 'bce' && label !== 0 && label !== 1) {
        throw new FedpetError(
          ErrorCodes.datasetInvalid,
          `${source}: label '${spec.target.column}' is not 0/1 (row ${row + 1})`,
        );
      }
    } else {
      const time = data.target[2 * row]!;
      const event = data.target[2 * row + 1]!;
      if (!(time > 0)) {
        throw new FedpetError(
          ErrorCodes.datasetInvalid,
          `${source}: time column '${spec.target.time}' must be positive (row ${row + 1})`,
        );
      }
      if (event !== 0 && event !== 1) {
        throw new FedpetError(
          ErrorCodes.datasetInvalid,
          `${source}: event column '${spec.target.event}' must be 0 or 1 (row ${row + 1})`,
        );
      }
    }
  }
}

/**
 * A plan's examples from a CSV file: the plan's numeric columns by header
 * name. Errors name the file, the line and the column, never a value; a
 * missing column lists the header's. NaN or infinite values are refused.
 */
export async function csvPlanData(path: string, spec: ModelSpec): Promise<PlanData> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new FedpetError(ErrorCodes.datasetMissing, `dataset file not found: ${path}`, { cause: error });
  }
  const records = parseCsvText(text, path);
  const header = records[0]?.cells.map((cell) => cell.trim());
  if (!header) throw new FedpetError(ErrorCodes.datasetInvalid, `${path}: empty file, no header row`);
  const wanted = columnsRead(spec);
  const missing = wanted.filter((name) => !header.includes(name));
  if (missing.length > 0) {
    throw new FedpetError(
      ErrorCodes.datasetInvalid,
      `${path}: missing column${missing.length > 1 ? 's' : ''} ${missing.map((m) => `'${m}'`).join(', ')} (it has: ${header.join(', ')})`,
    );
  }
  const index = wanted.map((name) => header.indexOf(name));
  const width = spec.columns.length;
  const targetWidth = spec.target.kind === 'label' ? 1 : 2;
  const rows = records.slice(1);
  const tabular = new Float32Array(rows.length * width);
  const target = new Float32Array(rows.length * targetWidth);
  rows.forEach((record, row) => {
    index.forEach((column, k) => {
      const cell = (record.cells[column] ?? '').trim();
      if (!decimal.test(cell) || !Number.isFinite(Number(cell))) {
        throw new FedpetError(
          ErrorCodes.datasetInvalid,
          `${path}: line ${record.line}, column '${wanted[k]}': not a finite number`,
        );
      }
      if (k < width) tabular[row * width + k] = Number(cell);
      else target[row * targetWidth + (k - width)] = Number(cell);
    });
  });
  const data: PlanData = {
    rows: rows.length,
    tabular,
    tabularWidth: width,
    images: undefined,
    imageShape: undefined,
    target,
    targetWidth,
  };
  if (data.rows === 0)
    throw new FedpetError(ErrorCodes.datasetInvalid, `${path}: no data rows after the header`);
  if (spec.image)
    throw new FedpetError(ErrorCodes.datasetInvalid, `${path}: a CSV dataset has no images for this plan`);
  checkTarget(data, spec, path);
  return applyScaling(data, spec);
}
