/**
 * How histories become a model's input tensors: padded rows (most recent items kept, mask token
 * appended, padding on the adapter's side) and the position whose scores predict the next item.
 */
import { RecMarkError } from '../errors';
import { SCORE_BATCH_BYTES } from '../limits';
import type { Adapter } from './adapter';
import { ortIdTensor, type OrtFeeds } from './ort';

/**
 * Rows per run: the requested count, capped so one score output of `rowBytes` per row stays
 * within SCORE_BATCH_BYTES, or the export's fixed batch (which it must be).
 */
export function runBatchSize(adapter: Adapter, requested: number, rowBytes: number): number {
  return (
    adapter.fixedBatch ?? Math.max(1, Math.min(requested, Math.floor(SCORE_BATCH_BYTES / rowBytes)))
  );
}

/**
 * A batch as the model must run it: a static-batch export gets its last rows filled with copies
 * of the first history (their scores are never read), so a short final batch still fits.
 */
export function fillFixedBatch(
  adapter: Adapter,
  batch: readonly (readonly number[])[],
): readonly (readonly number[])[] {
  const fixed = adapter.fixedBatch;
  if (!fixed || batch.length >= fixed || batch.length === 0) return batch;
  return [...batch, ...Array.from({ length: fixed - batch.length }, () => batch[0]!)];
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
