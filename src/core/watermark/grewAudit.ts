/**
 * GREW verification: probes (from data or grown from the suspect), top-k lists, the green-item
 * statistics and the verdict, on a checkpoint or any recommender (a live endpoint).
 */
import { RecMarkError, throwIfAborted } from '../errors';
import { limits, raiseHint } from '../limits';
import { readItemSequences, type DataRef } from '../data/interactions';
import type { Adapter } from '../onnx/adapter';
import { openModel } from '../onnx/open';
import { ScoringSession } from '../onnx/session';
import { unusableRowsText, type RowProblem } from '../onnx/topk';
import { asRecommender, type ProbeTally, type Recommender } from '../recommender';
import { withExplanation } from '../report/explain';
import { grewEvidence } from '../report/figures';
import { pValueText } from '../report/plain';
import { modelCard } from '../report/modelCard';
import {
  DEFAULT_ALPHA,
  reportModel,
  reportVerdict,
  type AuditReport,
  type ReportModel,
} from '../report/report';
import { noProgress, stepCount, StepTimer, type Progress } from '../util/progress';
import { DEFAULT_SEED } from '../util/random';
import { checkRange } from '../util/validate';
import type { GrewKey } from './key';
import { grewStatistics } from './grewStats';
import { probesFromData, probesFromModel } from './probes';

/** The audit's defaults (part of GREW_DEFAULTS in grew.ts). */
export const GREW_AUDIT_DEFAULTS = {
  topK: 20,
  probes: 1000,
  nullKeys: 200,
};

export interface VerifyGrewOptions {
  model: string;
  key: GrewKey;
  data?: DataRef;
  probes?: number;
  topK?: number;
  nullKeys?: number;
  seed?: number;
  alpha?: number;
  signal?: AbortSignal;
  progress?: Progress;
}

export async function verifyGrew(options: VerifyGrewOptions): Promise<AuditReport> {
  const progress = options.progress ?? noProgress;
  const timer = new StepTimer();
  const { key } = options;
  auditSettings(options, key);
  progress({ message: 'Reading the suspect model' });
  const opened = await openModel(options.model);
  const { adapter } = opened;
  const card = await modelCard(opened);
  checkKeyFitsModel(key, adapter);
  const data = options.data
    ? await readItemSequences(options.data, adapter, options.signal, progress)
    : null;
  timer.lap('load');
  const session = await ScoringSession.open(card.file, adapter);
  try {
    return await auditGrew(session, reportModel(card), key, data, { ...options, progress }, timer);
  } finally {
    await session.release();
  }
}

/** The audit's settings with their defaults, checked before any work is done. */
function auditSettings(
  options: Pick<VerifyGrewOptions, 'probes' | 'topK' | 'nullKeys' | 'seed' | 'alpha'>,
  key: GrewKey,
): { probesWanted: number; topK: number; nullKeys: number; seed: number; alpha: number } {
  const probesWanted = options.probes ?? GREW_AUDIT_DEFAULTS.probes;
  const topK = options.topK ?? key.topK ?? GREW_AUDIT_DEFAULTS.topK;
  const nullKeys = options.nullKeys ?? GREW_AUDIT_DEFAULTS.nullKeys;
  const seed = options.seed ?? DEFAULT_SEED;
  const alpha = options.alpha ?? DEFAULT_ALPHA;
  const maxProbes = limits().probes;
  if (Number.isSafeInteger(probesWanted) && probesWanted > maxProbes) {
    throw new RecMarkError(
      `${probesWanted.toLocaleString('en-US')} probes is above the ${maxProbes.toLocaleString('en-US')}-probe limit; ` +
        `1,000 are usually enough for a clear verdict, or ${raiseHint('probes')}.`,
      'probes-too-many',
    );
  }
  checkRange('probes', probesWanted, 1, maxProbes);
  checkRange('top-k', topK, 1, 1000);
  checkRange('null-keys', nullKeys, 0, 100_000);
  checkRange('alpha', alpha, 0, 1, true);
  if (topK <= key.protectHead) {
    throw new RecMarkError(
      `This watermark leaves the top ${key.protectHead} items untouched, so top-${topK} lists cannot show it; ` +
        `use --top-k ${key.topK} (more than ${key.protectHead}).`,
      'usage',
    );
  }
  return { probesWanted, topK, nullKeys, seed, alpha };
}

function checkKeyFitsModel(key: GrewKey, adapter: Adapter): void {
  if (key.scoreWidth !== adapter.scoreWidth) {
    throw new RecMarkError(
      `The key was made for a catalogue of ${key.scoreWidth} ids, but this model scores ${adapter.scoreWidth}. ` +
        'Pick the key made for this model family (or map the suspect into the same item index space).',
      'key-mismatch',
    );
  }
}

/**
 * Probes, top-k lists, statistics and the report, on any recommender: an open checkpoint session
 * or a live endpoint. Lost probes (an endpoint's failed queries) are left out of the statistics;
 * `options.tally` receives how many were asked and answered.
 */
export async function auditGrew(
  source: ScoringSession | Recommender,
  model: ReportModel,
  key: GrewKey,
  data: number[][] | null,
  options: Omit<VerifyGrewOptions, 'model' | 'key' | 'data'> & {
    progress: Progress;
    /** Probes already drawn (embedding's self-check); otherwise drawn here. */
    probeSet?: number[][];
    /** Filled in with the probes asked and answered. */
    tally?: ProbeTally;
  },
  timer: StepTimer,
): Promise<AuditReport> {
  const { progress } = options;
  const { probesWanted, topK, nullKeys, seed, alpha } = auditSettings(options, key);
  if ('adapter' in source) checkKeyFitsModel(key, source.adapter);
  const recommender = asRecommender(source);
  const sampling = 'Sampling probe sequences from the model';
  progress({ message: data ? 'Drawing probes from the data' : sampling });
  const probes = options.probeSet
    ? options.probeSet
    : data
      ? probesFromData(data, { count: probesWanted, seed })
      : await probesFromModel(recommender, {
          count: probesWanted,
          seed,
          signal: options.signal,
          onProgress: (done, total) =>
            progress({
              message: sampling,
              fraction: (0.5 * done) / Math.max(1, total),
              count: stepCount(done, total, 'queries'),
            }),
        });
  timer.lap('probes');
  const querying = `Querying top-${topK}`;
  const queried = (done: number): void =>
    progress({
      message: querying,
      fraction: 0.5 + (0.45 * done) / Math.max(1, probes.length),
      count: stepCount(done, probes.length, 'probes'),
    });
  queried(0);
  const unusable = new Map<number, RowProblem>();
  const answers = await recommender.topK(probes, topK, {
    signal: options.signal,
    onProgress: queried,
    onUnusableRow: (i, problem) => unusable.set(i, problem),
  });
  timer.lap('queries');
  const answered = answers.filter((l): l is Int32Array => l !== null);
  // Rows whose scores rank nothing (NaN, one score for all) are no evidence: left out, counted.
  const lists = answers.filter((l, i): l is Int32Array => l !== null && !unusable.has(i));
  if (options.tally) {
    options.tally.wanted = probes.length;
    options.tally.answered = answered.length;
  }
  if (answered.length === 0) {
    throw new RecMarkError(
      `None of the ${probes.length} probes was answered, so there is nothing to test.`,
      'no-answers',
    );
  }
  progress({ message: 'Testing the green-item bias', fraction: 0.95 });
  const stats = grewStatistics(lists, key, { topK, nullKeys, seed });
  // A cancel that arrived during the (synchronous) statistics still means no report.
  throwIfAborted(options.signal);
  timer.lap('statistics');
  const probeSource = data ? 'data' : 'sampled';
  const verdict = reportVerdict(
    'grew',
    stats.pValue,
    alpha,
    grewNoEvidence(lists, unusable, stats),
  );
  if (lists.length > 0 && unusable.size > 0)
    verdict.sentence += ` ${unusableRowsText(unusable, answered.length, 'probe')}.`;
  return withExplanation({
    kind: 'recmark-audit',
    version: 1,
    createdAt: new Date().toISOString(),
    scheme: 'grew',
    ...verdict,
    model,
    keyId: key.keyId,
    parameters: {
      probes: lists.length,
      topK,
      nullKeys,
      seed,
      gamma: key.gamma,
      probeSource,
      ...(unusable.size > 0 ? { unusableProbes: unusable.size } : {}),
    },
    timings: timer.steps,
    grew: grewEvidence({
      z: stats.z,
      zNull: stats.zNull,
      zClassic: stats.zClassic,
      pEmpirical: stats.pEmpirical,
      pClassic: stats.pValueClassic.value,
      pClassicText: pValueText(stats.pValueClassic),
      greenHits: stats.greenHits,
      trials: stats.trials,
      expectedHits: stats.expectedHits,
      sdHits: stats.sdHits,
      gamma: key.gamma,
      topK,
      probes: lists.length,
      nullKeys: stats.nullKeys,
      distinctItems: stats.distinctItems,
      probeSource,
      perProbeGreen: stats.perProbeGreen,
      nullPerProbeGreen: stats.nullPerProbeGreen,
      greenRateByRank: stats.greenRateByRank,
      nullGreenHits: stats.nullGreenHits,
    }),
  });
}

/** Why GREW has nothing to test, if so: every row unusable, or no listed item the key knows. */
function grewNoEvidence(
  lists: readonly Int32Array[],
  unusable: ReadonlyMap<number, RowProblem>,
  stats: { trials: number; probes: number },
): string | undefined {
  if (lists.length === 0) return unusableRowsText(unusable, unusable.size, 'probe');
  if (stats.trials > 0) return undefined;
  return (
    `zero trials: none of the items in the model's top-k lists for ${stats.probes} probes is in ` +
    "the key's catalogue, so the key and this model share no items to test"
  );
}
