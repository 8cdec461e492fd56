/**
 * Descriptive summaries of lists of counts: means, ranges, shares and equal-width histograms.
 * The report's charts draw these (DESIGN.md §4b); they are computed here, once, not in the view.
 */

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

/** Share of values equal to 0..k (values are rounded and clamped into that range). */
export function shares(values: readonly number[], k: number): number[] {
  const counts = new Array<number>(k + 1).fill(0);
  for (const v of values) counts[Math.min(k, Math.max(0, Math.round(v)))]++;
  return counts.map((c) => (values.length > 0 ? c / values.length : 0));
}

/** One bar of a histogram: the values in [from, to). */
export interface HistogramBin {
  from: number;
  to: number;
  count: number;
}

/** About `target` equal-width bins (integer widths, at least 1) from the smallest value up. */
export function histogramBins(values: readonly number[], target = 24): HistogramBin[] {
  if (values.length === 0) return [];
  const [lo, hi] = extent(values);
  const span = hi - lo;
  const width = span > 0 ? Math.max(1, Math.ceil(span / target)) : 1;
  const count = Math.floor(span / width) + 1;
  const bins: HistogramBin[] = Array.from({ length: count }, (_, i) => ({
    from: lo + i * width,
    to: lo + (i + 1) * width,
    count: 0,
  }));
  for (const v of values) bins[Math.min(count - 1, Math.floor((v - lo) / width))].count++;
  return bins;
}
