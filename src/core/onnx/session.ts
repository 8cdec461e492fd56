/**
 * Batched onnxruntime inference over many item sequences. The adapter decides how a
 * history becomes an input row; this module only batches, runs and slices score rows.
 */
import { RecMarkError, throwIfAborted } from '../errors';
import type { Adapter } from './adapter';
import { fillFixedBatch, modelFeeds, runBatchSize } from './feeds';
import { FusedTopK } from './fusedTopK';
import {
  openLastPosition,
  type LastPositionOptions,
  type ScoringLayout,
  type ScoringMode,
} from './lastPositionSession';
import {
  createSession,
  ORT_FAILURES,
  ortIdTensor,
  runSession,
  type OrtFeeds,
  type OrtSession,
  type OrtTensor,
} from './ort';
import { rowProblem, topK, type RowProblem } from './topk';

// History encoding lives in feeds.ts (the last-position check needs it too); callers keep
// importing it from here.
export { encodeBatch, modelFeeds } from './feeds';
export type { ScoringMode } from './lastPositionSession';

export interface RunOptions {
  batchSize?: number;
  signal?: AbortSignal;
  /** Called after each batch with the number of sequences done. */
  onProgress?: (done: number, total: number) => void;
  /**
   * Called for each row whose scores rank nothing (a NaN, or one score for every item) before
   * it is passed on as usual; verification leaves such rows out of its statistics.
   */
  onUnusableRow?: (index: number, problem: RowProblem) => void;
}

/**
 * Batch size and threads, measured with test/bench/topk.bench.ts (1,000 probes → top-20, 2 cores
 * shared with other jobs, load average 14-19; medians of 3-7 interleaved rounds):
 * - batch 64 sits on the flat optimum: fused top-k on a 23,715-item SASRec 815 ms at 64, 806 at
 *   128, 988 at 32, 1,077 at 256; on the 3,650-item SASRec fixture 597 at 64, 512 at 32, 743 at 128.
 * - threads: with spinning idle threads (onnxruntime's default) 2 threads took 1,374 / 1,360 ms
 *   against 706 / 715 for 1 thread; with spinning off 2 threads took 818 / 564 ms and the default
 *   count 710 ms (785 with spinning). So scoring sessions keep onnxruntime's thread count (all
 *   cores, for an idle machine) and turn spinning off (for a busy one).
 */
export const DEFAULT_BATCH_SIZE = 64;
export const DEFAULT_SCORING_SPIN = false;

export interface OpenOptions extends LastPositionOptions {
  /** False ranks every top-k in JS over full score rows (default: in the graph, ./fusedTopK.ts). */
  fusedTopK?: boolean;
  /** onnxruntime intra-op threads (benches compare them); unset: onnxruntime's default. */
  threads?: number;
}

export class ScoringSession {
  /** The fused top-k session, opened on the first topK call (null: not supported or disabled). */
  private fused: Promise<FusedTopK | null> | null = null;

  private constructor(
    private readonly session: OrtSession,
    readonly adapter: Adapter,
    /** What the opened graph returns (a [batch, T, N] export may be rewritten to one row). */
    readonly layout: ScoringLayout,
    /** The graph the score session runs (the rewritten bytes when the layout says so). */
    private readonly model: string | Uint8Array,
    private readonly options: OpenOptions,
  ) {}

  /**
   * Open a session from a model file path or from serialized model bytes. A [batch, T, N]
   * export is rewritten in memory to score its last real position only, when that reproduces
   * the original (lastPositionSession.ts); `layout.scoring` says which graph runs.
   */
  static async open(
    model: string | Uint8Array,
    adapter: Adapter,
    options: OpenOptions = {},
  ): Promise<ScoringSession> {
    const ortOptions = { threads: options.threads, spinning: DEFAULT_SCORING_SPIN };
    const prepared = await openLastPosition(model, adapter, { ...options, ...ortOptions });
    // Errors only: onnxruntime's warnings (e.g. shape merges) would break the CLI's one-line stderr.
    const session =
      prepared.session ??
      (await createSession(model, {
        quiet: true,
        failure: ORT_FAILURES.loadModel,
        ...ortOptions,
      }));
    return new ScoringSession(session, adapter, prepared.layout, prepared.bytes ?? model, options);
  }

  get scoring(): ScoringMode {
    return this.layout.scoring;
  }

  async release(): Promise<void> {
    await this.session.release();
    await (await this.fused)?.release();
  }

  /**
   * Score every sequence; `onRow` receives each sequence's scores over ids 0..W-1 (a view that is
   * only valid during the call, so large runs never hold all rows at once).
   */
  async forEachScores(
    sequences: readonly (readonly number[])[],
    onRow: (index: number, scores: Float32Array) => void,
    options: RunOptions = {},
  ): Promise<void> {
    const { seqLen, scoreWidth: width } = this.adapter;
    const { outputRank } = this.layout;
    // Large catalogues (and [batch, T, N] outputs) get smaller batches, so one output fits memory.
    const rowBytes = 4 * width * (outputRank === 3 ? seqLen : 1);
    const batchSize = runBatchSize(this.adapter, options.batchSize ?? DEFAULT_BATCH_SIZE, rowBytes);
    for (let start = 0; start < sequences.length; start += batchSize) {
      throwIfAborted(options.signal);
      const batch = sequences.slice(start, start + batchSize);
      const run = fillFixedBatch(this.adapter, batch);
      const { feeds, lastPositions } = this.encode(run);
      const result = await runSession(
        this.session,
        feeds,
        [this.adapter.output],
        ORT_FAILURES.score,
      );
      const out = result[this.adapter.output] as OrtTensor;
      const data = out.data;
      if (!(data instanceof Float32Array)) {
        throw new RecMarkError(
          `Output "${this.adapter.output}" is ${out.type}; RecMark reads float32 scores.`,
          'model-unsupported',
        );
      }
      const expected = outputRank === 2 ? [run.length, width] : [run.length, seqLen, width];
      if (out.dims.length !== expected.length || out.dims.some((d, i) => d !== expected[i])) {
        throw new RecMarkError(
          `Output "${this.adapter.output}" has shape [${out.dims.join(', ')}], expected ` +
            `[${expected.join(', ')}]; set "output", "seqLen" or "numItems" in the sidecar.`,
          'adapter-mismatch',
        );
      }
      for (let b = 0; b < batch.length; b++) {
        const offset = outputRank === 2 ? b * width : (b * seqLen + lastPositions[b]) * width;
        const row = data.subarray(offset, offset + width);
        const problem = options.onUnusableRow && rowProblem(row, this.adapter.itemIds);
        if (problem) options.onUnusableRow!(start + b, problem);
        onRow(start + b, row);
      }
      options.onProgress?.(Math.min(start + batchSize, sequences.length), sequences.length);
    }
  }

  /** Top-k real items (pad and mask never appear) for each sequence. */
  async topK(
    sequences: readonly (readonly number[])[],
    k: number,
    options: RunOptions & { excludeHistory?: boolean } = {},
  ): Promise<Int32Array[]> {
    const fused = Number.isInteger(k) && k >= 1 ? await this.fusedTopK() : null;
    if (fused) return fused.topK(sequences, k, options);
    return this.exactTopK(sequences, k, options);
  }

  /** The top-k in JS over full score rows (./topk.ts): the reference the fused graph matches. */
  private async exactTopK(
    sequences: readonly (readonly number[])[],
    k: number,
    options: RunOptions & { excludeHistory?: boolean },
  ): Promise<Int32Array[]> {
    const lists: Int32Array[] = new Array(sequences.length);
    await this.forEachScores(
      sequences,
      (i, scores) => {
        const exclude = options.excludeHistory ? new Set(sequences[i]) : undefined;
        lists[i] = topK(scores, this.adapter.itemIds, k, { exclude });
      },
      options,
    );
    return lists;
  }

  /** Whether topK runs in the graph for k ≥ 1 (tests and benches check which path they measure). */
  async fusedTopKActive(): Promise<boolean> {
    return (await this.fusedTopK()) !== null;
  }

  /** Input lengths of the short graphs topK has run so far (./lengthBuckets.ts). */
  async lengthBucketsInUse(): Promise<number[]> {
    return (await this.fused)?.bucketsInUse() ?? [];
  }

  private fusedTopK(): Promise<FusedTopK | null> {
    if (this.options.fusedTopK === false) return Promise.resolve(null);
    // A graph the runtime refuses costs speed, not answers: the JS path stays exact.
    this.fused ??= FusedTopK.open(
      this.model,
      {
        // A rewritten [batch, T, N] export returns one row per history, like a [batch, N] one.
        adapter: { ...this.adapter, outputRank: this.layout.outputRank },
        feeds: (batch) => this.encode(batch).feeds,
        exactTopK: (batch, k, options) => this.exactTopK(batch, k, options),
      },
      DEFAULT_BATCH_SIZE,
      { threads: this.options.threads, spinning: DEFAULT_SCORING_SPIN },
    ).catch(() => null);
    return this.fused;
  }

  /** Build the input tensors for one batch. */
  private encode(batch: readonly (readonly number[])[]): {
    feeds: OrtFeeds;
    lastPositions: Int32Array;
  } {
    const encoded = modelFeeds(this.adapter, batch);
    const { lastPositionInput } = this.layout;
    if (lastPositionInput) {
      const positions = encoded.lastPositions;
      encoded.feeds[lastPositionInput] = ortIdTensor('int64', positions, [positions.length]);
    }
    return encoded;
  }
}
