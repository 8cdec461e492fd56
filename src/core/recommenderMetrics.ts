/**
 * A model's ranking quality, measured by querying it: leave-one-out recall/NDCG and per-point
 * DCG gains. The queries go to a checkpoint's session; the maths on the lists it returns is
 * the pure code in stats/ranking.ts.
 */
import type { RunOptions, ScoringSession } from './onnx/session';
import {
  dcgOfTargets,
  leaveOneOutQueries,
  rankingMetrics,
  type NextItemPoints,
  type RankingMetrics,
} from './stats/ranking';

/**
 * Recall@k and NDCG@k of predicting each sequence's last item from the rest, for every k in
 * `ks` from one top-max(ks) query per user.
 */
export async function leaveOneOut(
  session: ScoringSession,
  sequences: readonly number[][],
  ks: readonly number[] = [10],
  options: RunOptions = {},
): Promise<RankingMetrics[]> {
  const { histories, targets } = leaveOneOutQueries(sequences);
  const lists = await session.topK(histories, Math.max(...ks), options);
  return rankingMetrics(lists, targets, ks);
}

/** DCG@k of each point's target in the model's top-k (0 when it is not there): NDCG@k terms. */
export async function dcgGains(
  session: ScoringSession,
  points: NextItemPoints,
  k: number,
  options: RunOptions = {},
): Promise<Float64Array> {
  const lists = await session.topK(points.histories, k, options);
  return dcgOfTargets(lists, points.targets);
}
