/**
 * The AOW watermark sequence: a start item, then each next item drawn (keyed RNG) from what the
 * clean model, as oracle, scores lowest; and the ranks a model gives the sequence's steps.
 */
import { throwIfAborted } from '../errors';
import type { Adapter } from '../onnx/adapter';
import type { ScoringSession } from '../onnx/session';
import { rankOf, topK } from '../onnx/topk';
import type { Rng } from '../util/random';
import { usageError } from '../util/validate';

export type AowStart = 'cold' | 'pop' | 'random';

/** Interaction counts per score column (0 for items the data never mentions). */
export function itemCounts(sequences: readonly number[][], width: number): Float64Array {
  const counts = new Float64Array(width);
  for (const seq of sequences) for (const id of seq) counts[id]++;
  return counts;
}

/** The first watermark item: least or most frequent in the data (ties by the keyed RNG), or random. */
function startItem(
  adapter: Adapter,
  start: AowStart,
  counts: Float64Array | null,
  rng: Rng,
): number {
  const ids = adapter.itemIds;
  if (start === 'random' || !counts) return ids[rng.int(ids.length)];
  const sign = start === 'cold' ? 1 : -1;
  let best = Infinity;
  let tied: number[] = [];
  for (const id of ids) {
    const v = sign * counts[id];
    if (v < best) {
      best = v;
      tied = [id];
    } else if (v === best) tied.push(id);
  }
  return tied[rng.int(tied.length)];
}

/**
 * The watermark sequence: from the start item, each next item drawn uniformly (keyed RNG) from
 * the M items the oracle scores lowest after the current prefix, never repeating an item.
 */
export async function generateAowSequence(
  session: ScoringSession,
  options: {
    length: number;
    bottomM: number;
    start: AowStart;
    rng: Rng;
    counts?: Float64Array | null;
    signal?: AbortSignal;
  },
): Promise<number[]> {
  const { adapter } = session;
  const sequence = [startItem(adapter, options.start, options.counts ?? null, options.rng)];
  while (sequence.length < options.length) {
    throwIfAborted(options.signal);
    let lowest: Int32Array = new Int32Array(0);
    await session.forEachScores([sequence], (_, scores) => {
      lowest = topK(scores, adapter.itemIds, options.bottomM, {
        lowest: true,
        exclude: new Set(sequence),
      });
    });
    if (lowest.length === 0)
      throw usageError('The catalogue is too small for this watermark length.');
    sequence.push(lowest[options.rng.int(lowest.length)]);
  }
  return sequence;
}

/** Rank of each target w(i+1) after the prefix w1..wi among the model's real items. */
export async function extractionRanks(
  session: ScoringSession,
  sequence: readonly number[],
  signal?: AbortSignal,
): Promise<number[]> {
  const prefixes = sequence.slice(1).map((_, i) => sequence.slice(0, i + 1));
  const ranks: number[] = new Array<number>(prefixes.length);
  await session.forEachScores(
    prefixes,
    (i, scores) => (ranks[i] = rankOf(scores, session.adapter.itemIds, sequence[i + 1])),
    { signal },
  );
  return ranks;
}
