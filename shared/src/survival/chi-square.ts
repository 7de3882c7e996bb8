/**
 * Upper tail of the chi-square distribution, P(X > x) for X ~ χ²(df), as the
 * regularized upper incomplete gamma function Q(df/2, x/2)
 * (Abramowitz & Stegun 26.4.19 and 6.5.3). Q is computed by the power series
 * of P = 1 − Q for x < a + 1 (A&S 6.5.29) and by the continued fraction of Q
 * otherwise (A&S 6.5.31, evaluated with the modified Lentz method of
 * Press et al., Numerical Recipes 3rd ed. §5.2 and §6.2), which keeps full
 * relative precision deep in the tail (p-values like 1e-12 stay exact).
 */

const epsilon = 1e-16;
const tiny = 1e-300;
const maxIterations = 10_000;

/**
 * log Γ(a) for a a positive multiple of 1/2 (the only arguments a chi-square
 * with integer df needs), exactly by the recurrence Γ(a + 1) = a·Γ(a) from
 * Γ(1) = 1 or Γ(1/2) = √π.
 */
function logGammaHalfInteger(a: number): number {
  let x = Number.isInteger(a) ? 1 : 0.5;
  let result = x === 1 ? 0 : 0.5 * Math.log(Math.PI);
  while (x < a) {
    result += Math.log(x);
    x += 1;
  }
  return result;
}

/** log of the common prefactor e^{−x}·x^a / Γ(a). */
function logPrefactor(a: number, x: number): number {
  return -x + a * Math.log(x) - logGammaHalfInteger(a);
}

/** P(a, x) = γ(a, x)/Γ(a) by its series Σ x^n / (a(a+1)…(a+n)) (A&S 6.5.29). */
function lowerRegularizedSeries(a: number, x: number): number {
  let term = 1 / a;
  let sum = term;
  for (let n = 1; n < maxIterations; n++) {
    term *= x / (a + n);
    sum += term;
    if (Math.abs(term) < Math.abs(sum) * epsilon) break;
  }
  return sum * Math.exp(logPrefactor(a, x));
}

/** Q(a, x) = Γ(a, x)/Γ(a) by the continued fraction of A&S 6.5.31 (modified Lentz). */
function upperRegularizedFraction(a: number, x: number): number {
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < maxIterations; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < epsilon) break;
  }
  return Math.exp(logPrefactor(a, x)) * h;
}

/** P(χ²_df > x). df must be a positive integer; x ≤ 0 gives 1. */
export function chiSquareSurvival(x: number, df = 1): number {
  if (!Number.isInteger(df) || df < 1) throw new RangeError(`df must be a positive integer, got ${df}`);
  if (Number.isNaN(x)) return Number.NaN;
  if (x <= 0) return 1;
  if (x === Number.POSITIVE_INFINITY) return 0;
  const a = df / 2;
  const halfX = x / 2;
  return halfX < a + 1 ? 1 - lowerRegularizedSeries(a, halfX) : upperRegularizedFraction(a, halfX);
}

/** Two-sided tail of the standard normal, P(|Z| > z) = P(χ²₁ > z²). */
export function normalTwoSidedP(z: number): number {
  return chiSquareSurvival(z * z, 1);
}

/**
 * The z with P(|Z| > z) = 1 − level (1.959964 for 0.95), by bisection on
 * normalTwoSidedP, which is monotone: 200 halvings reach double precision.
 */
export function normalCriticalValue(level: number): number {
  if (!(level > 0 && level < 1)) throw new RangeError(`confidence level must be in (0, 1), got ${level}`);
  const alpha = 1 - level;
  let lo = 0;
  let hi = 40;
  for (let i = 0; i < 200 && hi - lo > 1e-15 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (normalTwoSidedP(mid) > alpha) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}
