/**
 * Data-free model extraction (DESIGN.md §6; Yue et al., RecSys 2021, as used by the AOW paper's
 * code): the thief has no user data, only black-box access to the victim's ranked top-k lists.
 *
 * 1. Synthetic sequences: S sequences of length L, the first item uniform over the catalogue,
 *    each next item uniform from the victim's top-k after the current prefix (history excluded,
 *    as a served recommendation list would). Every prefix is one query; its list is kept as the
 *    label, so the query budget is S·L (plus H·L for the held-out sequences that measure
 *    fidelity).
 * 2. A surrogate: the victim's own graph with its float weights re-initialised (`same`), or a
 *    SASRec built in code (`sasrec`). Post-processing RecMark itself appends (the GREW score
 *    calibration) is not part of the architecture and is cut off first.
 * 3. Training on the ranked lists only (a thief sees no scores):
 *    - `listwise` (default): cross-entropy on items drawn from each list with probability
 *      ∝ exp(−rank/τ), fresh draws every epoch, at every position of the synthetic sequence when
 *      the surrogate scores every position (its optimum is logits linear in the victim's rank);
 *    - `ranking`: margin loss at the last position, each list item above a lower-ranked item of
 *      the same list and above an item outside it (Yue et al.'s two hinge terms in one).
 *    Why listwise: on the GREW-marked SASRec fixture (S = 3,000, L = 50, k = 100) 10 listwise
 *    epochs (938 steps, ~100 s) reached 66.8% held-out top-10 overlap and GREW z_w 5.06, one
 *    ranking epoch (2,344 steps, 114 s) 54.9% and z_w 1.3: a softmax over all items per
 *    position carries far more of the ranking per step than 200 hinge pairs at one position.
 *    τ = 5 / 10 / 20 gave z_w 3.41 / 4.74 / 3.01 (at λ = 1): τ = 10 weights ranks 11–20, where
 *    GREW's evidence sits (it protects the top 10), without drowning them in ranks 30–100.
 * 4. Report: query budget and rate, fidelity (top-10 overlap with the victim on held-out synthetic
 *    prefixes; on users' histories with data), leave-one-out utility of both with data, training
 *    steps and time. The surrogate is written atomically; the victim file is only read.
 * Steps 1–3 live in syntheticQueries.ts, surrogate.ts and surrogateExamples.ts; this file runs
 * the attack and reports it.
 */
import { throwIfAborted } from '../errors';
import { readItemSequences, type DataRef } from '../data/interactions';
import { encodeModel, writeModel } from '../onnx/model';
import { openModel } from '../onnx/open';
import { ScoringSession } from '../onnx/session';
import { noProgress, stepCount, StepTimer, type Progress } from '../util/progress';
import { checkInt, checkNumber, usageError } from '../util/validate';
import {
  checkUtilityUsers,
  measureUtility,
  overlapWith,
  type ModelUtility,
  type UtilityUsers,
} from '../utility';
import { trainSurrogate, type ExtractArch, type ExtractLoss } from './surrogate';
import {
  measureFidelity,
  syntheticQueries,
  type Fidelity,
  type SyntheticQueries,
} from './syntheticQueries';

export type { ExtractArch, ExtractLoss };

export const EXTRACT_DEFAULTS = {
  sequences: 3000,
  topK: 100,
  arch: 'same' as ExtractArch,
  loss: 'listwise' as ExtractLoss,
  /** Synthetic sequence length: the model's seqLen, at most this. */
  maxLength: 50,
  /** Held-out synthetic sequences for the fidelity measurement (not trained on), ≤ 10% of S. */
  heldOut: 200,
  epochs: 10,
  lr: 3e-3,
  /**
   * Decoupled AdamW decay on matrices. Unlike training on sparse user data (the from-scratch
   * recipe uses 4), 100-item teacher lists regularise enough: on the GREW-marked fixture λ = 0 /
   * 1 / 4 gave held-out top-10 overlap 66.8 / 63.8 / 57.7% and GREW z_w 5.06 / 4.74 / 4.25.
   */
  weightDecay: 0,
  batchSize: 64,
  /** Listwise: rank temperature of the target distribution, and draws per sequence per epoch. */
  tau: 10,
  draws: 2,
  /** Ranking: hinge margin. */
  margin: 1,
  seed: 1,
};

export interface ExtractOptions {
  model: string;
  out: string;
  sequences?: number;
  topK?: number;
  arch?: ExtractArch;
  loss?: ExtractLoss;
  /** Synthetic sequence length (default: the model's seqLen, at most 50). */
  length?: number;
  heldOut?: number;
  epochs?: number;
  maxSteps?: number;
  lr?: number;
  weightDecay?: number;
  batchSize?: number;
  tau?: number;
  draws?: number;
  margin?: number;
  /** Listwise at every position: a sequence's draws share one row (default true; surrogate.ts). */
  mergeDraws?: boolean;
  /** Interaction data for the utility comparison (never used for training). */
  data?: DataRef;
  /** Users utility is measured on: a seeded sample of at most N (default UTILITY_USERS_DEFAULT), or 'all'. */
  utilityUsers?: UtilityUsers;
  /** Sees the synthetic sequences and the victim's lists (training ones first): for analysis. */
  onQueries?: (q: SyntheticQueries) => void;
  seed?: number;
  signal?: AbortSignal;
  progress?: Progress;
}

export interface ExtractResult {
  out: string;
  arch: ExtractArch;
  loss: ExtractLoss;
  /** What the thief asked the victim. */
  queries: {
    /** Training sequences S, their length L and the list length k. */
    sequences: number;
    length: number;
    topK: number;
    /** Queries that produced training labels: S·L. */
    training: number;
    /** Queries for the held-out fidelity sequences: H·L. */
    heldOut: number;
    total: number;
    seconds: number;
    perSecond: number;
  };
  training: {
    /** Whether the surrogate was trained at every position of a sequence, or at the last. */
    positions: 'all' | 'last';
    examples: number;
    epochs: number;
    steps: number;
    seconds: number;
    stepsPerSecond: number;
    parameters: number;
    reinitialised: string[];
    firstLoss: number;
    lastLoss: number;
  };
  /** Agreement with the victim on held-out synthetic prefixes (history excluded). */
  fidelity: Fidelity;
  /** With data: leave-one-out Recall@10 / NDCG@10 and top-10 overlap on users' histories. */
  utility: {
    /** Users measured, of those in the data with a held-out item. */
    users: number;
    of: number;
    victim: { recall: number; ndcg: number };
    surrogate: { recall: number; ndcg: number };
    top10Overlap: number;
  } | null;
  timings: { step: string; ms: number }[];
}

export async function extractModel(options: ExtractOptions): Promise<ExtractResult> {
  const progress = options.progress ?? noProgress;
  const { signal } = options;
  const timer = new StepTimer();
  const count = options.sequences ?? EXTRACT_DEFAULTS.sequences;
  const topK = options.topK ?? EXTRACT_DEFAULTS.topK;
  const arch = options.arch ?? EXTRACT_DEFAULTS.arch;
  const lossKind = options.loss ?? EXTRACT_DEFAULTS.loss;
  const heldOutCount = options.heldOut ?? Math.min(EXTRACT_DEFAULTS.heldOut, Math.ceil(count / 10));
  const epochs = options.epochs ?? EXTRACT_DEFAULTS.epochs;
  const lr = options.lr ?? EXTRACT_DEFAULTS.lr;
  const weightDecay = options.weightDecay ?? EXTRACT_DEFAULTS.weightDecay;
  const batchSize = options.batchSize ?? EXTRACT_DEFAULTS.batchSize;
  const tau = options.tau ?? EXTRACT_DEFAULTS.tau;
  const draws = options.draws ?? EXTRACT_DEFAULTS.draws;
  const seed = options.seed ?? EXTRACT_DEFAULTS.seed;
  if (arch !== 'same' && arch !== 'sasrec')
    throw usageError(`arch must be "same" or "sasrec", got "${String(arch)}".`);
  if (lossKind !== 'listwise' && lossKind !== 'ranking')
    throw usageError(`loss must be "listwise" or "ranking", got "${String(lossKind)}".`);
  checkInt('sequences', count, 1, 10_000_000);
  checkInt('held-out', heldOutCount, 0, 1_000_000);
  checkInt('epochs', epochs, 1, 10_000);
  checkInt('batch-size', batchSize, 1, 65_536);
  checkInt('draws', draws, 1, 1000);
  checkInt('seed', seed, 0, 2 ** 32 - 1);
  checkUtilityUsers(options.utilityUsers);
  if (options.maxSteps !== undefined) checkInt('max-steps', options.maxSteps, 1, 1e9);
  checkNumber('lr', lr, lr > 0 && lr < 1, 'between 0 and 1');
  checkNumber('weight-decay', weightDecay, weightDecay >= 0, '≥ 0');
  checkNumber('tau', tau, tau > 0, 'positive');

  progress({ message: 'Reading the victim model' });
  const { model, adapter } = await openModel(options.model);
  checkInt('top-k', topK, 2, adapter.numItems - 1);
  const length = options.length ?? Math.min(adapter.seqLen, EXTRACT_DEFAULTS.maxLength);
  checkInt('length', length, 1, adapter.numItems - 1);
  const data = options.data
    ? await readItemSequences(options.data, adapter, signal, progress)
    : null;
  timer.lap('load');

  // Query the black box.
  const victim = await ScoringSession.open(model.file, adapter);
  let q: SyntheticQueries;
  let victimUtility: ModelUtility | null = null;
  try {
    const total = (count + heldOutCount) * length;
    const message = `Querying the victim: ${count + heldOutCount} synthetic sequences × ${length} prefixes, top-${topK}`;
    const queried = (done: number): void =>
      progress({ message, fraction: done / total, count: stepCount(done, total, 'queries') });
    queried(0);
    q = await syntheticQueries(victim, {
      count: count + heldOutCount,
      length,
      topK,
      seed,
      signal,
      onProgress: queried,
    });
    timer.lap('queries');
    if (data) {
      const measuring = 'Measuring the victim on the data (leave-one-out)';
      progress({ message: measuring });
      // A served list leaves out what the user has seen, and so do the overlap lists here.
      victimUtility = await measureUtility(victim, data, {
        ks: [10],
        excludeHistory: true,
        users: options.utilityUsers,
        signal,
        progress,
        step: measuring,
      });
      timer.lap('victim-utility');
    }
  } finally {
    await victim.release();
  }
  options.onQueries?.(q);
  const trainQ = { sequences: q.sequences.slice(0, count), lists: q.lists.slice(0, count) };
  const heldQ = { sequences: q.sequences.slice(count), lists: q.lists.slice(count) };
  const trainingQueries = trainQ.lists.reduce((s, l) => s + l.length, 0);

  // Build and train the surrogate.
  progress({ message: `Building the ${arch} surrogate` });
  const trained = await trainSurrogate(model.proto, adapter, trainQ, {
    arch,
    loss: lossKind,
    epochs,
    maxSteps: options.maxSteps,
    lr,
    weightDecay,
    batchSize,
    tau,
    draws,
    margin: options.margin ?? EXTRACT_DEFAULTS.margin,
    mergeDraws: options.mergeDraws,
    seed,
    signal,
    onProgress: (p) =>
      progress({
        message: `Training the surrogate (${p.positions === 'all' ? 'every position' : 'last position'}, ${lossKind})`,
        fraction: p.step / p.totalSteps,
        count: stepCount(p.step, p.totalSteps, 'training steps'),
        detail: `epoch ${p.epoch}/${epochs}, loss ${p.loss.toFixed(4)}`,
      }),
  });
  const { result, positions } = trained;
  const stolen = trained.proto;
  timer.lap('train');
  throwIfAborted(signal);

  // Measure it.
  const measuringFidelity = 'Measuring the surrogate against the victim (held-out queries)';
  progress({ message: measuringFidelity });
  const session = await ScoringSession.open(encodeModel(stolen), trained.adapter);
  let fidelity: ExtractResult['fidelity'];
  let utility: ExtractResult['utility'] = null;
  try {
    fidelity = await measureFidelity(session, heldQ, signal, (done, total) =>
      progress({ message: measuringFidelity, count: stepCount(done, total, 'prefixes') }),
    );
    if (data && victimUtility) {
      const measuring = 'Measuring the surrogate on the data (leave-one-out)';
      progress({ message: measuring });
      const surrogate = await measureUtility(session, data, {
        ks: [10],
        probes: victimUtility.probes,
        excludeHistory: true,
        users: options.utilityUsers,
        signal,
        progress,
        step: measuring,
      });
      const [v] = victimUtility.loo!;
      const [m] = surrogate.loo!;
      utility = {
        users: m.users,
        of: surrogate.users?.of ?? m.users,
        victim: { recall: v.recall, ndcg: v.ndcg },
        surrogate: { recall: m.recall, ndcg: m.ndcg },
        top10Overlap: overlapWith(victimUtility, surrogate),
      };
    }
  } finally {
    await session.release();
  }
  timer.lap('measure');

  progress({ message: 'Writing the surrogate' });
  throwIfAborted(signal);
  await writeModel(stolen, options.out);
  timer.lap('write');

  const querySeconds = q.ms / 1000;
  const curve = result.curve;
  return {
    out: options.out,
    arch,
    loss: lossKind,
    queries: {
      sequences: count,
      length,
      topK,
      training: trainingQueries,
      heldOut: q.queries - trainingQueries,
      total: q.queries,
      seconds: querySeconds,
      perSecond: q.queries / Math.max(querySeconds, 1e-9),
    },
    training: {
      positions,
      examples: trained.examples,
      epochs: trained.epochs,
      steps: result.steps,
      seconds: trained.seconds,
      stepsPerSecond: result.stepsPerSecond,
      parameters: trained.parameters,
      reinitialised: arch === 'same' ? result.trainable : [],
      firstLoss: curve.length ? curve[0].loss : NaN,
      lastLoss: curve.length
        ? curve.slice(-Math.min(20, curve.length)).reduce((s, c) => s + c.loss, 0) /
          Math.min(20, curve.length)
        : NaN,
    },
    fidelity,
    utility,
    timings: timer.steps,
  };
}
