/**
 * Presentation math for the evidence charts: bucketing the host's counts into histograms and the
 * Binomial(k, γ) reference curve. Pure functions, no DOM, so the unit tests can reach them.
 */

/** Binomial(k, γ) probabilities, in log space so large k cannot underflow midway. */
export function binomialPmf(k: number, gamma: number): number[] {
  if (gamma <= 0) return Array.from({ length: k + 1 }, (_, i) => (i === 0 ? 1 : 0));
  if (gamma >= 1) return Array.from({ length: k + 1 }, (_, i) => (i === k ? 1 : 0));
  const pmf: number[] = [];
  let logChoose = 0;
  for (let i = 0; i <= k; i++) {
    if (i > 0) logChoose += Math.log(k - i + 1) - Math.log(i);
    pmf.push(Math.exp(logChoose + i * Math.log(gamma) + (k - i) * Math.log1p(-gamma)));
  }
  return pmf;
}

/** Share of values equal to 0..k. */
export function shares(values: readonly number[], k: number): number[] {
  const counts = new Array<number>(k + 1).fill(0);
  for (const v of values) counts[Math.min(k, Math.max(0, Math.round(v)))]++;
  return counts.map((c) => (values.length > 0 ? c / values.length : 0));
}

export const mean = (values: readonly number[]): number =>
  values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);

/** Smallest and largest value (without spreading a large array into arguments). */
export function extent(values: readonly number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

export interface Bin {
  from: number;
  to: number;
  count: number;
}

/** About two dozen equal-width bins over the null keys' G. */
export function histogramBins(values: readonly number[], target = 24): Bin[] {
  if (values.length === 0) return [];
  const [lo, hi] = extent(values);
  const span = hi - lo;
  const width = span > 0 ? Math.max(1, Math.ceil(span / target)) : 1;
  const count = Math.floor(span / width) + 1;
  const bins: Bin[] = Array.from({ length: count }, (_, i) => ({
    from: lo + i * width,
    to: lo + (i + 1) * width,
    count: 0,
  }));
  for (const v of values) bins[Math.min(count - 1, Math.floor((v - lo) / width))].count++;
  return bins;
}
