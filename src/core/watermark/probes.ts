/**
 * Probe sequences for black-box checks: drawn from interaction data when the auditor has it,
 * otherwise grown from the suspect itself (each next item uniform from its current top-k), the
 * same way data-free extraction attacks query a model. Seeded, so audits are reproducible.
 */
import type { ScoringSession } from '../onnx/session';
import { throwIfAborted } from '../errors';
import { asRecommender, type Recommender } from '../recommender';
import { Rng } from '../util/random';

export interface ProbeOptions {
  count: number;
  seed: number;
  signal?: AbortSignal;
  /**
   * Model queries asked so far, of those the probes' lengths call for (one per item after the
   * first); a probe that ends early (a lost answer) takes its remaining queries off the total.
   */
  onProgress?: (done: number, total: number) => void;
}

/** Histories of randomly chosen users, each cut at a random point (at least 3 items when possible). */
export function probesFromData(sequences: readonly number[][], options: ProbeOptions): number[][] {
  const rng = new Rng(options.seed);
  const usable = sequences.filter((s) => s.length > 0);
  if (usable.length === 0) return [];
  const order = rng.shuffle(usable.map((_, i) => i));
  const probes: number[][] = [];
  for (let q = 0; q < options.count; q++) {
    const seq = usable[order[q % order.length]];
    // The first pass over users takes whole histories; later passes take random prefixes.
    const cut =
      q < order.length
        ? seq.length
        : Math.min(seq.length, 3) + rng.int(Math.max(1, seq.length - 2));
    probes.push(seq.slice(0, Math.min(seq.length, cut)));
  }
  return probes;
}

/**
 * Sequences grown from the model: a random first item, then uniform picks from its top-k
 * (k = 100, as in data-free extraction; picking from the top 20 gave RNN models' probes too few
 * distinct items: GRU4Rec z_w 4.5 instead of 6.5 at δ = 1).
 */
export async function probesFromModel(
  source: ScoringSession | Recommender,
  options: ProbeOptions & { minLength?: number; maxLength?: number; topK?: number },
): Promise<number[][]> {
  const rng = new Rng(options.seed);
  const recommender = asRecommender(source);
  const ids = recommender.itemIds;
  const minLength = options.minLength ?? 3;
  const maxLength = Math.max(minLength, options.maxLength ?? 20);
  const topK = options.topK ?? 100;
  const targets = Array.from(
    { length: options.count },
    () => minLength + rng.int(maxLength - minLength + 1),
  );
  const probes = targets.map(() => [ids[rng.int(ids.length)]]);
  // One query per item after the first: the count goes up evenly, however the lengths fall.
  let total = targets.reduce((sum, t) => sum + t - 1, 0);
  let asked = 0;
  const report = options.onProgress;
  report?.(0, total);
  for (let step = 1; step < maxLength; step++) {
    throwIfAborted(options.signal);
    const growing = probes.map((p, i) => (p.length < targets[i] ? i : -1)).filter((i) => i >= 0);
    if (growing.length === 0) break;
    const lists = await recommender.topK(
      growing.map((i) => probes[i]),
      topK,
      {
        signal: options.signal,
        excludeHistory: true,
        batchSize: 256,
        onProgress: report && ((done) => report(asked + done, total)),
      },
    );
    asked += growing.length;
    growing.forEach((i, j) => {
      // A lost answer (an endpoint's failed query) ends that probe where it is, like an empty list.
      const list = lists[j];
      if (list && list.length > 0) probes[i].push(list[rng.int(list.length)]);
      else {
        // This query was asked; the ones it would have led to were not.
        total -= targets[i] - 1 - probes[i].length;
        targets[i] = probes[i].length;
      }
    });
    report?.(asked, total);
  }
  return probes;
}
