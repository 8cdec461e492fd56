/**
 * Batched onnxruntime inference over many item sequences. The adapter decides how a
 * history becomes an input row; this module only batches, runs and slices score rows.
 */
import { RecMarkError, throwIfAborted } from '../errors';
import { SCORE_BATCH_BYTES } from '../limits';
import type { Adapter } from './adapter';
import { FusedTopK } from './fusedTopK';
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

export interface OpenOptions {
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
    private readonly model: string | Uint8Array,
    private readonly options: OpenOptions,
  ) {}

  /** Open a session from a model file path or from serialized model bytes. */
  static async open(
    model: string | Uint8Array,
    adapter: Adapter,
    options: OpenOptions = {},
  ): Promise<ScoringSession> {
    // Errors only: onnxruntime's warnings (e.g. shape merges) would break the CLI's one-line stderr.
    const session = await createSession(model, {
      quiet: true,
      failure: ORT_FAILURES.loadModel,
      threads: options.threads,
      spinning: DEFAULT_SCORING_SPIN,
    });
    return new ScoringSession(session, adapter, model, options);
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
    const { seqLen, scoreWidth: width, outputRank } = this.adapter;
    // Large catalogues (and [batch, T, N] outputs) get smaller batches, so one output fits memory.
    const rowBytes = 4 * width * (outputRank === 3 ? seqLen : 1);
    const batchSize = Math.max(
      1,
      Math.min(options.batchSize ?? DEFAULT_BATCH_SIZE, Math.floor(SCORE_BATCH_BYTES / rowBytes)),
    );
    for (let start = 0; start < sequences.length; start += batchSize) {
      throwIfAborted(options.signal);
      const batch = sequences.slice(start, start + batchSize);
      const { feeds, lastPositions } = this.encode(batch);
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
      const expected = outputRank === 2 ? [batch.length, width] : [batch.length, seqLen, width];
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

  private fusedTopK(): Promise<FusedTopK | null> {
    if (this.options.fusedTopK === false) return Promise.resolve(null);
    // A graph the runtime refuses costs speed, not answers: the JS path stays exact.
    this.fused ??= FusedTopK.open(
      this.model,
      {
        adapter: this.adapter,
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
    return modelFeeds(this.adapter, batch);
  }
}

/**
 * The model's input tensors for a batch of histories (`encodeBatch`, then the adapter's input and
 * length tensors in its integer type). onnxruntime must be loaded (`loadOrt` in ./ort) first.
 */
export function modelFeeds(
  adapter: Adapter,
  batch: readonly (readonly number[])[],
): { feeds: OrtFeeds; lastPositions: Int32Array } {
  const { rows, lengths, lastPositions } = encodeBatch(adapter, batch);
  const feeds: OrtFeeds = {
    [adapter.input]: ortIdTensor(adapter.inputType, rows, [batch.length, adapter.seqLen]),
  };
  if (adapter.lengthInput)
    feeds[adapter.lengthInput] = ortIdTensor(adapter.inputType, lengths, [batch.length]);
  return { feeds, lastPositions };
}

/**
 * Turn histories into padded rows: keep the most recent items, append the mask token for
 * BERT-style models, pad on the adapter's side. Returns the query length and the position whose
 * scores predict the next item.
 */
export function encodeBatch(
  adapter: Adapter,
  batch: readonly (readonly number[])[],
): { rows: Int32Array; lengths: Int32Array; lastPositions: Int32Array } {
  const T = adapter.seqLen;
  const capacity = adapter.maskId === null ? T : T - 1;
  const rows = new Int32Array(batch.length * T).fill(adapter.padId);
  const lengths = new Int32Array(batch.length);
  const lastPositions = new Int32Array(batch.length);
  batch.forEach((history, b) => {
    if (history.length === 0) {
      throw new RecMarkError('Cannot score an empty item sequence.', 'sequence-empty');
    }
    const kept = history.length > capacity ? history.slice(history.length - capacity) : history;
    const query = adapter.maskId === null ? kept : [...kept, adapter.maskId];
    const start = adapter.padding === 'left' ? T - query.length : 0;
    for (let i = 0; i < query.length; i++) rows[b * T + start + i] = query[i];
    lengths[b] = query.length;
    lastPositions[b] = adapter.padding === 'left' ? T - 1 : query.length - 1;
  });
  return { rows, lengths, lastPositions };
}
