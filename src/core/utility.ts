/**
 * Utility: how well a model recommends, measured by querying it, and how much an embed or an
 * attack changed it. Leave-one-out recall/NDCG on the data's held-out items, NDCG over every
 * next item with a bootstrap interval, and the top-10 overlap of a copy with its original.
 * Every embed, attack and the robustness sweep measure here, so their reports agree; the maths
 * on the lists is the pure code in stats/ranking.ts.
 */
import { RecMarkError } from './errors';
import type { RunOptions, ScoringSession } from './onnx/session';
import { asRecommender, type RecommendOptions, type Recommender } from './recommender';
import { utilityRow, type UtilityRow, type UtilityUsersCount } from './report/report';
import {
  dcgOfTargets,
  leaveOneOutQueries,
  meanCi95,
  nextItemPoints,
  pairedRelativeChange,
  rankingMetrics,
  topKOverlap,
  type NextItemPoints,
  type RankingMetrics,
} from './stats/ranking';
import { noProgress, stepCount, type Progress } from './util/progress';
import { Rng } from './util/random';
import { probesFromModel } from './watermark/probes';

type Source = ScoringSession | Recommender;

/** Overlap with the original is measured on top-10 lists. */
const OVERLAP_K = 10;

/**
 * Users utility is measured on by default: a seeded sample of at most this many, so a data file
 * of 31k users costs what one of 5k does (the interval beside each metric says what it buys).
 */
export const UTILITY_USERS_DEFAULT = 5000;

/** How many users utility is measured on: at most N (a seeded sample), or every user. */
export type UtilityUsers = number | 'all';

/**
 * The sample's seed is fixed, not the run's --seed: the same data always gives the same users,
 * so before/after (and runs with different seeds) are compared on the same people.
 */
const USER_SAMPLE_SEED = 0x5eed17;

/** A usage error unless `users` is unset (the default), 'all' or a positive integer. */
export function checkUtilityUsers(users: UtilityUsers | undefined): void {
  if (users === undefined || users === 'all' || (Number.isSafeInteger(users) && users >= 1)) return;
  throw new RecMarkError(
    `utility users must be a positive number of users or "all", got ${JSON.stringify(users)}; ` +
      `the default measures a seeded sample of ${UTILITY_USERS_DEFAULT.toLocaleString('en-US')}.`,
    'usage',
  );
}

/**
 * The users utility is measured on: those with a held-out item (two or more interactions), all
 * of them when there are at most `users`, else a seeded sample of `users` in the data's order.
 * Only utility reads it: probes, keys and training data come from the whole file.
 */
export function sampleUtilityUsers(
  sequences: readonly number[][],
  users: UtilityUsers = UTILITY_USERS_DEFAULT,
): { sequences: number[][]; users: UtilityUsersCount } {
  checkUtilityUsers(users);
  const usable: number[] = [];
  sequences.forEach((s, i) => {
    if (s.length >= 2) usable.push(i);
  });
  const of = usable.length;
  const chosen =
    users === 'all' || of <= users
      ? usable
      : new Rng(USER_SAMPLE_SEED)
          .shuffle(usable)
          .slice(0, users)
          .sort((a, b) => a - b);
  return { sequences: chosen.map((i) => sequences[i]), users: { used: chosen.length, of } };
}

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
  /** The users measured, of those with a held-out item (null without data). */
  users: UtilityUsersCount | null;
}

/**
 * Leave-one-out metrics at `ks` (with data), and top-10 lists on the overlap probes: those given
 * (the original's, when measuring a copy), else the data's held-out histories, else `sample`
 * sequences grown from the model itself. With data, on the users of `sampleUtilityUsers`
 * (the same ones on every call with the same data, so before and after are paired).
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
    /** Users to measure (default UTILITY_USERS_DEFAULT). */
    users?: UtilityUsers;
    signal?: AbortSignal;
    /**
     * Counts under `step` (the caller's step name): users measured, then probes listed for the
     * overlap; probes sampled from the model under a step of their own.
     */
    progress?: Progress;
    step?: string;
  },
): Promise<ModelUtility> {
  const { signal } = options;
  const progress = options.progress ?? noProgress;
  const step = options.step ?? 'Measuring utility';
  const counting =
    (message: string, unit: string) =>
    (done: number, total: number): void =>
      progress({ message, count: stepCount(done, total, unit) });
  const sample = sequences ? sampleUtilityUsers(sequences, options.users) : null;
  const measured = sample?.sequences ?? null;
  const loo = measured
    ? await leaveOneOut(source, measured, options.ks, {
        signal,
        onProgress: counting(step, 'users measured'),
      })
    : null;
  let probes = options.probes ?? (measured ? heldOutHistories(measured) : null);
  if (!probes) {
    if (!options.sample) throw new Error('measureUtility: no data, probes or sample size');
    const sampling = 'Sampling probe sequences from the model';
    progress({ message: sampling });
    probes = await probesFromModel(source, {
      ...options.sample,
      signal,
      onProgress: counting(sampling, 'queries'),
    });
  }
  const listing = `${step} (top-${OVERLAP_K} overlap)`;
  progress({ message: listing });
  const lists = await topKLists(source, probes, OVERLAP_K, {
    signal,
    excludeHistory: options.excludeHistory,
    onProgress: counting(listing, 'probes'),
  });
  return { loo, probes, lists, users: sample?.users ?? null };
}

/** Mean top-10 overlap of a copy with its original on the same probes. */
export function overlapWith(original: ModelUtility, copy: ModelUtility): number {
  return topKOverlap(original.lists, copy.lists);
}

/**
 * Recall@k and NDCG@k rows, before and after, for each k; `note` follows the metric's name.
 * With per-user values (the same users, in the same order, on both sides) each row carries the
 * normal-approximation interval of each metric and a paired bootstrap interval of the change.
 */
export function leaveOneOutRows(
  before: readonly RankingMetrics[],
  after: readonly RankingMetrics[],
  note = '',
  users?: UtilityUsersCount | null,
): UtilityRow[] {
  const row = (metric: string, name: 'recall' | 'ndcg', b: RankingMetrics, a: RankingMetrics) => {
    const pb = b.perUser?.[name];
    const pa = a.perUser?.[name];
    if (!pb || !pa || pb.length !== pa.length || pb.length === 0)
      return utilityRow(metric, b[name], a[name], undefined, { users: users ?? undefined });
    const paired = pairedRelativeChange(
      pb,
      pa,
      Array.from(pb, (_v, i) => i),
      {
        seed: USER_SAMPLE_SEED,
      },
    );
    return utilityRow(metric, b[name], a[name], b[name] > 0 ? paired.ci95 : undefined, {
      beforeCi95: meanCi95(pb),
      afterCi95: meanCi95(pa),
      users: users ?? undefined,
    });
  };
  return before.flatMap((m, i) => [
    row(`Recall@${m.k}${note}`, 'recall', m, after[i]),
    row(`NDCG@${m.k}${note}`, 'ndcg', m, after[i]),
  ]);
}

/** The top-10 overlap as a utility row (the original overlaps itself fully). */
export function overlapRow(
  overlap: number,
  metric = 'Top-10 overlap with original',
  users?: UtilityUsersCount | null,
): UtilityRow {
  return utilityRow(metric, 1, overlap, undefined, { users: users ?? undefined });
}

/**
 * NDCG@10 over every next-item prediction of the sampled users (at most `max` of them, each
 * history its last `maxHistory` items), before and after, with a 95% interval of the change
 * from a bootstrap over users. Leave-one-out rests on one item per user; this is far less noisy.
 */
export async function nextItemNdcgRow(
  before: Source,
  after: Source,
  sequences: readonly number[][],
  options: {
    maxHistory: number;
    max: number;
    seed: number;
    users?: UtilityUsers;
    signal?: AbortSignal;
    /** Predictions made (each point on both models) under `step`. */
    progress?: Progress;
    step?: string;
  },
): Promise<UtilityRow> {
  const { seed, signal } = options;
  const progress = options.progress ?? noProgress;
  const step = options.step ?? 'Measuring NDCG@10 on every next item';
  const sample = sampleUtilityUsers(sequences, options.users);
  const points = nextItemPoints(sample.sequences, {
    maxHistory: options.maxHistory,
    max: options.max,
    seed,
  });
  const total = 2 * points.targets.length;
  const gains = async (s: Source, offset: number) =>
    dcgGains(s, points, 10, {
      signal,
      onProgress: (done) =>
        progress({ message: step, count: stepCount(offset + done, total, 'predictions') }),
    });
  progress({ message: step });
  const all = pairedRelativeChange(
    await gains(before, 0),
    await gains(after, points.targets.length),
    points.users,
    { seed },
  );
  return utilityRow(
    `NDCG@10, every next item (${points.targets.length.toLocaleString('en-US')})`,
    all.before,
    all.after,
    all.ci95,
    { beforeCi95: all.beforeCi95, afterCi95: all.afterCi95, users: sample.users },
  );
}
