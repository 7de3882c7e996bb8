/**
 * The few distribution functions the report needs: the normal CDF for Wald
 * p-values of Cox coefficients and the chi-square upper tail for the
 * likelihood-ratio test. Both rest on one complementary error function.
 */

const SQRT_PI = Math.sqrt(Math.PI);

/**
 * erfc(x), accurate to about 1e-14 relative where it matters (the tails).
 * For |x| < 3: 1 − erf(x) with erf from its all-positive Maclaurin form
 * erf(x) = 2/√π · e^(−x²) · Σ_n 2^n x^(2n+1) / (1·3·…·(2n+1))  (Abramowitz & Stegun 7.1.6),
 * which has no cancellation. For x ≥ 3: the continued fraction
 * erfc(x) = e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …))))  (A&S 7.1.14),
 * evaluated with the modified Lentz method, so tiny tail probabilities keep
 * their relative precision instead of vanishing in 1 − erf.
 */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x < 0) return 2 - erfc(-x);
  if (x < 3) return 1 - erfSeries(x);
  return erfcContinuedFraction(x);
}

function erfSeries(x: number): number {
  const twoXSquared = 2 * x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n += 1) {
    term *= twoXSquared / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return (2 / SQRT_PI) * Math.exp(-x * x) * sum;
}

function erfcContinuedFraction(x: number): number {
  if (x > 27) return 0; // e^(−729) underflows a double
  // Lentz: f = b0 + a1/(b1 + a2/(b2 + …)) with b_n = x, a_n = n/2; erfc = e^(−x²)/√π / f.
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 1000; n += 1) {
    const a = n / 2;
    d = x + a * d;
    d = Math.abs(d) < tiny ? tiny : d;
    c = x + a / c;
    c = Math.abs(c) < tiny ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / SQRT_PI / f;
}

/** Standard normal CDF Φ(z) = erfc(−z/√2)/2. */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

/** Two-sided p-value of a standard normal statistic: 2·(1 − Φ(|z|)) = erfc(|z|/√2). */
export function twoSidedNormalP(z: number): number {
  if (Number.isNaN(z)) return Number.NaN;
  return erfc(Math.abs(z) / Math.SQRT2);
}

/**
 * Upper tail P(X ≥ x) of a chi-square variable with an integer number of
 * degrees of freedom, in closed form (A&S 26.4.4 and 26.4.5):
 * even k: e^(−x/2) Σ_{i<k/2} (x/2)^i / i!;
 * odd k: erfc(√(x/2)) + 2φ(√x) Σ_{r=1}^{(k−1)/2} √x^(2r−1) / (1·3·…·(2r−1)).
 * NaN for a non-integer or non-positive df.
 */
export function chiSquareSurvival(x: number, degreesOfFreedom: number): number {
  if (!Number.isInteger(degreesOfFreedom) || degreesOfFreedom < 1 || Number.isNaN(x)) return Number.NaN;
  if (x <= 0) return 1;
  if (x === Number.POSITIVE_INFINITY) return 0;
  if (degreesOfFreedom % 2 === 0) {
    const half = x / 2;
    let term = 1;
    let sum = 1;
    for (let i = 1; i < degreesOfFreedom / 2; i += 1) {
      term *= half / i;
      sum += term;
    }
    return Math.min(1, Math.exp(-half) * sum);
  }
  const root = Math.sqrt(x);
  const density = Math.exp(-x / 2) / Math.sqrt(2 * Math.PI);
  let term = root;
  let sum = 0;
  for (let r = 1; r <= (degreesOfFreedom - 1) / 2; r += 1) {
    if (r > 1) term *= x / (2 * r - 1);
    sum += term;
  }
  return Math.min(1, erfc(root / Math.SQRT2) + 2 * density * sum);
}
