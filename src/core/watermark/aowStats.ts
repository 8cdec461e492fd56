/**
 * AOW extraction statistics (DESIGN.md §3). Under H0 (a model that never saw the watermark) the
 * rank of each target is uniform on 1..N, so hits at K follow Binomial(L − 1, K/N) and
 * r_i / N are (conservative, discrete) uniform p-values that Fisher's method combines.
 */
import type { AowEvidence } from '../report/report';
import { binomialSf, fisherCombination, formatPValue, type PValue } from '../stats/tests';

/** The cut-offs the AOW paper reports. */
export const AOW_KS = [1, 5, 10, 20, 100] as const;

export interface AowStatistics {
  evidence: AowEvidence;
  /** The verdict's p-value: the smallest of the K tests and Fisher's, Bonferroni-adjusted. */
  pValue: PValue;
}

function bonferroni(p: PValue, tests: number): PValue {
  const log10 = Math.min(0, p.log10 + Math.log10(tests));
  return { value: Math.min(1, p.value * tests), log10 };
}

export function aowStatistics(ranks: readonly number[], numItems: number): AowStatistics {
  if (ranks.length === 0) throw new RangeError('AOW statistics need at least one rank');
  if (!ranks.every((r) => Number.isInteger(r) && r >= 1 && r <= numItems))
    throw new RangeError(`ranks must be integers in 1..${numItems}`);
  const n = ranks.length;
  // K ≥ N says nothing (every rank is a hit), so such cut-offs are left out on tiny catalogues.
  const ks = AOW_KS.filter((k) => k < numItems);
  const recall: Record<string, number> = {};
  const ndcg: Record<string, number> = {};
  const chance: Record<string, number> = {};
  const pBinomial: Record<string, number> = {};
  const pBinomialText: Record<string, string> = {};
  const pValues: PValue[] = [];
  for (const k of ks) {
    const hits = ranks.filter((r) => r <= k).length;
    recall[k] = hits / n;
    ndcg[k] = ranks.reduce((s, r) => s + (r <= k ? 1 / Math.log2(r + 1) : 0), 0) / n;
    chance[k] = k / numItems;
    const p = binomialSf(hits, n, k / numItems);
    pBinomial[k] = p.value;
    pBinomialText[k] = formatPValue(p);
    pValues.push(p);
  }
  const fisher = fisherCombination(ranks.map((r) => r / numItems));
  pValues.push(fisher.pValue);
  const best = pValues.reduce((a, b) => (b.log10 < a.log10 ? b : a));
  const tests = pValues.length;
  return {
    evidence: {
      length: n + 1,
      numItems,
      ranks: [...ranks],
      ks: [...ks],
      recall,
      ndcg,
      chance,
      pBinomial,
      pBinomialText,
      fisherStatistic: fisher.statistic,
      pFisher: fisher.pValue.value,
      pFisherText: formatPValue(fisher.pValue),
      combination:
        `The verdict uses the smallest of ${tests} p-values (binomial at K = ${ks.join(', ')} ` +
        `and Fisher's), multiplied by ${tests} (Bonferroni), so checking several cut-offs cannot ` +
        'inflate the evidence.',
    },
    pValue: bonferroni(best, tests),
  };
}
