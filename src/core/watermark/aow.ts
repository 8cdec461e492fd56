/**
 * AOW embedding (DESIGN.md §3): generate an out-of-distribution sequence with the clean model as
 * oracle (aowSequence.ts), fine-tune the weights until every prefix predicts its next watermark
 * item first, and self-check; verification, asking a suspect to continue the prefixes, is
 * aowAudit.ts. Used by the CLI and VS Code alike.
 */
import { RecMarkError, throwIfAborted } from '../errors';
import { dataFile, readItemSequences, type DataRef } from '../data/interactions';
import type { Adapter } from '../onnx/adapter';
import { encodeModel } from '../onnx/model';
import { ScoringSession } from '../onnx/session';
import { openModel } from '../onnx/open';
import { modelCard, type ModelCard } from '../report/modelCard';
import { percent } from '../report/plain';
import { DEFAULT_ALPHA, type UtilityRow } from '../report/report';
import { oneHotTeacher, prefixExamples, type TrainExample } from '../train/examples';
import { warmupCosine } from '../train/schedule';
import { train } from '../train/trainer';
import { trainedWeightNames, writeWeights } from '../train/weights';
import { noProgress, stepCount, StepTimer, type Progress } from '../util/progress';
import { checkInt, usageError } from '../util/validate';
import { DEFAULT_SEED, Rng } from '../util/random';
import {
  checkUtilityUsers,
  leaveOneOutRows,
  measureUtility,
  overlapRow,
  overlapWith,
  type ModelUtility,
  type UtilityUsers,
} from '../utility';
import { keyedSeed, keyIdOf, newSecret, type AowKey } from './key';
import { writeModelAndKey } from './outputs';
import { probesFromData, probesFromModel } from './probes';
import { auditAow } from './aowAudit';
import { MemorisationTracker } from './aowSchedule';
import { extractionRanks, generateAowSequence, itemCounts, type AowStart } from './aowSequence';

// The CLI names the start options by this type.
export type { AowStart };
export type AowUtility = 'train' | 'distil';

export const AOW_DEFAULTS = {
  length: 5,
  bottomM: 100,
  /** Share of training examples that are watermark examples (the paper's WDR). */
  ratio: 0.1,
  /** Lower rates memorise more slowly but move the rest of the model less (README, AOW). */
  lr: 3e-4,
  batchSize: 64,
  /**
   * Steps before the memorisation check may stop training, and the check interval. Stopping at
   * the first all-rank-1 check (~40–120 steps on SASRec) left a shallow memory that a 10%
   * fine-tune could dent (a target fell to rank 4); after 200 steps it stayed at rank 1.
   */
  minSteps: 200,
  checkEvery: 10,
  /** A cap: training stops at rank 1 everywhere, or once the ranks stop improving (patience). */
  maxSteps: 3000,
  /** Steps without a better watermark ranking before training gives up (aowSchedule.ts). */
  patience: 300,
  /** Growth per check, and the most, of an unlearnt prefix's weight (aowSchedule.ts). */
  boostGrowth: 1.1,
  maxBoost: 8,
  /** Progress that resets the patience clock: 0.1 bits of log2 rank (aowSchedule.ts). */
  minGain: 0.1,
  /** Linear learning-rate warm-up before the cosine decay over maxSteps (schedule.ts). */
  warmupSteps: 50,
  /** NDCG@10 may fall by at most this share (with data); beyond it, embed again distilling. */
  maxNdcgDrop: 0.1,
  /** Also teach the watermark after any history ending in a watermark item (survives extraction). */
  contextual: false,
  /** Without data: sequences sampled from the original for self-distillation and the utility check. */
  distillSequences: 2000,
  overlapProbes: 500,
};

export interface EmbedAowOptions {
  model: string;
  out: string;
  keyOut?: string;
  data?: DataRef;
  length?: number;
  bottomM?: number;
  ratio?: number;
  start?: AowStart;
  /**
   * How utility is kept: 'train' = next-item cross-entropy on the data's sequences (default with
   * data; also keeps training the model), 'distil' = KL toward the original's scores (default
   * without data; keeps the model's behaviour closest), on data histories when there is data.
   */
  utility?: AowUtility;
  lr?: number;
  /**
   * Also teach "w_i after any history → w(i+1)" (half the watermark examples), so the watermark
   * survives model extraction. Off by default: it cost NARM 29% and BERT4Rec 13% of NDCG@10.
   */
  contextual?: boolean;
  /** Steps before training may stop (default 200): more steps embed the sequence more deeply. */
  minSteps?: number;
  maxSteps?: number;
  /** Steps without a better watermark ranking before giving up (default 300). */
  patience?: number;
  /**
   * The largest relative NDCG@10 drop allowed (with data; default 0.1). Beyond it, a run that
   * trained on the data embeds again distilling the original, then once more with the
   * watermark's share halved; if that also exceeds it, nothing is written.
   */
  maxNdcgDrop?: number;
  seed?: number;
  /** Users utility is measured on: a seeded sample of at most N (default UTILITY_USERS_DEFAULT), or 'all'. */
  utilityUsers?: UtilityUsers;
  /** Tests inject a fixed secret; users always get a fresh random one. */
  secret?: Uint8Array;
  signal?: AbortSignal;
  progress?: Progress;
}

export interface EmbedAowResult {
  key: AowKey;
  out: string;
  keyOut: string | null;
  card: ModelCard;
  utility: UtilityRow[];
  /** Ranks of the targets in the original model (how out-of-distribution the sequence is). */
  ranksBefore: number[];
  /** The audit of the new model with its own key. */
  evidence: { ranks: number[]; recallAt1: number; pValueText: string; verdict: string };
  training: {
    steps: number;
    examples: number;
    watermarkExamples: number;
    loss: 'cross-entropy' | 'kl';
    stepsPerSecond: number;
  };
  /**
   * The utility guard: the NDCG@10 drop (null without data), whether it forced distillation, and
   * the watermark share a second redo trained with (halved; null when there was none).
   */
  guard: {
    maxNdcgDrop: number;
    ndcgDrop: number | null;
    distilled: boolean;
    halvedShare: number | null;
  };
  timings: { step: string; ms: number }[];
}

/**
 * Whether an AOW of `length` items, each drawn from the `bottomM` lowest-scored, fits this
 * catalogue: the sequence needs `length` distinct items and each draw a pool of unused ones.
 */
export function checkAowFits(
  numItems: number,
  length: number,
  bottomM: number,
  bottomMGiven: boolean,
): void {
  if (numItems < length + 1) {
    const fix =
      numItems < 3
        ? 'use a model with a larger catalogue'
        : `use --length ${numItems === 3 ? '2' : `from 2 to ${numItems - 1}`}`;
    throw usageError(
      `A ${length}-item AOW watermark needs at least ${length + 1} items, and this catalogue has ${numItems}; ${fix}.`,
    );
  }
  if (bottomMGiven && bottomM > numItems - length)
    throw usageError(
      `--bottom-m ${bottomM} asks for the ${bottomM} lowest-scored items, but this ${numItems}-item catalogue ` +
        `has ${numItems - length} left besides the ${length} watermark items; use --bottom-m from 1 to ${numItems - length}.`,
    );
  checkInt('bottom-m', bottomM, 1, Number.MAX_SAFE_INTEGER);
}

export async function embedAow(options: EmbedAowOptions): Promise<EmbedAowResult> {
  const progress = options.progress ?? noProgress;
  const { signal } = options;
  const timer = new StepTimer();
  const length = options.length ?? AOW_DEFAULTS.length;
  let bottomM = options.bottomM ?? AOW_DEFAULTS.bottomM;
  const ratio = options.ratio ?? AOW_DEFAULTS.ratio;
  const lr = options.lr ?? AOW_DEFAULTS.lr;
  const maxSteps = options.maxSteps ?? AOW_DEFAULTS.maxSteps;
  const minSteps = options.minSteps ?? AOW_DEFAULTS.minSteps;
  const contextual = options.contextual ?? AOW_DEFAULTS.contextual;
  const seed = options.seed ?? DEFAULT_SEED;
  checkInt('length', length, 2, 20);
  checkInt('max-steps', maxSteps, 1, 1_000_000);
  checkInt('min-steps', minSteps, 0, maxSteps);
  const patience = options.patience ?? AOW_DEFAULTS.patience;
  checkInt('patience', patience, 10, 1_000_000);
  if (options.maxNdcgDrop !== undefined && !(options.maxNdcgDrop >= 0 && options.maxNdcgDrop <= 1))
    throw usageError(`max-ndcg-drop must be between 0 and 1, got ${options.maxNdcgDrop}.`);
  checkUtilityUsers(options.utilityUsers);
  if (!(ratio > 0 && ratio < 1)) throw usageError(`ratio must be between 0 and 1, got ${ratio}.`);
  if (!(lr > 0 && lr < 1)) throw usageError(`lr must be between 0 and 1, got ${lr}.`);
  const start = options.start ?? (options.data ? 'cold' : 'random');
  const utility = options.utility ?? (options.data ? 'train' : 'distil');
  if (utility === 'train' && !options.data)
    throw usageError('--utility train fine-tunes on your users, so it needs --data.');
  if (start !== 'random' && !options.data)
    throw usageError(`--start ${start} picks the item by its frequency, so it needs --data.`);

  progress({ message: 'Reading the model' });
  const opened = await openModel(options.model);
  const { model, adapter } = opened;
  const card = await modelCard(opened);
  checkAowFits(adapter.numItems, length, bottomM, options.bottomM !== undefined);
  // The default pool shrinks to what a small catalogue has left; an explicit one is checked above.
  bottomM = Math.min(bottomM, adapter.numItems - length);
  const sequences = options.data
    ? await readItemSequences(options.data, adapter, signal, progress)
    : null;
  timer.lap('load');

  const secret = options.secret ?? newSecret();
  const original = await ScoringSession.open(model.file, adapter);
  let sequence: number[];
  let utilityExamples: TrainExample[];
  let before: ModelUtility;
  let ranksBefore: number[];
  try {
    progress({
      message: `Generating a ${length}-item watermark sequence with the model as oracle`,
    });
    sequence = await generateAowSequence(original, {
      length,
      bottomM,
      start,
      rng: new Rng(keyedSeed(secret, 'aow/sequence')),
      counts: sequences ? itemCounts(sequences, adapter.scoreWidth) : null,
      signal,
    });
    ranksBefore = await extractionRanks(original, sequence, signal);
    timer.lap('sequence');
    // Without data, sequences sampled from the original: distillation inputs, the first few also
    // the overlap probes.
    const sampling = 'Sampling sequences from the model to distil on';
    if (!sequences) progress({ message: sampling });
    const sampled = sequences
      ? null
      : await probesFromModel(original, {
          count: AOW_DEFAULTS.distillSequences,
          seed,
          signal,
          onProgress: (done, total) =>
            progress({ message: sampling, count: stepCount(done, total, 'queries') }),
        });
    const beforeStep = 'Measuring utility before embedding';
    progress({ message: beforeStep });
    before = await measureUtility(original, sequences, {
      ks: [10, 20],
      probes: sampled?.slice(0, AOW_DEFAULTS.overlapProbes),
      users: options.utilityUsers,
      signal,
      progress,
      step: beforeStep,
    });
    utilityExamples =
      utility === 'train'
        ? prefixExamples(sequences!, adapter.seqLen)
        : await distillationExamples(
            original,
            sequences
              ? probesFromData(sequences, { count: AOW_DEFAULTS.distillSequences, seed })
              : sampled!,
            signal,
            progress,
          );
    timer.lap('before');
  } finally {
    await original.release();
  }
  if (utilityExamples.length === 0)
    throw new RecMarkError(
      `${dataFile(options.data!)} has no user with at least 3 interactions to keep utility with.`,
      'data-invalid',
    );

  const plan = {
    minSteps,
    patience,
    maxBoost: AOW_DEFAULTS.maxBoost,
    boostGrowth: AOW_DEFAULTS.boostGrowth,
    minGain: AOW_DEFAULTS.minGain,
  };
  const memorise = async (
    loss: 'cross-entropy' | 'kl',
    utilityExamples: TrainExample[],
    ratio: number,
  ) => {
    const marks = watermarkExamples(
      sequence,
      ratio,
      utilityExamples.length,
      adapter,
      loss,
      contextual ? (sequences ?? utilityExamples.map((x) => x.history)) : [],
      new Rng(seed + 0x5eed),
    );
    const prefixOf = new Map(marks.map((x, n) => [x, n % (sequence.length - 1)]));
    const tracker = new MemorisationTracker(sequence.length - 1, plan);
    const examples = [...utilityExamples, ...marks];
    const batchSize = AOW_DEFAULTS.batchSize;
    const epochs = Math.max(1, Math.ceil((maxSteps * batchSize) / examples.length));
    let ranks: number[] = [];
    const tuning = `Fine-tuning until every prefix predicts its watermark item (${examples.length.toLocaleString('en-US')} examples)`;
    // Training stops once every prefix ranks its item first, or once the ranks stop improving:
    // maxSteps is a cap.
    const trainingProgress = (step: number): void =>
      progress({
        message: tuning,
        fraction: step / maxSteps,
        count: stepCount(step, maxSteps, 'training steps', true),
        detail:
          ranks.length > 0 ? `watermark ranks ${ranks.join(', ')} (all must reach 1)` : undefined,
      });
    progress({ message: tuning });
    const result = await train({
      model: model.proto,
      adapter,
      examples,
      // The learned weights only: never a serve-mode head's masks and averaging vectors.
      trainable: trainedWeightNames(model.proto, adapter.output),
      loss,
      batchSize,
      epochs,
      maxSteps,
      lr,
      lrAt: warmupCosine({ peak: lr, warmup: AOW_DEFAULTS.warmupSteps, horizon: maxSteps }),
      seed,
      signal,
      // A prefix the utility loss keeps beating trains with more weight (aowSchedule.ts).
      prepare: async (batch) =>
        batch.map((x) => {
          const i = prefixOf.get(x);
          return i === undefined || tracker.boosts[i] === 1
            ? x
            : { ...x, weight: (x.weight ?? 1) * tracker.boosts[i] };
        }),
      onProgress: (p) => trainingProgress(p.step),
      checkpoint: {
        every: AOW_DEFAULTS.checkEvery,
        check: async (step, weights) => {
          if (step < minSteps) return false;
          ranks = await ranksWith(model.proto, weights, adapter, sequence, signal);
          trainingProgress(step);
          return tracker.observe(step, ranks) !== 'improving';
        },
      },
    });
    return { result, loss, examples: examples.length, marks: marks.length };
  };

  const maxNdcgDrop = options.maxNdcgDrop ?? AOW_DEFAULTS.maxNdcgDrop;
  let loss = utility === 'train' ? ('cross-entropy' as const) : ('kl' as const);
  let distilled = false;
  let share = ratio;
  for (;;) {
    const run = await memorise(loss, utilityExamples, share);
    const { result } = run;
    timer.lap('train');
    throwIfAborted(signal);
    const marked = await ScoringSession.open(encodeModel(result.proto), adapter);
    try {
      const ranks = await extractionRanks(marked, sequence, signal);
      if (!ranks.every((r) => r === 1)) {
        const why =
          result.steps < maxSteps
            ? `the ranks stopped improving after ${result.steps} steps`
            : `after ${result.steps} steps (--max-steps)`;
        throw new RecMarkError(
          `The watermark targets rank ${ranks.join(', ')} (all must rank 1): ${why}; ` +
            'nothing was written. Raise --ratio or --lr, or try a shorter --length.',
          'aow-not-memorised',
        );
      }
      const afterStep = 'Measuring utility after embedding';
      progress({ message: afterStep });
      const after = await measureUtility(marked, sequences, {
        ks: [10, 20],
        probes: before.probes,
        users: options.utilityUsers,
        signal,
        progress,
        step: afterStep,
      });
      const drop = ndcgDrop(before, after);
      if (drop !== null && drop > maxNdcgDrop) {
        // A redo's timings show the refused attempt's measuring on its own.
        timer.lap('after (refused)');
        if (loss === 'cross-entropy') {
          // Training on the data moved the model too far: start again from the original, now
          // distilling its scores on the same histories (the behaviour-preserving loss).
          progress({
            message: `NDCG@10 fell ${percent(drop)} (limit ${percent(maxNdcgDrop)}); embedding again with distillation toward the original`,
          });
          utilityExamples = await distilOnData(
            model.file,
            adapter,
            sequences!,
            seed,
            signal,
            progress,
          );
          loss = 'kl';
          distilled = true;
          continue;
        }
        if (share === ratio) {
          // Distilling still cost too much: give the distillation twice the weight by halving
          // the watermark's share of the examples (the adaptive schedule makes up the pace).
          progress({
            message: `NDCG@10 fell ${percent(drop)} (limit ${percent(maxNdcgDrop)}); embedding again with the watermark's share halved to ${share / 2}`,
          });
          share = ratio / 2;
          continue;
        }
        throw new RecMarkError(
          `Embedding cost ${percent(drop)} of NDCG@10, more than the ${percent(maxNdcgDrop)} allowed, ` +
            `even distilling toward the original with the watermark's share halved to ${share}; ` +
            'nothing was written. Allow more with --max-ndcg-drop, or lower --lr.',
          'aow-utility',
        );
      }
      const key = makeKey(secret, sequence, bottomM, start, card);
      const selfCheck = await auditAow(
        marked,
        card,
        key,
        { alpha: DEFAULT_ALPHA },
        new StepTimer(),
      );
      timer.lap('after');
      progress({ message: 'Writing the watermarked model' });
      await writeModelAndKey(
        options.out,
        result.proto,
        options.keyOut ? { file: options.keyOut, key } : null,
      );
      timer.lap('write');
      return {
        key,
        out: options.out,
        keyOut: options.keyOut ?? null,
        card,
        utility: [
          ...(before.loo && after.loo
            ? leaveOneOutRows(before.loo, after.loo, '', before.users)
            : []),
          overlapRow(
            overlapWith(before, after),
            sequences ? undefined : 'Top-10 overlap with original (sampled)',
            before.users,
          ),
        ],
        ranksBefore,
        evidence: {
          ranks,
          recallAt1: selfCheck.aow!.recall['1'],
          pValueText: selfCheck.pValueText,
          verdict: selfCheck.verdict,
        },
        training: {
          steps: result.steps,
          examples: run.examples,
          watermarkExamples: run.marks,
          loss,
          stepsPerSecond: result.stepsPerSecond,
        },
        guard: {
          maxNdcgDrop,
          ndcgDrop: drop,
          distilled,
          halvedShare: share === ratio ? null : share,
        },
        timings: timer.steps,
      };
    } finally {
      await marked.release();
    }
  }
}

/** Relative NDCG@10 loss from before to after (negative: a gain), or null without data. */
function ndcgDrop(before: ModelUtility, after: ModelUtility): number | null {
  const b = before.loo?.find((m) => m.k === 10);
  const a = after.loo?.find((m) => m.k === 10);
  if (!a || !b || !(b.ndcg > 0)) return null;
  return (b.ndcg - a.ndcg) / b.ndcg;
}

/** Distillation examples on the data's histories: the original's scores as teachers. */
async function distilOnData(
  file: string,
  adapter: Adapter,
  sequences: number[][],
  seed: number,
  signal: AbortSignal | undefined,
  progress: Progress,
): Promise<TrainExample[]> {
  const original = await ScoringSession.open(file, adapter);
  try {
    const probes = probesFromData(sequences, { count: AOW_DEFAULTS.distillSequences, seed });
    return await distillationExamples(original, probes, signal, progress);
  } finally {
    await original.release();
  }
}

function makeKey(
  secret: Uint8Array,
  sequence: number[],
  bottomM: number,
  start: AowStart,
  card: ModelCard,
): AowKey {
  return {
    scheme: 'aow',
    version: 1,
    keyId: keyIdOf(secret),
    sequence,
    L: sequence.length,
    M: bottomM,
    start,
    secret,
    model: { fileName: card.fileName, sha256: card.sha256 },
    createdAt: new Date().toISOString(),
  };
}

/**
 * Watermark examples, `ratio` of all examples: the exact prefixes w1..wi → w(i+1). With contexts
 * (`contextual`), half instead put w_i after a random stretch of a real history (user sequences
 * or distillation inputs) → w(i+1), so the model continues the watermark whatever came before.
 * Measured: with exact prefixes only, a surrogate extracted from 3,000 synthetic sequences
 * ranked the targets 506, 103, 348, 8 (Recall@10 25%); with the contextual half, 1, 2, 1, 1 —
 * the few synthetic queries that touch a watermark item then carry it into the surrogate.
 * With KL training (no data) each target becomes a one-hot teacher.
 */
function watermarkExamples(
  sequence: readonly number[],
  ratio: number,
  utilityCount: number,
  adapter: Adapter,
  loss: 'cross-entropy' | 'kl',
  contexts: readonly (readonly number[])[],
  rng: Rng,
): TrainExample[] {
  const steps = sequence.length - 1;
  const copies = Math.max(2, Math.round((ratio / (1 - ratio)) * (utilityCount / steps)));
  const total = copies * steps;
  const marked = new Set(sequence);
  const usable = contexts.filter((c) => c.length > 0 && !c.some((id) => marked.has(id)));
  const label = (target: number) =>
    loss === 'kl' ? { teacher: oneHotTeacher(adapter.scoreWidth, target) } : { target };
  const examples: TrainExample[] = [];
  for (let n = 0; n < total; n++) {
    const i = n % steps;
    const target = sequence[i + 1];
    if ((n / steps) % 2 < 1 || usable.length === 0) {
      examples.push({ history: sequence.slice(0, i + 1), ...label(target) });
      continue;
    }
    const context = usable[rng.int(usable.length)];
    const length = 1 + rng.int(Math.min(20, context.length, adapter.seqLen - 1));
    const start = rng.int(context.length - length + 1);
    examples.push({
      history: [...context.slice(start, start + length), sequence[i]],
      ...label(target),
    });
  }
  return examples;
}

/** Self-distillation: the original model's scores on the given histories. */
async function distillationExamples(
  session: ScoringSession,
  probes: number[][],
  signal: AbortSignal | undefined,
  progress: Progress,
): Promise<TrainExample[]> {
  const examples: TrainExample[] = [];
  const message = "Scoring the sequences to distil on with the original's scores";
  progress({ message });
  await session.forEachScores(
    probes,
    (i, scores) => examples.push({ history: probes[i], teacher: scores.slice() }),
    {
      signal,
      onProgress: (done, total) =>
        progress({ message, count: stepCount(done, total, 'sequences') }),
    },
  );
  return examples;
}

async function ranksWith(
  proto: Parameters<typeof writeWeights>[0],
  weights: ReadonlyMap<string, Float32Array>,
  adapter: Adapter,
  sequence: readonly number[],
  signal?: AbortSignal,
): Promise<number[]> {
  const session = await ScoringSession.open(encodeModel(writeWeights(proto, weights)), adapter);
  try {
    return await extractionRanks(session, sequence, signal);
  } finally {
    await session.release();
  }
}
