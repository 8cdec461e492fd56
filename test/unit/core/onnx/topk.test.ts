import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rankOf, topK } from '../../../../src/core/onnx/topk';
import { mulberry32 } from '../../../support/helpers';

/** Reference: sort every candidate by (score desc, id asc). */
function bruteForce(
  scores: Float32Array,
  candidates: Int32Array,
  k: number,
  lowest = false,
): number[] {
  const sign = lowest ? -1 : 1;
  return [...candidates]
    .filter((id) => !Number.isNaN(scores[id]))
    .sort((a, b) => sign * scores[b] - sign * scores[a] || a - b)
    .slice(0, k);
}

test('topK matches a full sort on random rows, with ties and NaN', () => {
  const rand = mulberry32(7);
  for (let trial = 0; trial < 200; trial++) {
    const width = 1 + Math.floor(rand() * 400);
    const scores = new Float32Array(width).map(() => Math.round(rand() * 50) / 5); // many ties
    if (width > 3) scores[Math.floor(rand() * width)] = Number.NaN;
    const candidates = Int32Array.from({ length: width }, (_, i) => i).filter(() => rand() > 0.1);
    const k = 1 + Math.floor(rand() * 30);
    assert.deepEqual([...topK(scores, candidates, k)], bruteForce(scores, candidates, k));
    assert.deepEqual(
      [...topK(scores, candidates, k, { lowest: true })],
      bruteForce(scores, candidates, k, true),
    );
  }
});

test('topK never returns excluded or non-candidate ids', () => {
  const scores = Float32Array.from([100, 5, 4, 3, 2, 1]); // id 0 = pad, scored highest
  const candidates = Int32Array.from([1, 2, 3, 4, 5]);
  assert.deepEqual([...topK(scores, candidates, 3)], [1, 2, 3]);
  assert.deepEqual([...topK(scores, candidates, 3, { exclude: new Set([2]) })], [1, 3, 4]);
  assert.deepEqual([...topK(scores, candidates, 10)], [1, 2, 3, 4, 5]);
});

test('rankOf counts ties pessimistically', () => {
  const scores = Float32Array.from([9, 3, 5, 5, 1]);
  const candidates = Int32Array.from([1, 2, 3, 4]);
  assert.equal(rankOf(scores, candidates, 2), 2);
  assert.equal(rankOf(scores, candidates, 3), 2);
  assert.equal(rankOf(scores, candidates, 4), 4);
});
