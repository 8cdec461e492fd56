/**
 * GREW end to end: embed (partition, then the bias trained into the weights or appended as a
 * served head, utility before/after, a self-check) and verify (probes, top-k, statistics,
 * verdict). Used by the CLI and the VS Code commands alike.
 */
import { RecMarkError, throwIfAborted } from '../errors';
import { limits, raiseHint } from '../limits';
import { readItemSequences } from '../data/interactions';
import type { Adapter } from '../onnx/adapter';
import { encodeModel, type LoadedModel, type onnx } from '../onnx/model';
import { asRecommender, type ProbeTally, type Recommender } from '../recommender';
import { ScoringSession } from '../onnx/session';
import { unusableRowsText, type RowProblem } from '../onnx/topk';
import { openModel } from '../onnx/open';
import { modelCard, type ModelCard } from '../report/modelCard';
import {
  reportModel,
  reportVerdict,
  DEFAULT_ALPHA,
  type AuditReport,
  type ReportModel,
  type UtilityRow,
} from '../report/report';
import {
  hasHeldOutItem,
  leaveOneOutRows,
  measureUtility,
  nextItemNdcgRow,
  overlapRow,
  overlapWith,
} from '../utility';
import { formatPValue } from '../stats/tests';
import { noProgress, StepTimer, type Progress } from '../util/progress';
import { DEFAULT_SEED } from '../util/random';
import { checkInt } from '../util/validate';
import { keyIdOf, newSecret, NOT_AN_ITEM, type GrewKey } from './key';
import { writeModelAndKey } from './outputs';
import { appendGrewBias, type GrewGraphParams } from './grewGraph';
import { grewStatistics, type GrewPartitionView } from './grewStats';
import {
  dataHistories,
  GREW_WEIGHTS_DEFAULTS,
  trainGrewIntoWeights,
  type TrainGrewResult,
  type WeightsProgress,
} from './grewWeights';
import { defaultClusterCount, MAX_CLUSTERS, semanticPartition, type Partition } from './partition';
import { probesFromData, probesFromModel } from './probes';

/**
 * The served head's δ = 1 with the top 10 protected. On the MovieLens fixtures δ = 0.5 gave
 * z_w ≈ 4.5 at Q = 1000 (short of z ≥ 6), and without head protection even δ = 0.5 cost ~9%
 * NDCG@10; with the head protected NDCG@10 is unchanged and δ = 1 gives z_w ≈ 8 (README, "How
 * GREW is embedded"). In the weights the head is the teacher, at GREW_WEIGHTS_DEFAULTS.delta.
 */
export const GREW_DEFAULTS = {
  mode: 'weights' as GrewMode,
  gamma: 0.5,
  delta: 1.0,
  kc: 50,
  protectHead: 10,
  topK: 20,
  probes: 1000,
  nullKeys: 200,
};

/**
 * Where the watermark lives. `weights` (default): trained into the model's own weights, the graph
 * unchanged (grewWeights.ts). `serve`: nodes appended after the score output (grewGraph.ts), for
 * a model its owner serves behind an API; anyone holding the file can remove them.
 */
export type GrewMode = 'weights' | 'serve';
export const GREW_MODES: readonly GrewMode[] = ['weights', 'serve'];

/** Next-item predictions sampled for the utility comparison (all of them on MovieLens-small: ~89k). */
const NEXT_ITEM_POINTS = 30_000;

export interface EmbedGrewOptions {
  model: string;
  out: string;
  keyOut?: string;
  data?: string;
  mode?: GrewMode;
  gamma?: number;
  /** Bias strength; default 1 when served, 2 as the teacher of the weights (GREW_WEIGHTS_DEFAULTS). */
  delta?: number;
  /** Weights mode: the self-check's z_w target and the training step cap. */
  targetZ?: number;
  maxSteps?: number;
  kc?: number;
  protectHead?: number;
  clusters?: number;
  seed?: number;
  /** Utility probes when there is no data. */
  probes?: number;
  /** Tests inject a fixed secret; users always get a fresh random one. */
  secret?: Uint8Array;
  signal?: AbortSignal;
  progress?: Progress;
}

export interface EmbedGrewResult {
  key: GrewKey;
  out: string;
  keyOut: string | null;
  card: ModelCard;
  utility: UtilityRow[];
  topKOverlap: number;
  numClusters: number;
  mode: GrewMode;
  /** Weights mode: how the bias was trained in. */
  training: TrainGrewResult | null;
  /** The audit of the new model with its own key: what evidence this δ buys. */
  evidence: {
    z: number;
    zNull: number;
    pValueText: string;
    probes: number;
    topK: number;
    probeSource: string;
  };
  timings: { step: string; ms: number }[];
}

function checkRange(name: string, value: number, lo: number, hi: number, open = false): void {
  const ok = open ? value > lo && value < hi : value >= lo && value <= hi;
  if (!Number.isFinite(value) || !ok) {
    throw new RecMarkError(
      `${name} must be ${open ? 'strictly ' : ''}between ${lo} and ${hi}, got ${value}.`,
      'usage',
    );
  }
}

/** γ as a user would type it: at most 3 significant digits, rounded away from the bad side. */
const gammaText = (g: number, up: boolean): string =>
  String((up ? Math.ceil : Math.floor)(g * 1000) / 1000);

/**
 * Options that would make a key with nothing to show, refused before any work: a catalogue too
 * small for top-k evidence, Kc/protected-head leaving nothing to bias, a γ that puts no item on
 * one side, a cluster count the catalogue cannot fill.
 */
export function checkGrewFits(
  numItems: number,
  o: { gamma: number; kc: number; protectHead: number; clusters?: number },
): void {
  const topK = GREW_DEFAULTS.topK;
  if (numItems <= topK)
    throw new RecMarkError(
      `This model scores ${numItems} items; GREW is read from top-${topK} lists, so every list would hold the whole catalogue. ` +
        `It needs more than ${topK} items; use a model with a larger catalogue (or AOW).`,
      'usage',
    );
  if (!Number.isSafeInteger(o.kc) || o.kc < 2 || o.kc > numItems)
    throw new RecMarkError(
      `--kc ${o.kc} is not a head size this ${numItems}-item catalogue allows; use --kc from 2 to ${numItems}.`,
      'usage',
    );
  const maxHead = Math.min(o.kc, topK) - 1;
  if (!Number.isSafeInteger(o.protectHead) || o.protectHead < 0 || o.protectHead > maxHead)
    throw new RecMarkError(
      `--protect-head ${o.protectHead} with --kc ${o.kc} leaves nothing in the top-${Math.min(o.kc, topK)} to bias; ` +
        `use --protect-head from 0 to ${maxHead}, or a larger --kc.`,
      'usage',
    );
  if (o.gamma * numItems < 0.5)
    throw new RecMarkError(
      `γ = ${o.gamma} puts no item in the green set of this ${numItems}-item catalogue; use γ ≥ ${gammaText(1 / numItems, true)}.`,
      'usage',
    );
  if ((1 - o.gamma) * numItems < 0.5)
    throw new RecMarkError(
      `γ = ${o.gamma} puts no item in the red set of this ${numItems}-item catalogue; use γ ≤ ${gammaText(1 - 1 / numItems, false)}.`,
      'usage',
    );
  if (o.clusters === undefined) return;
  const maxClusters = Math.min(MAX_CLUSTERS, Math.floor(numItems / 2));
  if (!Number.isSafeInteger(o.clusters) || o.clusters < 2 || o.clusters > maxClusters)
    throw new RecMarkError(
      `--clusters ${o.clusters} does not fit this ${numItems}-item catalogue: each cluster needs a green and a red item, ` +
        `and one cluster is no semantic split; use --clusters from 2 to ${maxClusters}.`,
      'usage',
    );
}

/** After clustering: γ rounds per cluster, so small clusters can still leave one side empty. */
function checkGreenSplit(partition: Partition, gamma: number, numItems: number): void {
  let green = 0;
  let items = 0;
  const sizes = new Map<number, number>();
  partition.clusters.forEach((c, id) => {
    if (c === NOT_AN_ITEM) return;
    items++;
    green += partition.green[id];
    sizes.set(c, (sizes.get(c) ?? 0) + 1);
  });
  if (green > 0 && green < items) return;
  const largest = Math.max(...sizes.values());
  const fix =
    green === 0
      ? `use γ ≥ ${gammaText(0.5 / largest, true)}`
      : `use γ ≤ ${gammaText(1 - 0.5 / largest, false)}`;
  throw new RecMarkError(
    `γ = ${gamma} puts no item in the ${green === 0 ? 'green' : 'red'} set of this ${numItems}-item catalogue ` +
      `(${sizes.size} clusters of at most ${largest} items, γ rounded in each); ${fix} or fewer --clusters.`,
    'usage',
  );
}

async function loadData(
  file: string | undefined,
  adapter: Adapter,
  signal?: AbortSignal,
): Promise<number[][] | null> {
  return file ? readItemSequences(file, adapter, signal) : null;
}

export async function embedGrew(options: EmbedGrewOptions): Promise<EmbedGrewResult> {
  const progress = options.progress ?? noProgress;
  const timer = new StepTimer();
  const mode = options.mode ?? GREW_DEFAULTS.mode;
  if (!GREW_MODES.includes(mode))
    throw new RecMarkError(`mode must be "weights" or "serve", got "${String(mode)}".`, 'usage');
  const gamma = options.gamma ?? GREW_DEFAULTS.gamma;
  const delta =
    options.delta ?? (mode === 'weights' ? GREW_WEIGHTS_DEFAULTS.delta : GREW_DEFAULTS.delta);
  const targetZ = options.targetZ ?? GREW_WEIGHTS_DEFAULTS.targetZ;
  const maxSteps = options.maxSteps ?? GREW_WEIGHTS_DEFAULTS.maxSteps;
  checkRange('target-z', targetZ, 0, 100);
  checkInt('max-steps', maxSteps, 1, 1_000_000);
  const kc = options.kc ?? GREW_DEFAULTS.kc;
  const protectHead = options.protectHead ?? GREW_DEFAULTS.protectHead;
  checkRange('gamma', gamma, 0, 1, true);
  checkRange('delta', delta, 0, 100);
  const seed = options.seed ?? DEFAULT_SEED;
  progress({ message: 'Reading the model' });
  const opened = await openModel(options.model);
  const { model, adapter } = opened;
  const card = await modelCard(opened);
  checkGrewFits(adapter.numItems, { gamma, kc, protectHead, clusters: options.clusters });
  const data = await loadData(options.data, adapter, options.signal);
  if (data && !hasHeldOutItem(data)) {
    throw new RecMarkError(
      `${options.data} has no user with two or more interactions, so utility before and after ` +
        'cannot be measured; pass a data file with real histories, or leave out --data.',
      'data-invalid',
    );
  }
  timer.lap('load');

  const secret = options.secret ?? newSecret();
  const numClusters = options.clusters ?? defaultClusterCount(adapter.numItems);
  progress({
    message: `Clustering ${adapter.numItems.toLocaleString('en-US')} items into ${numClusters} groups`,
  });
  const partition = await semanticPartition(model, adapter, secret, {
    gamma,
    clusters: numClusters,
    signal: options.signal,
  });
  timer.lap('partition');
  throwIfAborted(options.signal);
  checkGreenSplit(partition, gamma, adapter.numItems);

  const head = { green: partition.green, delta, kc, protectHead };
  let marked: onnx.ModelProto;
  let training: TrainGrewResult | null = null;
  if (mode === 'serve') {
    progress({ message: 'Adding the watermark to the graph' });
    marked = appendGrewBias(model.proto, adapter, head);
    timer.lap('graph');
  } else {
    training = await trainWeights(model, adapter, head, { ...partition, gamma }, data, {
      targetZ,
      maxSteps,
      seed,
      signal: options.signal,
      progress,
    });
    marked = training.proto;
    timer.lap('train');
  }
  const markedBytes = encodeModel(marked);

  progress({ message: 'Measuring utility before and after' });
  const { rows, overlap, probes } = await compareUtility(model, markedBytes, adapter, data, {
    probes: options.probes ?? GREW_DEFAULTS.probes,
    seed,
    signal: options.signal,
  });
  timer.lap('utility');
  throwIfAborted(options.signal);

  const key: GrewKey = {
    scheme: 'grew',
    version: 1,
    keyId: keyIdOf(secret),
    mode,
    gamma,
    delta,
    kc,
    protectHead,
    topK: GREW_DEFAULTS.topK,
    scoreWidth: adapter.scoreWidth,
    numItems: adapter.numItems,
    numClusters: partition.numClusters,
    clusters: partition.clusters,
    green: partition.green,
    secret,
    model: { fileName: card.fileName, sha256: card.sha256 },
    createdAt: new Date().toISOString(),
  };
  // Show the evidence this δ buys before anything is written: audit the new model with its key.
  progress({ message: 'Checking the evidence the watermark gives' });
  const checkSession = await ScoringSession.open(markedBytes, adapter);
  let selfCheck: AuditReport;
  try {
    // Without data, the utility probes serve again, so nothing is sampled twice.
    selfCheck = await auditGrew(
      checkSession,
      reportModel(card),
      key,
      data,
      { seed, signal: options.signal, progress: noProgress, probeSet: data ? undefined : probes },
      new StepTimer(),
    );
  } finally {
    await checkSession.release();
  }
  timer.lap('self-check');
  progress({ message: 'Writing the watermarked model' });
  await writeModelAndKey(
    options.out,
    marked,
    options.keyOut ? { file: options.keyOut, key } : null,
  );
  timer.lap('write');
  return {
    key,
    out: options.out,
    keyOut: options.keyOut ?? null,
    card,
    utility: rows,
    topKOverlap: overlap,
    numClusters: partition.numClusters,
    mode,
    training,
    evidence: {
      z: selfCheck.grew!.z,
      zNull: selfCheck.grew!.zNull,
      pValueText: selfCheck.pValueText,
      probes: selfCheck.grew!.probes,
      topK: selfCheck.grew!.topK,
      probeSource: selfCheck.grew!.probeSource,
    },
    timings: timer.steps,
  };
}

/** Weights mode: distillation histories and check probes, then the training (grewWeights.ts). */
async function trainWeights(
  model: LoadedModel,
  adapter: Adapter,
  head: GrewGraphParams,
  partition: GrewPartitionView,
  data: number[][] | null,
  options: {
    targetZ: number;
    maxSteps: number;
    seed: number;
    signal?: AbortSignal;
    progress: Progress;
  },
): Promise<TrainGrewResult> {
  const { progress, signal, seed } = options;
  let histories: number[][];
  let checkProbes: number[][];
  if (data) {
    histories = dataHistories(data, GREW_WEIGHTS_DEFAULTS.histories, seed);
    checkProbes = probesFromData(data, { count: GREW_DEFAULTS.probes, seed: seed + 1 });
  } else {
    const original = await ScoringSession.open(model.file, adapter);
    try {
      const sampling = 'Sampling sequences from the model to distil on';
      progress({ message: sampling });
      const sampled = await probesFromModel(original, {
        count: GREW_WEIGHTS_DEFAULTS.sampledHistories + GREW_DEFAULTS.probes,
        seed,
        signal,
        onProgress: (f) => progress({ message: sampling, fraction: f * 0.1 }),
      });
      checkProbes = sampled.slice(0, GREW_DEFAULTS.probes);
      histories = sampled.slice(GREW_DEFAULTS.probes);
    } finally {
      await original.release();
    }
  }
  const label = (p: WeightsProgress): string =>
    `Training the watermark into the weights: step ${p.step.toLocaleString('en-US')} of at most ` +
    `${p.maxSteps.toLocaleString('en-US')}` +
    (p.z === null ? '' : `, evidence z_w = ${p.z.toFixed(1)} (target ${options.targetZ})`);
  return trainGrewIntoWeights({
    proto: model.proto,
    adapter,
    head,
    partition,
    histories,
    fromData: data !== null,
    checkProbes,
    topK: GREW_DEFAULTS.topK,
    targetZ: options.targetZ,
    maxSteps: options.maxSteps,
    seed,
    signal,
    onProgress: (p) => progress({ message: label(p), fraction: 0.1 + (0.9 * p.step) / p.maxSteps }),
  });
}

async function compareUtility(
  model: LoadedModel,
  markedBytes: Uint8Array,
  adapter: Adapter,
  data: number[][] | null,
  options: { probes: number; seed: number; signal?: AbortSignal },
): Promise<{ rows: UtilityRow[]; overlap: number; probes: number[][] }> {
  const before = await ScoringSession.open(model.file, adapter);
  let after: ScoringSession | undefined;
  try {
    // A wrong declared output shape must fail here, on the original, as adapter-mismatch, not
    // as an unloadable watermark graph that was built on that shape.
    await before.forEachScores([[adapter.itemIds[0]]], () => undefined);
    after = await ScoringSession.open(markedBytes, adapter);
    const { seed, signal } = options;
    // @20 too: with the head protected, any cost shows below rank 10, not in it.
    const measure = { ks: [10, 20], sample: { count: options.probes, seed }, signal };
    const a = await measureUtility(before, data, measure);
    const b = await measureUtility(after, data, { ...measure, probes: a.probes });
    const rows: UtilityRow[] = a.loo && b.loo ? leaveOneOutRows(a.loo, b.loo) : [];
    if (data) {
      const maxHistory = adapter.seqLen;
      rows.push(
        await nextItemNdcgRow(before, after, data, {
          maxHistory,
          max: NEXT_ITEM_POINTS,
          seed,
          signal,
        }),
      );
    }
    const overlap = overlapWith(a, b);
    rows.push(overlapRow(overlap));
    return { rows, overlap, probes: a.probes };
  } finally {
    await before.release();
    await after?.release();
  }
}

export interface VerifyGrewOptions {
  model: string;
  key: GrewKey;
  data?: string;
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
  const data = await loadData(options.data, adapter, options.signal);
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
  const probesWanted = options.probes ?? GREW_DEFAULTS.probes;
  const topK = options.topK ?? key.topK ?? GREW_DEFAULTS.topK;
  const nullKeys = options.nullKeys ?? GREW_DEFAULTS.nullKeys;
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
          onProgress: (f) => progress({ message: sampling, fraction: f * 0.5 }),
        });
  timer.lap('probes');
  progress({ message: `Querying top-${topK} for ${probes.length} probes`, fraction: 0.5 });
  const unusable = new Map<number, RowProblem>();
  const answers = await recommender.topK(probes, topK, {
    signal: options.signal,
    onProgress: (done, total) =>
      progress({ message: `Querying top-${topK}`, fraction: 0.5 + (0.45 * done) / total }),
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
  return {
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
    grew: {
      z: stats.z,
      zNull: stats.zNull,
      zClassic: stats.zClassic,
      pEmpirical: stats.pEmpirical,
      pClassic: stats.pValueClassic.value,
      pClassicText: formatPValue(stats.pValueClassic),
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
    },
  };
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
