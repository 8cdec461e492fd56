/**
 * The seam where verification queries a suspect: "a recommender answers item sequences with
 * ranked item ids". A checkpoint (an onnxruntime session) and a live HTTP endpoint both answer
 * through this interface, so GREW's and AOW's statistics run unchanged against either.
 *
 * Ids are always in the model's index space (the key's space); an endpoint maps them to and
 * from the service's own ids. A checkpoint answers every query exactly; an endpoint may lose a
 * query (timeout, error, malformed body, spent budget), which shows as `null`, and may return
 * only its top-m list, so a target's rank can be known only as "beyond m" (`censored`).
 */
import type { RunOptions, ScoringSession } from './onnx/session';
import { rankOf } from './onnx/topk';

export interface RecommendOptions extends RunOptions {
  /** Leave the query's own items out of its list (probe sampling). */
  excludeHistory?: boolean;
}

/** Where a target ranks after a history. */
export interface RankObservation {
  /** 1-based rank among the real items; ties count against the watermark. */
  rank: number;
  /**
   * True when the target was not in the returned list: the rank is then only known to be at
   * least `rank` (the list's length + 1).
   */
  censored: boolean;
}

export interface RankQuery {
  history: readonly number[];
  target: number;
}

/** What an audit asked and what came back (an endpoint may lose probes; a checkpoint never does). */
export interface ProbeTally {
  wanted: number;
  answered: number;
}

export interface Recommender {
  /** The real items ranks are taken among; probe sequences start from them. */
  readonly itemIds: Int32Array;
  /**
   * Top-k real items for each sequence, best first. `null` where the query was lost; a list may
   * be shorter than k when the recommender returns fewer items.
   */
  topK(
    sequences: readonly (readonly number[])[],
    k: number,
    options?: RecommendOptions,
  ): Promise<(Int32Array | null)[]>;
  /** The rank of each query's target after its history; `null` where the query was lost. */
  targetRanks(
    queries: readonly RankQuery[],
    options?: RunOptions,
  ): Promise<(RankObservation | null)[]>;
}

/** A checkpoint as a recommender: exact ranks over every item, nothing ever lost. */
export function sessionRecommender(session: ScoringSession): Recommender {
  const { itemIds } = session.adapter;
  return {
    itemIds,
    topK: (sequences, k, options) => session.topK(sequences, k, options),
    async targetRanks(queries, options = {}) {
      const ranks = new Array<RankObservation>(queries.length);
      await session.forEachScores(
        queries.map((q) => q.history),
        (i, scores) =>
          (ranks[i] = { rank: rankOf(scores, itemIds, queries[i].target), censored: false }),
        options,
      );
      return ranks;
    },
  };
}

/** Accept either a session (the existing callers) or any recommender. */
export function asRecommender(source: ScoringSession | Recommender): Recommender {
  return 'adapter' in source ? sessionRecommender(source) : source;
}
