/** Training examples built from interaction sequences, shared by embedding and attack simulation. */
import type { TrainExample } from './trainer';

/** (prefix → next item) examples from each sequence minus its held-out last item. */
export function prefixExamples(
  sequences: readonly (readonly number[])[],
  maxHistory: number,
): TrainExample[] {
  const examples: TrainExample[] = [];
  for (const seq of sequences) {
    const train = seq.slice(0, -1);
    for (let i = 1; i < train.length; i++)
      examples.push({ history: train.slice(Math.max(0, i - maxHistory), i), target: train[i] });
  }
  return examples;
}

/**
 * Teacher logits that put all probability on one column: KL to them equals cross-entropy on
 * that target, so hard targets can train alongside distillation examples in one KL run.
 */
export function oneHotTeacher(width: number, target: number): Float32Array {
  const logits = new Float32Array(width).fill(-1e4);
  logits[target] = 0;
  return logits;
}
