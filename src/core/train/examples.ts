/** Training examples built from interaction sequences, shared by embedding and attack simulation. */

export interface TrainExample {
  /** Item ids, oldest first; encoded like any query (truncation, mask token, padding). */
  history: readonly number[];
  /** Cross-entropy: the item to predict at the query position. */
  target?: number;
  /**
   * Cross-entropy on [B, T, W] scores at every position: targets[i] is the item to predict after
   * history[0..i] (−1 = no loss there). Used instead of `target` when given.
   */
  targets?: readonly number[];
  /**
   * Several per-position targets at once: draws[d][i] as `targets[i]` would be. The same loss as
   * one example per draw with this history, at the cost of one (the scores are shared); every
   * example of a run has the same number of draws. Used instead of `targets` when given.
   */
  targetDraws?: readonly (readonly number[])[];
  /** KL: the teacher's scores over all W columns. */
  teacher?: ArrayLike<number>;
  /** KL with a focus term: the columns of this example's focus set. */
  focus?: readonly number[];
  /** Margin ranking: k items that should outrank the k `negatives`. */
  positives?: readonly number[];
  negatives?: readonly number[];
  /** Example weight (default 1; 0 = ignore). */
  weight?: number;
}

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
