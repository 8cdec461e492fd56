/**
 * Attack simulation: weight perturbations a thief can apply without any data (DESIGN.md §6).
 *
 * - Magnitude pruning zeroes the `fraction` smallest-|w| entries of EACH weight matrix
 *   (per-tensor, "layer-wise" pruning, as `torch.nn.utils.prune.l1_unstructured` does per
 *   module). Global pruning ranks all weights together, so matrices on a small scale (attention
 *   and feed-forward projections next to a large embedding table) would lose most of their
 *   entries while the embedding kept nearly all of its own; per-tensor pruning removes the same
 *   share everywhere, which is the usual default of pruning attacks in watermarking papers.
 *   Like those attacks (and like the optimizer's weight decay) it prunes matrices only, never
 *   1-D biases and LayerNorm scales/shifts: on sasrec_opset17 with MovieLens, pruning 20% of the
 *   LayerNorm vectors alone cut the top-10 overlap to 0.62, pruning 20% of every matrix only to
 *   0.90 — zeroing a norm scale deletes a feature outright, which no real pruning pass does.
 * - Gaussian noise adds N(0, (scale·std(W))²) to every entry of each tensor W, with std(W) the
 *   tensor's own (population) standard deviation, so `scale` is relative and scale-free across
 *   layers. Every trained tensor gets noise, vectors included (relative to their own spread they matter
 *   little). A tensor whose entries are all equal (std 0) is left as it is.
 *
 * The tensors are the model's trained weights (`trainedWeights` in weights.ts): never shape
 * constants, scalars, masks, penalty or flag vectors — a GREW serve-mode head's constants stay
 * bit-identical. The perturbed copy is written with `writeWeights` + `writeModel`
 * (atomic): only initializer data changes, the input model is never touched and a cancelled run
 * leaves no file. The pure functions `prunedWeights` / `noisyWeights` work on weight maps in
 * memory, for sweeps that need no files.
 */
import * as path from 'node:path';
import { itemPredicate, readInteractions } from '../data/interactions';
import { RecMarkError, throwIfAborted } from '../errors';
import type { Adapter } from '../onnx/adapter';
import { encodeModel, writeModel } from '../onnx/model';
import { ScoringSession } from '../onnx/session';
import { inspectModel } from '../report/modelCard';
import type { UtilityRow } from '../report/report';
import { leaveOneOut, topKOverlap } from '../stats/ranking';
import { writeWeights } from '../train/trainer';
import { noProgress, StepTimer, type Progress } from '../util/progress';
import { Rng } from '../util/random';
import { probesFromModel } from '../watermark/probes';
import { trainedWeights } from './weights';

export const PERTURB_DEFAULTS = {
  seed: 1,
  /** Probes sampled from the original model for the top-10 overlap when there is no data. */
  probes: 500,
  /** The overlap and the leave-one-out metrics are measured at this cut-off. */
  k: 10,
};

export interface PerturbOptions {
  model: string;
  out: string;
  /** Interaction file: leave-one-out utility before/after, and its histories as overlap probes. */
  data?: string;
  /** Seeds the noise and the probes sampled from the model (default 1). */
  seed?: number;
  signal?: AbortSignal;
  progress?: Progress;
}

export interface PruneOptions extends PerturbOptions {
  /** Share of each tensor's entries to zero, in [0, 1). */
  fraction: number;
}

export interface NoiseOptions extends PerturbOptions {
  /** Noise standard deviation in units of each tensor's own standard deviation, ≥ 0. */
  scale: number;
}

export interface PerturbResult {
  out: string;
  /** Weight tensors perturbed (pruning: the matrices only). */
  tensors: number;
  /** Entries in those tensors. */
  parameters: number;
  /** Entries whose value actually changed (already-zero entries do not count as pruned). */
  changed: number;
  /** Leave-one-out Recall@10 and NDCG@10 before/after (empty without data). */
  utility: UtilityRow[];
  /** Mean |top-10 ∩ original top-10| / 10 over the probes. */
  topKOverlap: number;
  probes: { count: number; source: 'data' | 'model' };
  seed: number;
  timings: { step: string; ms: number }[];
}

export interface WeightOptions {
  signal?: AbortSignal;
  /** Called after each tensor. */
  onTensor?: (done: number, total: number, name: string) => void;
}

function checkFraction(fraction: number): void {
  if (!(Number.isFinite(fraction) && fraction >= 0 && fraction < 1)) {
    throw new RecMarkError(
      `The pruning fraction (--fraction) must be a number in [0, 1), got ${fraction}.`,
      'usage',
    );
  }
}

function checkScale(scale: number): void {
  if (!(Number.isFinite(scale) && scale >= 0)) {
    throw new RecMarkError(
      `The noise scale (--scale) must be a finite number ≥ 0 (in units of each tensor's standard deviation), got ${scale}.`,
      'usage',
    );
  }
}

function checkSeed(seed: number): void {
  if (!(Number.isSafeInteger(seed) && seed >= 0 && seed < 2 ** 32)) {
    throw new RecMarkError(
      `The seed (--seed) must be an integer in [0, 2^32), got ${seed}.`,
      'usage',
    );
  }
}

/**
 * How many entries of a tensor of size n pruning zeroes: round(fraction·n) (torch's
 * `l1_unstructured` rounds the same way, except that Python rounds halves to even).
 */
export function prunedCount(size: number, fraction: number): number {
  return Math.min(size, Math.round(fraction * size));
}

/**
 * Per-tensor magnitude pruning: a copy of every tensor with its round(fraction·n) smallest-|w|
 * entries set to zero. Ties at the threshold are broken by position (earlier entries first), so
 * exactly that many entries are zeroed and the result is deterministic. The input is not changed.
 */
export function prunedWeights(
  params: ReadonlyMap<string, Float32Array>,
  fraction: number,
  options: WeightOptions = {},
): Map<string, Float32Array> {
  checkFraction(fraction);
  const out = new Map<string, Float32Array>();
  let done = 0;
  for (const [name, w] of params) {
    throwIfAborted(options.signal);
    out.set(name, pruneTensor(w, prunedCount(w.length, fraction)));
    options.onTensor?.(++done, params.size, name);
  }
  return out;
}

function pruneTensor(w: Float32Array, count: number): Float32Array {
  const result = w.slice();
  if (count <= 0) return result;
  const magnitudes = w.map(Math.abs).sort();
  const threshold = magnitudes[count - 1];
  // Everything strictly below the threshold goes, then entries equal to it in index order.
  let below = 0;
  for (let i = 0; i < count; i++) if (magnitudes[i] < threshold) below++;
  let ties = count - below;
  for (let i = 0; i < result.length; i++) {
    const m = Math.abs(result[i]);
    if (m < threshold) result[i] = 0;
    else if (m === threshold && ties > 0) {
      result[i] = 0;
      ties--;
    }
  }
  return result;
}

/**
 * Gaussian weight noise: a copy of every tensor W plus N(0, (scale·std(W))²) per entry, std(W)
 * the population standard deviation of W's entries. Normal draws come from the seeded Rng by
 * Box–Muller (both values of each pair used), over the tensors in map order: the same map, scale
 * and seed always give the same weights. The input is not changed.
 */
export function noisyWeights(
  params: ReadonlyMap<string, Float32Array>,
  scale: number,
  seed: number,
  options: WeightOptions = {},
): Map<string, Float32Array> {
  checkScale(scale);
  checkSeed(seed);
  const normal = gaussian(new Rng(seed));
  const out = new Map<string, Float32Array>();
  let done = 0;
  for (const [name, w] of params) {
    throwIfAborted(options.signal);
    const sigma = scale * standardDeviation(w);
    const result = w.slice();
    if (sigma > 0) for (let i = 0; i < result.length; i++) result[i] += sigma * normal();
    out.set(name, result);
    options.onTensor?.(++done, params.size, name);
  }
  return out;
}

/** Population standard deviation, accumulated in float64. */
export function standardDeviation(w: ArrayLike<number>): number {
  if (w.length === 0) return 0;
  let sum = 0;
  for (let i = 0; i < w.length; i++) sum += w[i];
  const mean = sum / w.length;
  let sq = 0;
  for (let i = 0; i < w.length; i++) sq += (w[i] - mean) ** 2;
  return Math.sqrt(sq / w.length);
}

/** Standard normal draws by Box–Muller; the second value of each pair is kept for the next call. */
function gaussian(rng: Rng): () => number {
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const z = spare;
      spare = null;
      return z;
    }
    const u1 = 1 - rng.next(); // (0, 1]: ln(u1) is finite
    const u2 = rng.next();
    const r = Math.sqrt(-2 * Math.log(u1));
    spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  };
}

/** Magnitude-prune a copy of the model (see the file comment); the input is never touched. */
export async function pruneAttack(options: PruneOptions): Promise<PerturbResult> {
  checkFraction(options.fraction);
  return perturb(options, 'Pruning', { matricesOnly: true }, (params, o) =>
    prunedWeights(params, options.fraction, o),
  );
}

/** Add Gaussian weight noise to a copy of the model (see the file comment). */
export async function noiseAttack(options: NoiseOptions): Promise<PerturbResult> {
  checkScale(options.scale);
  const seed = options.seed ?? PERTURB_DEFAULTS.seed;
  return perturb(options, 'Adding noise to', { matricesOnly: false }, (params, o) =>
    noisyWeights(params, options.scale, seed, o),
  );
}

async function perturb(
  options: PerturbOptions,
  verb: string,
  select: { matricesOnly: boolean },
  transform: (
    params: ReadonlyMap<string, Float32Array>,
    o: WeightOptions,
  ) => Map<string, Float32Array>,
): Promise<PerturbResult> {
  const progress = options.progress ?? noProgress;
  const { signal } = options;
  const timer = new StepTimer();
  const seed = options.seed ?? PERTURB_DEFAULTS.seed;
  checkSeed(seed);
  if (path.resolve(options.out) === path.resolve(options.model)) {
    throw new RecMarkError(
      `Refusing to overwrite the input ${options.model}; choose a new output path.`,
      'usage',
    );
  }

  progress({ message: 'Reading the model' });
  const { model, adapter } = await inspectModel(options.model);
  const sequences = options.data
    ? (await readInteractions(options.data, { isItem: itemPredicate(adapter), signal })).sequences
    : null;
  if (sequences && !sequences.some((s) => s.length >= 2)) {
    throw new RecMarkError(
      `${options.data} has no user with at least 2 interactions to measure utility on.`,
      'data-invalid',
    );
  }
  const params = trainedWeights(model.proto, adapter.output, select);
  timer.lap('load');

  progress({ message: 'Measuring the original model' });
  const before = await measure(encodeModel(model.proto), adapter, sequences, null, seed, signal);
  timer.lap('before');

  progress({ message: `${verb} ${params.size} weight tensors`, fraction: 0 });
  const perturbed = transform(params, {
    signal,
    onTensor: (done, total) =>
      progress({ message: `${verb} ${params.size} weight tensors`, fraction: done / total }),
  });
  let parameters = 0;
  let changed = 0;
  for (const [name, w] of params) {
    const p = perturbed.get(name)!;
    parameters += w.length;
    for (let i = 0; i < w.length; i++) if (p[i] !== w[i]) changed++;
  }
  const proto = writeWeights(model.proto, perturbed);
  timer.lap('perturb');
  throwIfAborted(signal);

  progress({ message: 'Measuring the perturbed model' });
  const after = await measure(encodeModel(proto), adapter, sequences, before.probes, seed, signal);
  timer.lap('after');

  progress({ message: 'Writing the perturbed model' });
  throwIfAborted(signal);
  await writeModel(proto, options.out);
  timer.lap('write');

  const utility: UtilityRow[] =
    before.loo && after.loo
      ? [
          {
            metric: 'Recall@10 (leave-one-out)',
            before: before.loo.recall,
            after: after.loo.recall,
          },
          { metric: 'NDCG@10 (leave-one-out)', before: before.loo.ndcg, after: after.loo.ndcg },
        ]
      : [];
  return {
    out: options.out,
    tensors: params.size,
    parameters,
    changed,
    utility,
    topKOverlap: topKOverlap(before.lists, after.lists),
    probes: { count: before.probes.length, source: sequences ? 'data' : 'model' },
    seed,
    timings: timer.steps,
  };
}

interface Measured {
  loo: { recall: number; ndcg: number } | null;
  probes: number[][];
  lists: Int32Array[];
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
  signal?: AbortSignal,
): Promise<Measured> {
  const { k } = PERTURB_DEFAULTS;
  const session = await ScoringSession.open(bytes, adapter);
  try {
    let loo: Measured['loo'] = null;
    if (sequences) {
      const [m] = await leaveOneOut(session, sequences, [k], { signal });
      loo = { recall: m.recall, ndcg: m.ndcg };
    }
    const queries =
      probes ??
      (sequences
        ? sequences.filter((s) => s.length >= 2).map((s) => s.slice(0, -1))
        : await probesFromModel(session, { count: PERTURB_DEFAULTS.probes, seed, signal }));
    const lists = await session.topK(queries, k, { signal });
    return { loo, probes: queries, lists };
  } finally {
    await session.release();
  }
}
