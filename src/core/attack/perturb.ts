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
 * bit-identical. The perturbed copy is written with `writeWeights` through `copyAttack`
 * (copyAttack.ts: measured before/after, written atomically): only initializer data changes.
 * The pure functions `prunedWeights` / `noisyWeights` work on weight maps in memory, for sweeps
 * that need no files; `perturbWeights` runs any such function as an attack (quantize.ts too).
 */
import { RecMarkError, throwIfAborted } from '../errors';
import { writeWeights } from '../train/weights';
import { stepCount } from '../util/progress';
import { Rng } from '../util/random';
import { checkSeed, copyAttack, type CopyAttackOptions, type CopyAttackResult } from './copyAttack';
import { trainedWeights } from '../train/weights';

/** Where the copy goes, the data it is measured on, the seed (noise, sampled probes). */
export type PerturbOptions = CopyAttackOptions;

export interface PruneOptions extends PerturbOptions {
  /** Share of each tensor's entries to zero, in [0, 1). */
  fraction: number;
}

export interface NoiseOptions extends PerturbOptions {
  /** Noise standard deviation in units of each tensor's own standard deviation, ≥ 0. */
  scale: number;
}

export interface PerturbResult extends CopyAttackResult {
  /** Weight tensors perturbed (pruning: the matrices only). */
  tensors: number;
  /** Entries in those tensors. */
  parameters: number;
  /** Entries whose value actually changed (already-zero entries do not count as pruned). */
  changed: number;
  /** The largest |w' − w| of any entry (for quantization: the largest rounding error). */
  maxAbsChange: number;
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
  const normal = new Rng(seed).normalSource();
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

/** Magnitude-prune a copy of the model (see the file comment); the input is never touched. */
export async function pruneAttack(options: PruneOptions): Promise<PerturbResult> {
  checkFraction(options.fraction);
  return perturbWeights(options, 'Pruning', { matricesOnly: true }, (params, o) =>
    prunedWeights(params, options.fraction, o),
  );
}

/** Add Gaussian weight noise to a copy of the model (see the file comment). */
export async function noiseAttack(options: NoiseOptions): Promise<PerturbResult> {
  checkScale(options.scale);
  return perturbWeights(options, 'Adding noise to', { matricesOnly: false }, (params, o, seed) =>
    noisyWeights(params, options.scale, seed, o),
  );
}

/**
 * Apply a pure weight transform to the trained weights of a copy of the model (all of them, or
 * the matrices only), measured before and after and written atomically.
 */
export async function perturbWeights(
  options: PerturbOptions,
  verb: string,
  select: { matricesOnly: boolean },
  transform: (
    params: ReadonlyMap<string, Float32Array>,
    o: WeightOptions,
    seed: number,
  ) => Map<string, Float32Array>,
): Promise<PerturbResult> {
  const r = await copyAttack(options, 'the perturbed model', async (input) => {
    const { model, adapter, seed, signal, progress } = input;
    const params = trainedWeights(model.proto, adapter.output, select);
    const message = `${verb} ${params.size} weight tensors`;
    progress({ message, fraction: 0 });
    const perturbed = transform(
      params,
      {
        signal,
        onTensor: (done, total) =>
          progress({
            message,
            fraction: done / total,
            count: stepCount(done, total, 'weight tensors'),
          }),
      },
      seed,
    );
    throwIfAborted(signal);
    let parameters = 0;
    let changed = 0;
    let maxAbsChange = 0;
    for (const [name, w] of params) {
      const p = perturbed.get(name)!;
      parameters += w.length;
      for (let i = 0; i < w.length; i++) {
        if (p[i] === w[i]) continue;
        changed++;
        maxAbsChange = Math.max(maxAbsChange, Math.abs(p[i] - w[i]));
      }
    }
    return {
      proto: writeWeights(model.proto, perturbed),
      detail: { tensors: params.size, parameters, changed, maxAbsChange },
    };
  });
  const { detail, ...rest } = r;
  return { ...rest, ...detail };
}
