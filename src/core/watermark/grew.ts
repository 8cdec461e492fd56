/**
 * GREW embedding: partition, then the bias trained into the weights or appended as a served
 * head, utility before/after and a self-check with the new key. Verification (probes, top-k,
 * statistics, verdict) is grewAudit.ts. Used by the CLI and the VS Code commands alike.
 */
import { RecMarkError, throwIfAborted } from '../errors';
import { dataFile, readItemSequences, type DataRef } from '../data/interactions';
import type { Adapter } from '../onnx/adapter';
import { encodeModel, type LoadedModel, type onnx } from '../onnx/model';
import { ScoringSession } from '../onnx/session';
import { openModel } from '../onnx/open';
import { modelCard, type ModelCard } from '../report/modelCard';
import { reportModel, type AuditReport, type UtilityRow } from '../report/report';
import {
  checkUtilityUsers,
  hasHeldOutItem,
  leaveOneOutRows,
  measureUtility,
  nextItemNdcgRow,
  overlapRow,
  overlapWith,
  type UtilityUsers,
} from '../utility';
import {
  noProgress,
  stepCount,
  StepTimer,
  type Progress,
  type ProgressUpdate,
} from '../util/progress';
import { DEFAULT_SEED } from '../util/random';
import { checkInt, checkRange } from '../util/validate';
import { auditGrew, GREW_AUDIT_DEFAULTS } from './grewAudit';
import { keyIdOf, newSecret, NOT_AN_ITEM, type GrewKey } from './key';
import { writeModelAndKey } from './outputs';
import { appendGrewBias, type GrewGraphParams } from './grewGraph';
import type { GrewPartitionView } from './grewStats';
import {
  dataHistories,
  GREW_WEIGHTS_DEFAULTS,
  trainGrewIntoWeights,
  type TrainGrewResult,
  type WeightsProgress,
} from './grewWeights';
import { KMEANS_MAX_ITERATIONS } from './kmeans';
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
  // The audit's top-k, probes and null keys (grewAudit.ts).
  ...GREW_AUDIT_DEFAULTS,
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
  data?: DataRef;
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
  /** Users utility is measured on: a seeded sample of at most N (default UTILITY_USERS_DEFAULT), or 'all'. */
  utilityUsers?: UtilityUsers;
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
  checkUtilityUsers(options.utilityUsers);
  const seed = options.seed ?? DEFAULT_SEED;
  progress({ message: 'Reading the model' });
  const opened = await openModel(options.model);
  const { model, adapter } = opened;
  const card = await modelCard(opened);
  checkGrewFits(adapter.numItems, { gamma, kc, protectHead, clusters: options.clusters });
  const data = options.data
    ? await readItemSequences(options.data, adapter, options.signal, progress)
    : null;
  if (data && !hasHeldOutItem(data)) {
    throw new RecMarkError(
      `${dataFile(options.data!)} has no user with two or more interactions, so utility before and after ` +
        'cannot be measured; pass a data file with real histories, or leave out --data.',
      'data-invalid',
    );
  }
  timer.lap('load');

  const secret = options.secret ?? newSecret();
  const numClusters = options.clusters ?? defaultClusterCount(adapter.numItems);
  const clustering = `Clustering ${adapter.numItems.toLocaleString('en-US')} items into ${numClusters} groups`;
  progress({ message: clustering });
  const partition = await semanticPartition(model, adapter, secret, {
    gamma,
    clusters: numClusters,
    signal: options.signal,
    // k-means stops once few items change cluster: the iteration count is a cap.
    onProgress: (iteration) =>
      progress({
        message: clustering,
        count: stepCount(iteration, KMEANS_MAX_ITERATIONS, 'iterations', true),
      }),
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
    users: options.utilityUsers,
    signal: options.signal,
    progress,
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
        onProgress: (done, total) =>
          progress({
            message: sampling,
            fraction: (0.1 * done) / Math.max(1, total),
            count: stepCount(done, total, 'queries'),
          }),
      });
      checkProbes = sampled.slice(0, GREW_DEFAULTS.probes);
      histories = sampled.slice(GREW_DEFAULTS.probes);
    } finally {
      await original.release();
    }
  }
  // Training stops once the evidence reaches the target: maxSteps is a cap.
  const trainingProgress = (p: WeightsProgress): ProgressUpdate => ({
    message: 'Training the watermark into the weights',
    fraction: 0.1 + (0.9 * p.step) / p.maxSteps,
    count: stepCount(p.step, p.maxSteps, 'training steps', true),
    detail:
      p.z === null ? undefined : `evidence z_w = ${p.z.toFixed(1)} (target ${options.targetZ})`,
  });
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
    onProgress: (p) => progress(trainingProgress(p)),
  });
}

async function compareUtility(
  model: LoadedModel,
  markedBytes: Uint8Array,
  adapter: Adapter,
  data: number[][] | null,
  options: {
    probes: number;
    seed: number;
    users?: UtilityUsers;
    signal?: AbortSignal;
    progress: Progress;
  },
): Promise<{ rows: UtilityRow[]; overlap: number; probes: number[][] }> {
  const before = await ScoringSession.open(model.file, adapter);
  let after: ScoringSession | undefined;
  try {
    // A wrong declared output shape must fail here, on the original, as adapter-mismatch, not
    // as an unloadable watermark graph that was built on that shape.
    await before.forEachScores([[adapter.itemIds[0]]], () => undefined);
    after = await ScoringSession.open(markedBytes, adapter);
    const { seed, signal, users, progress } = options;
    // @20 too: with the head protected, any cost shows below rank 10, not in it.
    const measure = { ks: [10, 20], sample: { count: options.probes, seed }, users, signal };
    const beforeStep = 'Measuring utility before embedding';
    progress({ message: beforeStep });
    const a = await measureUtility(before, data, { ...measure, progress, step: beforeStep });
    const afterStep = 'Measuring utility after embedding';
    progress({ message: afterStep });
    const b = await measureUtility(after, data, {
      ...measure,
      probes: a.probes,
      progress,
      step: afterStep,
    });
    const rows: UtilityRow[] = a.loo && b.loo ? leaveOneOutRows(a.loo, b.loo, '', a.users) : [];
    if (data) {
      const maxHistory = adapter.seqLen;
      rows.push(
        await nextItemNdcgRow(before, after, data, {
          maxHistory,
          max: NEXT_ITEM_POINTS,
          seed,
          users,
          signal,
          progress,
        }),
      );
    }
    const overlap = overlapWith(a, b);
    rows.push(overlapRow(overlap, undefined, a.users));
    return { rows, overlap, probes: a.probes };
  } finally {
    await before.release();
    await after?.release();
  }
}
