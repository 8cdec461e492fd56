/** Tied weights (src/core/train/tied.ts): an exported tied embedding trains as one tensor. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { graphOf } from '../../../../src/core/onnx/model';
import { tensorFloat32 } from '../../../../src/core/onnx/graph';
import { inspectModel } from '../../../../src/core/report/modelCard';
import { findTiedCopies, foldTiedGradients, syncTiedCopies } from '../../../../src/core/train/tied';
import { train } from '../../../../src/core/train/trainer';
import { fixture, mulberry32 } from '../../../support/helpers';

const random = (n: number, seed: number): Float32Array => {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => r() - 0.5);
};
const transpose = (a: Float32Array, rows: number, cols: number): Float32Array => {
  const t = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c];
  return t;
};

test('copies are found by value: same layout or transposed; small or unequal tensors are not', () => {
  const e = random(40 * 8, 1);
  const params = new Map<string, Float32Array>([
    ['emb', e],
    ['other', random(40 * 8, 2)],
    ['head', transpose(e, 40, 8)],
    ['same', e.slice()],
    ['scale1', new Float32Array(8).fill(1)],
    ['scale2', new Float32Array(8).fill(1)],
    [
      'almost',
      (() => {
        const a = e.slice();
        a[5] += 1e-6;
        return a;
      })(),
    ],
  ]);
  const dims = new Map<string, number[]>([
    ['emb', [40, 8]],
    ['other', [40, 8]],
    ['head', [8, 40]],
    ['same', [40, 8]],
    ['scale1', [8]],
    ['scale2', [8]],
    ['almost', [40, 8]],
  ]);
  assert.deepEqual(findTiedCopies(params, dims), [
    { copy: 'head', of: 'emb', transposed: true },
    { copy: 'same', of: 'emb', transposed: false },
  ]);
  // Below the size floor, equal vectors (norm scales still at 1) are separate parameters.
  assert.deepEqual(
    findTiedCopies(params, dims, 4).filter((t) => t.of === 'scale1'),
    [{ copy: 'scale2', of: 'scale1', transposed: false }],
  );
});

test("a copy's gradient folds into its original, and the copy follows the original", () => {
  const dims = new Map<string, number[]>([
    ['emb', [3, 2]],
    ['head', [2, 3]],
  ]);
  const tied = [{ copy: 'head', of: 'emb', transposed: true }];
  const grads = new Map<string, Float32Array>([
    ['emb', Float32Array.from([1, 2, 3, 4, 5, 6])],
    ['head', Float32Array.from([10, 30, 50, 20, 40, 60])],
  ]);
  foldTiedGradients(grads, tied, dims);
  assert.deepEqual([...grads.keys()], ['emb']);
  assert.deepEqual(Array.from(grads.get('emb')!), [11, 22, 33, 44, 55, 66]);
  const params = new Map<string, Float32Array>([
    ['emb', Float32Array.from([1, 2, 3, 4, 5, 6])],
    ['head', new Float32Array(6)],
  ]);
  syncTiedCopies(params, tied, dims);
  assert.deepEqual(Array.from(params.get('head')!), [1, 3, 5, 2, 4, 6]);
});

test('training the tied SASRec fixture keeps its output head the transpose of its embedding', async () => {
  const { model, adapter } = await inspectModel(fixture('sasrec_opset17.onnx'));
  const examples = Array.from({ length: 16 }, (_, i) => ({
    history: [1 + i, 20 + i, 40 + i],
    target: 100 + i,
  }));
  const weightsOf = (proto: typeof model.proto) => {
    const t = new Map(graphOf(proto).initializer.map((x) => [x.name, x]));
    return {
      emb: tensorFloat32(t.get('item_emb.weight')!),
      head: tensorFloat32(t.get('onnx::MatMul_236')!),
    };
  };
  const base = { model: model.proto, adapter, examples, batchSize: 8, maxSteps: 3, lr: 1e-2 };
  const tied = await train(base);
  assert.deepEqual(tied.tied, [
    { copy: 'onnx::MatMul_236', of: 'item_emb.weight', transposed: true },
  ]);
  const w = weightsOf(tied.proto);
  const before = weightsOf(model.proto);
  assert.ok(
    w.emb.some((v, i) => v !== before.emb[i]),
    'the embedding was trained',
  );
  assert.deepEqual(w.head, transpose(w.emb, 3651, 64));

  const untied = await train({ ...base, untie: true });
  assert.deepEqual(untied.tied, []);
  const u = weightsOf(untied.proto);
  assert.ok(
    u.head.some((v, i) => v !== transpose(u.emb, 3651, 64)[i]),
    'untied copies drift apart',
  );
});
