/**
 * Statistical tests as pure functions returning the statistic and the p-value (scipy.stats
 * style). P-values are carried in log10 as well, so evidence like 1e-300 never prints as 0.
 */
import { erf, lgamma } from 'mathjs';

export interface PValue {
  /** The p-value as a number (may underflow to 0 for overwhelming evidence; use log10). */
  value: number;
  /** log10 of the p-value, accurate far below the smallest double. */
  log10: number;
}

const LN10 = Math.LN10;
const fromLn = (ln: number): PValue => ({ value: Math.exp(ln), log10: ln / LN10 });

/** log of the upper tail of the standard normal, Q(z) = 1 − Φ(z). */
export function normalLogSf(z: number): number {
  if (Number.isNaN(z)) return Number.NaN;
  if (z < 5) {
    // erf is accurate to ~1e-15 absolute, so 1 − erf keeps ≥ 8 digits up to z = 5 (Q ≈ 3e-7).
    return Math.log(0.5 * (1 - erf(z / Math.SQRT2)));
  }
  // Continued fraction for Mills' ratio (Lentz's method): Q(z) = φ(z) / (z + 1/(z + 2/(z + ...))).
  const tiny = 1e-300;
  let f = z;
  let c = z;
  let d = 0;
  for (let n = 1; n < 500; n++) {
    d = z + n * d;
    d = Math.abs(d) < tiny ? tiny : d;
    c = z + n / c;
    c = Math.abs(c) < tiny ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return -0.5 * z * z - 0.5 * Math.log(2 * Math.PI) - Math.log(f);
}

/** One-sided p-value P(Z ≥ z) under the standard normal. */
export function normalSf(z: number): PValue {
  return fromLn(normalLogSf(z));
}

function logAddExp(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  const m = Math.max(a, b);
  return m + Math.log(Math.exp(a - m) + Math.exp(b - m));
}

/** P(X ≥ k) for X ~ Binomial(n, p), summed exactly in log space. */
export function binomialSf(k: number, n: number, p: number): PValue {
  if (k <= 0) return { value: 1, log10: 0 };
  if (k > n) return { value: 0, log10: -Infinity };
  if (p <= 0) return { value: 0, log10: -Infinity };
  if (p >= 1) return { value: 1, log10: 0 };
  const lp = Math.log(p);
  const lq = Math.log1p(-p);
  const lnChoose = (i: number): number => lgamma(n + 1) - lgamma(i + 1) - lgamma(n - i + 1);
  let total = -Infinity;
  for (let i = k; i <= n; i++) total = logAddExp(total, lnChoose(i) + i * lp + (n - i) * lq);
  return fromLn(Math.min(0, total));
}

/** P(X = i) for i = 0..n, X ~ Binomial(n, p), in log space so a large n cannot underflow midway. */
export function binomialPmf(n: number, p: number): number[] {
  if (p <= 0) return Array.from({ length: n + 1 }, (_, i) => (i === 0 ? 1 : 0));
  if (p >= 1) return Array.from({ length: n + 1 }, (_, i) => (i === n ? 1 : 0));
  const pmf: number[] = [];
  let logChoose = 0;
  for (let i = 0; i <= n; i++) {
    if (i > 0) logChoose += Math.log(n - i + 1) - Math.log(i);
    pmf.push(Math.exp(logChoose + i * Math.log(p) + (n - i) * Math.log1p(-p)));
  }
  return pmf;
}

/**
 * P(X ≥ x) for X ~ χ²(2m): the closed form e^{-x/2} Σ_{i<m} (x/2)^i / i!, in log space. Fisher's
 * combination of m p-values has exactly this distribution.
 */
export function chiSquareSfEvenDof(x: number, dof: number): PValue {
  if (dof <= 0 || dof % 2 !== 0)
    throw new RangeError(`dof must be a positive even number, got ${dof}`);
  if (x <= 0) return { value: 1, log10: 0 };
  const half = x / 2;
  let sum = -Infinity;
  for (let i = 0; i < dof / 2; i++) sum = logAddExp(sum, i * Math.log(half) - lgamma(i + 1));
  return fromLn(Math.min(0, -half + sum));
}

/** Fisher's method: X = −2 Σ ln p_i ~ χ²(2m) under H0. */
export function fisherCombination(pValues: readonly number[]): {
  statistic: number;
  pValue: PValue;
} {
  const statistic = -2 * pValues.reduce((s, p) => s + Math.log(p), 0);
  return { statistic, pValue: chiSquareSfEvenDof(statistic, 2 * pValues.length) };
}

/** Classic one-proportion z-test (Kirchenbauer et al. 2023): hits G of T trials at rate γ. */
export function oneProportionZ(
  hits: number,
  trials: number,
  rate: number,
): { z: number; pValue: PValue } {
  const z = (hits - rate * trials) / Math.sqrt(trials * rate * (1 - rate));
  return { z, pValue: normalSf(z) };
}

/** "3.2e-45", "0.034", "< 1e-999": readable at any magnitude. */
export function formatPValue(p: PValue): string {
  if (p.log10 >= -3) return p.value.toPrecision(2);
  if (!Number.isFinite(p.log10)) return '0';
  const exponent = Math.floor(p.log10);
  let mantissa = 10 ** (p.log10 - exponent);
  let exp = exponent;
  if (mantissa >= 9.95) {
    mantissa = 1;
    exp += 1;
  }
  return `${mantissa.toFixed(1)}e${exp}`;
}
