/**
 * The fused top-k (src/core/onnx/fusedTopK.ts) must give the JS path's lists exactly: on every
 * fixture, and on hand-made score rows with ties, ±Infinity, NaN, flat rows, pad columns and
 * k larger than the catalogue; unusable rows are still reported.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { detectAdapter, type Adapter } from '../../../../src/core/onnx/adapter';
import { GraphIndex } from '../../../../src/core/onnx/graph';
import { encodeModel, onnx, readModel } from '../../../../src/core/onnx/model';
import { ScoringSession } from '../../../../src/core/onnx/session';
import type { Sidecar } from '../../../../src/core/onnx/sidecar';
import type { RowProblem } from '../../../../src/core/onnx/topk';
import { FIXTURES, mulberry32 } from '../../../support/helpers';
import { floatTensor, valueInfo } from '../../../support/tinyModel';

const { DataType } = onnx.TensorProto;

function modelsIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.onnx'))
    .map((f) => path.join(dir, f));
}

/** Both paths over the same sequences; the lists and the reported rows must be identical. */
async function compare(
  model: string | Uint8Array,
  adapter: Adapter,
  sequences: number[][],
  ks: number[],
  batchSize?: number,
): Promise<{ fusedActive: boolean; rowsPerHistory: boolean; problems: Map<number, RowProblem> }> {
  const fused = await ScoringSession.open(model, adapter);
  const plain = await ScoringSession.open(model, adapter, { fusedTopK: false });
  try {
    const fusedActive = await fused.fusedTopKActive();
    assert.equal(await plain.fusedTopKActive(), false);
    let problems = new Map<number, RowProblem>();
    for (const k of ks) {
      for (const excludeHistory of [false, true]) {
        const seen = [new Map<number, RowProblem>(), new Map<number, RowProblem>()];
        const [a, b] = await Promise.all(
          [fused, plain].map((s, i) =>
            s.topK(sequences, k, {
              excludeHistory,
              batchSize,
              onUnusableRow: (row, problem) => seen[i].set(row, problem),
            }),
          ),
        );
        const where = `k = ${k}, excludeHistory = ${excludeHistory}`;
        assert.deepEqual(
          a.map((l) => [...l]),
          b.map((l) => [...l]),
          where,
        );
        assert.deepEqual([...seen[0]], [...seen[1]], `unusable rows, ${where}`);
        problems = seen[1];
      }
    }
    return { fusedActive, rowsPerHistory: fused.layout.outputRank === 2, problems };
  } finally {
    await fused.release();
    await plain.release();
  }
}

const models = [...modelsIn(FIXTURES), ...modelsIn(path.join(FIXTURES, 'variants'))];

for (const file of models) {
  test(`fused top-k gives the JS lists: ${path.relative(FIXTURES, file)}`, async () => {
    const loaded = await readModel(file);
    const adapter = detectAdapter(loaded);
    const rand = mulberry32(17);
    const ids = adapter.itemIds;
    // Short and long histories (longer than T, so exclusions reach past the window), with repeats.
    const sequences = Array.from({ length: 24 }, (_, i) =>
      Array.from(
        { length: i % 6 === 0 ? adapter.seqLen + 7 : 1 + Math.floor(rand() * 12) },
        () => ids[Math.floor(rand() * Math.min(ids.length, i % 2 ? 15 : ids.length))],
      ),
    );
    // An export with a static batch of 1 takes one row per run.
    const staticBatch = new GraphIndex(loaded.proto.graph!).shape(adapter.input)?.[0] === 1;
    const { fusedActive, rowsPerHistory } = await compare(
      file,
      adapter,
      sequences,
      [1, 10, 20],
      staticBatch ? 1 : undefined,
    );
    // A [batch, T, N] export is fused once rewritten to its last position; unrewritten, JS ranks.
    assert.equal(fusedActive, rowsPerHistory, 'fused path used where supported');
    if (adapter.outputRank === 3) assert.ok(rowsPerHistory, 'every rank-3 fixture is rewritten');
  });
}

const NaN_ = Number.NaN;
const INF = Number.POSITIVE_INFINITY;
/**
 * Score rows by hand; column 0 is the pad. A query's scores are the row named by its last item,
 * so each test history picks a row.
 */
const ROWS: number[][] = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], // 0: only used for pad
  [9, 1, 3, 3, 2, 3, 1, 0, 2, 3, 1, 2], // ties: lower id first
  [0, -INF, 5, INF, -INF, INF, 0, -1, 2, INF, 1, -INF], // ±Infinity (the sum is NaN)
  [0, 1, NaN_, 3, 2, 1, 0, 5, 4, 1, 2, 3], // NaN among the candidates
  [NaN_, 4, 2, 8, 1, 1, 0, 5, 4, 2, 7, 7], // NaN only in the pad column: usable
  [0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2], // flat
  [0, -INF, -INF, -INF, -INF, -INF, -INF, -INF, -INF, -INF, -INF, -INF], // flat at −Infinity
  [0, INF, -INF, INF, -INF, INF, -INF, INF, -INF, INF, -INF, INF], // only infinities, yet ranked
  [0, -0, 0, -0, 0, 1e38, 3e38, 3e38, -3e38, 0, 3e38, -0], // signed zeros tie; the sum overflows
  [0, NaN_, NaN_, NaN_, NaN_, NaN_, NaN_, NaN_, NaN_, NaN_, NaN_, NaN_], // all NaN
  [0, 1, INF, 3, INF, 2, INF, 0, 3, 1, 2, 0], // tied +Infinity in the fused path
  [0, -INF, 1, -INF, 2, -INF, 1, -INF, 0, -INF, 1, -INF], // −Infinity ranks last, lower id first
];
const W = ROWS[0].length;

/** item_seq [batch, 4] → scores = ROWS[last item] ([batch, W]). */
function tableModel(opset: number): Uint8Array {
  const T = 4;
  const node = (opType: string, input: string[], output: string[], axis: number) =>
    onnx.NodeProto.create({
      opType,
      input,
      output,
      attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: axis }],
    });
  return encodeModel(
    onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: opset }],
      graph: {
        name: 'table',
        node: [
          node('Gather', ['item_seq', 'last'], ['last_item'], 1),
          node('Gather', ['table', 'last_item'], ['scores'], 0),
        ],
        initializer: [
          floatTensor('table', [W, W], Float32Array.from(ROWS.flat())),
          onnx.TensorProto.create({
            name: 'last',
            dims: [],
            dataType: DataType.INT64,
            int64Data: [T - 1],
          }),
        ],
        input: [valueInfo('item_seq', DataType.INT64, ['batch', T])],
        output: [valueInfo('scores', DataType.FLOAT, ['batch', W])],
      },
    }),
  );
}

async function tableCase(opset: number, sidecar: Sidecar, batchSize?: number) {
  const bytes = tableModel(opset);
  const original = Uint8Array.from(bytes);
  const adapter = detectAdapter(
    { proto: onnx.ModelProto.decode(bytes), file: 'table.onnx', fileBytes: 0, externalFiles: [] },
    sidecar,
  );
  // Each row once as the query's last item, after histories that exclusions can hit.
  const sequences = [...ROWS.keys()].flatMap((row) =>
    row === 0 ? [] : [[row], [3, 5, row], [8, 7, 6, 5, 4, 3, 2, 1, row]],
  );
  const result = await compare(bytes, adapter, sequences, [1, 3, 8, 20], batchSize);
  assert.ok(Buffer.from(bytes).equals(Buffer.from(original)), 'the model bytes are not edited');
  return result;
}

test('hand-made rows: ties, ±Infinity, NaN, flat, k > catalogue; bad rows still reported', async () => {
  for (const batchSize of [1, 4, 64]) {
    const { fusedActive, problems } = await tableCase(13, { padId: 0, maskId: null }, batchSize);
    assert.ok(fusedActive);
    // Rows 3 and 9 (NaN) and 5, 6 (flat), each the last item of three histories.
    const byRow = new Map<number, RowProblem>();
    const sequencesRow = (i: number) => 1 + Math.floor(i / 3);
    for (const [i, p] of problems) byRow.set(sequencesRow(i), p);
    assert.deepEqual(
      [...byRow].sort((a, b) => a[0] - b[0]),
      [
        [3, 'nan'],
        [5, 'flat'],
        [6, 'flat'],
        [9, 'nan'],
      ],
    );
  }
});

test('hand-made rows with a mask column inside the catalogue (Gather, not Slice)', async () => {
  const { fusedActive } = await tableCase(13, { padId: 0, maskId: 4 });
  assert.ok(fusedActive);
});

test('hand-made rows with numItems fewer than the columns, at opset 18', async () => {
  const { fusedActive } = await tableCase(18, { padId: 0, maskId: null, numItems: 6 });
  assert.ok(fusedActive);
});

test('opset 10 (TopK without a tie rule) stays on the JS path', async () => {
  const { fusedActive } = await tableCase(10, { padId: 0, maskId: null });
  assert.equal(fusedActive, false);
});

test("a score width unlike the adapter's is refused as on the JS path", async () => {
  const bytes = tableModel(13);
  const proto = onnx.ModelProto.decode(bytes);
  const adapter = detectAdapter({ proto, file: 'table.onnx', fileBytes: 0, externalFiles: [] });
  const wrong = { ...adapter, scoreWidth: W + 1, itemIds: adapter.itemIds.slice(0, 5) };
  for (const fusedTopK of [true, false]) {
    const session = await ScoringSession.open(bytes, wrong, { fusedTopK });
    try {
      await assert.rejects(session.topK([[1, 2]], 3), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'adapter-mismatch');
        assert.match(err.message, new RegExp(`shape \\[1, ${W}\\], expected \\[1, ${W + 1}\\]`));
        return true;
      });
    } finally {
      await session.release();
    }
  }
});
