/**
 * Length buckets (src/core/onnx/lengthBuckets.ts): short histories run on a shortened graph only
 * when it scores like the full one. A SASRec with a key-padding mask passes (its lists equal the
 * JS path on the full graph); a mean-pooling model, whose scores read the padding, is refused and
 * keeps the full graph.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { detectAdapter } from '../../../../src/core/onnx/adapter';
import { encodeModel, type onnx } from '../../../../src/core/onnx/model';
import {
  bucketCheckRows,
  bucketLengths,
  queryLength,
  scoresAgree,
  shortenGraph,
} from '../../../../src/core/onnx/lengthBuckets';
import { modelFeeds } from '../../../../src/core/onnx/feeds';
import { createSession, loadOrt } from '../../../../src/core/onnx/ort';
import { ScoringSession } from '../../../../src/core/onnx/session';
import { buildSasrec } from '../../../../src/core/train/sasrecBuilder';
import { Rng } from '../../../../src/core/util/random';
import { tinyModel } from '../../../support/tinyModel';

const T = 50;

function adapterOf(proto: onnx.ModelProto) {
  return detectAdapter({ proto, file: 'memory.onnx', fileBytes: 0, externalFiles: [] });
}

/** 120 histories of 1..20 items and 10 of 40..60 (beyond T), seeded. */
function histories(items: number): number[][] {
  const rng = new Rng(7);
  const make = (min: number, max: number) =>
    Array.from({ length: min + rng.int(max - min + 1) }, () => 1 + rng.int(items));
  return [
    ...Array.from({ length: 120 }, () => make(1, 20)),
    ...Array.from({ length: 10 }, () => make(40, 60)),
  ];
}

/** Fused lists (buckets allowed) against the JS path on the full graph. */
async function fusedVsExact(proto: onnx.ModelProto, items: number) {
  const adapter = adapterOf(proto);
  const bytes = encodeModel(proto);
  const fused = await ScoringSession.open(bytes, adapter);
  const exact = await ScoringSession.open(bytes, adapter, { fusedTopK: false });
  try {
    const sequences = histories(items);
    const [a, b] = await Promise.all([fused.topK(sequences, 10), exact.topK(sequences, 10)]);
    assert.deepEqual(
      a.map((l) => [...l]),
      b.map((l) => [...l]),
    );
    return fused.lengthBucketsInUse();
  } finally {
    await fused.release();
    await exact.release();
  }
}

test('a SASRec with a key-padding mask scores alike on its last L positions', async () => {
  await loadOrt();
  for (const output of ['last', 'all'] as const) {
    const proto = buildSasrec({ numItems: 300, hidden: 16, blocks: 2, maxLen: T, output });
    const adapter = adapterOf(proto);
    assert.deepEqual(bucketLengths(adapter), output === 'last' ? [8, 16, 32] : []);
    if (output === 'all') continue;
    const full = await createSession(encodeModel(proto), {});
    for (const L of bucketLengths(adapter)) {
      const short = shortenGraph(proto, adapter, L)!;
      const session = await createSession(encodeModel(short), {});
      const rows = bucketCheckRows(adapter, L);
      assert.ok(rows.some((r) => r.length === L) && rows.some((r) => r.length === 1));
      const [x, y] = await Promise.all([
        full.run(modelFeeds(adapter, rows).feeds),
        session.run(modelFeeds({ ...adapter, seqLen: L }, rows).feeds),
      ]);
      assert.ok(
        scoresAgree(x[adapter.output].data as Float32Array, y[adapter.output].data as Float32Array),
        `L = ${L}`,
      );
      await session.release();
    }
    await full.release();
  }
});

test('top-k through length buckets equals the JS path on the full graph', async () => {
  const last = buildSasrec({ numItems: 300, hidden: 16, blocks: 2, maxLen: T, output: 'last' });
  // 120 histories of ≤ 20 items: buckets 8 and 16 (≥ 32 rows each), 32 too few, the rest T.
  assert.deepEqual(await fusedVsExact(last, 300), [8, 16]);
  // The all-position twin is rewritten to its last position first, then bucketed the same way.
  const all = buildSasrec({ numItems: 300, hidden: 16, blocks: 2, maxLen: T, output: 'all' });
  assert.deepEqual(await fusedVsExact(all, 300), [8, 16]);
});

test('a model whose scores read the padding keeps the full graph', async () => {
  // Mean pooling over all T positions: the pad rows count, so a shorter input changes scores.
  const proto = tinyModel({ items: 40, seqLen: T });
  const adapter = adapterOf(proto);
  const short = shortenGraph(proto, adapter, 8)!;
  const rows = bucketCheckRows(adapter, 8);
  const [x, y] = await Promise.all(
    [
      [proto, adapter],
      [short, { ...adapter, seqLen: 8 }],
    ].map(async ([p, a]) => {
      const s = await createSession(encodeModel(p as onnx.ModelProto), {});
      const out = await s.run(modelFeeds(a as typeof adapter, rows).feeds);
      await s.release();
      return out[adapter.output].data as Float32Array;
    }),
  );
  assert.equal(scoresAgree(x, y), false);
  assert.deepEqual(await fusedVsExact(proto, 40), []);
});

test('query length counts the kept items and the mask token', () => {
  const proto = buildSasrec({ numItems: 30, hidden: 8, blocks: 1, maxLen: T });
  const adapter = adapterOf(proto);
  assert.equal(queryLength(adapter, [1, 2, 3]), 3);
  assert.equal(queryLength(adapter, new Array(80).fill(1)), T);
  assert.equal(queryLength({ ...adapter, maskId: 31 }, [1, 2, 3]), 4);
  assert.equal(queryLength({ ...adapter, maskId: 31 }, new Array(80).fill(1)), T);
});
