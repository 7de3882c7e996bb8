import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ErrorCodes, FedpetError } from '../errors/fedpet-error.ts';
import { createRng, deriveSeed } from './random.ts';

/** Named numeric columns and their rows, as written to CSV. */
export interface TabularTable {
  columns: string[];
  rows: number[][];
}

export interface SyntheticHospital {
  hospital: string;
  table: TabularTable;
  /** Share of rows with label 1. */
  prevalence: number;
}

export interface SyntheticCohort {
  /** Feature column names x1..xd. */
  features: string[];
  label: 'label';
  hospitals: SyntheticHospital[];
  /** The logistic model the labels were drawn from: P(y=1|x) = σ(w·x + b). */
  groundTruth: { weights: number[]; bias: number };
}

export interface SyntheticOptions {
  hospitals: string[];
  /** One size for every hospital, or one per hospital (unequal sizes are part of non-IID). */
  rowsPerHospital: number | number[];
  /** Number of feature columns d. */
  features: number;
  seed: number;
  /**
   * Non-IID strength, 0 = IID. Scales each hospital's covariate shift (means
   * moved along the ground-truth direction, which also moves its label
   * prevalence, plus a random offset) and its per-feature spread. 1 is strong.
   */
  shift: number;
}

/** ‖w‖ of the ground truth: large enough for a clear signal (Bayes AUC ≈ 0.9), small enough to stay noisy. */
const signalStrength = 3;
/** Standard deviation of the extra logit noise ("a little noise" beyond the Bernoulli draw). */
const logitNoise = 0.25;
/** Decimals kept in generated values, so CSV text and in-memory rows agree. */
const decimals = 5;

function fail(message: string): never {
  throw new FedpetError(ErrorCodes.invalidConfig, `synthetic cohort: ${message}`);
}

function validate(options: SyntheticOptions): number[] {
  const { hospitals, rowsPerHospital, features, shift } = options;
  if (hospitals.length === 0) fail('needs at least one hospital');
  if (new Set(hospitals).size !== hospitals.length) fail('hospital names must be unique');
  if (!Number.isInteger(features) || features < 1)
    fail(`features must be a positive integer, got ${features}`);
  if (!Number.isFinite(shift) || shift < 0) fail(`shift must be a non-negative number, got ${shift}`);
  const sizes = typeof rowsPerHospital === 'number' ? hospitals.map(() => rowsPerHospital) : rowsPerHospital;
  if (sizes.length !== hospitals.length) fail(`${sizes.length} sizes for ${hospitals.length} hospitals`);
  for (const size of sizes)
    if (!Number.isInteger(size) || size < 1) fail(`row counts must be positive integers`);
  return sizes;
}

const round = (value: number): number => Number(value.toFixed(decimals));

/**
 * Rows per hospital of x1..xd and a binary label from one fixed logistic
 * ground truth, so P(y|x) is shared while P(x), P(y) and sizes differ across
 * hospitals (covariate and prior shift, the usual non-IID of multicentric
 * studies). Each hospital draws from its own seed stream derived from its
 * name, so adding a hospital does not change the others' rows.
 */
export function generateSyntheticTabular(options: SyntheticOptions): SyntheticCohort {
  const sizes = validate(options);
  const d = options.features;
  const features = Array.from({ length: d }, (_, j) => `x${j + 1}`);
  const columns = [...features, 'label'];

  const truthRng = createRng(deriveSeed(options.seed, 'ground-truth'));
  const direction = features.map(() => truthRng.normal());
  const norm = Math.hypot(...direction) || 1;
  for (let j = 0; j < d; j++) direction[j] = direction[j]! / norm;
  const weights = direction.map((v) => v * signalStrength);
  const bias = 0;

  const count = options.hospitals.length;
  const hospitals = options.hospitals.map((hospital, k): SyntheticHospital => {
    const rng = createRng(deriveSeed(options.seed, 'hospital', hospital));
    // Hospitals sit at evenly spaced positions in [-1, 1] along the ground-truth direction.
    const position = count === 1 ? 0 : -1 + (2 * k) / (count - 1);
    const means = direction.map((w) => options.shift * (position * w + 0.5 * rng.normal()));
    const scales = direction.map(() => Math.exp(options.shift * 0.3 * rng.normal()));
    const rows: number[][] = [];
    let positives = 0;
    for (let r = 0; r < sizes[k]!; r++) {
      const x = means.map((mean, j) => round(mean + scales[j]! * rng.normal()));
      const logit = x.reduce((sum, value, j) => sum + weights[j]! * value, bias) + logitNoise * rng.normal();
      const label = rng.next() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
      positives += label;
      rows.push([...x, label]);
    }
    return { hospital, table: { columns, rows }, prevalence: positives / rows.length };
  });
  return { features, label: 'label', hospitals, groundTruth: { weights, bias } };
}

/** CSV text: a header row, then one line per row; values must be finite numbers. */
export function tableToCsv(table: TabularTable): string {
  for (const name of table.columns) {
    if (name === '' || /[",\r\n]/.test(name)) {
      throw new FedpetError(ErrorCodes.invalidConfig, `column name '${name}' cannot be written to CSV`);
    }
  }
  const lines = [table.columns.join(',')];
  table.rows.forEach((row, index) => {
    if (row.length !== table.columns.length) {
      throw new FedpetError(
        ErrorCodes.invalidConfig,
        `row ${index + 1} has ${row.length} values for ${table.columns.length} columns`,
      );
    }
    if (!row.every(Number.isFinite)) {
      throw new FedpetError(ErrorCodes.invalidConfig, `row ${index + 1} holds a non-finite value`);
    }
    lines.push(row.join(','));
  });
  return lines.join('\n') + '\n';
}

/** Writes the table as CSV, creating the parent directory. */
export async function writeCsv(path: string, table: TabularTable): Promise<void> {
  const text = tableToCsv(table);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text, 'utf8');
}
