/**
 * Opening a [batch, T, N] export so it scores the last position only. The original is run once
 * with the values the rewrite reasons about as extra outputs (their shapes tell which carry the
 * batch and T axes, and its output gives reference scores); the rewritten graph
 * (lastPosition.ts) is kept only if it reproduces the original's last-position rows on fixed
 * histories: short, exactly the model's length, and longer (so truncated). Anything else falls
 * back to the original graph scored at every position, noted in the layout.
 */
import { RecMarkError } from '../errors';
import { SCORE_BATCH_BYTES } from '../limits';
import type { Adapter } from './adapter';
import { modelFeeds } from './feeds';
import {
  LAST_POSITION_INPUT,
  probeValues,
  rewriteLastPosition,
  type LastPositionRewrite,
} from './lastPosition';
import { decodeModel, encodeModel, graphOf, onnx, readModel } from './model';
import {
  createSession,
  ORT_FAILURES,
  ortIdTensor,
  runSession,
  type OrtResults,
  type OrtSession,
  type OrtTensor,
} from './ort';

/**
 * How a session scores: the export already returns the last position; a [batch, T, N] export
 * rewritten to return it; or a [batch, T, N] export run at every position (rewrite off, not
 * possible, or not verified).
 */
export type ScoringMode = 'last-position' | 'rewritten' | 'all-positions';

export interface ScoringLayout {
  scoring: ScoringMode;
  /** Rank of the output the opened graph returns: 2 is one row per history. */
  outputRank: 2 | 3;
  /** The int64 [batch] input carrying each row's last real position (right padding), or null. */
  lastPositionInput: string | null;
  /** Why a [batch, T, N] export is scored at every position, for logs and tests. */
  note: string | null;
}

export interface LastPositionOptions {
  /** False keeps a [batch, T, N] export as it is (benches compare both). Default true. */
  lastPosition?: boolean;
}

/** The scoring session's onnxruntime settings, so the rewritten graph runs like the original. */
interface SessionSettings {
  threads?: number;
  spinning?: boolean;
}

/** Largest |Δ| allowed between the rewrite and the original, relative to 1 + |score|. */
const TOLERANCE = 1e-4;

/**
 * A verified last-position session for a [batch, T, N] export, or `session: null` (with the
 * layout saying why) when the caller should open the model as it is.
 */
export async function openLastPosition(
  model: string | Uint8Array,
  adapter: Adapter,
  options: LastPositionOptions & SessionSettings = {},
): Promise<{ session: OrtSession | null; bytes: Uint8Array | null; layout: ScoringLayout }> {
  const allPositions = (note: string) => ({
    session: null,
    bytes: null,
    layout: { scoring: 'all-positions', outputRank: 3, lastPositionInput: null, note } as const,
  });
  if (adapter.outputRank === 2) {
    const layout = { scoring: 'last-position', outputRank: 2, lastPositionInput: null, note: null };
    return { session: null, bytes: null, layout: layout as ScoringLayout };
  }
  if (options.lastPosition === false) return allPositions('last-position rewrite turned off');
  let proto: onnx.ModelProto;
  try {
    proto = typeof model === 'string' ? (await readModel(model)).proto : decodeModel(model);
  } catch (err) {
    // Opening the original reports a model's own problems as before; this only notes them.
    return allPositions(`rewrite failed: ${(err as Error).message.split('\n')[0]}`);
  }
  const verified = await verifyLastPosition(proto, adapter, options);
  if (!verified.ok) return allPositions(verified.note);
  return {
    session: verified.session,
    bytes: verified.bytes,
    layout: {
      scoring: 'rewritten',
      outputRank: 2,
      lastPositionInput: verified.rewrite.lastPositionInput,
      note: verified.note,
    },
  };
}

/** A rewrite that reproduced the original, with its open session (the caller releases it). */
export type VerifiedLastPosition =
  | {
      ok: true;
      rewrite: LastPositionRewrite;
      bytes: Uint8Array;
      session: OrtSession;
      /** What runs on the last position, for layouts and logs. */
      note: string;
    }
  | { ok: false; note: string };

/**
 * The last-position rewrite of a [batch, T, N] export, kept only if it reproduces the original's
 * last-position rows on the check histories; else why not. Scoring and training share it.
 * `proto` is left as it was.
 */
export async function verifyLastPosition(
  proto: onnx.ModelProto,
  adapter: Adapter,
  options: SessionSettings = {},
): Promise<VerifiedLastPosition> {
  const fail = (note: string) => ({ ok: false, note }) as const;
  try {
    const fixedBatch = adapter.fixedBatch ?? null;
    if (fixedBatch !== null && fixedBatch !== 1) {
      return fail(`the input has a fixed batch of ${fixedBatch}`);
    }
    const histories = checkHistories(adapter);
    const rows = rowsPerRun(adapter, histories.length, fixedBatch);
    const reference = await probeOriginal(proto, adapter, histories, rows);
    const rewrite = rewriteLastPosition(proto, adapter, reference.probe);
    if (!rewrite) return fail('no position-wise ops before the score output');
    const bytes = encodeModel(rewrite.proto);
    const session = await createSession(bytes, {
      quiet: true,
      threads: options.threads,
      spinning: options.spinning,
    });
    let mismatch: string | null;
    try {
      mismatch = await compare(session, adapter, histories, reference.rows, rows);
    } catch (err) {
      await session.release();
      throw err;
    }
    if (mismatch) {
      await session.release();
      return fail(mismatch);
    }
    const note = `${rewrite.nodes} nodes on the last position (${rewrite.gathers} gathered)`;
    return { ok: true, rewrite, bytes, session, note };
  } catch (err) {
    return fail(`rewrite failed: ${(err as Error).message.split('\n')[0]}`);
  }
}

/**
 * Fixed check histories over real item ids: a short one, exactly the model's capacity and
 * longer than it; never as many rows as T, so the probe tells the batch and T axes apart.
 */
export function checkHistories(adapter: Adapter): number[][] {
  const ids = adapter.itemIds;
  const capacity = adapter.maskId === null ? adapter.seqLen : adapter.seqLen - 1;
  const lengths = [Math.min(3, capacity), Math.max(1, capacity), capacity + 7];
  if (lengths.length === adapter.seqLen) lengths.push(2);
  return lengths.map((n, h) =>
    Array.from({ length: n }, (_, i) => ids[(h * 7919 + i * 104729 + 13) % ids.length]),
  );
}

/**
 * Rows per check run: all histories at once when their [rows, T, N] output fits the scoring
 * budget, else 2 (never 1 unless the export's batch is fixed at 1: a per-row gather must see a
 * real batch axis), and never T, so the probe tells the batch and T axes apart.
 */
function rowsPerRun(adapter: Adapter, count: number, fixedBatch: number | null): number {
  if (fixedBatch === 1) return 1;
  const fit = Math.floor(SCORE_BATCH_BYTES / (4 * adapter.scoreWidth * adapter.seqLen));
  const rows = Math.min(count, Math.max(2, fit));
  return rows === adapter.seqLen ? rows + 1 : rows;
}

/** Each history's feeds (plus the last-position input when the graph has one). */
function feedsFor(adapter: Adapter, batch: readonly (readonly number[])[], withLast: boolean) {
  const { feeds, lastPositions } = modelFeeds(adapter, batch);
  if (withLast)
    feeds[LAST_POSITION_INPUT] = ortIdTensor('int64', lastPositions, [lastPositions.length]);
  return { feeds, lastPositions };
}

/** Run the histories in batches of `rows`. */
async function runAll(
  session: OrtSession,
  adapter: Adapter,
  histories: number[][],
  fetches: string[],
  rows: number,
  withLast: boolean,
): Promise<{ results: OrtResults[]; lastPositions: number[] }> {
  const batches: number[][][] = [];
  for (let i = 0; i < histories.length; i += rows) batches.push(histories.slice(i, i + rows));
  const results: OrtResults[] = [];
  const lastPositions: number[] = [];
  for (const batch of batches) {
    const { feeds, lastPositions: last } = feedsFor(adapter, batch, withLast);
    results.push(await runSession(session, feeds, fetches, ORT_FAILURES.score));
    lastPositions.push(...last);
  }
  return { results, lastPositions };
}

/** Float32 output rows of a run, checked to be float32. */
function floatData(result: OrtResults, name: string): Float32Array {
  const data = (result[name] as OrtTensor).data;
  if (!(data instanceof Float32Array))
    throw new RecMarkError(`Output "${name}" is not float32.`, 'model-unsupported');
  return data;
}

/**
 * One run of the original with the probed values as extra outputs: their shapes, and each
 * history's last-position score row as the reference.
 */
async function probeOriginal(
  proto: onnx.ModelProto,
  adapter: Adapter,
  histories: number[][],
  rowsPerRun: number,
) {
  const graph = graphOf(proto);
  const values = probeValues(proto, adapter);
  const declared = graph.output;
  const outputs = new Set(declared.map((o) => o.name));
  graph.output = [
    ...declared,
    ...values.filter((v) => !outputs.has(v)).map((name) => onnx.ValueInfoProto.create({ name })),
  ];
  let bytes: Uint8Array;
  try {
    bytes = encodeModel(proto);
  } finally {
    graph.output = declared;
  }
  // Unoptimised: it runs once, and the reference it gives is the graph as written.
  const session = await createSession(bytes, {
    quiet: true,
    optimize: false,
    failure: ORT_FAILURES.loadModel,
  });
  try {
    const { results, lastPositions } = await runAll(
      session,
      adapter,
      histories,
      [...new Set([adapter.output, ...values])],
      rowsPerRun,
      false,
    );
    const shapes = new Map<string, number[]>();
    for (const [name, tensor] of Object.entries(results[0])) shapes.set(name, [...tensor.dims]);
    const { seqLen: T, scoreWidth: W } = adapter;
    const rows = histories.map((_, h) => {
      const data = floatData(results[Math.floor(h / rowsPerRun)], adapter.output);
      const offset = ((h % rowsPerRun) * T + lastPositions[h]) * W;
      if (data.length < offset + W) throw new Error('the output is not [batch, T, N]');
      return data.slice(offset, offset + W);
    });
    return { probe: { batch: rowsPerRun, shapes }, rows };
  } finally {
    await session.release();
  }
}

/** Null when the rewritten session reproduces every reference row, else what differs. */
async function compare(
  session: OrtSession,
  adapter: Adapter,
  histories: number[][],
  reference: Float32Array[],
  rowsPerRun: number,
): Promise<string | null> {
  const withLast = adapter.padding === 'right';
  const { results } = await runAll(
    session,
    adapter,
    histories,
    [adapter.output],
    rowsPerRun,
    withLast,
  );
  const W = adapter.scoreWidth;
  for (let h = 0; h < histories.length; h++) {
    const data = floatData(results[Math.floor(h / rowsPerRun)], adapter.output);
    const row = data.subarray((h % rowsPerRun) * W, ((h % rowsPerRun) + 1) * W);
    const want = reference[h];
    const rowsInRun = Math.min(rowsPerRun, histories.length - (h - (h % rowsPerRun)));
    if (data.length !== rowsInRun * W) return `rewritten output has ${data.length} values`;
    for (let j = 0; j < W; j++) {
      const a = want[j];
      const b = row[j];
      if (a === b || (Number.isNaN(a) && Number.isNaN(b))) continue;
      if (!(Math.abs(a - b) <= TOLERANCE * (1 + Math.abs(a)))) {
        return `rewrite differs from the original (history ${h}, id ${j}: ${b} vs ${a})`;
      }
    }
  }
  return null;
}
