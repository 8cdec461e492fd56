/**
 * Attack simulation: a thief fine-tunes a stolen model on a fraction of users' sequences
 * (DESIGN.md §6). Next-item cross-entropy at the query position of every prefix of each chosen
 * user's sequence (its last item held out); reports the loss curve and leave-one-out utility
 * before and after, and writes the fine-tuned copy. The input model is never touched. Only the
 * trained weights move (weights.ts): post-processing constants such as a GREW serve-mode head's
 * green and penalty vectors are buffers, not parameters, and stay as they were.
 */
import { RecMarkError, throwIfAborted } from '../errors';
import { dataFile, readItemSequences, type DataRef } from '../data/interactions';
import type { Adapter } from '../onnx/adapter';
import { encodeModel, writeModel } from '../onnx/model';
import { ScoringSession } from '../onnx/session';
import { openModel } from '../onnx/open';
import type { UtilityRow } from '../report/report';
import { prefixExamples } from '../train/examples';
import type { TrainingLayout } from '../train/lastPositionTraining';
import { train, type TrainResult } from '../train/trainer';
import { evaluateLoss } from '../train/trainingSession';
import { noProgress, stepCount, StepTimer, type Progress } from '../util/progress';
import { Rng } from '../util/random';
import { checkNumber } from '../util/validate';
import { trainedWeightNames } from '../train/weights';
import {
  checkUtilityUsers,
  leaveOneOut,
  leaveOneOutRows,
  sampleUtilityUsers,
  type UtilityUsers,
} from '../utility';
import type { RankingMetrics } from '../stats/ranking';

export const FINETUNE_DEFAULTS = {
  epochs: 1,
  lr: 1e-3,
  fraction: 0.1,
  seed: 1,
  batchSize: 64,
  weightDecay: 0,
  clip: 1,
  /** Training examples the before/after training loss is measured on. */
  lossSample: 2048,
};

export interface FinetuneOptions {
  model: string;
  data: DataRef;
  out: string;
  epochs?: number;
  lr?: number;
  fraction?: number;
  seed?: number;
  batchSize?: number;
  maxSteps?: number;
  weightDecay?: number;
  /** How many training examples the before/after loss is measured on. */
  lossSample?: number;
  /** Users utility is measured on: a seeded sample of at most N (default UTILITY_USERS_DEFAULT), or 'all'. */
  utilityUsers?: UtilityUsers;
  signal?: AbortSignal;
  progress?: Progress;
}

export interface FinetuneResult {
  out: string;
  users: { total: number; finetuned: number };
  examples: number;
  steps: number;
  epochs: { epoch: number; loss: number }[];
  curve: { step: number; epoch: number; loss: number }[];
  /** Mean training loss on (a sample of) the fine-tuning examples, before and after. */
  trainLoss: { before: number; after: number; examples: number };
  utility: UtilityRow[];
  stepsPerSecond: number;
  /** Which forward graph trained ([batch, T, N] exports: their last-position rewrite or not, why). */
  trainingGraph: Pick<TrainingLayout, 'mode' | 'note'>;
  timings: { step: string; ms: number }[];
}

export async function finetuneAttack(options: FinetuneOptions): Promise<FinetuneResult> {
  const progress = options.progress ?? noProgress;
  const timer = new StepTimer();
  const epochs = options.epochs ?? FINETUNE_DEFAULTS.epochs;
  const lr = options.lr ?? FINETUNE_DEFAULTS.lr;
  const fraction = options.fraction ?? FINETUNE_DEFAULTS.fraction;
  const seed = options.seed ?? FINETUNE_DEFAULTS.seed;
  const batchSize = options.batchSize ?? FINETUNE_DEFAULTS.batchSize;
  checkNumber('epochs', epochs, Number.isSafeInteger(epochs) && epochs >= 1, 'a positive integer');
  checkNumber('lr', lr, lr > 0 && lr < 1, 'between 0 and 1');
  checkNumber('fraction', fraction, fraction > 0 && fraction <= 1, 'in (0, 1]');
  checkNumber(
    'batch-size',
    batchSize,
    Number.isSafeInteger(batchSize) && batchSize >= 1,
    'a positive integer',
  );

  checkUtilityUsers(options.utilityUsers);
  progress({ message: 'Reading the model and the data' });
  const { model, adapter } = await openModel(options.model);
  const sequences = await readItemSequences(options.data, adapter, options.signal, progress);
  // A user needs a held-out item and at least one (prefix → next) pair before it.
  const usable = sequences.filter((s) => s.length >= 3);
  if (usable.length === 0) {
    throw new RecMarkError(
      `${dataFile(options.data!)} has no user with at least 3 interactions to fine-tune on.`,
      'data-invalid',
    );
  }
  const rng = new Rng(seed);
  const chosen = rng
    .shuffle([...usable.keys()])
    .slice(0, Math.max(1, Math.round(fraction * usable.length)))
    .map((i) => usable[i]);
  const examples = prefixExamples(chosen, adapter.seqLen);
  const sampleSize = options.lossSample ?? FINETUNE_DEFAULTS.lossSample;
  const lossSample =
    examples.length <= sampleSize ? examples : rng.shuffle([...examples]).slice(0, sampleSize);
  timer.lap('load');

  const measuringBefore = 'Measuring utility and training loss before fine-tuning';
  progress({ message: measuringBefore });
  // Utility on a seeded sample of users (the same before and after); training sees them all.
  const measured = sampleUtilityUsers(sequences, options.utilityUsers);
  const utilityBefore = await utility(
    encodeModel(model.proto),
    adapter,
    measured.sequences,
    options.signal,
    usersMeasured(progress, measuringBefore),
  );
  const lossOptions = { adapter, examples: lossSample, batchSize, signal: options.signal };
  const lossBefore = await evaluateLoss({ model: model.proto, ...lossOptions });
  timer.lap('before');

  const tuning = `Fine-tuning on ${chosen.length} users (${examples.length.toLocaleString('en-US')} examples)`;
  progress({ message: tuning });
  const result: TrainResult = await train({
    model: model.proto,
    adapter,
    examples,
    // The network's weights, as a thief's optimizer sees them; never masks, flags or penalties.
    trainable: trainedWeightNames(model.proto, adapter.output),
    batchSize,
    epochs,
    maxSteps: options.maxSteps,
    lr,
    weightDecay: options.weightDecay ?? FINETUNE_DEFAULTS.weightDecay,
    clip: FINETUNE_DEFAULTS.clip,
    seed,
    signal: options.signal,
    onProgress: (p) =>
      progress({
        message: tuning,
        fraction: p.step / p.totalSteps,
        count: stepCount(p.step, p.totalSteps, 'training steps'),
        detail: `epoch ${p.epoch}/${p.epochs}, loss ${p.loss.toFixed(4)}`,
      }),
  });
  timer.lap('train');
  throwIfAborted(options.signal);

  const measuringAfter = 'Measuring utility and training loss after fine-tuning';
  progress({ message: measuringAfter });
  const tunedBytes = encodeModel(result.proto);
  const utilityAfter = await utility(
    tunedBytes,
    adapter,
    measured.sequences,
    options.signal,
    usersMeasured(progress, measuringAfter),
  );
  const lossAfter = await evaluateLoss({ model: result.proto, ...lossOptions });
  timer.lap('after');

  progress({ message: 'Writing the fine-tuned model' });
  throwIfAborted(options.signal);
  await writeModel(result.proto, options.out);
  timer.lap('write');

  return {
    out: options.out,
    users: { total: sequences.length, finetuned: chosen.length },
    examples: examples.length,
    steps: result.steps,
    epochs: result.epochs.map((e) => ({ epoch: e.epoch, loss: e.trainLoss })),
    curve: result.curve,
    trainLoss: { before: lossBefore, after: lossAfter, examples: lossSample.length },
    utility: leaveOneOutRows(utilityBefore, utilityAfter, ' (leave-one-out)', measured.users),
    stepsPerSecond: result.stepsPerSecond,
    trainingGraph: { mode: result.layout.mode, note: result.layout.note },
    timings: timer.steps,
  };
}

async function utility(
  bytes: Uint8Array,
  adapter: Adapter,
  sequences: number[][],
  signal: AbortSignal | undefined,
  onProgress: (done: number, total: number) => void,
): Promise<RankingMetrics[]> {
  const session = await ScoringSession.open(bytes, adapter);
  try {
    return await leaveOneOut(session, sequences, [10], { signal, onProgress });
  } finally {
    await session.release();
  }
}

/** Leave-one-out's count, as the step's progress. */
function usersMeasured(progress: Progress, message: string) {
  return (done: number, total: number): void =>
    progress({ message, count: stepCount(done, total, 'users measured') });
}
