import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { CancelledError } from '../../../../src/core/errors';
import { detectAdapter } from '../../../../src/core/onnx/adapter';
import { tensorFloat32 } from '../../../../src/core/onnx/graph';
import { encodeModel, readModel, graphOf } from '../../../../src/core/onnx/model';
import { encodeBatch, ScoringSession } from '../../../../src/core/onnx/session';
import { topK } from '../../../../src/core/onnx/topk';
import { mulberry32, tempDir } from '../../../support/helpers';
import { tinyModel } from '../../../support/tinyModel';

const ITEMS = 40;
const DIM = 6;
const T = 8;

/** The tiny model, optionally exported with a fixed batch (input and output dim 0). */
async function tinySession(fixedBatch?: number) {
  const proto = tinyModel({ items: ITEMS, dim: DIM, seqLen: T, seed: 3 });
  if (fixedBatch !== undefined) {
    const g = graphOf(proto);
    for (const v of [...g.input, ...g.output])
      v.type!.tensorType!.shape!.dim![0] = { dimValue: fixedBatch };
  }
  const file = path.join(tempDir(), 'tiny.onnx');
  writeFileSync(file, encodeModel(proto));
  const model = await readModel(file);
  const adapter = detectAdapter(model);
  const [emb, proj] = graphOf(model.proto).initializer.map(tensorFloat32);
  /** The graph by hand: mean of the (padded) row's embeddings times the projection. */
  const expected = (row: Int32Array): Float64Array => {
    const pooled = new Float64Array(DIM);
    for (const id of row) for (let d = 0; d < DIM; d++) pooled[d] += emb[id * DIM + d] / T;
    const out = new Float64Array(ITEMS + 1);
    for (let j = 0; j <= ITEMS; j++)
      for (let d = 0; d < DIM; d++) out[j] += pooled[d] * proj[d * (ITEMS + 1) + j];
    return out;
  };
  return { session: await ScoringSession.open(file, adapter), adapter, expected };
}

test('encodeBatch pads left, keeps the most recent items and appends the mask', async () => {
  const { adapter } = await tinySession();
  const left = encodeBatch(adapter, [[5, 6, 7]]);
  assert.deepEqual([...left.rows], [0, 0, 0, 0, 0, 5, 6, 7]);
  assert.equal(left.lastPositions[0], T - 1);
  const long = encodeBatch(adapter, [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]]);
  assert.deepEqual([...long.rows], [3, 4, 5, 6, 7, 8, 9, 10]);
  const right = encodeBatch({ ...adapter, padding: 'right', maskId: 39 }, [[5, 6, 7]]);
  assert.deepEqual([...right.rows], [5, 6, 7, 39, 0, 0, 0, 0]);
  assert.equal(right.lengths[0], 4);
  assert.equal(right.lastPositions[0], 3);
});

test('batched scores match the graph computed by hand, for any batch size', async () => {
  const { session, adapter, expected } = await tinySession();
  const rand = mulberry32(11);
  const seqs = Array.from({ length: 37 }, () =>
    Array.from({ length: 1 + Math.floor(rand() * 12) }, () => 1 + Math.floor(rand() * ITEMS)),
  );
  const rows = encodeBatch(adapter, seqs).rows;
  for (const batchSize of [1, 8, 64]) {
    let seen = 0;
    await session.forEachScores(
      seqs,
      (i, scores) => {
        const want = expected(rows.subarray(i * T, (i + 1) * T));
        for (let j = 0; j <= ITEMS; j++)
          assert.ok(Math.abs(scores[j] - want[j]) < 1e-4, `seq ${i} id ${j}`);
        seen++;
      },
      { batchSize },
    );
    assert.equal(seen, seqs.length);
  }
  // Top-k through the session equals top-k of the hand-computed scores, never the pad id.
  const lists = await session.topK(seqs, 5, { batchSize: 16 });
  seqs.forEach((_, i) => {
    const want = topK(expected(rows.subarray(i * T, (i + 1) * T)), adapter.itemIds, 5);
    assert.deepEqual([...lists[i]], [...want]);
    assert.ok(!lists[i].includes(0));
  });
  await session.release();
});

test('a static-batch export runs in full batches of its size, the last one filled', async () => {
  const { session, adapter, expected } = await tinySession(3);
  assert.equal(adapter.fixedBatch, 3);
  const rand = mulberry32(5);
  // 7 histories: batches of 3, 3 and 1 (+2 filler rows whose scores are never passed on).
  const seqs = Array.from({ length: 7 }, () =>
    Array.from({ length: 1 + Math.floor(rand() * 10) }, () => 1 + Math.floor(rand() * ITEMS)),
  );
  const rows = encodeBatch(adapter, seqs).rows;
  const seen: number[] = [];
  await session.forEachScores(
    seqs,
    (i, scores) => {
      const want = expected(rows.subarray(i * T, (i + 1) * T));
      for (let j = 0; j <= ITEMS; j++) assert.ok(Math.abs(scores[j] - want[j]) < 1e-4);
      seen.push(i);
    },
    { batchSize: 64 },
  );
  assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6]);
  assert.ok(await session.fusedTopKActive());
  const lists = await session.topK(seqs, 4, { batchSize: 64 });
  assert.equal(lists.length, 7);
  seqs.forEach((_, i) => {
    const want = topK(expected(rows.subarray(i * T, (i + 1) * T)), adapter.itemIds, 4);
    assert.deepEqual([...lists[i]], [...want]);
  });
  await session.release();
});

test('a run stops at the next batch once cancelled', async () => {
  const { session } = await tinySession();
  const controller = new AbortController();
  let batches = 0;
  const seqs = Array.from({ length: 100 }, () => [1, 2, 3]);
  await assert.rejects(
    session.forEachScores(seqs, () => undefined, {
      batchSize: 10,
      signal: controller.signal,
      onProgress: () => {
        if (++batches === 3) controller.abort();
      },
    }),
    CancelledError,
  );
  assert.equal(batches, 3);
  await session.release();
});
