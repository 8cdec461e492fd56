/**
 * Step 1 of data-free extraction (extraction.ts): the thief's synthetic queries to the victim,
 * and the surrogate's fidelity to the victim on the held-out ones.
 */
import { throwIfAborted } from '../errors';
import type { ScoringSession } from '../onnx/session';
import { topKOverlap } from '../stats/ranking';
import { Rng } from '../util/random';

/** Sequences per query batch. */
const QUERY_BATCH = 256;

export interface SyntheticQueries {
  /** Item sequences, each `length` long (shorter only if a list ran out). */
  sequences: number[][];
  /** lists[s][i]: the victim's top-k after sequences[s][0..i] (history excluded). */
  lists: Int32Array[][];
  /** Number of prefixes the victim was asked about. */
  queries: number;
  ms: number;
}

/**
 * Yue et al.'s autoregressive sampling: a uniform first item, then each next item uniform from
 * the victim's top-k after the current prefix; every prefix's list is recorded as a label.
 * `probesFromModel` (watermark/probes.ts) samples the same way but keeps no lists.
 */
export async function syntheticQueries(
  victim: ScoringSession,
  options: {
    count: number;
    length: number;
    topK: number;
    seed: number;
    signal?: AbortSignal;
    onProgress?: (done: number, total: number) => void;
  },
): Promise<SyntheticQueries> {
  const rng = new Rng(options.seed);
  const ids = victim.adapter.itemIds;
  const sequences = Array.from({ length: options.count }, () => [ids[rng.int(ids.length)]]);
  const lists: Int32Array[][] = sequences.map(() => []);
  const open = new Set(sequences.keys());
  const start = performance.now();
  let queries = 0;
  const total = options.count * options.length;
  for (let step = 1; step <= options.length && open.size > 0; step++) {
    throwIfAborted(options.signal);
    const asked = [...open];
    const answers = await victim.topK(
      asked.map((s) => sequences[s]),
      options.topK,
      {
        excludeHistory: true,
        batchSize: QUERY_BATCH,
        signal: options.signal,
        // Batch by batch: one position of every sequence is many batches on a large catalogue.
        onProgress: (done) => options.onProgress?.(queries + done, total),
      },
    );
    queries += asked.length;
    asked.forEach((s, j) => {
      const list = answers[j];
      if (list.length === 0) {
        open.delete(s);
        return;
      }
      lists[s].push(list);
      if (step < options.length) sequences[s].push(list[rng.int(list.length)]);
      else open.delete(s);
    });
    options.onProgress?.(queries, total);
  }
  // A sequence whose last prefix got an empty list keeps only the labelled prefixes.
  sequences.forEach((seq, s) => seq.splice(lists[s].length));
  return { sequences, lists, queries, ms: performance.now() - start };
}

/** Agreement of a surrogate with the victim on held-out prefixes (history excluded). */
export interface Fidelity {
  prefixes: number;
  top10Overlap: number;
  top20Overlap: number;
  top1Agreement: number;
  /** Expected top-10 overlap of a random ranking: 10 / items. */
  chanceTop10: number;
}

/** Top-10/top-20 overlap and top-1 agreement on every held-out prefix (surrogate queries only). */
export async function measureFidelity(
  session: ScoringSession,
  held: Pick<SyntheticQueries, 'sequences' | 'lists'>,
  signal?: AbortSignal,
  /** Prefixes the surrogate has answered, of all held-out ones. */
  onProgress?: (done: number, total: number) => void,
): Promise<Fidelity> {
  const prefixes: number[][] = [];
  const want: Int32Array[] = [];
  held.sequences.forEach((seq, s) =>
    held.lists[s].forEach((list, i) => {
      prefixes.push(seq.slice(0, i + 1));
      want.push(list);
    }),
  );
  const chanceTop10 = 10 / session.adapter.numItems;
  if (prefixes.length === 0)
    return { prefixes: 0, top10Overlap: NaN, top20Overlap: NaN, top1Agreement: NaN, chanceTop10 };
  const got = await session.topK(prefixes, 20, {
    signal,
    excludeHistory: true,
    batchSize: QUERY_BATCH,
    onProgress,
  });
  const cut = (lists: Int32Array[], k: number) => lists.map((l) => l.subarray(0, k));
  return {
    prefixes: prefixes.length,
    top10Overlap: topKOverlap(cut(want, 10), cut(got, 10)),
    top20Overlap: topKOverlap(cut(want, 20), cut(got, 20)),
    top1Agreement: want.filter((l, i) => l[0] === got[i][0]).length / want.length,
    chanceTop10,
  };
}
