/**
 * Top-k selection over a score row, restricted to a list of candidate ids (real items only).
 * Ties go to the lower id so results are deterministic; NaN never ranks.
 */
export function topK(
  scores: ArrayLike<number>,
  candidates: ArrayLike<number>,
  k: number,
  options: { lowest?: boolean; exclude?: ReadonlySet<number> } = {},
): Int32Array {
  const sign = options.lowest ? -1 : 1;
  const exclude = options.exclude;
  const size = Math.min(k, candidates.length);
  const ids = new Int32Array(size);
  const vals = new Float64Array(size);
  let filled = 0;
  for (let c = 0; c < candidates.length; c++) {
    const id = candidates[c];
    const v = sign * scores[id];
    // Cheapest test first: most ids fall below the current k-th value (NaN fails it too).
    if (filled === size ? !(v > vals[size - 1]) : Number.isNaN(v)) continue;
    if (exclude?.has(id)) continue;
    // Insertion into the sorted (descending) buffer; k is small, so this beats a heap.
    let pos = filled === size ? size - 1 : filled++;
    while (pos > 0 && vals[pos - 1] < v) {
      vals[pos] = vals[pos - 1];
      ids[pos] = ids[pos - 1];
      pos--;
    }
    vals[pos] = v;
    ids[pos] = id;
  }
  return filled === size ? ids : ids.slice(0, filled);
}

/** 1-based rank of `target` among candidates by score (ties counted pessimistically). */
export function rankOf(
  scores: ArrayLike<number>,
  candidates: ArrayLike<number>,
  target: number,
): number {
  const t = scores[target];
  let rank = 1;
  for (let c = 0; c < candidates.length; c++) {
    const id = candidates[c];
    if (id !== target && !(scores[id] < t)) rank++;
  }
  return rank;
}
