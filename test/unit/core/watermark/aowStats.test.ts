/** AOW significance: exact values for known ranks, and a valid false-positive rate under H0. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { aowStatistics } from '../../../../src/core/watermark/aowStats';
import { mulberry32 } from '../../../support/helpers';

const N = 3650;

test('all four steps at rank 1: binomial p at K = 1 is (1/N)^4 and Fisher follows χ²(8)', () => {
  const { evidence: e, pValue } = aowStatistics([1, 1, 1, 1], N);
  assert.equal(e.length, 5);
  assert.deepEqual(e.ks, [1, 5, 10, 20, 100]);
  for (const k of e.ks) {
    assert.equal(e.recall[k], 1);
    assert.equal(e.ndcg[k], 1);
    assert.equal(e.chance[k], k / N);
  }
  const p1 = (1 / N) ** 4;
  assert.ok(Math.abs(e.pBinomial[1] / p1 - 1) < 1e-9, `p@1 ${e.pBinomial[1]} vs ${p1}`);
  // χ²(8) survival at x: e^{-x/2} Σ_{i<4} (x/2)^i / i!
  const x = -2 * 4 * Math.log(1 / N);
  const h = x / 2;
  const fisher = Math.exp(-h) * (1 + h + h ** 2 / 2 + h ** 3 / 6);
  assert.ok(Math.abs(e.fisherStatistic - x) < 1e-9);
  assert.ok(Math.abs(e.pFisher / fisher - 1) < 1e-9, `Fisher ${e.pFisher} vs ${fisher}`);
  // The verdict p: the best of 6 tests (here K = 1), times 6.
  assert.ok(Math.abs(pValue.value / (6 * p1) - 1) < 1e-9);
  assert.ok(pValue.value < 1e-9);
  assert.equal(e.pBinomialText['1'], '5.6e-15');
});

test('mixed ranks: recall, NDCG and hits are counted per cut-off', () => {
  const { evidence: e } = aowStatistics([1, 3, 50, 2000], N);
  assert.equal(e.recall[1], 0.25);
  assert.equal(e.recall[5], 0.5);
  assert.equal(e.recall[20], 0.5);
  assert.equal(e.recall[100], 0.75);
  const dcg5 = (1 + 1 / Math.log2(4)) / 4;
  assert.ok(Math.abs(e.ndcg[5] - dcg5) < 1e-12);
  // P(Bin(4, 100/N) ≥ 3)
  const q = 100 / N;
  const p = 4 * q ** 3 * (1 - q) + q ** 4;
  assert.ok(Math.abs(e.pBinomial[100] / p - 1) < 1e-9);
});

test('tiny catalogues leave out cut-offs that cover every item', () => {
  const { evidence: e } = aowStatistics([1, 2], 12);
  assert.deepEqual(e.ks, [1, 5, 10]);
  assert.throws(() => aowStatistics([13], 12), /ranks must be integers in 1\.\.12/);
  assert.throws(() => aowStatistics([], 12), /at least one rank/);
});

test('under H0 (uniform ranks) the verdict p-value is valid: false positives ≤ α', () => {
  const rand = mulberry32(42);
  const trials = 20_000;
  for (const alpha of [0.05, 0.01]) {
    let rejections = 0;
    for (let t = 0; t < trials; t++) {
      const ranks = Array.from({ length: 4 }, () => 1 + Math.floor(rand() * N));
      if (aowStatistics(ranks, N).pValue.value < alpha) rejections++;
    }
    // Bonferroni over correlated tests is conservative; allow 3 binomial s.d. of noise.
    const limit = alpha + 3 * Math.sqrt((alpha * (1 - alpha)) / trials);
    assert.ok(rejections / trials <= limit, `α = ${alpha}: rate ${rejections / trials}`);
  }
});
