/**
 * What every attack that rewrites a copy of a model shares (pruning, noise, int8 quantization,
 * stripping post-processing): read the model and the data, measure the original, let the attack
 * make the new ModelProto, measure the copy on the same probes, and write it atomically. The
 * input is never touched and a cancelled run leaves no file.
 *
 * Measured: leave-one-out Recall@10 / NDCG@10 with data, and the mean top-10 overlap with the
 * original on the data's histories (or on sequences sampled from the original without data).
 */
import * as path from 'node:path';
import { dataFile, readItemSequences, type DataRef } from '../data/interactions';
import { RecMarkError, throwIfAborted } from '../errors';
import type { Adapter } from '../onnx/adapter';
import { encodeModel, writeModel, type LoadedModel, type onnx } from '../onnx/model';
import { ScoringSession } from '../onnx/session';
import { openModel } from '../onnx/open';
import type { UtilityRow } from '../report/report';
import { noProgress, StepTimer, type Progress } from '../util/progress';
import {
  checkUtilityUsers,
  hasHeldOutItem,
  leaveOneOutRows,
  measureUtility,
  overlapWith,
  type ModelUtility,
  type UtilityUsers,
} from '../utility';

export const COPY_ATTACK_DEFAULTS = {
  seed: 1,
  /** Probes sampled from the original model for the top-10 overlap when there is no data. */
  probes: 500,
};

export interface CopyAttackOptions {
  model: string;
  out: string;
  /** Interaction file: leave-one-out utility before/after, and its histories as overlap probes. */
  data?: DataRef;
  /** Seeds the attack's randomness and the probes sampled from the model (default 1). */
  seed?: number;
  /** Users utility is measured on: a seeded sample of at most N (default UTILITY_USERS_DEFAULT), or 'all'. */
  utilityUsers?: UtilityUsers;
  signal?: AbortSignal;
  progress?: Progress;
}

export interface CopyAttackResult {
  out: string;
  /** Leave-one-out Recall@10 and NDCG@10 before/after (empty without data). */
  utility: UtilityRow[];
  /** Mean |top-10 ∩ original top-10| / 10 over the probes. */
  topKOverlap: number;
  probes: { count: number; source: 'data' | 'model' };
  seed: number;
  timings: { step: string; ms: number }[];
}

/** What the attack gets: the loaded original, its adapter, the run's seed, signal and progress. */
export interface CopyAttackInput {
  model: LoadedModel;
  adapter: Adapter;
  seed: number;
  signal?: AbortSignal;
  progress: Progress;
}

export function checkSeed(seed: number): void {
  if (!(Number.isSafeInteger(seed) && seed >= 0 && seed < 2 ** 32)) {
    throw new RecMarkError(
      `The seed (--seed) must be an integer in [0, 2^32), got ${seed}.`,
      'usage',
    );
  }
}

/**
 * Run one copy attack: `attack` returns the new model and what it did (`detail`); `noun` names
 * the copy in progress messages ("the perturbed model").
 */
export async function copyAttack<T>(
  options: CopyAttackOptions,
  noun: string,
  attack: (input: CopyAttackInput) => Promise<{ proto: onnx.ModelProto; detail: T }>,
): Promise<CopyAttackResult & { detail: T }> {
  const progress = options.progress ?? noProgress;
  const { signal } = options;
  const timer = new StepTimer();
  const seed = options.seed ?? COPY_ATTACK_DEFAULTS.seed;
  checkSeed(seed);
  checkUtilityUsers(options.utilityUsers);
  if (path.resolve(options.out) === path.resolve(options.model)) {
    throw new RecMarkError(
      `Refusing to overwrite the input ${options.model}; choose a new output path.`,
      'usage',
    );
  }

  progress({ message: 'Reading the model' });
  const { model, adapter } = await openModel(options.model);
  const sequences = options.data
    ? await readItemSequences(options.data, adapter, signal, progress)
    : null;
  if (sequences && !hasHeldOutItem(sequences)) {
    throw new RecMarkError(
      `${dataFile(options.data!)} has no user with at least 2 interactions to measure utility on.`,
      'data-invalid',
    );
  }
  timer.lap('load');

  const measuringOriginal = 'Measuring the original model';
  progress({ message: measuringOriginal });
  const users = options.utilityUsers;
  const before = await measure(encodeModel(model.proto), adapter, sequences, null, seed, {
    users,
    signal,
    progress,
    step: measuringOriginal,
  });
  timer.lap('before');

  const { proto, detail } = await attack({ model, adapter, seed, signal, progress });
  timer.lap('attack');
  throwIfAborted(signal);

  const measuringCopy = `Measuring ${noun}`;
  progress({ message: measuringCopy });
  const after = await measure(encodeModel(proto), adapter, sequences, before.probes, seed, {
    users,
    signal,
    progress,
    step: measuringCopy,
  });
  timer.lap('after');

  progress({ message: `Writing ${noun}` });
  throwIfAborted(signal);
  await writeModel(proto, options.out);
  timer.lap('write');

  return {
    out: options.out,
    utility:
      before.loo && after.loo
        ? leaveOneOutRows(before.loo, after.loo, ' (leave-one-out)', before.users)
        : [],
    topKOverlap: overlapWith(before, after),
    probes: { count: before.probes.length, source: sequences ? 'data' : 'model' },
    seed,
    timings: timer.steps,
    detail,
  };
}

/**
 * Leave-one-out utility (with data) and top-10 lists on the probes: the data's held-out
 * histories, or sequences sampled from the original model (given back as `probes`).
 */
async function measure(
  bytes: Uint8Array,
  adapter: Adapter,
  sequences: number[][] | null,
  probes: number[][] | null,
  seed: number,
  context: { users?: UtilityUsers; signal?: AbortSignal; progress: Progress; step: string },
): Promise<ModelUtility> {
  const session = await ScoringSession.open(bytes, adapter);
  try {
    return await measureUtility(session, sequences, {
      ks: [10],
      probes,
      sample: { count: COPY_ATTACK_DEFAULTS.probes, seed },
      ...context,
    });
  } finally {
    await session.release();
  }
}
