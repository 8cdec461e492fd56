/** How p-values, z-scores, ranks and parameters read for people (src/core/report/plain.ts, labels.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parameterLabel, PARAMETER_LABELS } from '../../../../src/core/report/labels';
import {
  pClause,
  probabilityText,
  pSentence,
  pValueText,
  rankPosition,
  rankText,
  zNote,
  zText,
} from '../../../../src/core/report/plain';
import type { FinetuneResult } from '../../../../src/core/attack/finetune';
import { finetuneLines, grewEmbedLines } from '../../../../src/core/report/resultText';
import { normalSf } from '../../../../src/core/stats/tests';
import { pClause as webviewPClause } from '../../../../webview/src/format';
import type { EmbedGrewResult } from '../../../../src/core/watermark/grew';

const p = (x: number) => ({ value: x, log10: Math.log10(x) });

test('the deciding p reads as a sentence: how often a clean model would show this', () => {
  assert.equal(
    pSentence(p(6.3e-21)),
    'p = 6.3e-21: a model without this watermark would show evidence this strong about once in 1.6e20 audits.',
  );
  assert.match(pSentence(p(0.0008)), /about once in 1,250 audits\.$/);
  assert.match(pSentence(p(0.062)), /^p = 0\.062: .* about once in 16 audits\.$/);
  // A p near 1 is not "once in 1 audits".
  assert.match(pSentence(p(0.9)), /in almost every audit\.$/);
  assert.match(pSentence(p(1)), /in almost every audit\.$/);
});

test('a p-value beyond what a double holds is clamped, honestly, never printed as 2.0e-663', () => {
  const huge = normalSf(55); // log10 ≈ −659
  assert.ok(huge.log10 < -600 && huge.value === 0);
  assert.equal(pValueText(huge), '< 1e-300');
  assert.equal(pClause(pValueText(huge)), 'p < 1e-300');
  assert.match(pSentence(huge), /^p < 1e-300: .* less than once in 1e300 audits\.$/);
  // Above the floor the number is shown as it is.
  assert.equal(pValueText(p(3.2e-45)), '3.2e-45');
  assert.equal(pValueText({ value: 0, log10: -299.5 }), '3.2e-300');
  assert.equal(pClause('0.034'), 'p = 0.034');
});

test('z = 0 reads "at chance", never "0.0 std. deviations below chance"; signs read above/below', () => {
  assert.equal(zText(0), 'z = 0.0, at chance');
  assert.equal(zText(-0.04), 'z = 0.0, at chance');
  assert.equal(zText(0.04), 'z = 0.0, at chance');
  assert.equal(zText(2.345), 'z = 2.3 std. deviations above chance');
  assert.equal(zText(-1.2), 'z = −1.2 std. deviations below chance');
  assert.equal(zText(9.333, 2), 'z = 9.33 std. deviations above chance');
  assert.equal(zNote(0), 'at chance');
  assert.equal(zNote(-3), 'std. deviations below chance');
  assert.equal(zNote(0.05), 'std. deviations above chance');
});

test('ranks read "top x%" in the upper half and "bottom x%" in the lower (rank 1 is top)', () => {
  assert.equal(rankText(3568, 3650), 'rank 3,568 of 3,650 (bottom 2.3%)');
  assert.equal(rankText(1, 3650), 'rank 1 of 3,650 (top 0.027%)');
  assert.equal(rankText(37, 3650), 'rank 37 of 3,650 (top 1%)');
  assert.equal(rankPosition(3650, 3650), 'bottom 0.027%');
  // The middle: at most (n + 1) / 2 is the upper half.
  assert.equal(rankPosition(1825, 3650), 'top 50%');
  assert.equal(rankPosition(1830, 3650), 'bottom 50%');
  assert.equal(rankPosition(3011, 3650), 'bottom 18%');
  assert.equal(rankPosition(1, 1), 'top 100%');
  // An endpoint's top-200 list without the target: only "rank > 200" is known.
  assert.equal(rankText(201, 3650, true), 'rank > 200 of 3,650 (below top 5.5%)');
});

test('empirical p-values read as plain numbers', () => {
  assert.equal(probabilityText(1 / 201), '0.005');
  assert.equal(probabilityText(0.0004), '4.0e-4');
  assert.equal(probabilityText(Number.NaN), '—');
});

test('parameters have human labels; an unknown key shows as it is', () => {
  assert.equal(parameterLabel('gamma'), 'Green fraction γ');
  assert.equal(parameterLabel('delta'), 'Bias strength δ');
  assert.equal(parameterLabel('protectHead'), 'Protected head');
  assert.equal(parameterLabel('kc'), 'Candidate set Kc');
  assert.equal(parameterLabel('somethingNew'), 'somethingNew');
  assert.equal(parameterLabel('constructor'), 'constructor');
  // No label is camelCase: people read these.
  for (const label of Object.values(PARAMETER_LABELS))
    assert.doesNotMatch(label, /^[a-z]+[A-Z]/, label);
});

test('an embed names the GREW parameters with the same labels', () => {
  const lines = grewEmbedLines({
    out: 'm.onnx',
    keyOut: 'm.wmkey.json',
    key: { keyId: 'abc', gamma: 0.5, delta: 2, kc: 50, protectHead: 10, numItems: 3650 },
    numClusters: 43,
    training: null,
    evidence: { z: 9.28, pValueText: '< 1e-300', probes: 1000, probeSource: 'sampled', topK: 20 },
    utility: [],
  } as unknown as EmbedGrewResult);
  assert.equal(
    lines[2],
    'GREW:              Green fraction γ 0.5 · Bias strength δ 2 · Candidate set Kc 50 · Protected head 10 · 43 clusters over 3650 items',
  );
  assert.match(lines[4], /^Evidence: {10}z_w = 9\.28, p < 1e-300 on 1000 sampled probes/);
});

test("the webview's p clause reads as core's (it cannot import core's)", () => {
  for (const text of ['< 1e-300', '6.3e-21', '0.034', '—'])
    assert.equal(webviewPClause(text), pClause(text), text);
});

test('fine-tuning text says whether a [B, T, N] export trained on its last position only', () => {
  const result = (trainingGraph: FinetuneResult['trainingGraph']): FinetuneResult => ({
    out: 'tuned.onnx',
    users: { total: 10, finetuned: 1 },
    examples: 5,
    steps: 2,
    epochs: [{ epoch: 1, loss: 1 }],
    curve: [{ step: 1, epoch: 1, loss: 1 }],
    trainLoss: { before: 2, after: 1, examples: 5 },
    utility: [],
    stepsPerSecond: 3,
    trainingGraph,
    timings: [],
  });
  const line = (g: FinetuneResult['trainingGraph']) =>
    finetuneLines(result(g)).filter((l) => l.startsWith('Training graph:'));
  assert.deepEqual(line({ mode: 'last-position', note: null }), []);
  assert.deepEqual(line({ mode: 'rewritten', note: '5 nodes on the last position (1 gathered)' }), [
    'Training graph:   last position only (5 nodes on the last position (1 gathered))',
  ]);
  assert.deepEqual(line({ mode: 'all-positions', note: 'rewrite differs' }), [
    'Training graph:   every position (rewrite differs)',
  ]);
});
