import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { detectAdapter, type Adapter } from '../../../../src/core/onnx/adapter';
import { encodeModel, onnx, readModel } from '../../../../src/core/onnx/model';
import { ScoringSession } from '../../../../src/core/onnx/session';
import { topK } from '../../../../src/core/onnx/topk';
import { buildSasrec } from '../../../../src/core/train/sasrecBuilder';
import { appendGrewBias } from '../../../../src/core/watermark/grewGraph';
import { FIXTURES, mulberry32 } from '../../../support/helpers';
import {
  mixingOutputModel,
  randomScoresModel,
  rightPaddedModel,
} from '../../../support/positionModels';
import { tinyModel } from '../../../support/tinyModel';

/** Seeded histories of every length from 1 to past the model's T (so some are truncated). */
function histories(adapter: Adapter, count: number, seed: number): number[][] {
  const rand = mulberry32(seed);
  const ids = adapter.itemIds;
  return Array.from({ length: count }, (_, i) =>
    Array.from(
      { length: 1 + ((i * 7) % (adapter.seqLen + 10)) },
      () => ids[Math.floor(rand() * ids.length)],
    ),
  );
}

const inMemory = (proto: onnx.ModelProto, file = 'memory.onnx') =>
  detectAdapter({ proto, file, fileBytes: 0, externalFiles: [] });

interface Scored {
  rows: Float32Array[];
  lists: Int32Array[];
}

async function score(
  session: ScoringSession,
  seqs: number[][],
  batchSize: number,
  k = 20,
): Promise<Scored> {
  const rows: Float32Array[] = [];
  await session.forEachScores(seqs, (i, s) => (rows[i] = s.slice()), { batchSize });
  return { rows, lists: rows.map((row) => topK(row, session.adapter.itemIds, k)) };
}

/** The rewritten session's rows and top-k lists equal the original's last-position rows. */
function assertSame(got: Scored, want: Scored, label: string): void {
  assert.equal(got.rows.length, want.rows.length);
  for (let i = 0; i < want.rows.length; i++) {
    const a = want.rows[i];
    const b = got.rows[i];
    assert.equal(b.length, a.length);
    for (let j = 0; j < a.length; j++) {
      const ok = a[j] === b[j] || Math.abs(a[j] - b[j]) <= 1e-4 * (1 + Math.abs(a[j]));
      if (!ok) assert.fail(`${label}: history ${i} id ${j}: ${b[j]} vs ${a[j]}`);
    }
    assert.deepEqual([...got.lists[i]], [...want.lists[i]], `${label}: top-k of history ${i}`);
  }
}

/** Open a model both ways and compare; returns the rewriting session's layout. */
async function compareBothWays(
  model: string | Uint8Array,
  adapter: Adapter,
  label: string,
  batchSize = 16,
  count = 30,
) {
  const seqs = histories(adapter, count, 5);
  const plain = await ScoringSession.open(model, adapter, { lastPosition: false });
  const rewritten = await ScoringSession.open(model, adapter);
  try {
    assertSame(await score(rewritten, seqs, batchSize), await score(plain, seqs, batchSize), label);
    return rewritten.layout;
  } finally {
    await plain.release();
    await rewritten.release();
  }
}

const fixtureFiles = [
  ...readdirSync(FIXTURES).map((f) => path.join(FIXTURES, f)),
  ...readdirSync(path.join(FIXTURES, 'variants')).map((f) => path.join(FIXTURES, 'variants', f)),
].filter((f) => f.endsWith('.onnx'));

test('every fixture scores the same with and without the rewrite; [B,T,N] ones are rewritten', async () => {
  assert.ok(fixtureFiles.length >= 10);
  const rewritten: string[] = [];
  for (const file of fixtureFiles) {
    const model = await readModel(file);
    const adapter = detectAdapter(model);
    const batchSize = file.includes('static_batch1') ? 1 : 16;
    const layout = await compareBothWays(file, adapter, path.basename(file), batchSize);
    if (adapter.outputRank === 2) {
      assert.equal(layout.scoring, 'last-position', file);
    } else {
      assert.equal(layout.scoring, 'rewritten', `${file}: ${layout.note}`);
      assert.equal(layout.outputRank, 2);
      rewritten.push(path.basename(file));
    }
  }
  // BERT4Rec with its mask token, SASRec at opset 13 and the static batch-1 export.
  assert.deepEqual(rewritten.sort(), [
    'bert4rec.onnx',
    'sasrec_opset13.onnx',
    'sasrec_static_batch1_opset17.onnx',
  ]);
});

test('an all-position SASRec scores exactly like its last-position twin (same weights)', async () => {
  const options = { numItems: 300, maxLen: 20, hidden: 16, seed: 4 };
  const all = buildSasrec({ ...options, output: 'all' });
  const last = buildSasrec({ ...options, output: 'last' });
  const allAdapter = inMemory(all);
  const lastAdapter = inMemory(last);
  assert.equal(allAdapter.outputRank, 3);
  const seqs = histories(allAdapter, 40, 9);
  const a = await ScoringSession.open(encodeModel(all), allAdapter);
  const b = await ScoringSession.open(encodeModel(last), lastAdapter);
  assert.equal(a.scoring, 'rewritten', a.layout.note ?? '');
  assert.equal(b.scoring, 'last-position');
  assertSame(await score(a, seqs, 64), await score(b, seqs, 64), 'sasrec all vs last');
  // The walk follows the queries through both attention blocks (keys and values stay whole)
  // down to the embeddings: gathered are the item lookup, the positions, the padding mask and
  // the attention mask; a walk stopping at attention would clone about 25 nodes.
  const [, nodes, gathers] = /^(\d+) nodes on the last position \((\d+) gathered\)$/.exec(
    a.layout.note ?? '',
  )!;
  assert.ok(Number(nodes) > 40, a.layout.note!);
  assert.equal(Number(gathers), 4, a.layout.note!);
  await a.release();
  await b.release();
});

test('the caller’s model bytes and proto are left as they were', async () => {
  const proto = buildSasrec({ numItems: 50, maxLen: 8, hidden: 8, output: 'all' });
  const bytes = encodeModel(proto);
  const copy = Uint8Array.from(bytes);
  const session = await ScoringSession.open(bytes, inMemory(proto));
  assert.equal(session.scoring, 'rewritten');
  assert.ok(Buffer.from(bytes).equals(copy));
  assert.ok(Buffer.from(encodeModel(proto)).equals(copy));
  await session.release();
});

test('right padding with a length input gathers each row at its own last position', async () => {
  const proto = rightPaddedModel({ items: 40, dim: 6, seqLen: 9, seed: 2 });
  const adapter = inMemory(proto);
  assert.equal(adapter.padding, 'right');
  assert.equal(adapter.lengthInput, 'item_seq_len');
  const layout = await compareBothWays(encodeModel(proto), adapter, 'right-padded');
  assert.equal(layout.scoring, 'rewritten', layout.note ?? '');
  assert.equal(layout.lastPositionInput, 'recmark_last_position');
  // Mul, Relu, Mul, MatMul, Add run on one position; the running sum (CumSum mixes positions)
  // and the length mask are gathered where the walk stops.
  assert.equal(layout.note, '5 nodes on the last position (2 gathered)');
});

test('a large catalogue is checked two rows at a time, still with a real batch axis', async () => {
  // [4, 50, 90,001] floats are above the 64 MiB scoring budget: the check (which compares with
  // the original) runs in twos, and a per-row gather checked on one row could pass wrongly.
  const proto = rightPaddedModel({ items: 90_000, dim: 4, seqLen: 50, seed: 6 });
  const session = await ScoringSession.open(encodeModel(proto), inMemory(proto));
  assert.equal(session.scoring, 'rewritten', session.layout.note ?? '');
  await session.release();
});

test('the walk stops at the embedding lookup; an int32 input works the same', async () => {
  const proto = tinyModel({
    items: 25,
    seqLen: 7,
    allPositions: true,
    inputType: onnx.TensorProto.DataType.INT32,
  });
  const adapter = inMemory(proto);
  assert.equal(adapter.inputType, 'int32');
  const layout = await compareBothWays(encodeModel(proto), adapter, 'tiny int32');
  assert.equal(layout.note, '1 nodes on the last position (1 gathered)');
});

test('a score output that mixes positions is kept and scored at every position', async () => {
  const proto = mixingOutputModel({ items: 30, seqLen: 6 });
  const layout = await compareBothWays(encodeModel(proto), inMemory(proto), 'mixing');
  assert.equal(layout.scoring, 'all-positions');
  assert.equal(layout.outputRank, 3);
  assert.match(layout.note ?? '', /no position-wise ops/);
});

test('a rewrite that does not reproduce the original falls back to it', async () => {
  const proto = randomScoresModel({ items: 30, seqLen: 6 });
  const adapter = inMemory(proto);
  const session = await ScoringSession.open(encodeModel(proto), adapter);
  assert.equal(session.scoring, 'all-positions');
  assert.match(session.layout.note ?? '', /differs from the original/);
  // Still scores: one row per history from the [B, T, N] output.
  const rows: number[] = [];
  await session.forEachScores([[1, 2], [3]], (_, s) => rows.push(s.length));
  assert.deepEqual(rows, [31, 31]);
  await session.release();
});

test('GREW served heads on [B,T,N] exports rewrite through TopK and Slice and score the same', async () => {
  const cases = [
    ['sasrec_opset13.onnx', 0],
    ['sasrec_opset13.onnx', 4],
    ['bert4rec.onnx', 4],
  ] as const;
  for (const [name, protectHead] of cases) {
    const model = await readModel(path.join(FIXTURES, name));
    const adapter = detectAdapter(model);
    const rand = mulberry32(3);
    const green = Uint8Array.from({ length: adapter.scoreWidth }, () => (rand() < 0.5 ? 1 : 0));
    const marked = appendGrewBias(model.proto, adapter, { green, delta: 1, kc: 30, protectHead });
    const layout = await compareBothWays(encodeModel(marked), adapter, `${name} grew`, 16, 12);
    assert.equal(layout.scoring, 'rewritten', `${name}: ${layout.note}`);
  }
});

test('the rewrite can be turned off', async () => {
  const proto = buildSasrec({ numItems: 50, maxLen: 8, hidden: 8, output: 'all' });
  const session = await ScoringSession.open(encodeModel(proto), inMemory(proto), {
    lastPosition: false,
  });
  assert.equal(session.scoring, 'all-positions');
  assert.equal(session.layout.note, 'last-position rewrite turned off');
  await session.release();
});
