/**
 * Which initializers are a model's trained weights: what the weight attacks a thief runs on a
 * file (noise, pruning, int8 quantization, fine-tuning) touch, and nothing else (DESIGN.md §6:
 * "on trained weights only, never shape constants, masks or penalty vectors"), and what training
 * a model read from a file moves (AOW embedding). A GREW serve-mode head's averaging vector, if
 * trained, drifts until its variance goes negative and the loss turns NaN (AOW over a serve-mode
 * SASRec: NaN by step 110-163 for 4 of 4 keys). A tensor is a trained weight when all hold:
 *
 * 1. Structure (`defaultTrainable` below): a float32 initializer of more than one entry
 *    from which the score output is reachable through differentiable ops. This leaves out shape
 *    constants, axes and indices (integers), scalars (epsilons, exponents, temperatures, GREW's
 *    δ and 1/ln Kc) and anything that only feeds a shape or comparison path.
 * 2. Magnitude: every entry is finite and |x| < 1e4. Weights a float32 network learned are O(1)
 *    (the largest entry in the five fixtures is 4.1); masks and penalties are ±∞ or ±1e9, like
 *    the −1e9 that keeps pad and mask ids out of GREW's competitive set.
 * 3. Spread: more than min(4, n − 1) distinct values. Learned entries are almost all different
 *    (at least 99.8% of the entries of every fixture tensor are distinct); flags, one-hot,
 *    averaging and selection vectors take one to a few values (GREW's green set {0, 1}, its
 *    mean vector {1/Kc}). Int8-quantized weights keep up to 255 values, so they still count.
 *
 * On the five fixtures rules 2 and 3 drop nothing the structural rule keeps; on a GREW
 * serve-mode model they drop exactly the head's vectors (unit tests check both).
 */
import { RecMarkError } from '../errors';
import { DataType, tensorDims, tensorFloat32, tensorSize } from '../onnx/graph';
import { cloneModel, graphOf, type onnx } from '../onnx/model';
import { NON_DIFFERENTIABLE } from './gradients';

/** Above this magnitude an entry is a mask or penalty, not a learned weight. */
export const MAX_TRAINED_MAGNITUDE = 1e4;
/** A tensor of more entries than this needs more distinct values than this to be learned. */
export const MIN_DISTINCT_VALUES = 4;

/** Float initializers of size > 1 from which the score output is reachable through differentiable ops. */
export function defaultTrainable(proto: onnx.ModelProto, output: string): string[] {
  const graph = graphOf(proto);
  const reaches = new Set([output]);
  for (let n = graph.node.length - 1; n >= 0; n--) {
    const node = graph.node[n];
    if (NON_DIFFERENTIABLE.has(node.opType ?? '')) continue;
    if ((node.output ?? []).some((o) => reaches.has(o)))
      for (const i of node.input ?? []) if (i) reaches.add(i);
  }
  return (graph.initializer as onnx.TensorProto[])
    .filter((t) => t.dataType === DataType.FLOAT && tensorSize(t) > 1 && reaches.has(t.name))
    .map((t) => t.name);
}

/** A copy of `original` whose named float initializers hold `params`; nothing else changes. */
export function writeWeights(
  original: onnx.ModelProto,
  params: ReadonlyMap<string, Float32Array>,
): onnx.ModelProto {
  const proto = cloneModel(original);
  for (const t of graphOf(proto).initializer as onnx.TensorProto[]) {
    const p = params.get(t.name);
    if (!p) continue;
    if (t.rawData && t.rawData.length > 0) {
      t.rawData = new Uint8Array(p.buffer.slice(p.byteOffset, p.byteOffset + p.byteLength));
    } else {
      t.floatData = Array.from(p);
    }
  }
  return proto;
}

export type ExclusionReason = 'scalar' | 'off-score-path' | 'mask-or-penalty' | 'few-values';

export interface WeightSelection {
  /** Trained weights, in initializer order. */
  trained: string[];
  /** Every other float initializer and why it was left alone. */
  excluded: { name: string; reason: ExclusionReason }[];
}

/** The trained weights of a model and why each other float initializer is not one. */
export function weightSelection(proto: onnx.ModelProto, output: string): WeightSelection {
  const structural = new Set(defaultTrainable(proto, output));
  const trained: string[] = [];
  const excluded: WeightSelection['excluded'] = [];
  for (const t of graphOf(proto).initializer as onnx.TensorProto[]) {
    if (t.dataType !== DataType.FLOAT) continue;
    const reason: ExclusionReason | null = structural.has(t.name)
      ? valueReason(tensorFloat32(t))
      : tensorSize(t) <= 1
        ? 'scalar'
        : 'off-score-path';
    if (reason) excluded.push({ name: t.name, reason });
    else trained.push(t.name);
  }
  return { trained, excluded };
}

/** Why a float tensor's values say it is not a learned weight, or null when they look learned. */
export function valueReason(w: Float32Array): ExclusionReason | null {
  for (const x of w) if (!(Math.abs(x) < MAX_TRAINED_MAGNITUDE)) return 'mask-or-penalty';
  const needed = Math.min(MIN_DISTINCT_VALUES, w.length - 1);
  const seen = new Set<number>();
  for (const x of w) {
    seen.add(x);
    if (seen.size > needed) return null;
  }
  return 'few-values';
}

/** Names of the trained weights (see the file comment). */
export function trainedWeightNames(proto: onnx.ModelProto, output: string): string[] {
  return weightSelection(proto, output).trained;
}

/**
 * Copies of the trained weights, in initializer order; with `matricesOnly`, only those of rank
 * ≥ 2 (what pruning prunes). A model without any is refused.
 */
export function trainedWeights(
  proto: onnx.ModelProto,
  output: string,
  options: { matricesOnly?: boolean } = {},
): Map<string, Float32Array> {
  const names = new Set(trainedWeightNames(proto, output));
  const params = new Map<string, Float32Array>();
  for (const t of graphOf(proto).initializer as onnx.TensorProto[])
    if (names.has(t.name) && (!options.matricesOnly || tensorDims(t).length >= 2))
      params.set(t.name, tensorFloat32(t));
  if (params.size === 0)
    throw new RecMarkError(
      'The model has no trained float weights (float tensors of more than one entry on the score path) to attack.',
      'model-unsupported',
    );
  return params;
}
