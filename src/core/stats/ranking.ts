/** Ranking metrics on leave-one-out splits: each user's last item is held out. */
import type { ScoringSession } from '../onnx/session';
import type { RunOptions } from '../onnx/session';

export interface RankingMetrics {
  recall: number;
  ndcg: number;
  users: number;
  k: number;
}

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
  const usable = sequences.filter((s) => s.length >= 2);
  const histories = usable.map((s) => s.slice(0, -1));
  const lists = await session.topK(histories, Math.max(...ks), options);
  const n = Math.max(1, usable.length);
  return ks.map((k) => {
    let hits = 0;
    let dcg = 0;
    lists.forEach((list, i) => {
      const rank = list.subarray(0, k).indexOf(usable[i][usable[i].length - 1]);
      if (rank >= 0) {
        hits++;
        dcg += 1 / Math.log2(rank + 2);
      }
    });
    return { recall: hits / n, ndcg: dcg / n, users: usable.length, k };
  });
}

/** Mean overlap of two sets of top-k lists (|A ∩ B| / k), e.g. before and after embedding. */
export function topKOverlap(a: readonly Int32Array[], b: readonly Int32Array[]): number {
  let total = 0;
  a.forEach((list, i) => {
    const other = new Set(b[i]);
    let common = 0;
    for (const id of list) if (other.has(id)) common++;
    total += list.length > 0 ? common / list.length : 1;
  });
  return a.length > 0 ? total / a.length : 1;
}
