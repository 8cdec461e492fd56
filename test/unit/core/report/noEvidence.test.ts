/** No verdict without evidence (issue 15): zero trials and unusable score rows are inconclusive. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rowProblem, unusableRowsText } from '../../../../src/core/onnx/topk';
import { decideVerdict, reportVerdict } from '../../../../src/core/report/report';
import { grewStatistics } from '../../../../src/core/watermark/grewStats';
import { NOT_AN_ITEM } from '../../../../src/core/watermark/key';

test('a NaN p-value is inconclusive, never absent', () => {
  assert.equal(decideVerdict({ value: Number.NaN, log10: Number.NaN }, 1e-4), 'inconclusive');
  const r = reportVerdict('grew', { value: 0.5, log10: Math.log10(0.5) }, 1e-4, 'zero trials');
  assert.equal(r.verdict, 'inconclusive');
  assert.equal(r.sentence, 'No verdict: zero trials.');
  assert.equal(r.pValueText, '—');
});

test('GREW with zero trials (no listed item known to the key) has a NaN p-value', () => {
  const clusters = new Uint16Array(10).fill(NOT_AN_ITEM);
  const key = { gamma: 0.5, clusters, green: new Uint8Array(10), numClusters: 2 };
  const stats = grewStatistics([Int32Array.from([1, 2, 3])], key, {
    topK: 3,
    nullKeys: 20,
    seed: 1,
  });
  assert.equal(stats.trials, 0);
  assert.ok(Number.isNaN(stats.pValue.value));
  assert.equal(decideVerdict(stats.pValue, 1e-4), 'inconclusive');
  // No lists at all: the same.
  assert.ok(Number.isNaN(grewStatistics([], key, { topK: 3, nullKeys: 0, seed: 1 }).pValue.value));
});

test('rowProblem: NaN anywhere, one score for all (constant or ±Infinity), or usable', () => {
  const ids = Int32Array.from([1, 2, 3]);
  assert.equal(rowProblem([0, 1, Number.NaN, 3], ids), 'nan');
  assert.equal(rowProblem([Number.NaN, 1, 2, 3], ids), null, 'pad scores do not count');
  assert.equal(rowProblem([0, 5, 5, 5], ids), 'flat');
  assert.equal(rowProblem([0, Infinity, Infinity, Infinity], ids), 'flat');
  assert.equal(rowProblem([0, Infinity, 1, -Infinity], ids), null);
  assert.equal(rowProblem([0, 1, 1, 2], ids), null);
});

test('unusableRowsText names why, for all rows or some', () => {
  const all = new Map([
    [0, 'nan' as const],
    [1, 'nan' as const],
  ]);
  assert.equal(
    unusableRowsText(all, 2, 'probe'),
    "the model's scores are not numbers (NaN) for every probe",
  );
  assert.match(
    unusableRowsText(new Map([[0, 'flat' as const]]), 1, 'probe'),
    /same score .* for every probe/,
  );
  assert.match(unusableRowsText(all, 5, 'probe'), /^2 of 5 probes were left out .*NaN \(2\)/);
});
