/**
 * Utility: how well a model recommends, measured by querying it, and how much an embed or an
 * attack changed it. Leave-one-out recall/NDCG on the data's held-out items, NDCG over every
 * next item with a bootstrap interval, and the top-10 overlap of a copy with its original.
 * Every embed, attack and the robustness sweep measure here, so their reports agree; the maths
 * on the lists is the pure code in stats/ranking.ts.
 */
import type { RunOptions, ScoringSession } from './onnx/session';
import { asRecommender, type RecommendOptions, type Recommender } from './recommender';
import { utilityRow, type UtilityRow } from './report/report';
import {
  dcgOfTargets,
  leaveOneOutQueries,
  nextItemPoints,
  pairedRelativeChange,
  rankingMetrics,
  topKOverlap,
  type NextItemPoints,
  type RankingMetrics,
} from './stats/ranking';
import { probesFromModel } from './watermark/probes';

type Source = ScoringSession | Recommender;

/** Overlap with the original is measured on top-10 lists. */
const OVERLAP_K = 10;

/** Top-k lists; a lost query (an endpoint's; a checkpoint loses none) counts as an empty list. */
async function topKLists(
  source: Source,
  sequences: readonly (readonly number[])[],
  k: number,
  options: RecommendOptions,
): Promise<Int32Array[]> {
  const lists = await asRecommender(source).topK(sequences, k, options);
  return lists.map((l) => l ?? new Int32Array(0));
}

/** The leave-one-out histories: each sequence of at least two items, without its last. */
export function heldOutHistories(sequences: readonly (readonly number[])[]): number[][] {
  return leaveOneOutQueries(sequences).histories;
}

/** Whether any user has an item to hold out (two or more interactions). */
export function hasHeldOutItem(sequences: readonly (readonly number[])[]): boolean {
  return sequences.some((s) => s.length >= 2);
}

/**
 * Recall@k and NDCG@k of predicting each sequence's last item from the rest, for every k in
 * `ks` from one top-max(ks) query per user.
 */
export async function leaveOneOut(
  source: Source,
  sequences: readonly number[][],
  ks: readonly number[] = [10],
  options: RunOptions = {},
): Promise<RankingMetrics[]> {
  const { histories, targets } = leaveOneOutQueries(sequences);
  const lists = await topKLists(source, histories, Math.max(...ks), options);
  return rankingMetrics(lists, targets, ks);
}

/** DCG@k of each point's target in the model's top-k (0 when it is not there): NDCG@k terms. */
export async function dcgGains(
  source: Source,
  points: NextItemPoints,
  k: number,
  options: RunOptions = {},
): Promise<Float64Array> {
  const lists = await topKLists(source, points.histories, k, options);
  return dcgOfTargets(lists, points.targets);
}

/** One model's utility, from `measureUtility`. */
export interface ModelUtility {
  /** Leave-one-out metrics at each k asked for (null without data). */
  loo: RankingMetrics[] | null;
  /** The overlap probes, and the model's top-10 list after each. */
  probes: number[][];
  lists: Int32Array[];
}

/**
 * Leave-one-out metrics at `ks` (with data), and top-10 lists on the overlap probes: those given
 * (the original's, when measuring a copy), else the data's held-out histories, else `sample`
 * sequences grown from the model itself.
 */
export async function measureUtility(
  source: Source,
  sequences: readonly number[][] | null,
  options: {
    ks: readonly number[];
    probes?: number[][] | null;
    sample?: { count: number; seed: number };
    /** Leave each probe's own items out of its list, as a served list would. */
    excludeHistory?: boolean;
    signal?: AbortSignal;
  },
): Promise<ModelUtility> {
  const { signal } = options;
  const loo = sequences ? await leaveOneOut(source, sequences, options.ks, { signal }) : null;
  let probes = options.probes ?? (sequences ? heldOutHistories(sequences) : null);
  if (!probes) {
    if (!options.sample) throw new Error('measureUtility: no data, probes or sample size');
    probes = await probesFromModel(source, { ...options.sample, signal });
  }
  const lists = await topKLists(source, probes, OVERLAP_K, {
    signal,
    excludeHistory: options.excludeHistory,
  });
  return { loo, probes, lists };
}

/** Mean top-10 overlap of a copy with its original on the same probes. */
export function overlapWith(original: ModelUtility, copy: ModelUtility): number {
  return topKOverlap(original.lists, copy.lists);
}

/** Recall@k and NDCG@k rows, before and after, for each k; `note` follows the metric's name. */
export function leaveOneOutRows(
  before: readonly RankingMetrics[],
  after: readonly RankingMetrics[],
  note = '',
): UtilityRow[] {
  return before.flatMap((m, i) => [
    utilityRow(`Recall@${m.k}${note}`, m.recall, after[i].recall),
    utilityRow(`NDCG@${m.k}${note}`, m.ndcg, after[i].ndcg),
  ]);
}

/** The top-10 overlap as a utility row (the original overlaps itself fully). */
export function overlapRow(overlap: number, metric = 'Top-10 overlap with original'): UtilityRow {
  return utilityRow(metric, 1, overlap);
}

/**
 * NDCG@10 over every next-item prediction in the data (a seeded sample of at most `max`, each
 * history its last `maxHistory` items), before and after, with a 95% interval of the change
 * from a bootstrap over users. Leave-one-out rests on one item per user; this is far less noisy.
 */
export async function nextItemNdcgRow(
  before: Source,
  after: Source,
  sequences: readonly number[][],
  options: { maxHistory: number; max: number; seed: number; signal?: AbortSignal },
): Promise<UtilityRow> {
  const { seed, signal } = options;
  const points = nextItemPoints(sequences, {
    maxHistory: options.maxHistory,
    max: options.max,
    seed,
  });
  const gains = async (s: Source) => dcgGains(s, points, 10, { signal });
  const all = pairedRelativeChange(await gains(before), await gains(after), points.users, { seed });
  return utilityRow(
    `NDCG@10, every next item (${points.targets.length.toLocaleString('en-US')})`,
    all.before,
    all.after,
    all.ci95,
  );
}
