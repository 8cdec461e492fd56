/**
 * AOW verification: ask a suspect (a checkpoint or a live endpoint) to continue every prefix of
 * the watermark sequence, and test how highly it ranks each next item.
 */
import { RecMarkError } from '../errors';
import { itemPredicate } from '../data/interactions';
import type { Adapter } from '../onnx/adapter';
import { openModel } from '../onnx/open';
import { ScoringSession } from '../onnx/session';
import { unusableRowsText, type RowProblem } from '../onnx/topk';
import {
  asRecommender,
  type ProbeTally,
  type RankObservation,
  type Recommender,
} from '../recommender';
import { withExplanation } from '../report/explain';
import { modelCard } from '../report/modelCard';
import {
  DEFAULT_ALPHA,
  reportModel,
  reportVerdict,
  type AuditReport,
  type ReportModel,
} from '../report/report';
import { noProgress, stepCount, StepTimer, type Progress } from '../util/progress';
import { usageError } from '../util/validate';
import { aowStatistics } from './aowStats';
import type { AowKey } from './key';

/** Every id of the key must be a real item of the model; else the key belongs to another catalogue. */
function checkKeyFitsModel(key: AowKey, adapter: Adapter): void {
  const isItem = itemPredicate(adapter);
  const foreign = key.sequence.filter((id) => !isItem(id));
  if (foreign.length > 0) {
    throw new RecMarkError(
      `The AOW key ${key.keyId} names ${foreign.length} id(s) that are not items of this model ` +
        `(it scores ${adapter.numItems} items in ids 0..${adapter.scoreWidth - 1}). ` +
        'Use the key made for this model family, or map the suspect into the same item index space.',
      'key-mismatch',
    );
  }
}

export interface VerifyAowOptions {
  model: string;
  key: AowKey;
  alpha?: number;
  signal?: AbortSignal;
  progress?: Progress;
}

export async function verifyAow(options: VerifyAowOptions): Promise<AuditReport> {
  const progress = options.progress ?? noProgress;
  const timer = new StepTimer();
  progress({ message: 'Reading the suspect model' });
  const opened = await openModel(options.model);
  const { adapter } = opened;
  const card = await modelCard(opened);
  checkKeyFitsModel(options.key, adapter);
  timer.lap('load');
  const session = await ScoringSession.open(card.file, adapter);
  try {
    const asking = `Asking the model to continue ${options.key.L - 1} watermark prefixes`;
    return await auditAow(session, reportModel(card), options.key, { ...options, asking }, timer);
  } finally {
    await session.release();
  }
}

/**
 * Ask the suspect (a checkpoint session or a live endpoint) to continue every prefix and test the
 * ranks. Steps an endpoint lost are left out; `tally` receives how many were asked and answered.
 */
export async function auditAow(
  source: ScoringSession | Recommender,
  model: ReportModel,
  key: AowKey,
  options: {
    alpha?: number;
    signal?: AbortSignal;
    tally?: ProbeTally;
    progress?: Progress;
    /** The step's name in progress ("Asking the endpoint to continue ..."). */
    asking?: string;
  },
  timer: StepTimer,
): Promise<AuditReport> {
  const alpha = options.alpha ?? DEFAULT_ALPHA;
  if (!(alpha > 0 && alpha < 1)) throw usageError(`alpha must be between 0 and 1, got ${alpha}.`);
  if ('adapter' in source) checkKeyFitsModel(key, source.adapter);
  const recommender = asRecommender(source);
  const sequence = key.sequence;
  const unusable = new Map<number, RowProblem>();
  const progress = options.progress ?? noProgress;
  const asking = options.asking ?? `Asking for ${key.L - 1} watermark continuations`;
  const asked = (done: number): void =>
    progress({ message: asking, count: stepCount(done, key.L - 1, 'prefixes') });
  asked(0);
  const observed = await recommender.targetRanks(
    sequence.slice(1).map((target, i) => ({ history: sequence.slice(0, i + 1), target })),
    {
      signal: options.signal,
      onUnusableRow: (i, problem) => unusable.set(i, problem),
      onProgress: asked,
    },
  );
  timer.lap('queries');
  const answered = observed.filter((o): o is RankObservation => o !== null);
  if (options.tally) {
    options.tally.wanted = observed.length;
    options.tally.answered = answered.length;
  }
  if (answered.length === 0) {
    throw new RecMarkError(
      `None of the ${observed.length} watermark prefixes was answered, so there is nothing to test.`,
      'no-answers',
    );
  }
  // A rank read off NaN or all-equal scores is no evidence: such steps are left out, counted.
  const usable = observed.filter((o, i): o is RankObservation => o !== null && !unusable.has(i));
  const parameters = {
    length: key.L,
    queries: key.L - 1,
    bottomM: key.M,
    start: key.start,
    ...(unusable.size > 0 ? { unusablePrefixes: unusable.size } : {}),
  };
  const common = {
    kind: 'recmark-audit' as const,
    version: 1 as const,
    createdAt: new Date().toISOString(),
    scheme: 'aow' as const,
    model,
    keyId: key.keyId,
    parameters,
  };
  if (usable.length === 0) {
    const why = unusableRowsText(unusable, unusable.size, 'watermark prefix', 'watermark prefixes');
    const none = { value: Number.NaN, log10: Number.NaN };
    return withExplanation({
      ...common,
      ...reportVerdict('aow', none, alpha, why),
      timings: timer.steps,
    });
  }
  const stats = aowStatistics(
    usable.map((o) => o.rank),
    recommender.itemIds.length,
    { censored: usable.map((o) => o.censored) },
  );
  timer.lap('statistics');
  const verdict = reportVerdict('aow', stats.pValue, alpha);
  if (unusable.size > 0)
    verdict.sentence += ` ${unusableRowsText(unusable, answered.length, 'watermark prefix', 'watermark prefixes')}.`;
  return withExplanation({ ...common, ...verdict, timings: timer.steps, aow: stats.evidence });
}
