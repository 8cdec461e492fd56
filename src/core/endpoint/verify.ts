/**
 * Verify a watermark through a live recommendation endpoint, black-box and within a query
 * budget: the same GREW and AOW statistics, verdict and report as for a checkpoint (they run on
 * the Recommender seam), plus what the audit cost and how the service behaved.
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { RecMarkError } from '../errors';
import { dataFile, readData, readProgress } from '../data/interactions';
import type { ProbeTally } from '../recommender';
import type { AuditReport, EndpointSection, ReportModel } from '../report/report';
import { formatCount as n } from '../util/format';
import { noProgress, StepTimer, type Progress } from '../util/progress';
import { auditAow } from '../watermark/aowAudit';
import { GREW_DEFAULTS } from '../watermark/grew';
import { auditGrew, type VerifyGrewOptions } from '../watermark/grewAudit';
import { NOT_AN_ITEM, type AowKey, type GrewKey, type WatermarkKey } from '../watermark/key';
import { AnswerCache, cacheTrust } from './cache';
import { EndpointClient, percentile } from './client';
import { limits } from '../limits';
import type { IdMap } from '../data/idMap';
import type { EndpointProfile } from './profile';
import { readProfile } from './profileParser';
import { loadIdMap, responsePaths } from './profileRequest';
import { envSecrets, resolveSecrets, type SecretResolver } from './profileSecrets';
import { EndpointRecommender } from './recommender';

/** The audit settings are GREW's (`data` holds model ids; without it probes are sampled from the endpoint). */
export interface VerifyEndpointOptions extends Pick<
  VerifyGrewOptions,
  'data' | 'probes' | 'topK' | 'nullKeys' | 'seed' | 'alpha' | 'signal' | 'progress'
> {
  /** A profile file, or a profile already parsed. */
  profile: string | EndpointProfile;
  key: WatermarkKey;
  /** Overrides the profile's budget (HTTP requests, retries included); null = no limit. */
  budget?: number | null;
  /** Where secrets come from; the CLI reads RECMARK_SECRET_<NAME>. */
  secrets?: SecretResolver;
  /** Folder for the answer cache; null turns caching off. Default: none. */
  cacheDir?: string | null;
}

/** The catalogue the endpoint's answers are read against, in the model's id space. */
function catalogue(profile: EndpointProfile, key: WatermarkKey, idMap: IdMap | null): Int32Array {
  const label = path.basename(profile.file || profile.name);
  if (key.scheme === 'grew') {
    const keyItems: number[] = [];
    key.clusters.forEach((c, id) => {
      if (c !== NOT_AN_ITEM) keyItems.push(id);
    });
    if (profile.numItems !== undefined && profile.numItems !== key.numItems) {
      throw new RecMarkError(
        `${label} says the service has ${profile.numItems} items, but key ${key.keyId} was made for ${key.numItems}. ` +
          'Use the key made for this catalogue, or fix "numItems".',
        'key-mismatch',
      );
    }
    if (idMap) {
      const inKey = new Set(keyItems);
      const foreign = [...idMap.modelIds].filter((id) => !inKey.has(id));
      if (foreign.length > 0) {
        throw new RecMarkError(
          `${label}: the id map names ${foreign.length} model id(s) that key ${key.keyId} does not know (e.g. ${foreign[0]}); ` +
            'the map must translate the service ids into the index space the key was made in.',
          'key-mismatch',
        );
      }
      return idMap.modelIds;
    }
    return Int32Array.from(keyItems);
  }
  let ids: Int32Array;
  if (idMap) ids = idMap.modelIds;
  else if (profile.numItems !== undefined)
    ids = Int32Array.from({ length: profile.numItems }, (_, i) => i + 1);
  else {
    throw new RecMarkError(
      `${label}: an AOW audit ranks the watermark among all items, so the profile needs "numItems" ` +
        '(real items in the catalogue, ids 1..numItems) or an "idMap".',
      'endpoint-profile',
    );
  }
  const known = new Set(ids);
  const foreign = key.sequence.filter((id) => !known.has(id));
  if (foreign.length > 0) {
    throw new RecMarkError(
      `The AOW key ${key.keyId} names ${foreign.length} id(s) that are not items of this endpoint's catalogue ` +
        `(${ids.length} items${idMap ? ' in the id map' : `, ids 1..${ids.length}`}). Use the key made for this catalogue, or fix "idMap".`,
      'key-mismatch',
    );
  }
  return ids;
}

/**
 * Most values one list (or object) of an answer may hold: a ranking of the whole catalogue, with
 * room for service items the id map leaves out; never more than the CLI's item limit.
 */
function maxListValues(catalogueSize: number): number {
  return Math.min(limits().items, Math.max(4 * catalogueSize, 10_000));
}

function answersKind(profile: EndpointProfile): string {
  const { items, scores } = profile.response;
  return items && scores ? 'ranked ids with scores' : items ? 'ranked ids' : 'scores';
}

/** The report's model card for a service: what is known without a checkpoint. */
function endpointModel(profile: EndpointProfile, numItems: number): ReportModel {
  return {
    fileName: `${profile.name} (endpoint)`,
    // Not a checkpoint: no file hash, so no model view ever takes this report for its file.
    sha256: '',
    bytes: 0,
    numItems,
    parameters: 0,
    opset: 0,
    input: '',
    output: '',
    outputRank: 2,
    padding: 'left',
    maskId: null,
  };
}

export async function verifyEndpoint(options: VerifyEndpointOptions): Promise<AuditReport> {
  const progress = options.progress ?? noProgress;
  const timer = new StepTimer();
  const { key } = options;
  progress({ message: 'Reading the endpoint profile' });
  const profile =
    typeof options.profile === 'string' ? await readProfile(options.profile) : options.profile;
  const { headers, secretValues } = resolveSecrets(profile, options.secrets ?? envSecrets);
  const paths = responsePaths(profile);
  const idMap = await loadIdMap(profile);
  const itemIds = catalogue(profile, key, idMap);
  const isItem = new Set(itemIds);
  let data: number[][] | null = null;
  if (options.data) {
    const reading = `Reading ${path.basename(dataFile(options.data))}`;
    progress({ message: reading });
    const read = await readData(options.data, {
      isItem: (id) => isItem.has(id),
      signal: options.signal,
      onProgress: readProgress(progress, reading),
    });
    data = read.sequences;
  }
  const budget = options.budget !== undefined ? options.budget : profile.budget;
  if (budget !== null && !(Number.isSafeInteger(budget) && budget >= 1))
    throw new RecMarkError(
      `budget must be a positive integer (HTTP requests), got ${budget}.`,
      'usage',
    );
  const cache = options.cacheDir
    ? await AnswerCache.open(
        options.cacheDir,
        {
          v: 1,
          url: profile.url,
          method: profile.method,
          request: profile.request ?? null,
          response: profile.response,
          idMap: idMap?.sha256 ?? null,
        },
        cacheTrust(key, itemIds),
      )
    : null;
  timer.lap('load');

  const client = new EndpointClient(profile, headers, {
    budget,
    cache,
    secretValues,
    maxListValues: maxListValues(itemIds.length),
  });
  // AOW cache keys are salted with the key itself (see cache.ts).
  const salt =
    key.scheme === 'aow'
      ? createHash('sha256')
          .update(`recmark/aow-cache/${key.keyId}/${key.sequence.join(',')}`)
          .digest('hex')
      : '';
  const recommender = new EndpointRecommender(profile, client, paths, itemIds, idMap, salt);
  const model = endpointModel(profile, itemIds.length);
  const tally: ProbeTally = { wanted: 0, answered: 0 };
  // Counted steps also say what the queries cost: answers, and requests against the budget.
  const queryProgress: Progress = (u) => {
    if (!u.count) return progress(u);
    const { spent, answered, fromCache } = client.stats;
    const requests =
      budget === null ? `${n(spent)} requests sent` : `${n(spent)} of ${n(budget)} requests spent`;
    progress({ ...u, detail: `${n(answered + fromCache)} answered, ${requests}` });
  };
  let report: AuditReport;
  try {
    if (key.scheme === 'grew') {
      report = await auditGrew(
        recommender,
        model,
        key as GrewKey,
        data,
        {
          probes: options.probes ?? GREW_DEFAULTS.probes,
          topK: options.topK,
          nullKeys: options.nullKeys,
          seed: options.seed,
          alpha: options.alpha,
          signal: options.signal,
          progress: queryProgress,
          tally,
        },
        timer,
      );
    } else {
      report = await auditAow(
        recommender,
        model,
        key as AowKey,
        {
          alpha: options.alpha,
          signal: options.signal,
          tally,
          progress: queryProgress,
          asking: `Asking the endpoint to continue ${key.L - 1} watermark prefixes`,
        },
        timer,
      );
    }
  } catch (err) {
    if (err instanceof RecMarkError && err.code === 'no-answers') {
      if (client.stats.budgetExhausted) {
        // What the spent requests got matters more than the budget: more of them would not help.
        const spent = client.failureSummary(true);
        throw new RecMarkError(
          `The query budget (${budget} requests) was spent before any probe was answered` +
            (spent ? `: ${spent}.` : '; raise "budget" in the profile or --budget.'),
          'budget-exhausted',
        );
      }
      const why = client.failureSummary();
      // Name what went wrong, not just that nothing came back.
      if (why)
        throw new RecMarkError(
          `None of the ${tally.wanted} probes was answered by ${profile.name}: ${why}.`,
          'no-answers',
        );
    }
    throw err;
  } finally {
    await cache?.close();
  }
  const endpoint = endpointSection(profile, client, recommender, tally, budget, cache);
  return {
    ...report,
    parameters: { ...report.parameters, endpoint: profile.name, budget: budget ?? 'none' },
    endpoint,
  };
}

function endpointSection(
  profile: EndpointProfile,
  client: EndpointClient,
  recommender: EndpointRecommender,
  tally: ProbeTally,
  budget: number | null,
  cache: AnswerCache | null,
): EndpointSection {
  const s = client.stats;
  const lostRequests =
    s.lost.retriesExhausted + s.lost.malformed + s.lost.httpError + s.lost.budget;
  const seconds = s.busyMs / 1000;
  const lat = s.latencies;
  const probesLost = tally.wanted - tally.answered;
  const notes: string[] = [];
  if (s.budgetExhausted) {
    notes.push(
      `The query budget (${budget} requests) ran out: ${tally.answered} of ${tally.wanted} probes were answered ` +
        `and ${s.lost.budget} request(s) were never sent. The verdict rests on the answered probes; re-run with a larger budget to finish (cached answers are reused, not paid for again).`,
    );
  }
  if (cache && cache.rejected > 0) {
    notes.push(
      `${cache.rejected} cached answer(s) failed their integrity check (edited, or from another key's or endpoint's cache), ` +
        `so the cache file was set aside as ${path.basename(cache.file)}.rejected and every answer was asked again.`,
    );
  }
  const failedLost = lostRequests - s.lost.budget;
  if (failedLost > 0) {
    notes.push(
      `${failedLost} request(s) got no usable answer (${s.lost.malformed} malformed, ${s.lost.retriesExhausted} still failing after ${profile.retries.max} retries, ${s.lost.httpError} refused) ` +
        `and were left out; ${probesLost} of ${tally.wanted} probes were lost, so the verdict is computed on ${tally.answered}.`,
    );
  }
  return {
    name: profile.name,
    profile: profile.file ? path.basename(profile.file) : '',
    url: profile.url,
    method: profile.method,
    answers: answersKind(profile),
    probes: { wanted: tally.wanted, answered: tally.answered, lost: probesLost },
    requests: {
      total: s.fromCache + s.answered + lostRequests,
      fromCache: s.fromCache,
      answered: s.answered,
      lost: lostRequests,
    },
    queries: { spent: s.spent, budget, retries: s.retries },
    failures: { ...s.failures, http: { ...s.failures.http } },
    lost: { ...s.lost },
    latencyMs:
      lat.length === 0
        ? null
        : {
            p50: round1(percentile(lat, 0.5)),
            p90: round1(percentile(lat, 0.9)),
            p99: round1(percentile(lat, 0.99)),
            max: round1(lat.reduce((a, b) => Math.max(a, b), 0)),
          },
    probesPerSecond: seconds > 0 ? round1(s.answered / seconds) : 0,
    seconds: Math.round(seconds * 1000) / 1000,
    unknownIds: recommender.unknownIds,
    budgetExhausted: s.budgetExhausted,
    cacheFile: cache ? cache.file : null,
    ...(notes.length > 0 ? { note: notes.join(' ') } : {}),
  };
}

const round1 = (x: number): number => Math.round(x * 10) / 10;
