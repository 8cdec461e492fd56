/**
 * Fused top-k (issue 17 item 2): append to a scoring graph, in memory, a TopK over the candidate
 * columns only, so a top-k query copies k ids per row out of onnxruntime instead of N floats.
 *
 * Exactness with the JS path (./topk.ts: ties to the lower id, NaN never ranks):
 * - pad/mask/non-item columns are cut off (Slice when the item ids are one contiguous range, else
 *   Gather), and the TopK indices map back through `itemIds`, which is ascending, so ONNX TopK's
 *   tie rule (opset ≥ 11: the lower index first) is the lower id;
 * - the graph also flags each row that may not rank like the JS path: a NaN among the candidates
 *   (the sum is NaN; also flagged, harmlessly, when it mixes +Inf and −Inf) or every candidate
 *   equal (the best equals the worst). Flagged rows are re-scored and ranked in JS, which also
 *   names their problem (`rowProblem`).
 * K is an input tensor, so one graph serves every k (and the extra room exclusions need).
 */
import { RecMarkError, throwIfAborted } from '../errors';
import { makeAttr, type AttrValue } from './attributes';
import type { Adapter } from './adapter';
import { DataType, int64Tensor } from './graph';
import { fillFixedBatch, modelFeeds, runBatchSize } from './feeds';
import {
  bucketCheckRows,
  bucketLengths,
  MIN_BUCKET_ROWS,
  queryLength,
  scoresAgree,
  shortenGraph,
} from './lengthBuckets';
import {
  cloneModel,
  decodeModel,
  defaultOpset,
  encodeModel,
  graphOf,
  onnx,
  readModel,
} from './model';
import {
  createSession,
  ORT_FAILURES,
  ortIdTensor,
  runSession,
  type OrtFeeds,
  type OrtSession,
} from './ort';

/** The names the appended nodes read and write (prefixed so they cannot clash with a model's). */
export const FUSED_TOPK = {
  k: 'recmark_topk_k',
  indices: 'recmark_topk_indices',
  unusable: 'recmark_topk_unusable',
  /** The score output's run-time shape, checked against the adapter as the JS path does. */
  shape: 'recmark_topk_shape',
} as const;

/** TopK since opset 11 breaks ties by the lower index; earlier versions promise no order. */
const MIN_OPSET = 11;

/**
 * Why the fused graph cannot be built for this model, or null when it can: RecMark only appends
 * to last-position [batch, N] score outputs (all-position outputs are rewritten to that first by
 * ./lastPosition.ts where possible) in a default-domain opset with the tie rule.
 */
export function fusedTopKUnsupported(proto: onnx.IModelProto, adapter: Adapter): string | null {
  if (adapter.outputRank !== 2) return 'the score output is not [batch, N]';
  const opset = defaultOpset(proto as onnx.ModelProto);
  if (opset < MIN_OPSET) return `opset ${opset} < ${MIN_OPSET} (TopK has no tie rule)`;
  if (adapter.itemIds.length === 0) return 'no candidate items';
  const g = graphOf(proto);
  const taken = new Set([
    ...(g.node ?? []).flatMap((n) => n.output ?? []),
    ...(g.input ?? []).map((v) => v.name),
    ...(g.initializer ?? []).map((t) => t.name),
  ]);
  if (Object.values(FUSED_TOPK).some((name) => taken.has(name)))
    return 'the model already uses RecMark top-k names';
  return null;
}

/**
 * Append the fused top-k to `proto` (in place: pass a copy; the user's file is never touched).
 * Adds input `k` (int64 [1]) and outputs `indices` (int64 [batch, K]: positions in
 * adapter.itemIds, best first) and `unusable` (bool [batch]). The score output stays an output,
 * so flagged batches can fetch it from the same session.
 */
export function appendFusedTopK(proto: onnx.ModelProto, adapter: Adapter): void {
  const graph = graphOf(proto);
  const opset = defaultOpset(proto);
  const p = (name: string): string => `recmark_topk_${name}`;
  const nodes: onnx.INodeProto[] = [];
  const inits: onnx.TensorProto[] = [];
  const node = (
    opType: string,
    inputs: string[],
    outputs: string[],
    attrs: Record<string, AttrValue> = {},
  ): void => {
    nodes.push(
      onnx.NodeProto.create({
        opType,
        name: p(`${opType.toLowerCase()}_${nodes.length}`),
        input: inputs,
        output: outputs,
        attribute: Object.entries(attrs).map(([k, v]) => makeAttr(k, v)),
      }),
    );
  };
  const constant = (name: string, values: number[], dims = [values.length]): string => {
    inits.push(int64Tensor(p(name), dims, values));
    return p(name);
  };
  /** ReduceX over axis 1 to [batch]: `axes` became an input in opset 13 (Sum) and 18 (Min). */
  const reduce = (op: 'ReduceSum' | 'ReduceMin', from: string, out: string): void => {
    const axesAsInput = opset >= (op === 'ReduceSum' ? 13 : 18);
    if (axesAsInput) node(op, [from, constant(`axes_${op}`, [1])], [out], { keepdims: 0 });
    else node(op, [from], [out], { axes: [1], keepdims: 0 });
  };

  const ids = adapter.itemIds;
  const first = ids[0];
  const contiguous = ids[ids.length - 1] - first === ids.length - 1;
  const cand = p('candidates');
  if (contiguous) {
    const bounds = [constant('starts', [first]), constant('ends', [first + ids.length])];
    node('Slice', [adapter.output, ...bounds, constant('slice_axes', [1])], [cand]);
  } else {
    node('Gather', [adapter.output, constant('columns', Array.from(ids))], [cand], { axis: 1 });
  }
  node('TopK', [cand, FUSED_TOPK.k], [p('values'), FUSED_TOPK.indices], {
    axis: 1,
    largest: 1,
    sorted: 1,
  });
  // Flat row: the best candidate scores the same as the worst.
  node('Gather', [p('values'), constant('zero', [0], [])], [p('best')], { axis: 1 });
  reduce('ReduceMin', cand, p('worst'));
  node('Equal', [p('best'), p('worst')], [p('flat')]);
  // NaN row: any NaN makes the sum NaN.
  reduce('ReduceSum', cand, p('sum'));
  node('IsNaN', [p('sum')], [p('nan')]);
  node('Or', [p('flat'), p('nan')], [FUSED_TOPK.unusable]);
  node('Shape', [adapter.output], [FUSED_TOPK.shape]);

  graph.node.push(...nodes.map((n) => onnx.NodeProto.create(n)));
  graph.initializer.push(...inits);
  graph.input.push(valueInfo(FUSED_TOPK.k, DataType.INT64, [1]));
  graph.output.push(
    valueInfo(FUSED_TOPK.indices, DataType.INT64, ['batch', 'k']),
    valueInfo(FUSED_TOPK.unusable, DataType.BOOL, ['batch']),
    valueInfo(FUSED_TOPK.shape, DataType.INT64, [2]),
  );
}

function valueInfo(name: string, elemType: number, dims: (number | string)[]): onnx.ValueInfoProto {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType,
        shape: {
          dim: dims.map((d) =>
            typeof d === 'number' ? { dimValue: d } : { dimParam: `recmark_${d}` },
          ),
        },
      },
    },
  });
}

/** What the fused selector borrows from its ScoringSession (no import cycle with ./session). */
export interface FusedTopKHost {
  adapter: Adapter;
  /** The model's input tensors for a batch (session.ts `modelFeeds`). */
  feeds(batch: readonly (readonly number[])[]): OrtFeeds;
  /** The JS path on full score rows, for flagged batches (the session's own `topK`). */
  exactTopK(
    batch: readonly (readonly number[])[],
    k: number,
    options: FusedRunOptions,
  ): Promise<Int32Array[]>;
}

/** The subset of session.ts RunOptions (plus excludeHistory) the selector honours. */
export interface FusedRunOptions {
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  onUnusableRow?: (index: number, problem: 'nan' | 'flat') => void;
  excludeHistory?: boolean;
}

/**
 * Top-k through the fused graph: a second onnxruntime session beside the score session, opened
 * on first use, because onnxruntime runs every node whatever is fetched (a score-only run on the
 * fused graph measured ~15% slower), so score-only work keeps the plain graph. Short histories
 * run in length buckets (./lengthBuckets.ts) when a shortened copy of the graph scores the same
 * as the full one on check rows; each bucket's session opens when enough rows need it.
 */
export class FusedTopK {
  /** Bucket sessions by input length; null: that length does not score like the full graph. */
  private readonly buckets = new Map<number, Promise<OrtSession | null>>();

  private constructor(
    private readonly session: OrtSession,
    private readonly host: FusedTopKHost,
    private readonly defaultBatchSize: number,
    /** The scoring graph before the top-k was appended (buckets shorten it), if buckets apply. */
    private readonly source: onnx.ModelProto | null,
    private readonly ortOptions: { threads?: number; spinning?: boolean },
  ) {}

  /** The fused session for a model file or bytes, or null when the model is not supported. */
  static async open(
    model: string | Uint8Array,
    host: FusedTopKHost,
    defaultBatchSize: number,
    /** The score session's thread settings, so both sessions run alike. */
    ortOptions: { threads?: number; spinning?: boolean } = {},
  ): Promise<FusedTopK | null> {
    // A fresh decode: appending edits the proto, and the caller's bytes stay untouched.
    const proto = typeof model === 'string' ? (await readModel(model)).proto : decodeModel(model);
    if (fusedTopKUnsupported(proto, host.adapter) !== null) return null;
    const source = bucketLengths(host.adapter).length > 0 ? cloneModel(proto) : null;
    appendFusedTopK(proto, host.adapter);
    const session = await fusedSession(proto, ortOptions);
    return new FusedTopK(session, host, defaultBatchSize, source, ortOptions);
  }

  async release(): Promise<void> {
    await this.session.release();
    for (const bucket of this.buckets.values()) await (await bucket)?.release();
  }

  /** The bucket lengths opened so far that score like the full graph (tests and benches). */
  async bucketsInUse(): Promise<number[]> {
    const lengths: number[] = [];
    for (const [L, bucket] of this.buckets) if (await bucket) lengths.push(L);
    return lengths.sort((a, b) => a - b);
  }

  /** Same lists as the JS path (`topK` in ./topk over full score rows), batch by batch. */
  async topK(
    sequences: readonly (readonly number[])[],
    k: number,
    options: FusedRunOptions = {},
  ): Promise<Int32Array[]> {
    const { adapter } = this.host;
    const lists: Int32Array[] = new Array(sequences.length);
    const lengths = sequences.map((h) => queryLength(adapter, h));
    let remaining = sequences.map((_, i) => i);
    const progress = { done: 0, total: sequences.length };
    for (const L of [...(this.source ? bucketLengths(adapter) : []), adapter.seqLen]) {
      const rows = L === adapter.seqLen ? remaining : remaining.filter((i) => lengths[i] <= L);
      if (rows.length === 0 || (L < adapter.seqLen && rows.length < MIN_BUCKET_ROWS)) continue;
      const session = L === adapter.seqLen ? this.session : await this.bucket(L);
      if (!session) continue;
      await this.runRows(session, L, sequences, rows, k, lists, options, progress);
      remaining = remaining.filter((i) => lengths[i] > L);
    }
    return lists;
  }

  /** The rows (indices into `sequences`) through one session of input length L. */
  private async runRows(
    session: OrtSession,
    L: number,
    sequences: readonly (readonly number[])[],
    rows: readonly number[],
    k: number,
    lists: Int32Array[],
    options: FusedRunOptions,
    progress: { done: number; total: number },
  ): Promise<void> {
    const { adapter } = this.host;
    const ids = adapter.itemIds;
    // onnxruntime still holds a [batch, N] score tensor, so the score path's memory cap applies.
    const batchSize = runBatchSize(
      adapter,
      options.batchSize ?? this.defaultBatchSize,
      4 * adapter.scoreWidth,
    );
    for (let start = 0; start < rows.length; start += batchSize) {
      throwIfAborted(options.signal);
      const picked = rows.slice(start, start + batchSize);
      const batch = picked.map((i) => sequences[i]);
      const excluded = options.excludeHistory ? batch.map((h) => new Set(h)) : null;
      // Room for the history items the JS filter will drop (each at most once).
      const room = excluded ? Math.max(...excluded.map((set) => set.size)) : 0;
      const K = Math.min(ids.length, k + room);
      const out = await this.run(session, L, fillFixedBatch(adapter, batch), K, [
        FUSED_TOPK.indices,
        FUSED_TOPK.unusable,
        FUSED_TOPK.shape,
      ]);
      checkScoreShape(adapter, out[FUSED_TOPK.shape].data as BigInt64Array, out.rows);
      const flags = out[FUSED_TOPK.unusable].data as Uint8Array;
      if (flags.some((f) => f !== 0)) {
        // Rare: NaN or flat rows rank in JS over full rows, which also reports their problem.
        const exact = await this.host.exactTopK(batch, k, {
          excludeHistory: options.excludeHistory,
          signal: options.signal,
          onUnusableRow: options.onUnusableRow
            ? (i, problem) => options.onUnusableRow!(picked[i], problem)
            : undefined,
        });
        exact.forEach((list, b) => (lists[picked[b]] = list));
      } else {
        const indices = out[FUSED_TOPK.indices].data as BigInt64Array;
        for (let b = 0; b < batch.length; b++) {
          lists[picked[b]] = pickList(indices, b * K, K, ids, k, excluded?.[b]);
        }
      }
      progress.done += batch.length;
      options.onProgress?.(progress.done, progress.total);
    }
  }

  /** One run of a fused session at input length L (the full graph when L is T). */
  private async run(
    session: OrtSession,
    L: number,
    batch: readonly (readonly number[])[],
    K: number,
    fetches: string[],
  ) {
    const { adapter } = this.host;
    const feeds =
      L === adapter.seqLen
        ? this.host.feeds(batch)
        : modelFeeds({ ...adapter, seqLen: L }, batch).feeds;
    feeds[FUSED_TOPK.k] = ortIdTensor('int64', [K], [1]);
    const out = await runSession(session, feeds, fetches, ORT_FAILURES.score);
    return Object.assign(out, { rows: batch.length });
  }

  /** The bucket session of length L, opened and checked against the full graph once. */
  private bucket(L: number): Promise<OrtSession | null> {
    let bucket = this.buckets.get(L);
    if (!bucket) {
      // A graph the runtime refuses or that scores differently costs speed, never answers.
      bucket = this.openBucket(L).catch(() => null);
      this.buckets.set(L, bucket);
    }
    return bucket;
  }

  private async openBucket(L: number): Promise<OrtSession | null> {
    const { adapter } = this.host;
    const short = shortenGraph(this.source!, adapter, L);
    if (!short) return null;
    appendFusedTopK(short, adapter);
    const session = await fusedSession(short, this.ortOptions);
    const rows = bucketCheckRows(adapter, L);
    const perRun = adapter.fixedBatch ?? rows.length;
    for (let start = 0; start < rows.length; start += perRun) {
      const batch = fillFixedBatch(adapter, rows.slice(start, start + perRun));
      const [full, short] = await Promise.all(
        [this.session, session].map(async (s, i) => {
          const out = await this.run(s, i === 0 ? adapter.seqLen : L, batch, 1, [adapter.output]);
          return out[adapter.output].data as Float32Array;
        }),
      );
      if (!scoresAgree(full, short)) {
        await session.release();
        return null;
      }
    }
    return session;
  }
}

function fusedSession(
  proto: onnx.ModelProto,
  ortOptions: { threads?: number; spinning?: boolean },
): Promise<OrtSession> {
  return createSession(encodeModel(proto), {
    quiet: true,
    failure: ORT_FAILURES.loadModel,
    ...ortOptions,
  });
}

/** The score output must be [batch, W], as ScoringSession.forEachScores requires. */
function checkScoreShape(adapter: Adapter, shape: BigInt64Array, rows: number): void {
  const dims = Array.from(shape, Number);
  if (dims.length !== 2 || dims[0] !== rows || dims[1] !== adapter.scoreWidth) {
    throw new RecMarkError(
      `Output "${adapter.output}" has shape [${dims.join(', ')}], expected ` +
        `[${rows}, ${adapter.scoreWidth}]; set "output", "seqLen" or "numItems" in the sidecar.`,
      'adapter-mismatch',
    );
  }
}

/** The first k ids of one row's TopK indices that are not excluded. */
function pickList(
  indices: BigInt64Array,
  offset: number,
  K: number,
  ids: Int32Array,
  k: number,
  exclude: ReadonlySet<number> | undefined,
): Int32Array {
  const list = new Int32Array(Math.min(k, K));
  let filled = 0;
  for (let j = 0; j < K && filled < list.length; j++) {
    const id = ids[Number(indices[offset + j])];
    if (!exclude?.has(id)) list[filled++] = id;
  }
  return filled === list.length ? list : list.slice(0, filled);
}
