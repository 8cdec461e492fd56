/**
 * Step 3 of data-free extraction (extraction.ts): training examples from the victim's ranked
 * lists, listwise (targets drawn by rank) or ranking (hinge pairs).
 */
import type { TrainExample } from '../train/examples';
import { Rng } from '../util/random';
import type { SyntheticQueries } from './syntheticQueries';

/** Sampling table of the rank distribution p(r) ∝ exp(−r/τ) over a list of length k. */
function rankSampler(k: number, tau: number): (rng: Rng) => number {
  const cdf = new Float64Array(k);
  let total = 0;
  for (let r = 0; r < k; r++) cdf[r] = total += Math.exp(-r / tau);
  return (rng) => {
    const u = rng.next() * total;
    let lo = 0;
    let hi = k - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

/**
 * Listwise examples: per epoch and sequence, `draws` examples whose target at each position is an
 * item of that prefix's list drawn with p(rank) ∝ exp(−rank/τ) (all-position surrogates); or, at
 * the last position, `draws` random prefixes with one drawn target each. With `merge` (all
 * positions), the draws of a sequence are one example with `targetDraws`: the same loss terms,
 * the scores computed once for all of them instead of once per draw.
 */
export function listwiseExamples(
  q: Pick<SyntheticQueries, 'sequences' | 'lists'>,
  options: {
    positions: 'all' | 'last';
    epochs: number;
    draws: number;
    tau: number;
    seqLen: number;
    seed: number;
    merge?: boolean;
  },
): TrainExample[] {
  const rng = new Rng(options.seed);
  const examples: TrainExample[] = [];
  const samplers = new Map<number, (rng: Rng) => number>();
  // Last-position prefixes are shared by every epoch's examples.
  const prefixes: number[][][] = [];
  const draw = (list: Int32Array): number => {
    let sample = samplers.get(list.length);
    if (!sample) samplers.set(list.length, (sample = rankSampler(list.length, options.tau)));
    return list[sample(rng)];
  };
  for (let e = 0; e < options.epochs; e++) {
    q.sequences.forEach((seq, s) => {
      const lists = q.lists[s];
      if (options.positions === 'all') {
        // Windows of seqLen items: the model sees at most that many.
        for (let end = seq.length; end > 0; end -= options.seqLen) {
          const begin = Math.max(0, end - options.seqLen);
          const history = seq.slice(begin, end);
          const targetDraws: number[][] = [];
          for (let d = 0; d < options.draws; d++)
            targetDraws.push(history.map((_, i) => draw(lists[begin + i])));
          if (options.merge) examples.push({ history, targetDraws });
          else for (const targets of targetDraws) examples.push({ history, targets });
        }
      } else if (seq.length > 0) {
        // As many examples per sequence and epoch as at every position, so an epoch costs the
        // same; each is one prefix, drawn at random, with one drawn target.
        prefixes[s] ??= seq.map((_, i) => seq.slice(Math.max(0, i + 1 - options.seqLen), i + 1));
        for (let d = 0; d < options.draws; d++) {
          const i = rng.int(seq.length);
          examples.push({ history: prefixes[s][i], target: draw(lists[i]) });
        }
      }
    });
  }
  return examples;
}

/**
 * Ranking examples at the last position: for each list item j (k pairs), j above a random item
 * ranked below it in the same list, and (k more pairs) j above a random item outside the list.
 */
export function rankingExamples(
  q: Pick<SyntheticQueries, 'sequences' | 'lists'>,
  options: { itemIds: Int32Array; seqLen: number; seed: number },
): TrainExample[] {
  const rng = new Rng(options.seed);
  const ids = options.itemIds;
  const examples: TrainExample[] = [];
  q.sequences.forEach((seq, s) => {
    q.lists[s].forEach((list, i) => {
      const k = list.length;
      const inList = new Set(list);
      const outside = (): number => {
        for (;;) {
          const id = ids[rng.int(ids.length)];
          if (!inList.has(id)) return id;
        }
      };
      const positives: number[] = [];
      const negatives: number[] = [];
      for (let j = 0; j < k; j++) {
        positives.push(list[j], list[j]);
        negatives.push(j + 1 < k ? list[j + 1 + rng.int(k - j - 1)] : outside(), outside());
      }
      examples.push({
        history: seq.slice(Math.max(0, i + 1 - options.seqLen), i + 1),
        positives,
        negatives,
      });
    });
  });
  return examples;
}
