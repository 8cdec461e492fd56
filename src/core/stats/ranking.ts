/**
 * Ranking metrics as pure maths on top-k lists already obtained: leave-one-out recall/NDCG,
 * per-point DCG gains, list overlap, next-item point sampling and a paired bootstrap. Querying a
 * model for those lists lives in ../utility.ts, over the recommender seam; nothing here runs
 * inference or touches files (test/unit/layering.test.ts).
 */
import { Rng } from '../util/random';

export interface RankingMetrics {
  recall: number;
  ndcg: number;
  users: number;
  k: number;
  /** Each query's hit (0/1) and DCG term, in query order: for intervals and paired changes. */
  perUser?: { recall: Float64Array; ndcg: Float64Array };
}

/**
 * The leave-one-out split: each sequence of at least two items predicts its last item from
 * the rest.
 */
export function leaveOneOutQueries(sequences: readonly (readonly number[])[]): {
  histories: number[][];
  targets: number[];
} {
  const usable = sequences.filter((s) => s.length >= 2);
  return {
    histories: usable.map((s) => s.slice(0, -1)),
    targets: usable.map((s) => s[s.length - 1]),
  };
}

/**
 * Recall@k and NDCG@k for every k in `ks` from one top-max(ks) list per query: `lists[i]` is
 * the model's answer to the query whose held-out item is `targets[i]`.
 */
export function rankingMetrics(
  lists: readonly Int32Array[],
  targets: readonly number[],
  ks: readonly number[],
): RankingMetrics[] {
  const n = Math.max(1, targets.length);
  return ks.map((k) => {
    let hits = 0;
    let dcg = 0;
    const perUser = {
      recall: new Float64Array(targets.length),
      ndcg: new Float64Array(targets.length),
    };
    lists.forEach((list, i) => {
      const rank = list.subarray(0, k).indexOf(targets[i]);
      if (rank >= 0) {
        hits++;
        dcg += 1 / Math.log2(rank + 2);
        perUser.recall[i] = 1;
        perUser.ndcg[i] = 1 / Math.log2(rank + 2);
      }
    });
    return { recall: hits / n, ndcg: dcg / n, users: targets.length, k, perUser };
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

/**
 * Every next-item prediction in interaction data: each prefix of at least `minHistory` items
 * (its last `maxHistory`) predicts the item after it. Leave-one-out keeps one prediction per
 * user, so on a few hundred users a handful of hits decides NDCG@10 (on 610 MovieLens users
 * ±5% between two models that differ in 7% of their top-10 slots); all predictions give tens of
 * thousands of points. A seeded sample of at most `max` is kept.
 */
export interface NextItemPoints {
  histories: number[][];
  targets: number[];
  /** Index of the sequence (user) each point came from, for a bootstrap over users. */
  users: number[];
}

export function nextItemPoints(
  sequences: readonly (readonly number[])[],
  options: { maxHistory: number; max: number; seed: number; minHistory?: number },
): NextItemPoints {
  const all: [number, number][] = [];
  const min = Math.max(1, options.minHistory ?? 1);
  sequences.forEach((s, u) => {
    for (let i = min; i < s.length; i++) all.push([u, i]);
  });
  const chosen =
    all.length <= options.max
      ? all
      : new Rng(options.seed)
          .shuffle(all)
          .slice(0, options.max)
          .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const points: NextItemPoints = { histories: [], targets: [], users: [] };
  for (const [u, i] of chosen) {
    points.histories.push(sequences[u].slice(Math.max(0, i - options.maxHistory), i));
    points.targets.push(sequences[u][i]);
    points.users.push(u);
  }
  return points;
}

/** DCG of each target in its list (0 when it is not there): the NDCG@k terms of top-k lists. */
export function dcgOfTargets(
  lists: readonly Int32Array[],
  targets: readonly number[],
): Float64Array {
  return Float64Array.from(lists, (list, i) => {
    const r = list.indexOf(targets[i]);
    return r >= 0 ? 1 / Math.log2(r + 2) : 0;
  });
}

/**
 * 95% interval of a mean by the normal approximation (mean ± 1.96·s/√n), kept within the
 * values' range (a mean cannot leave it; the approximation can, for rare hits on few users).
 */
export function meanCi95(values: ArrayLike<number>): [number, number] {
  const n = values.length;
  if (n === 0) return [NaN, NaN];
  let sum = 0;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    sum += values[i];
    lo = Math.min(lo, values[i]);
    hi = Math.max(hi, values[i]);
  }
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i] - mean) ** 2;
  const half = n > 1 ? 1.96 * Math.sqrt(ss / (n - 1) / n) : 0;
  return [Math.max(lo, mean - half), Math.min(hi, mean + half)];
}

/**
 * Relative change of a mean metric between two models on the same points (after/before − 1),
 * with a 95% interval from a bootstrap over users (points of one user move together), and the
 * same bootstrap's 95% interval of each model's mean.
 */
export function pairedRelativeChange(
  before: ArrayLike<number>,
  after: ArrayLike<number>,
  users: readonly number[],
  options: { resamples?: number; seed?: number } = {},
): {
  before: number;
  after: number;
  change: number;
  ci95: [number, number];
  beforeCi95: [number, number];
  afterCi95: [number, number];
} {
  const byUser = new Map<number, [number, number, number]>();
  let sb = 0;
  let sa = 0;
  for (let i = 0; i < users.length; i++) {
    const acc = byUser.get(users[i]) ?? [0, 0, 0];
    acc[0] += before[i];
    acc[1] += after[i];
    acc[2]++;
    byUser.set(users[i], acc);
    sb += before[i];
    sa += after[i];
  }
  const groups = [...byUser.values()];
  const rng = new Rng(options.seed ?? 1);
  const resamples = options.resamples ?? 1000;
  const changes: number[] = [];
  const befores: number[] = [];
  const afters: number[] = [];
  for (let r = 0; r < resamples; r++) {
    let b = 0;
    let a = 0;
    let points = 0;
    for (let g = 0; g < groups.length; g++) {
      const [gb, ga, gn] = groups[rng.int(groups.length)];
      b += gb;
      a += ga;
      points += gn;
    }
    if (b > 0) changes.push(a / b - 1);
    if (points > 0) {
      befores.push(b / points);
      afters.push(a / points);
    }
  }
  const interval = (xs: number[]): [number, number] => {
    xs.sort((x, y) => x - y);
    const at = (q: number): number => xs[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? NaN;
    return [at(0.025), at(0.975)];
  };
  const n = Math.max(1, users.length);
  return {
    before: sb / n,
    after: sa / n,
    change: sb > 0 ? sa / sb - 1 : NaN,
    ci95: interval(changes),
    beforeCi95: interval(befores),
    afterCi95: interval(afters),
  };
}
