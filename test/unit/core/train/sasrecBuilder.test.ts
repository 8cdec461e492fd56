/**
 * The SASRec graph builder: the adapter detects it, onnxruntime loads and scores it, the same
 * seed gives the same model, and a short from-scratch run on MovieLens lowers the
 * validation loss and ranks clearly better than chance (the full run is test/bench/scratch.bench.ts).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { detectAdapter } from '../../../../src/core/onnx/adapter';
import { encodeModel, onnx } from '../../../../src/core/onnx/model';
import { loadOrt } from '../../../../src/core/onnx/ort';
import { buildSasrec } from '../../../../src/core/train/sasrecBuilder';
import { GRADIENTS, NON_DIFFERENTIABLE } from '../../../../src/core/train/gradients';
import { nextItemWindows, trainSasrecFromScratch } from '../../../support/scratch';
import { movielensSequences } from '../../../support/movielens';

const adapterOf = (proto: onnx.ModelProto) =>
  detectAdapter({ proto, file: 'sasrec.onnx', fileBytes: 0, externalFiles: [] });

async function score(proto: onnx.ModelProto, rows: number[][]): Promise<Float32Array> {
  const ort = await loadOrt();
  const session = await ort.InferenceSession.create(encodeModel(proto));
  try {
    const T = rows[0].length;
    const feeds = {
      item_seq: new ort.Tensor('int64', BigInt64Array.from(rows.flat(), BigInt), [rows.length, T]),
    };
    const out = await session.run(feeds);
    return out.scores.data as Float32Array;
  } finally {
    await session.release();
  }
}

describe('buildSasrec', () => {
  const options = { numItems: 40, hidden: 16, blocks: 2, heads: 2, maxLen: 8, seed: 5 };

  test('the adapter detects input, output, item embedding and sequence length', () => {
    const adapter = adapterOf(buildSasrec(options));
    assert.equal(adapter.input, 'item_seq');
    assert.equal(adapter.inputType, 'int64');
    assert.equal(adapter.output, 'scores');
    assert.equal(adapter.outputRank, 2);
    assert.equal(adapter.itemEmbedding, 'item_emb.weight');
    assert.equal(adapter.seqLen, 8);
    assert.equal(adapter.scoreWidth, 41);
    assert.equal(adapter.padding, 'left');
    const all = adapterOf(buildSasrec({ ...options, output: 'all' }));
    assert.equal(all.outputRank, 3);
  });

  test('opset 17, IR 8, and every op has a gradient rule or is non-differentiable', () => {
    const proto = buildSasrec(options);
    assert.equal(proto.opsetImport[0].version, 17);
    assert.equal(Number(proto.irVersion), 8);
    for (const n of proto.graph!.node!) {
      const op = n.opType ?? '';
      assert.ok(op in GRADIENTS || NON_DIFFERENTIABLE.has(op), `${op} has no gradient rule`);
    }
  });

  test('loads in onnxruntime; finite, deterministic per seed, seed-dependent scores', async () => {
    const rows = [
      [0, 0, 0, 0, 0, 3, 7, 9],
      [1, 2, 3, 4, 5, 6, 7, 8],
      [0, 0, 0, 0, 0, 0, 0, 0], // fully padded: must not NaN
    ];
    const a = await score(buildSasrec(options), rows);
    const b = await score(buildSasrec(options), rows);
    const c = await score(buildSasrec({ ...options, seed: 6 }), rows);
    assert.equal(a.length, 3 * 41);
    assert.ok(a.every(Number.isFinite));
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  test('the pad row of the item table is zero and padded positions carry no signal', async () => {
    const proto = buildSasrec(options);
    // Changing the position embedding of a padded slot cannot change the scores.
    const rows = [[0, 0, 0, 0, 0, 3, 7, 9]];
    const before = await score(proto, rows);
    const pos = proto.graph!.initializer!.find((t) => t.name === 'pos_emb.weight')!;
    const values = new Float32Array(new Uint8Array(pos.rawData!).slice().buffer);
    values.fill(5, 0, 16); // position 0 (padded here)
    pos.rawData = new Uint8Array(values.buffer);
    const after = await score(proto, rows);
    for (let i = 0; i < before.length; i++) assert.ok(Math.abs(before[i] - after[i]) < 1e-4);
  });

  test('windows cover every (prefix → next) transition once', () => {
    const seq = Array.from({ length: 20 }, (_, i) => i + 1);
    const windows = nextItemWindows([seq], 8);
    const pairs = windows.flatMap((w) => w.targets!.map((t, i) => `${w.history[i]}>${t}`));
    assert.equal(pairs.length, 19);
    assert.equal(new Set(pairs).size, 19);
    assert.ok(windows.every((w) => w.history.length <= 8));
  });
});

describe('SASRec from scratch on MovieLens (short run)', () => {
  // 20% of users gives only 3 steps per epoch, too few to leave the popularity plateau, so the
  // short run uses every user (11 steps per epoch) for 8 epochs.
  test('8 epochs: validation loss falls and NDCG@10 beats chance', async () => {
    const result = await trainSasrecFromScratch({
      sequences: movielensSequences(),
      numItems: 3650,
      epochs: 8,
      patience: 100,
      seed: 1,
    });
    const [first, last] = [result.result.epochs[0], result.result.epochs.at(-1)!];
    assert.ok(last.heldOutLoss! < first.heldOutLoss!, `${first.heldOutLoss} → ${last.heldOutLoss}`);
    // Chance: Recall@10 = 10/3650 ≈ 0.0027; NDCG@10 lower still.
    assert.ok(result.test.ndcg > 3 * (10 / 3650), `NDCG@10 ${result.test.ndcg}`);
  });
});
