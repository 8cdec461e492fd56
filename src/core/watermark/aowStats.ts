/**
 * AOW extraction statistics (DESIGN.md §3). Under H0 (a model that never saw the watermark) the
 * rank of each target is uniform on 1..N, so hits at K follow Binomial(L − 1, K/N) and
 * r_i / N are (conservative, discrete) uniform p-values that Fisher's method combines.
 */
import { aowFigures, hitsAt } from '../report/figures';
import type { AowEvidence } from '../report/report';
import { pValueText } from '../report/plain';
import { binomialSf, fisherCombination, type PValue } from '../stats/tests';

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

/**
 * `censored[i]` marks a rank that is only known to be at least `ranks[i]`: an endpoint that
 * returns its top-m list without the target says "rank > m" (recorded as m + 1). Then:
 * - only cut-offs K below every censored bound are tested (hits at a larger K are unknown);
 * - in Fisher's combination a censored step counts as p = 1. That stays a valid p-value
 *   (P(p ≤ t) ≤ t for every t under H0: for t < m/N it is the exact r/N, above it P(r ≤ m) =
 *   m/N ≤ t), so the test is conservative: it can only lose evidence, never invent it.
 * With no censoring (a checkpoint, or an endpoint returning every item's score) nothing changes.
 */
export function aowStatistics(
  ranks: readonly number[],
  numItems: number,
  options: { censored?: readonly boolean[] } = {},
): AowStatistics {
  if (ranks.length === 0) throw new RangeError('AOW statistics need at least one rank');
  if (!ranks.every((r) => Number.isInteger(r) && r >= 1 && r <= numItems))
    throw new RangeError(`ranks must be integers in 1..${numItems}`);
  const n = ranks.length;
  const censored = ranks.map((_, i) => options.censored?.[i] ?? false);
  const anyCensored = censored.some(Boolean);
  // The smallest rank known only as a lower bound: hits at K are known for K below it.
  const bound = Math.min(...ranks.filter((_, i) => censored[i]), Infinity);
  // K ≥ N says nothing (every rank is a hit), so such cut-offs are left out on tiny catalogues.
  const ks = AOW_KS.filter((k) => k < numItems && k < bound);
  const recall: Record<string, number> = {};
  const ndcg: Record<string, number> = {};
  const chance: Record<string, number> = {};
  const pBinomial: Record<string, number> = {};
  const pBinomialText: Record<string, string> = {};
  const pValues: PValue[] = [];
  for (const k of ks) {
    const hits = hitsAt(ranks, k);
    recall[k] = hits / n;
    ndcg[k] = ranks.reduce((s, r) => s + (r <= k ? 1 / Math.log2(r + 1) : 0), 0) / n;
    chance[k] = k / numItems;
    const p = binomialSf(hits, n, k / numItems);
    pBinomial[k] = p.value;
    pBinomialText[k] = pValueText(p);
    pValues.push(p);
  }
  const fisher = fisherCombination(ranks.map((r, i) => (censored[i] ? 1 : r / numItems)));
  pValues.push(fisher.pValue);
  const best = pValues.reduce((a, b) => (b.log10 < a.log10 ? b : a));
  const tests = pValues.length;
  const censoredNote = anyCensored
    ? ` ${censored.filter(Boolean).length} of ${n} targets were not in the returned list (rank > ${bound - 1}): ` +
      `cut-offs above ${bound - 1} are not tested and Fisher counts those steps as p = 1 (conservative).`
    : '';
  const evidence: Omit<AowEvidence, 'figures'> = {
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
    pFisherText: pValueText(fisher.pValue),
    combination:
      `The verdict uses the smallest of ${tests} p-values (binomial at K = ${ks.join(', ')} ` +
      `and Fisher's), multiplied by ${tests} (Bonferroni), so checking several cut-offs cannot ` +
      'inflate the evidence.' +
      censoredNote,
    ...(anyCensored ? { censored } : {}),
  };
  return {
    evidence: { ...evidence, figures: aowFigures(evidence) },
    pValue: bonferroni(best, tests),
  };
}
