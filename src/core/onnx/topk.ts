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

/**
 * Why a score row carries no ranking: a NaN among the candidates' scores (topK skips NaN, so the
 * list would silently rank a subset) or the same score for every candidate (constant, or all
 * ±Infinity: the list is just the lowest ids). Null when the row is usable.
 */
export type RowProblem = 'nan' | 'flat';

export function rowProblem(
  scores: ArrayLike<number>,
  candidates: ArrayLike<number>,
): RowProblem | null {
  if (candidates.length === 0) return null;
  const first = scores[candidates[0]];
  let flat = true;
  for (let c = 0; c < candidates.length; c++) {
    const v = scores[candidates[c]];
    if (Number.isNaN(v)) return 'nan';
    if (v !== first) flat = false;
  }
  return flat && candidates.length > 1 ? 'flat' : null;
}

/**
 * Rows a verification dropped, for people: why none was usable (then there is no verdict), or
 * how many were left out of the statistics. `what` names a row: "probe", "watermark prefix".
 */
export function unusableRowsText(
  problems: ReadonlyMap<number, RowProblem>,
  total: number,
  what: string,
  whats = `${what}s`,
): string {
  const nan = [...problems.values()].filter((p) => p === 'nan').length;
  const flat = problems.size - nan;
  if (problems.size < total)
    return `${problems.size} of ${total} ${whats} were left out because the model's scores were ${nan > 0 ? `NaN (${nan})` : ''}${nan > 0 && flat > 0 ? ' or ' : ''}${flat > 0 ? `the same for every item (${flat})` : ''}`;
  if (flat === 0) return `the model's scores are not numbers (NaN) for every ${what}`;
  if (nan === 0)
    return `the model gives every item the same score (constant or infinite) for every ${what}, so it ranks nothing`;
  return `the model's scores are unusable for every ${what}: NaN for ${nan}, the same for every item for ${flat}`;
}
