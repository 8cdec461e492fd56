/**
 * GREW end to end: embed (partition + graph surgery + utility check) and verify (probes, top-k,
 * statistics, verdict). Used by the CLI and the VS Code commands alike.
 */
import { RecMarkError, throwIfAborted } from '../errors';
import { itemPredicate, readInteractions } from '../data/interactions';
import type { Adapter } from '../onnx/adapter';
import { encodeModel, writeModel, type LoadedModel } from '../onnx/model';
import { ScoringSession } from '../onnx/session';
import { inspectModel, type ModelCard } from '../report/modelCard';
import {
  reportModel,
  reportVerdict,
  DEFAULT_ALPHA,
  type AuditReport,
  type UtilityRow,
} from '../report/report';
import { leaveOneOut, topKOverlap } from '../stats/ranking';
import { noProgress, StepTimer, type Progress } from '../util/progress';
import { writeKeyFile, keyIdOf, newSecret, type GrewKey } from './key';
import { appendGrewBias } from './grewGraph';
import { grewStatistics } from './grewStats';
import { defaultClusterCount, semanticPartition } from './partition';
import { probesFromData, probesFromModel } from './probes';
import { promises as fs } from 'node:fs';

export const GREW_DEFAULTS = {
  gamma: 0.5,
  delta: 0.5,
  kc: 50,
  topK: 20,
  probes: 1000,
  nullKeys: 200,
};

export interface EmbedGrewOptions {
  model: string;
  out: string;
  keyOut?: string;
  data?: string;
  gamma?: number;
  delta?: number;
  kc?: number;
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

async function loadData(
  file: string | undefined,
  adapter: Adapter,
  signal?: AbortSignal,
): Promise<number[][] | null> {
  if (!file) return null;
  const { sequences } = await readInteractions(file, { isItem: itemPredicate(adapter), signal });
  return sequences;
}

export async function embedGrew(options: EmbedGrewOptions): Promise<EmbedGrewResult> {
  const progress = options.progress ?? noProgress;
  const timer = new StepTimer();
  const gamma = options.gamma ?? GREW_DEFAULTS.gamma;
  const delta = options.delta ?? GREW_DEFAULTS.delta;
  const kc = options.kc ?? GREW_DEFAULTS.kc;
  checkRange('gamma', gamma, 0, 1, true);
  checkRange('delta', delta, 0, 100);
  const seed = options.seed ?? 1;
  progress({ message: 'Reading the model' });
  const { card, model, adapter } = await inspectModel(options.model);
  checkRange('kc', kc, 2, adapter.numItems);
  const data = await loadData(options.data, adapter, options.signal);
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

  progress({ message: 'Adding the watermark to the graph' });
  const marked = appendGrewBias(model.proto, adapter, { green: partition.green, delta, kc });
  const markedBytes = encodeModel(marked);
  timer.lap('graph');

  progress({ message: 'Measuring utility before and after' });
  const { rows, overlap } = await compareUtility(model, markedBytes, adapter, data, {
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
    gamma,
    delta,
    kc,
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
  progress({ message: 'Writing the watermarked model' });
  await writeOutputs(options.out, marked, options.keyOut ? { file: options.keyOut, key } : null);
  timer.lap('write');
  return {
    key,
    out: options.out,
    keyOut: options.keyOut ?? null,
    card,
    utility: rows,
    topKOverlap: overlap,
    numClusters: partition.numClusters,
    timings: timer.steps,
  };
}

/** Write the model, then the key; if the key cannot be written, the model is removed again. */
async function writeOutputs(
  out: string,
  proto: Parameters<typeof writeModel>[0],
  key: { file: string; key: GrewKey } | null,
): Promise<void> {
  await writeModel(proto, out);
  if (!key) return;
  try {
    await writeKeyFile(key.file, key.key, true);
  } catch (err) {
    await fs.rm(out, { force: true });
    throw err;
  }
}

async function compareUtility(
  model: LoadedModel,
  markedBytes: Uint8Array,
  adapter: Adapter,
  data: number[][] | null,
  options: { probes: number; seed: number; signal?: AbortSignal },
): Promise<{ rows: UtilityRow[]; overlap: number }> {
  const before = await ScoringSession.open(model.file, adapter);
  const after = await ScoringSession.open(markedBytes, adapter);
  try {
    const rows: UtilityRow[] = [];
    let probes: number[][];
    if (data) {
      const a = await leaveOneOut(before, data, 10, { signal: options.signal });
      const b = await leaveOneOut(after, data, 10, { signal: options.signal });
      rows.push(
        { metric: 'Recall@10', before: a.recall, after: b.recall },
        { metric: 'NDCG@10', before: a.ndcg, after: b.ndcg },
      );
      probes = data.filter((s) => s.length >= 2).map((s) => s.slice(0, -1));
    } else {
      probes = await probesFromModel(before, {
        count: options.probes,
        seed: options.seed,
        signal: options.signal,
      });
    }
    const listsBefore = await before.topK(probes, 10, { signal: options.signal });
    const listsAfter = await after.topK(probes, 10, { signal: options.signal });
    const overlap = topKOverlap(listsBefore, listsAfter);
    rows.push({ metric: 'Top-10 overlap with original', before: 1, after: overlap });
    return { rows, overlap };
  } finally {
    await before.release();
    await after.release();
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
  const probesWanted = options.probes ?? GREW_DEFAULTS.probes;
  const topK = options.topK ?? key.topK ?? GREW_DEFAULTS.topK;
  const nullKeys = options.nullKeys ?? GREW_DEFAULTS.nullKeys;
  const seed = options.seed ?? 1;
  const alpha = options.alpha ?? DEFAULT_ALPHA;
  checkRange('probes', probesWanted, 1, 1_000_000);
  checkRange('top-k', topK, 1, 1000);
  checkRange('alpha', alpha, 0, 1, true);
  progress({ message: 'Reading the suspect model' });
  const { card, adapter } = await inspectModel(options.model);
  if (key.scoreWidth !== adapter.scoreWidth) {
    throw new RecMarkError(
      `The key was made for a catalogue of ${key.scoreWidth} ids, but this model scores ${adapter.scoreWidth}. ` +
        'Pick the key made for this model family (or map the suspect into the same item index space).',
      'key-mismatch',
    );
  }
  const data = await loadData(options.data, adapter, options.signal);
  timer.lap('load');
  const session = await ScoringSession.open(card.file, adapter);
  try {
    progress({
      message: data ? 'Drawing probes from the data' : 'Sampling probe sequences from the model',
    });
    const probes = data
      ? probesFromData(data, { count: probesWanted, seed })
      : await probesFromModel(session, {
          count: probesWanted,
          seed,
          signal: options.signal,
          onProgress: (f) =>
            progress({ message: 'Sampling probe sequences from the model', fraction: f * 0.5 }),
        });
    timer.lap('probes');
    progress({ message: `Querying top-${topK} for ${probes.length} probes`, fraction: 0.5 });
    const lists = await session.topK(probes, topK, {
      signal: options.signal,
      onProgress: (done, total) =>
        progress({ message: `Querying top-${topK}`, fraction: 0.5 + (0.45 * done) / total }),
    });
    timer.lap('queries');
    progress({ message: 'Testing the green-item bias', fraction: 0.95 });
    const stats = grewStatistics(lists, key, { topK, nullKeys, seed });
    timer.lap('statistics');
    return {
      kind: 'recmark-audit',
      version: 1,
      createdAt: new Date().toISOString(),
      scheme: 'grew',
      ...reportVerdict('grew', stats.pValue, alpha),
      model: reportModel(card),
      keyId: key.keyId,
      parameters: {
        probes: probes.length,
        topK,
        nullKeys,
        seed,
        gamma: key.gamma,
        probeSource: data ? 'data' : 'sampled',
      },
      timings: timer.steps,
      grew: {
        z: stats.z,
        zNull: stats.zNull,
        zClassic: stats.zClassic,
        pEmpirical: stats.pEmpirical,
        pClassic: stats.pValueClassic.value,
        greenHits: stats.greenHits,
        trials: stats.trials,
        expectedHits: stats.expectedHits,
        sdHits: stats.sdHits,
        gamma: key.gamma,
        topK,
        probes: probes.length,
        nullKeys: stats.nullKeys,
        distinctItems: stats.distinctItems,
        probeSource: data ? 'data' : 'sampled',
        perProbeGreen: stats.perProbeGreen,
        nullPerProbeGreen: stats.nullPerProbeGreen,
        greenRateByRank: stats.greenRateByRank,
        nullGreenHits: stats.nullGreenHits,
      },
    };
  } finally {
    await session.release();
  }
}
