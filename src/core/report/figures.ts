/**
 * The numbers the report's charts and tables show, derived once, here, from the evidence the
 * schemes measured. The webview (in the panel and in the HTML export alike) only draws them, so
 * every view of a report shows the same numbers and none computes its own.
 */
import { extent, histogramBins, mean, shares } from '../stats/histogram';
import { binomialPmf } from '../stats/tests';
import { rankPosition, zNote } from './plain';
import type {
  AowEvidence,
  AowFigures,
  GrewEvidence,
  GrewFigures,
  RobustnessFigures,
  RobustnessRow,
  RobustnessSection,
} from './report';

/** Points of the normal reference curve under the null keys' histogram. */
const CURVE_POINTS = 80;

/** GREW evidence with its figures: what the scheme measured, plus what the charts show. */
export function grewEvidence(measured: Omit<GrewEvidence, 'figures'>): GrewEvidence {
  return { ...measured, figures: grewFigures(measured) };
}

export function grewFigures(g: Omit<GrewEvidence, 'figures'>): GrewFigures {
  const k = g.topK;
  const trials = Math.max(1, g.trials);
  const hasNull = g.nullPerProbeGreen.length > 0;
  const zDecision = Math.min(g.z, g.zNull);
  return {
    zDecision,
    decidedBy: g.zNull < g.z ? 'zNull' : 'z',
    zDecisionNote: zNote(zDecision, 1),
    greenRate: g.greenHits / trials,
    expectedGreenRate: g.expectedHits / trials,
    nullKeysReached: g.nullGreenHits.filter((x) => x >= g.greenHits).length,
    greenPerProbe: {
      suspect: shares(g.perProbeGreen, k),
      nullKeys: hasNull ? shares(g.nullPerProbeGreen, k) : null,
      binomial: binomialPmf(k, g.gamma),
      suspectMean: mean(g.perProbeGreen),
      suspectMeanShare: mean(g.perProbeGreen) / k,
      nullKeysMean: hasNull ? mean(g.nullPerProbeGreen) : null,
      expectedMean: k * g.gamma,
    },
    ranksAboveGamma: g.greenRateByRank.filter((r) => r > g.gamma).length,
    nullHits: nullHits(g),
  };
}

function nullHits(g: Omit<GrewEvidence, 'figures'>): GrewFigures['nullHits'] {
  const values = g.nullGreenHits;
  const bins = histogramBins(values);
  const width = bins.length > 0 ? bins[0].to - bins[0].from : 1;
  // The normal approximation of G under H0, scaled to the histogram's counts.
  const normalCurve: { x: number; y: number }[] = [];
  if (g.sdHits > 0) {
    const lo = Math.min(g.expectedHits - 4 * g.sdHits, bins[0]?.from ?? Infinity);
    const hi = Math.max(g.expectedHits + 4 * g.sdHits, bins.at(-1)?.to ?? -Infinity);
    const scale = (Math.max(values.length, 1) * width) / (g.sdHits * Math.sqrt(2 * Math.PI));
    for (let i = 0; i <= CURVE_POINTS; i++) {
      const x = lo + ((hi - lo) * i) / CURVE_POINTS;
      normalCurve.push({ x, y: scale * Math.exp(-0.5 * ((x - g.expectedHits) / g.sdHits) ** 2) });
    }
  }
  return {
    bins,
    mean: mean(values),
    range: values.length > 0 ? extent(values) : null,
    normalCurve,
  };
}

/** AOW targets ranked within the top K (a censored rank is above every K tested). */
export function hitsAt(ranks: readonly number[], k: number): number {
  return ranks.filter((r) => r <= k).length;
}

export function aowFigures(a: Omit<AowEvidence, 'figures'>): AowFigures {
  const steps = Math.max(0, a.length - 1);
  const n = Math.max(1, a.numItems);
  return {
    steps,
    hits: Object.fromEntries(a.ks.map((k) => [String(k), hitsAt(a.ranks, k)])),
    bestRank: a.ranks.length > 0 ? Math.min(...a.ranks) : null,
    randomMedianRank: (n + 1) / 2,
    rankShares: a.ranks.map((r, i) => (a.censored?.[i] ? (r - 1) / n : r / n)),
    rankPositions: a.ranks.map((r, i) => rankPosition(r, n, a.censored?.[i] ?? false)),
    rankedFirst: a.ranks.map((r) => r <= 1),
    rankedTop10: a.ranks.map((r) => r <= 10),
    fisherDegreesOfFreedom: 2 * steps,
  };
}

/** A sweep's section with its figures; `alpha` is the one every attacked copy was verified at. */
export function robustnessSection(
  rows: RobustnessRow[],
  alpha: number,
  ndcg?: number,
): RobustnessSection {
  return {
    ...(ndcg !== undefined ? { ndcg } : {}),
    rows,
    figures: robustnessFigures(rows, alpha, ndcg),
  };
}

export function robustnessFigures(
  rows: readonly RobustnessRow[],
  alpha: number,
  ndcg?: number,
): RobustnessFigures {
  const ran = rows.filter((r) => r.error === undefined);
  const hasReference = ndcg !== undefined && ndcg !== 0;
  return {
    ran: ran.length,
    survived: ran.filter((r) => r.verdict === 'present').length,
    notRun: rows.length - ran.length,
    alphaEvidence: -Math.log10(alpha),
    // log10 never underflows where the p-value may.
    evidence: rows.map((r) => (r.error === undefined ? Math.max(0, -r.log10PValue) : null)),
    ndcgChange: rows.map((r) =>
      r.error === undefined && r.ndcg !== undefined && hasReference ? r.ndcg / ndcg - 1 : null,
    ),
  };
}
