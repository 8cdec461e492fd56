/**
 * A live endpoint as a Recommender: item sequences go out in the service's ids, ranked lists (or
 * scores) come back and are mapped into the model's id space. What a response can say decides
 * what a query can answer:
 * - ranked ids (or scores for the top m): top-k lists for k ≤ m, and a target's rank when it is
 *   in the list, otherwise only "beyond m" (censored);
 * - scores for every catalogue item: exact ranks, ties counted against the watermark, exactly
 *   as on a checkpoint.
 */
import type { RunOptions } from '../onnx/session';
import type { RankObservation, RankQuery, Recommender, RecommendOptions } from '../recommender';
import type { CachedAnswer } from './cache';
import { requestHash } from './cache';
import type { EndpointClient, EndpointTask } from './client';
import type { IdMap, ServiceId } from '../data/idMap';
import { evaluateJsonPath } from './jsonPath';
import type { EndpointProfile } from './profile';
import { asksForK, prepareRequest, type ResponsePaths } from './profileRequest';

/** How deep an AOW rank is asked for when the service takes `${k}`: the largest AOW cut-off. */
export const RANK_DEPTH = 100;

interface Decoded {
  /** Real items (model ids), best first, without duplicates. */
  ranked: number[];
  /** Scores by model id, when the service returns scores. */
  scores: Map<number, number> | null;
}

export class EndpointRecommender implements Recommender {
  private readonly isItem: Set<number>;
  /** Ids the service returned that are not catalogue items (or not in the id map). */
  unknownIds = 0;

  constructor(
    private readonly profile: EndpointProfile,
    private readonly client: EndpointClient,
    private readonly paths: ResponsePaths,
    readonly itemIds: Int32Array,
    private readonly idMap: IdMap | null,
    /** Salt for AOW cache keys (derived from the watermark key; see cache.ts). */
    private readonly rankSalt: string,
  ) {
    this.isItem = new Set(itemIds);
  }

  private toService(sequence: readonly number[]): ServiceId[] {
    if (!this.idMap) return [...sequence];
    return sequence.map((id) => {
      const s = this.idMap!.toService.get(id);
      // Callers only send catalogue items, and the catalogue is the map's model ids.
      if (s === undefined) throw new RangeError(`model id ${id} has no service id`);
      return s;
    });
  }

  private toModel(id: unknown): number | null {
    if (typeof id !== 'number' && typeof id !== 'string') return null;
    const model = this.idMap ? this.idMap.toModel.get(String(id)) : Number(id);
    if (model === undefined || !Number.isSafeInteger(model) || !this.isItem.has(model)) {
      this.unknownIds++;
      return null;
    }
    return model;
  }

  /**
   * A response body as ranked model ids (and scores), or why it holds no answer. An answer with
   * no catalogue item is not one: it says nothing about any rank (read as "beyond rank 0" it
   * would count as evidence of absence).
   */
  private decode(body: unknown): Decoded | string {
    const ids = this.paths.items ? evaluateJsonPath(body, this.paths.items) : undefined;
    const scores = this.paths.scores ? evaluateJsonPath(body, this.paths.scores) : undefined;
    if (this.paths.items && !Array.isArray(ids))
      return `no list at "${this.profile.response.items}"`;
    if (this.paths.scores && (scores === null || typeof scores !== 'object'))
      return `no list or object at "${this.profile.response.scores}"`;
    const pairs: { id: number; score: number }[] = [];
    const seen = new Set<number>();
    let listed = 0;
    const add = (raw: unknown, score: number): string | null => {
      if (typeof raw !== 'number' && typeof raw !== 'string')
        return 'an id that is neither a number nor a string';
      if (this.paths.scores && (typeof score !== 'number' || !Number.isFinite(score)))
        return 'a score that is not a finite number';
      listed++;
      const id = this.toModel(raw);
      if (id !== null && !seen.has(id)) {
        seen.add(id);
        pairs.push({ id, score });
      }
      return null;
    };
    let problem: string | null = null;
    if (Array.isArray(ids)) {
      if (this.paths.scores && (!Array.isArray(scores) || scores.length !== ids.length))
        return 'ids and scores of different lengths';
      for (let i = 0; i < ids.length && !problem; i++)
        problem = add(ids[i], this.paths.scores ? ((scores as unknown[])[i] as number) : NaN);
    } else if (Array.isArray(scores)) {
      // Scores only, as an array: the position is the service id.
      for (let i = 0; i < scores.length && !problem; i++) problem = add(i, scores[i] as number);
    } else {
      // Scores only, as an object: service id → score.
      for (const [id, score] of Object.entries(scores as Record<string, unknown>)) {
        problem = add(id, score as number);
        if (problem) break;
      }
    }
    if (problem) return problem;
    if (pairs.length === 0)
      return listed === 0 ? 'an empty list' : `a list of ${listed} ids, none in the catalogue`;
    if (!this.paths.scores) return { ranked: pairs.map((p) => p.id), scores: null };
    // Best first; ties to the lower id, as on a checkpoint (onnx/topk.ts).
    pairs.sort((a, b) => b.score - a.score || a.id - b.id);
    return { ranked: pairs.map((p) => p.id), scores: new Map(pairs.map((p) => [p.id, p.score])) };
  }

  async topK(
    sequences: readonly (readonly number[])[],
    k: number,
    options: RecommendOptions = {},
  ): Promise<(Int32Array | null)[]> {
    const tasks: EndpointTask[] = sequences.map((seq) => {
      // Ask for enough that k remain once the history is left out.
      const need = k + (options.excludeHistory ? new Set(seq).size : 0);
      const request = prepareRequest(this.profile, this.toService(seq), need);
      return {
        request,
        key: requestHash(request),
        decode: (body) => {
          const d = this.decode(body);
          if (typeof d === 'string') return d;
          return { ids: d.ranked.slice(0, need), complete: d.ranked.length < need };
        },
        usable: (c) => 'ids' in c && (c.complete || c.ids.length >= need),
      };
    });
    const answers = await this.client.runAll(tasks, options);
    return answers.map((a, i) => {
      if (!a || !('ids' in a)) return null;
      const history = options.excludeHistory ? new Set(sequences[i]) : null;
      const ids = history ? a.ids.filter((id) => !history.has(id)) : a.ids;
      return Int32Array.from(ids.slice(0, k));
    });
  }

  async targetRanks(
    queries: readonly RankQuery[],
    options: RunOptions = {},
  ): Promise<(RankObservation | null)[]> {
    const n = this.itemIds.length;
    const depth = asksForK(this.profile) ? Math.min(n, RANK_DEPTH) : n;
    const tasks: EndpointTask[] = queries.map((q) => {
      const request = prepareRequest(this.profile, this.toService(q.history), depth);
      return {
        request,
        // Salted: the cache must not reveal which answers continue the secret sequence.
        key: requestHash(request, this.rankSalt),
        decode: (body): CachedAnswer | string => {
          const d = this.decode(body);
          return typeof d === 'string' ? d : rankIn(d, q.target, n);
        },
      };
    });
    const answers = await this.client.runAll(tasks, options);
    return answers.map((a) => (a && 'rank' in a ? { rank: a.rank, censored: a.censored } : null));
  }
}

/** The target's rank in a decoded answer (see the file comment). */
function rankIn(d: Decoded, target: number, numItems: number): RankObservation {
  if (d.scores && d.ranked.length >= numItems && d.scores.has(target)) {
    // Every item scored: count what scores at least as high, ties against the watermark.
    const t = d.scores.get(target)!;
    let rank = 1;
    for (const [id, s] of d.scores) if (id !== target && !(s < t)) rank++;
    return { rank, censored: false };
  }
  const pos = d.ranked.indexOf(target);
  if (pos >= 0) return { rank: pos + 1, censored: false };
  return { rank: Math.min(numItems, d.ranked.length + 1), censored: true };
}
