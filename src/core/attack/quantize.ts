/**
 * Int8 weight quantization (DESIGN.md §6), what a thief does to shrink or speed up a stolen
 * model and, in passing, to shake off a watermark that lives in the low bits of the weights.
 *
 * Symmetric, per tensor, round to nearest: scale = max|w| / 127, q = round(w / scale) in
 * [−127, 127], w' = q · scale. Every entry moves by at most scale / 2. The quantized values are
 * stored back as float32 (the dequantized weights), so the file stays a drop-in replacement
 * with the same graph, inputs and outputs; only initializer data changes. Trained weights only
 * (weights.ts), vectors included; a tensor of zeros is left as it is.
 */
import { throwIfAborted } from '../errors';
import {
  perturbWeights,
  type PerturbOptions,
  type PerturbResult,
  type WeightOptions,
} from './perturb';

export const INT8_LEVELS = 127;

/** The step of symmetric int8 quantization of `w`: max|w| / 127 (0 for a tensor of zeros). */
export function int8Scale(w: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < w.length; i++) max = Math.max(max, Math.abs(w[i]));
  return max / INT8_LEVELS;
}

/**
 * Each tensor quantized to int8 and dequantized back to float32 (see the file comment). The
 * input is not changed.
 */
export function quantizedWeights(
  params: ReadonlyMap<string, Float32Array>,
  options: WeightOptions = {},
): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  let done = 0;
  for (const [name, w] of params) {
    throwIfAborted(options.signal);
    const scale = int8Scale(w);
    const q = w.slice();
    if (scale > 0) {
      for (let i = 0; i < q.length; i++) {
        const level = Math.max(-INT8_LEVELS, Math.min(INT8_LEVELS, Math.round(w[i] / scale)));
        q[i] = level * scale;
      }
    }
    out.set(name, q);
    options.onTensor?.(++done, params.size, name);
  }
  return out;
}

/** Quantize the trained weights of a copy of the model to int8 (stored as float32). */
export async function quantizeAttack(options: PerturbOptions): Promise<PerturbResult> {
  return perturbWeights(options, 'Quantizing', { matricesOnly: false }, (params, o) =>
    quantizedWeights(params, o),
  );
}
