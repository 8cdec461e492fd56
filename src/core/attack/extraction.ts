/**
 * Data-free model extraction (DESIGN.md §6; Yue et al., RecSys 2021, as used by the AOW paper's
 * code): the thief has no user data, only black-box access to the victim's ranked top-k lists.
 *
 * 1. Synthetic sequences: S sequences of length L, the first item uniform over the catalogue,
 *    each next item uniform from the victim's top-k after the current prefix (history excluded,
 *    as a served recommendation list would). Every prefix is one query; its list is kept as the
 *    label, so the query budget is S·L (plus H·L for the held-out sequences that measure
 *    fidelity).
 * 2. A surrogate: the victim's own graph with its float weights re-initialised (`same`), or a
 *    SASRec built in code (`sasrec`). Post-processing RecMark itself appends (the GREW score
 *    calibration) is not part of the architecture and is cut off first.
 * 3. Training on the ranked lists only (a thief sees no scores):
 *    - `listwise` (default): cross-entropy on items drawn from each list with probability
 *      ∝ exp(−rank/τ), fresh draws every epoch, at every position of the synthetic sequence when
 *      the surrogate scores every position (its optimum is logits linear in the victim's rank);
 *    - `ranking`: margin loss at the last position, each list item above a lower-ranked item of
 *      the same list and above an item outside it (Yue et al.'s two hinge terms in one).
 *    Why listwise: on the GREW-marked SASRec fixture (S = 3,000, L = 50, k = 100) 10 listwise
 *    epochs (938 steps, ~100 s) reached 66.8% held-out top-10 overlap and GREW z_w 5.06, one
 *    ranking epoch (2,344 steps, 114 s) 54.9% and z_w 1.3: a softmax over all items per
 *    position carries far more of the ranking per step than 200 hinge pairs at one position.
 *    τ = 5 / 10 / 20 gave z_w 3.41 / 4.74 / 3.01 (at λ = 1): τ = 10 weights ranks 11–20, where
 *    GREW's evidence sits (it protects the top 10), without drowning them in ranks 30–100.
 * 4. Report: query budget and rate, fidelity (top-10 overlap with the victim on held-out synthetic
 *    prefixes; on users' histories with data), leave-one-out utility of both with data, training
 *    steps and time. The surrogate is written atomically; the victim file is only read.
 */
import { throwIfAborted } from '../errors';
import { readItemSequences } from '../data/interactions';
import { detectAdapter, type Adapter } from '../onnx/adapter';
import {
  DataType,
  GraphIndex,
  pruneDeadNodes,
  tensorDims,
  tensorFloat32,
  tensorValues,
} from '../onnx/graph';
import { cloneModel, encodeModel, graphOf, onnx, writeModel } from '../onnx/model';
import { createSession, loadOrt, ortIdTensor, runSession, type OrtTensor } from '../onnx/ort';
import { encodeBatch, ScoringSession } from '../onnx/session';
import { openModel } from '../onnx/open';
import { topKOverlap } from '../stats/ranking';
import { buildSasrec } from '../train/sasrecBuilder';
import {
  defaultTrainable,
  train,
  writeWeights,
  type TrainExample,
  type TrainResult,
} from '../train/trainer';
import { noProgress, StepTimer, type Progress } from '../util/progress';
import { Rng } from '../util/random';
import { checkInt, checkNumber, usageError } from '../util/validate';
import { measureUtility, overlapWith, type ModelUtility } from '../utility';
import { stripScoreCalibration } from './strip';

export type ExtractArch = 'same' | 'sasrec';
export type ExtractLoss = 'listwise' | 'ranking';

export const EXTRACT_DEFAULTS = {
  sequences: 3000,
  topK: 100,
  arch: 'same' as ExtractArch,
  loss: 'listwise' as ExtractLoss,
  /** Synthetic sequence length: the model's seqLen, at most this. */
  maxLength: 50,
  /** Held-out synthetic sequences for the fidelity measurement (not trained on), ≤ 10% of S. */
  heldOut: 200,
  epochs: 10,
  lr: 3e-3,
  /**
   * Decoupled AdamW decay on matrices. Unlike training on sparse user data (the from-scratch
   * recipe uses 4), 100-item teacher lists regularise enough: on the GREW-marked fixture λ = 0 /
   * 1 / 4 gave held-out top-10 overlap 66.8 / 63.8 / 57.7% and GREW z_w 5.06 / 4.74 / 4.25.
   */
  weightDecay: 0,
  batchSize: 64,
  /** Listwise: rank temperature of the target distribution, and draws per sequence per epoch. */
  tau: 10,
  draws: 2,
  /** Ranking: hinge margin. */
  margin: 1,
  /** Std of re-initialised matrices and embeddings. */
  initStd: 0.02,
  seed: 1,
  queryBatch: 256,
};

export interface ExtractOptions {
  model: string;
  out: string;
  sequences?: number;
  topK?: number;
  arch?: ExtractArch;
  loss?: ExtractLoss;
  /** Synthetic sequence length (default: the model's seqLen, at most 50). */
  length?: number;
  heldOut?: number;
  epochs?: number;
  maxSteps?: number;
  lr?: number;
  weightDecay?: number;
  batchSize?: number;
  tau?: number;
  draws?: number;
  margin?: number;
  /** Interaction data for the utility comparison (never used for training). */
  data?: string;
  /** Sees the synthetic sequences and the victim's lists (training ones first): for analysis. */
  onQueries?: (q: SyntheticQueries) => void;
  seed?: number;
  signal?: AbortSignal;
  progress?: Progress;
}

export interface ExtractResult {
  out: string;
  arch: ExtractArch;
  loss: ExtractLoss;
  /** What the thief asked the victim. */
  queries: {
    /** Training sequences S, their length L and the list length k. */
    sequences: number;
    length: number;
    topK: number;
    /** Queries that produced training labels: S·L. */
    training: number;
    /** Queries for the held-out fidelity sequences: H·L. */
    heldOut: number;
    total: number;
    seconds: number;
    perSecond: number;
  };
  training: {
    /** Whether the surrogate was trained at every position of a sequence, or at the last. */
    positions: 'all' | 'last';
    examples: number;
    epochs: number;
    steps: number;
    seconds: number;
    stepsPerSecond: number;
    parameters: number;
    reinitialised: string[];
    firstLoss: number;
    lastLoss: number;
  };
  /** Agreement with the victim on held-out synthetic prefixes (history excluded). */
  fidelity: {
    prefixes: number;
    top10Overlap: number;
    top20Overlap: number;
    top1Agreement: number;
    /** Expected top-10 overlap of a random ranking: 10 / items. */
    chanceTop10: number;
  };
  /** With data: leave-one-out Recall@10 / NDCG@10 and top-10 overlap on users' histories. */
  utility: {
    users: number;
    victim: { recall: number; ndcg: number };
    surrogate: { recall: number; ndcg: number };
    top10Overlap: number;
  } | null;
  timings: { step: string; ms: number }[];
}

// ---------------------------------------------------------------------------------------------
// 1. Synthetic queries

export interface SyntheticQueries {
  /** Item sequences, each `length` long (shorter only if a list ran out). */
  sequences: number[][];
  /** lists[s][i]: the victim's top-k after sequences[s][0..i] (history excluded). */
  lists: Int32Array[][];
  /** Number of prefixes the victim was asked about. */
  queries: number;
  ms: number;
}

/**
 * Yue et al.'s autoregressive sampling: a uniform first item, then each next item uniform from
 * the victim's top-k after the current prefix; every prefix's list is recorded as a label.
 * `probesFromModel` (watermark/probes.ts) samples the same way but keeps no lists.
 */
export async function syntheticQueries(
  victim: ScoringSession,
  options: {
    count: number;
    length: number;
    topK: number;
    seed: number;
    signal?: AbortSignal;
    onProgress?: (done: number, total: number) => void;
  },
): Promise<SyntheticQueries> {
  const rng = new Rng(options.seed);
  const ids = victim.adapter.itemIds;
  const sequences = Array.from({ length: options.count }, () => [ids[rng.int(ids.length)]]);
  const lists: Int32Array[][] = sequences.map(() => []);
  const open = new Set(sequences.keys());
  const start = performance.now();
  let queries = 0;
  const total = options.count * options.length;
  for (let step = 1; step <= options.length && open.size > 0; step++) {
    throwIfAborted(options.signal);
    const asked = [...open];
    const answers = await victim.topK(
      asked.map((s) => sequences[s]),
      options.topK,
      { excludeHistory: true, batchSize: EXTRACT_DEFAULTS.queryBatch, signal: options.signal },
    );
    queries += asked.length;
    asked.forEach((s, j) => {
      const list = answers[j];
      if (list.length === 0) {
        open.delete(s);
        return;
      }
      lists[s].push(list);
      if (step < options.length) sequences[s].push(list[rng.int(list.length)]);
      else open.delete(s);
    });
    options.onProgress?.(queries, total);
  }
  // A sequence whose last prefix got an empty list keeps only the labelled prefixes.
  sequences.forEach((seq, s) => seq.splice(lists[s].length));
  return { sequences, lists, queries, ms: performance.now() - start };
}

// ---------------------------------------------------------------------------------------------
// 2. Surrogate architectures

const NORMALISATIONS = new Set([
  'LayerNormalization',
  'BatchNormalization',
  'InstanceNormalization',
]);

/** Rank-1 float initializers that scale a normalisation (ones), rather than shift it (zeros). */
function normScales(graph: onnx.GraphProto): Set<string> {
  const scales = new Set<string>();
  for (const node of graph.node) {
    const scale = node.input?.[1];
    if (scale && NORMALISATIONS.has(node.opType ?? '')) scales.add(scale);
  }
  // Decomposed LayerNorm (opset < 17) multiplies by its scale: recognise it by name.
  for (const { name } of graph.initializer) {
    if (name && (/(^|[./_])(ln|norm)[^/]*[./_](weight|scale)$/i.test(name) || /gamma$/i.test(name)))
      scales.add(name);
  }
  return scales;
}

/**
 * Fresh weights for every trainable initializer: N(0, std) for matrices and embeddings (the
 * padding row of the item embedding zero), ones for normalisation scales, zeros for biases.
 */
export function reinitialise(
  proto: onnx.ModelProto,
  adapter: Adapter,
  trainable: readonly string[],
  options: { seed: number; std?: number },
): onnx.ModelProto {
  const std = options.std ?? EXTRACT_DEFAULTS.initStd;
  const rng = new Rng(options.seed);
  const graph = graphOf(proto);
  const scales = normScales(graph);
  const params = new Map<string, Float32Array>();
  for (const t of graph.initializer) {
    if (!t.name || !trainable.includes(t.name)) continue;
    const dims = tensorDims(t);
    const n = dims.reduce((a, b) => a * b, 1);
    let values: Float32Array;
    if (dims.length >= 2) {
      values = rng.normals(n, std);
      if (t.name === adapter.itemEmbedding && dims[0] === adapter.scoreWidth) {
        const d = n / dims[0];
        values.fill(0, adapter.padId * d, (adapter.padId + 1) * d);
      }
    } else {
      values = new Float32Array(n).fill(scales.has(t.name) ? 1 : 0);
    }
    params.set(t.name, values);
  }
  return writeWeights(proto, params);
}

function adapterOf(proto: onnx.ModelProto, file: string): Adapter {
  return detectAdapter({ proto, file, fileBytes: 0, externalFiles: [] });
}

export interface Surrogate {
  /** The model that is written: same input and output as a query-time model. */
  proto: onnx.ModelProto;
  adapter: Adapter;
  /** The graph trained: the same weights, scores at every position when that was possible. */
  trainProto: onnx.ModelProto;
  trainAdapter: Adapter;
  positions: 'all' | 'last';
  trainable: string[];
}

/**
 * The untrained surrogate. `same`: the victim's graph (score post-processing cut off) with every
 * trainable weight re-initialised; `sasrec`: a SASRec built in code over the same id space (the
 * victim's embedding width, 2 blocks, 1 head, its seqLen).
 */
export async function buildSurrogate(
  victimProto: onnx.ModelProto,
  adapter: Adapter,
  options: { arch: ExtractArch; seed: number; hidden?: number | null },
): Promise<Surrogate> {
  if (options.arch === 'sasrec') {
    if (adapter.padId !== 0 || adapter.itemIds[0] === 0 || adapter.padding !== 'left') {
      throw usageError(
        'The built-in SASRec surrogate needs item ids 1..N with left padding by 0; use --arch same for this model.',
      );
    }
    const shape = {
      // Every score column of the victim exists in the surrogate, so keys stay compatible.
      numItems: adapter.scoreWidth - 1,
      hidden: options.hidden ?? 64,
      blocks: 2,
      heads: 1,
      maxLen: adapter.seqLen,
      seed: options.seed,
    };
    const last = buildSasrec({ ...shape, output: 'last' });
    const all = buildSasrec({ ...shape, output: 'all' });
    const lastAdapter = adapterOf(last, 'surrogate.onnx');
    const trainable = defaultTrainable(last, lastAdapter.output);
    const allAdapter = adapterOf(all, 'surrogate-all.onnx');
    return {
      proto: last,
      adapter: lastAdapter,
      trainProto: all,
      trainAdapter: allAdapter,
      positions: 'all',
      trainable,
    };
  }
  const stripped = stripScoreCalibration(victimProto, adapter.output);
  const trainable = defaultTrainable(stripped, adapter.output);
  if (trainable.length === 0) throw usageError('The model has no float weights to re-initialise.');
  const proto = reinitialise(stripped, adapter, trainable, { seed: options.seed });
  const all = await allPositionVariant(proto, adapter);
  return {
    proto,
    adapter,
    trainProto: all?.proto ?? proto,
    trainAdapter: all?.adapter ?? adapter,
    positions: all ? 'all' : 'last',
    trainable,
  };
}

/**
 * A variant of a last-position model that scores every position, for training on all prefixes of
 * a sequence in one pass: the one Gather that picks the last position (axis 1, constant index
 * −1 or T−1) becomes an Identity. Accepted only if the variant runs, gives [B, T, W] and its
 * last position equals the original's scores; otherwise null (train at the last position).
 */
export async function allPositionVariant(
  proto: onnx.ModelProto,
  adapter: Adapter,
): Promise<{ proto: onnx.ModelProto; adapter: Adapter } | null> {
  if (adapter.outputRank !== 2 || adapter.maskId !== null || adapter.lengthInput) return null;
  const T = adapter.seqLen;
  const variant = cloneModel(proto);
  const graph = graphOf(variant);
  const index = new GraphIndex(graph);
  const candidates = graph.node.filter((node) => {
    if (node.opType !== 'Gather') return false;
    const axis = (node.attribute ?? []).find((a) => a.name === 'axis');
    if (!axis || Number(axis.i) !== 1 || !node.input?.[1]) return false;
    const c = index.constant(node.input[1]);
    if (!c || tensorDims(c).length !== 0) return false;
    const v = tensorValues(c)[0];
    return v === -1 || v === T - 1;
  });
  if (candidates.length !== 1) return null;
  const gather = candidates[0];
  gather.opType = 'Identity';
  gather.input = [gather.input![0]];
  gather.attribute = [];
  pruneDeadNodes(graph);
  for (const o of graph.output) if (o.name === adapter.output) o.type!.tensorType!.shape = null;
  const variantAdapter: Adapter = { ...adapter, outputRank: 3 };
  try {
    await loadOrt();
    const rng = new Rng(7);
    const ids = adapter.itemIds;
    const rows = [3, T].map((n) => Array.from({ length: n }, () => ids[rng.int(ids.length)]));
    const { rows: encoded } = encodeBatch(adapter, rows);
    const feed = { [adapter.input]: ortIdTensor(adapter.inputType, encoded, [2, T]) };
    const run = async (p: onnx.ModelProto): Promise<OrtTensor> => {
      const session = await createSession(encodeModel(p));
      try {
        return (await runSession(session, feed, [adapter.output]))[adapter.output];
      } finally {
        await session.release();
      }
    };
    const [a, b] = [await run(proto), await run(variant)];
    const W = adapter.scoreWidth;
    if (b.dims.length !== 3 || b.dims[0] !== 2 || b.dims[1] !== T || b.dims[2] !== W) return null;
    const x = a.data as Float32Array;
    const y = b.data as Float32Array;
    for (let r = 0; r < 2; r++)
      for (let c = 0; c < W; c++) {
        const want = x[r * W + c];
        const got = y[(r * T + T - 1) * W + c];
        if (Math.abs(want - got) > 1e-4 * (1 + Math.abs(want))) return null;
      }
  } catch {
    return null;
  }
  return { proto: variant, adapter: variantAdapter };
}

// ---------------------------------------------------------------------------------------------
// 3. Training examples from ranked lists

/** Sampling table of the rank distribution p(r) ∝ exp(−r/τ) over a list of length k. */
function rankSampler(k: number, tau: number): (rng: Rng) => number {
  const cdf = new Float64Array(k);
  let total = 0;
  for (let r = 0; r < k; r++) cdf[r] = total += Math.exp(-r / tau);
  return (rng) => {
    const u = rng.next() * total;
    let lo = 0;
    let hi = k - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

/**
 * Listwise examples: per epoch and sequence, `draws` examples whose target at each position is an
 * item of that prefix's list drawn with p(rank) ∝ exp(−rank/τ) (all-position surrogates); or, at
 * the last position, `draws` random prefixes with one drawn target each.
 */
export function listwiseExamples(
  q: Pick<SyntheticQueries, 'sequences' | 'lists'>,
  options: {
    positions: 'all' | 'last';
    epochs: number;
    draws: number;
    tau: number;
    seqLen: number;
    seed: number;
  },
): TrainExample[] {
  const rng = new Rng(options.seed);
  const examples: TrainExample[] = [];
  const samplers = new Map<number, (rng: Rng) => number>();
  // Last-position prefixes are shared by every epoch's examples.
  const prefixes: number[][][] = [];
  const draw = (list: Int32Array): number => {
    let sample = samplers.get(list.length);
    if (!sample) samplers.set(list.length, (sample = rankSampler(list.length, options.tau)));
    return list[sample(rng)];
  };
  for (let e = 0; e < options.epochs; e++) {
    q.sequences.forEach((seq, s) => {
      const lists = q.lists[s];
      if (options.positions === 'all') {
        // Windows of seqLen items: the model sees at most that many.
        for (let end = seq.length; end > 0; end -= options.seqLen) {
          const begin = Math.max(0, end - options.seqLen);
          const history = seq.slice(begin, end);
          for (let d = 0; d < options.draws; d++)
            examples.push({ history, targets: history.map((_, i) => draw(lists[begin + i])) });
        }
      } else if (seq.length > 0) {
        // As many examples per sequence and epoch as at every position, so an epoch costs the
        // same; each is one prefix, drawn at random, with one drawn target.
        prefixes[s] ??= seq.map((_, i) => seq.slice(Math.max(0, i + 1 - options.seqLen), i + 1));
        for (let d = 0; d < options.draws; d++) {
          const i = rng.int(seq.length);
          examples.push({ history: prefixes[s][i], target: draw(lists[i]) });
        }
      }
    });
  }
  return examples;
}

/**
 * Ranking examples at the last position: for each list item j (k pairs), j above a random item
 * ranked below it in the same list, and (k more pairs) j above a random item outside the list.
 */
export function rankingExamples(
  q: Pick<SyntheticQueries, 'sequences' | 'lists'>,
  options: { itemIds: Int32Array; seqLen: number; seed: number },
): TrainExample[] {
  const rng = new Rng(options.seed);
  const ids = options.itemIds;
  const examples: TrainExample[] = [];
  q.sequences.forEach((seq, s) => {
    q.lists[s].forEach((list, i) => {
      const k = list.length;
      const inList = new Set(list);
      const outside = (): number => {
        for (;;) {
          const id = ids[rng.int(ids.length)];
          if (!inList.has(id)) return id;
        }
      };
      const positives: number[] = [];
      const negatives: number[] = [];
      for (let j = 0; j < k; j++) {
        positives.push(list[j], list[j]);
        negatives.push(j + 1 < k ? list[j + 1 + rng.int(k - j - 1)] : outside(), outside());
      }
      examples.push({
        history: seq.slice(Math.max(0, i + 1 - options.seqLen), i + 1),
        positives,
        negatives,
      });
    });
  });
  return examples;
}

export interface SurrogateOptions {
  arch: ExtractArch;
  loss: ExtractLoss;
  epochs: number;
  maxSteps?: number;
  lr: number;
  weightDecay: number;
  batchSize: number;
  tau: number;
  draws: number;
  margin: number;
  seed: number;
  signal?: AbortSignal;
  onProgress?: (p: {
    positions: 'all' | 'last';
    epoch: number;
    step: number;
    totalSteps: number;
    loss: number;
  }) => void;
}

export interface TrainedSurrogate {
  /** The trained surrogate, scoring the last position like the victim. */
  proto: onnx.ModelProto;
  adapter: Adapter;
  positions: 'all' | 'last';
  examples: number;
  epochs: number;
  parameters: number;
  seconds: number;
  result: TrainResult;
}

/** Build the surrogate and train it on the victim's ranked lists. */
export async function trainSurrogate(
  victimProto: onnx.ModelProto,
  adapter: Adapter,
  q: Pick<SyntheticQueries, 'sequences' | 'lists'>,
  options: SurrogateOptions,
): Promise<TrainedSurrogate> {
  const surrogate = await buildSurrogate(victimProto, adapter, {
    arch: options.arch,
    seed: options.seed + 1,
    hidden: embeddingWidth(victimProto, adapter),
  });
  const positions = options.loss === 'ranking' ? 'last' : surrogate.positions;
  const examples =
    options.loss === 'listwise'
      ? listwiseExamples(q, {
          ...options,
          positions,
          seqLen: adapter.seqLen,
          seed: options.seed + 2,
        })
      : rankingExamples(q, {
          itemIds: surrogate.adapter.itemIds,
          seqLen: adapter.seqLen,
          seed: options.seed + 2,
        });
  // Listwise examples hold one fresh draw per epoch: one pass over them is `epochs` epochs.
  const passes = options.loss === 'listwise' ? 1 : options.epochs;
  const perEpoch = examples.length / (options.epochs / passes);
  const epochOf = (step: number): number =>
    Math.min(options.epochs, Math.ceil((step * options.batchSize) / perEpoch));
  const start = performance.now();
  const result = await train({
    model: positions === 'all' ? surrogate.trainProto : surrogate.proto,
    adapter: positions === 'all' ? surrogate.trainAdapter : surrogate.adapter,
    examples,
    trainable: surrogate.trainable,
    loss: options.loss === 'ranking' ? 'margin' : 'cross-entropy',
    margin: options.margin,
    batchSize: options.batchSize,
    epochs: passes,
    maxSteps: options.maxSteps,
    lr: options.lr,
    weightDecay: options.weightDecay,
    seed: options.seed + 3,
    signal: options.signal,
    onProgress: (p) =>
      options.onProgress?.({
        positions,
        epoch: epochOf(p.step),
        step: p.step,
        totalSteps: p.totalSteps,
        loss: p.loss,
      }),
  });
  const seconds = (performance.now() - start) / 1000;
  const params = new Map<string, Float32Array>();
  for (const t of graphOf(result.proto).initializer as onnx.TensorProto[])
    if (result.trainable.includes(t.name)) params.set(t.name, tensorFloat32(t));
  return {
    proto: writeWeights(surrogate.proto, params),
    adapter: surrogate.adapter,
    positions,
    examples: examples.length,
    epochs: epochOf(result.steps),
    parameters: [...params.values()].reduce((s, p) => s + p.length, 0),
    seconds,
    result,
  };
}

// ---------------------------------------------------------------------------------------------
// 4. The attack

export async function extractModel(options: ExtractOptions): Promise<ExtractResult> {
  const progress = options.progress ?? noProgress;
  const { signal } = options;
  const timer = new StepTimer();
  const count = options.sequences ?? EXTRACT_DEFAULTS.sequences;
  const topK = options.topK ?? EXTRACT_DEFAULTS.topK;
  const arch = options.arch ?? EXTRACT_DEFAULTS.arch;
  const lossKind = options.loss ?? EXTRACT_DEFAULTS.loss;
  const heldOutCount = options.heldOut ?? Math.min(EXTRACT_DEFAULTS.heldOut, Math.ceil(count / 10));
  const epochs = options.epochs ?? EXTRACT_DEFAULTS.epochs;
  const lr = options.lr ?? EXTRACT_DEFAULTS.lr;
  const weightDecay = options.weightDecay ?? EXTRACT_DEFAULTS.weightDecay;
  const batchSize = options.batchSize ?? EXTRACT_DEFAULTS.batchSize;
  const tau = options.tau ?? EXTRACT_DEFAULTS.tau;
  const draws = options.draws ?? EXTRACT_DEFAULTS.draws;
  const seed = options.seed ?? EXTRACT_DEFAULTS.seed;
  if (arch !== 'same' && arch !== 'sasrec')
    throw usageError(`arch must be "same" or "sasrec", got "${String(arch)}".`);
  if (lossKind !== 'listwise' && lossKind !== 'ranking')
    throw usageError(`loss must be "listwise" or "ranking", got "${String(lossKind)}".`);
  checkInt('sequences', count, 1, 10_000_000);
  checkInt('held-out', heldOutCount, 0, 1_000_000);
  checkInt('epochs', epochs, 1, 10_000);
  checkInt('batch-size', batchSize, 1, 65_536);
  checkInt('draws', draws, 1, 1000);
  checkInt('seed', seed, 0, 2 ** 32 - 1);
  if (options.maxSteps !== undefined) checkInt('max-steps', options.maxSteps, 1, 1e9);
  checkNumber('lr', lr, lr > 0 && lr < 1, 'between 0 and 1');
  checkNumber('weight-decay', weightDecay, weightDecay >= 0, '≥ 0');
  checkNumber('tau', tau, tau > 0, 'positive');

  progress({ message: 'Reading the victim model' });
  const { model, adapter } = await openModel(options.model);
  checkInt('top-k', topK, 2, adapter.numItems - 1);
  const length = options.length ?? Math.min(adapter.seqLen, EXTRACT_DEFAULTS.maxLength);
  checkInt('length', length, 1, adapter.numItems - 1);
  const data = options.data ? await readItemSequences(options.data, adapter, signal) : null;
  timer.lap('load');

  // Query the black box.
  const victim = await ScoringSession.open(model.file, adapter);
  let q: SyntheticQueries;
  let victimUtility: ModelUtility | null = null;
  try {
    const total = (count + heldOutCount) * length;
    const message = `Querying the victim: ${count + heldOutCount} synthetic sequences × ${length} prefixes, top-${topK}`;
    progress({ message, fraction: 0 });
    q = await syntheticQueries(victim, {
      count: count + heldOutCount,
      length,
      topK,
      seed,
      signal,
      onProgress: (done) => progress({ message, fraction: done / total }),
    });
    timer.lap('queries');
    if (data) {
      progress({ message: 'Measuring the victim on the data (leave-one-out)' });
      // A served list leaves out what the user has seen, and so do the overlap lists here.
      victimUtility = await measureUtility(victim, data, {
        ks: [10],
        excludeHistory: true,
        signal,
      });
      timer.lap('victim-utility');
    }
  } finally {
    await victim.release();
  }
  options.onQueries?.(q);
  const trainQ = { sequences: q.sequences.slice(0, count), lists: q.lists.slice(0, count) };
  const heldQ = { sequences: q.sequences.slice(count), lists: q.lists.slice(count) };
  const trainingQueries = trainQ.lists.reduce((s, l) => s + l.length, 0);

  // Build and train the surrogate.
  progress({ message: `Building the ${arch} surrogate` });
  const trained = await trainSurrogate(model.proto, adapter, trainQ, {
    arch,
    loss: lossKind,
    epochs,
    maxSteps: options.maxSteps,
    lr,
    weightDecay,
    batchSize,
    tau,
    draws,
    margin: options.margin ?? EXTRACT_DEFAULTS.margin,
    seed,
    signal,
    onProgress: (p) =>
      progress({
        message: `Training the surrogate (${p.positions === 'all' ? 'every position' : 'last position'}, ${lossKind}): epoch ${p.epoch}/${epochs}, step ${p.step}/${p.totalSteps}, loss ${p.loss.toFixed(4)}`,
        fraction: p.step / p.totalSteps,
      }),
  });
  const { result, positions } = trained;
  const stolen = trained.proto;
  timer.lap('train');
  throwIfAborted(signal);

  // Measure it.
  progress({ message: 'Measuring the surrogate' });
  const session = await ScoringSession.open(encodeModel(stolen), trained.adapter);
  let fidelity: ExtractResult['fidelity'];
  let utility: ExtractResult['utility'] = null;
  try {
    fidelity = await measureFidelity(session, heldQ, signal);
    if (data && victimUtility) {
      const surrogate = await measureUtility(session, data, {
        ks: [10],
        probes: victimUtility.probes,
        excludeHistory: true,
        signal,
      });
      const [v] = victimUtility.loo!;
      const [m] = surrogate.loo!;
      utility = {
        users: m.users,
        victim: { recall: v.recall, ndcg: v.ndcg },
        surrogate: { recall: m.recall, ndcg: m.ndcg },
        top10Overlap: overlapWith(victimUtility, surrogate),
      };
    }
  } finally {
    await session.release();
  }
  timer.lap('measure');

  progress({ message: 'Writing the surrogate' });
  throwIfAborted(signal);
  await writeModel(stolen, options.out);
  timer.lap('write');

  const querySeconds = q.ms / 1000;
  const curve = result.curve;
  return {
    out: options.out,
    arch,
    loss: lossKind,
    queries: {
      sequences: count,
      length,
      topK,
      training: trainingQueries,
      heldOut: q.queries - trainingQueries,
      total: q.queries,
      seconds: querySeconds,
      perSecond: q.queries / Math.max(querySeconds, 1e-9),
    },
    training: {
      positions,
      examples: trained.examples,
      epochs: trained.epochs,
      steps: result.steps,
      seconds: trained.seconds,
      stepsPerSecond: result.stepsPerSecond,
      parameters: trained.parameters,
      reinitialised: arch === 'same' ? result.trainable : [],
      firstLoss: curve.length ? curve[0].loss : NaN,
      lastLoss: curve.length
        ? curve.slice(-Math.min(20, curve.length)).reduce((s, c) => s + c.loss, 0) /
          Math.min(20, curve.length)
        : NaN,
    },
    fidelity,
    utility,
    timings: timer.steps,
  };
}

/** The item-embedding width of the victim, so a built SASRec matches its capacity. */
function embeddingWidth(proto: onnx.ModelProto, adapter: Adapter): number | null {
  if (!adapter.itemEmbedding) return null;
  const t = graphOf(proto).initializer.find((i) => i.name === adapter.itemEmbedding);
  if (!t || t.dataType !== DataType.FLOAT) return null;
  const dims = tensorDims(t);
  const width = dims[0] === adapter.scoreWidth ? dims[1] : dims[0];
  return dims.length === 2 && width >= 8 && width <= 1024 ? width : null;
}

/** Top-10/top-20 overlap and top-1 agreement on every held-out prefix (surrogate queries only). */
export async function measureFidelity(
  session: ScoringSession,
  held: Pick<SyntheticQueries, 'sequences' | 'lists'>,
  signal?: AbortSignal,
): Promise<ExtractResult['fidelity']> {
  const prefixes: number[][] = [];
  const want: Int32Array[] = [];
  held.sequences.forEach((seq, s) =>
    held.lists[s].forEach((list, i) => {
      prefixes.push(seq.slice(0, i + 1));
      want.push(list);
    }),
  );
  const chanceTop10 = 10 / session.adapter.numItems;
  if (prefixes.length === 0)
    return { prefixes: 0, top10Overlap: NaN, top20Overlap: NaN, top1Agreement: NaN, chanceTop10 };
  const got = await session.topK(prefixes, 20, {
    signal,
    excludeHistory: true,
    batchSize: EXTRACT_DEFAULTS.queryBatch,
  });
  const cut = (lists: Int32Array[], k: number) => lists.map((l) => l.subarray(0, k));
  return {
    prefixes: prefixes.length,
    top10Overlap: topKOverlap(cut(want, 10), cut(got, 10)),
    top20Overlap: topKOverlap(cut(want, 20), cut(got, 20)),
    top1Agreement: want.filter((l, i) => l[0] === got[i][0]).length / want.length,
    chanceTop10,
  };
}
