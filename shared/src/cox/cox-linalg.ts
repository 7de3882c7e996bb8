/** Small dense symmetric positive-definite algebra for the Newton step (p is the covariate count). */

/**
 * R's coxph uses toler.chol = .Machine$double.eps^0.75 relative to the largest
 * diagonal entry to call a pivot zero; the same threshold here makes "singular"
 * mean the same thing as in R.
 */
export const CHOLESKY_TOLERANCE = Number.EPSILON ** 0.75;

/** Thrown when the matrix is not numerically positive definite; `column` is the 0-based failing pivot. */
export class NotPositiveDefiniteError extends Error {
  constructor(
    readonly column: number,
    readonly singular: boolean,
  ) {
    super(`pivot ${column + 1} is ${singular ? 'zero (singular)' : 'negative (not positive definite)'}`);
    this.name = 'NotPositiveDefiniteError';
  }
}

/** Lower-triangular L with A = L Lᵀ for a symmetric p×p row-major A. */
export function cholesky(a: Float64Array, p: number): Float64Array {
  let largest = 0;
  for (let j = 0; j < p; j++) largest = Math.max(largest, Math.abs(a[j * p + j]!));
  const threshold = CHOLESKY_TOLERANCE * largest;
  const l = new Float64Array(p * p);
  for (let j = 0; j < p; j++) {
    let pivot = a[j * p + j]!;
    for (let k = 0; k < j; k++) pivot -= l[j * p + k]! ** 2;
    if (!(pivot > threshold)) throw new NotPositiveDefiniteError(j, !(pivot < -threshold));
    const root = Math.sqrt(pivot);
    l[j * p + j] = root;
    for (let i = j + 1; i < p; i++) {
      let sum = a[i * p + j]!;
      for (let k = 0; k < j; k++) sum -= l[i * p + k]! * l[j * p + k]!;
      l[i * p + j] = sum / root;
    }
  }
  return l;
}

/** Solves L Lᵀ z = b. */
export function choleskySolve(l: Float64Array, p: number, b: Float64Array): Float64Array {
  const y = new Float64Array(p);
  for (let i = 0; i < p; i++) {
    let sum = b[i]!;
    for (let k = 0; k < i; k++) sum -= l[i * p + k]! * y[k]!;
    y[i] = sum / l[i * p + i]!;
  }
  const z = new Float64Array(p);
  for (let i = p - 1; i >= 0; i--) {
    let sum = y[i]!;
    for (let k = i + 1; k < p; k++) sum -= l[k * p + i]! * z[k]!;
    z[i] = sum / l[i * p + i]!;
  }
  return z;
}

/** (L Lᵀ)⁻¹, row-major, symmetrized. */
export function choleskyInverse(l: Float64Array, p: number): Float64Array {
  const inverse = new Float64Array(p * p);
  const unit = new Float64Array(p);
  for (let j = 0; j < p; j++) {
    unit.fill(0);
    unit[j] = 1;
    const column = choleskySolve(l, p, unit);
    for (let i = 0; i < p; i++) inverse[i * p + j] = column[i]!;
  }
  for (let i = 0; i < p; i++)
    for (let j = i + 1; j < p; j++) {
      const mean = (inverse[i * p + j]! + inverse[j * p + i]!) / 2;
      inverse[i * p + j] = mean;
      inverse[j * p + i] = mean;
    }
  return inverse;
}
