/**
 * Step 2 of data-free extraction (extraction.ts): the surrogate, the victim's own graph with its
 * weights re-initialised or a SASRec built in code, and its training on the victim's lists.
 */
import { attrInt } from '../onnx/attributes';
import { detectAdapter, type Adapter } from '../onnx/adapter';
import {
  DataType,
  GraphIndex,
  pruneDeadNodes,
  tensorDims,
  tensorFloat32,
  tensorValues,
} from '../onnx/graph';
import { cloneModel, encodeModel, graphOf, onnx } from '../onnx/model';
import { createSession, loadOrt, ortIdTensor, runSession, type OrtTensor } from '../onnx/ort';
import { encodeBatch } from '../onnx/session';
import { buildSasrec } from '../train/sasrecBuilder';
import { train, type TrainResult } from '../train/trainer';
import { defaultTrainable, writeWeights } from '../train/weights';
import { Rng } from '../util/random';
import { usageError } from '../util/validate';
import { stripScoreCalibration } from './strip';
import { listwiseExamples, rankingExamples } from './surrogateExamples';
import type { SyntheticQueries } from './syntheticQueries';

export type ExtractArch = 'same' | 'sasrec';
export type ExtractLoss = 'listwise' | 'ranking';

/** Std of re-initialised matrices and embeddings. */
const INIT_STD = 0.02;

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
  const std = options.std ?? INIT_STD;
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
    if (attrInt(node, 'axis', 0) !== 1 || !node.input?.[1]) return false;
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
  /**
   * All-position listwise: train each sequence's draws as one example (default true). A step
   * then holds batchSize / draws sequences with all their draws, as many loss terms as before
   * at half the scoring cost (draws = 2); false gives every draw its own example and row.
   */
  mergeDraws?: boolean;
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
  const merge = options.loss === 'listwise' && positions === 'all' && options.mergeDraws !== false;
  // Merged, a row carries `draws` examples' loss terms: fewer rows per step, the same terms.
  const rowsPerStep = merge
    ? Math.max(1, Math.round(options.batchSize / options.draws))
    : options.batchSize;
  const termsPerRow = merge ? options.draws : 1;
  const examples =
    options.loss === 'listwise'
      ? listwiseExamples(q, {
          ...options,
          positions,
          seqLen: adapter.seqLen,
          seed: options.seed + 2,
          merge,
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
    Math.min(options.epochs, Math.ceil((step * rowsPerStep) / perEpoch));
  const start = performance.now();
  const result = await train({
    model: positions === 'all' ? surrogate.trainProto : surrogate.proto,
    adapter: positions === 'all' ? surrogate.trainAdapter : surrogate.adapter,
    examples,
    trainable: surrogate.trainable,
    loss: options.loss === 'ranking' ? 'margin' : 'cross-entropy',
    margin: options.margin,
    batchSize: rowsPerStep,
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
    examples: examples.length * termsPerRow,
    epochs: epochOf(result.steps),
    parameters: [...params.values()].reduce((s, p) => s + p.length, 0),
    seconds,
    result,
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
