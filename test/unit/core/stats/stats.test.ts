import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  dcgOfTargets,
  leaveOneOutQueries,
  meanCi95,
  nextItemPoints,
  pairedRelativeChange,
  rankingMetrics,
  topKOverlap,
} from '../../../../src/core/stats/ranking';
import {
  binomialSf,
  chiSquareSfEvenDof,
  fisherCombination,
  formatPValue,
  normalSf,
  oneProportionZ,
} from '../../../../src/core/stats/tests';

const close = (a: number, b: number, rel = 1e-6): void =>
  assert.ok(Math.abs(a - b) <= rel * Math.abs(b), `${a} vs ${b}`);

test('normal upper tail matches reference values, including far below double range', () => {
  close(normalSf(0).value, 0.5);
  close(normalSf(1.959963984540054).value, 0.025);
  close(normalSf(-1).value, 0.8413447460685429);
  close(normalSf(5).value, 2.866515718791939e-7, 1e-7);
  close(normalSf(10).value, 7.619853024160527e-24);
  // Q(40) = 3.655893540915e-350 underflows a double; log10 keeps it.
  close(normalSf(40).log10, Math.log10(3.655893540915) - 350, 1e-9);
  assert.equal(formatPValue(normalSf(40)), '3.7e-350');
  // No seam where the two methods meet.
  close(normalSf(4.999999).value, normalSf(5).value, 1e-5);
});

test('binomial tail equals exact sums', () => {
  close(binomialSf(4, 4, 0.01).value, 1e-8);
  close(binomialSf(1, 4, 0.25).value, 1 - 0.75 ** 4);
  close(binomialSf(2, 3, 0.5).value, 0.5);
  assert.equal(binomialSf(0, 10, 0.3).value, 1);
  assert.equal(binomialSf(11, 10, 0.3).value, 0);
  close(binomialSf(19, 19, 1 / 3650).log10, 19 * Math.log10(1 / 3650), 1e-9);
});

test('chi-square with even dof and Fisher combination', () => {
  close(chiSquareSfEvenDof(3, 2).value, Math.exp(-1.5));
  close(chiSquareSfEvenDof(9.487729036781154, 4).value, 0.05, 1e-6); // scipy.stats.chi2.isf(0.05, 4)
  const fisher = fisherCombination([0.5, 0.5]);
  close(fisher.statistic, 4 * Math.LN2);
  close(fisher.pValue.value, 0.25 * (1 + Math.log(4)), 1e-9); // two p-values: p1p2(1 − ln(p1p2))
});

test('one-proportion z', () => {
  const { z } = oneProportionZ(600, 1000, 0.5);
  close(z, 100 / Math.sqrt(250));
});

test('formatPValue is readable at every magnitude', () => {
  assert.equal(formatPValue({ value: 0.0342, log10: Math.log10(0.0342) }), '0.034');
  assert.equal(formatPValue({ value: 1e-30, log10: -30 }), '1.0e-30');
  assert.equal(formatPValue({ value: 9.99e-5, log10: Math.log10(9.99e-5) }), '1.0e-4');
});

// ---- Ranking metrics on lists (core/stats/ranking.ts: no model involved) ----------------------

test("leave-one-out queries hold out each usable sequence's last item", () => {
  assert.deepEqual(leaveOneOutQueries([[1, 2, 3], [4], [5, 6]]), {
    histories: [[1, 2], [5]],
    targets: [3, 6],
  });
});

test('recall and NDCG at every k from one list per query', () => {
  const lists = [Int32Array.of(7, 3, 9), Int32Array.of(1, 2, 3), Int32Array.of(5, 6, 4)];
  const [at1, at3] = rankingMetrics(lists, [3, 1, 8], [1, 3]);
  assert.deepEqual(at1, {
    recall: 1 / 3,
    ndcg: 1 / 3,
    users: 3,
    k: 1,
    perUser: { recall: Float64Array.of(0, 1, 0), ndcg: Float64Array.of(0, 1, 0) },
  });
  assert.equal(at3.recall, 2 / 3);
  close(at3.ndcg, (1 / Math.log2(3) + 1) / 3);
  // Each query's terms average to the metric: what the intervals and paired changes rest on.
  assert.deepEqual([...at3.perUser!.recall], [1, 1, 0]);
  assert.deepEqual([...at3.perUser!.ndcg], [1 / Math.log2(3), 1, 0]);
  assert.deepEqual(rankingMetrics([], [], [10]), [
    {
      recall: 0,
      ndcg: 0,
      users: 0,
      k: 10,
      perUser: { recall: new Float64Array(0), ndcg: new Float64Array(0) },
    },
  ]);
  assert.deepEqual([...dcgOfTargets(lists, [3, 1, 8])], [1 / Math.log2(3), 1, 0]);
});

test('top-k overlap, next-item points and the paired bootstrap', () => {
  assert.equal(
    topKOverlap(
      [Int32Array.of(1, 2), Int32Array.of(3, 4)],
      [Int32Array.of(2, 9), Int32Array.of(3, 4)],
    ),
    0.75,
  );
  assert.equal(topKOverlap([], []), 1);

  const all = nextItemPoints(
    [
      [1, 2, 3],
      [4, 5],
    ],
    { maxHistory: 1, max: 10, seed: 1 },
  );
  assert.deepEqual(all, { histories: [[1], [2], [4]], targets: [2, 3, 5], users: [0, 0, 1] });
  const some = nextItemPoints([[1, 2, 3, 4, 5, 6]], {
    maxHistory: 9,
    max: 2,
    seed: 3,
    minHistory: 2,
  });
  assert.equal(some.targets.length, 2);
  assert.deepEqual(
    some,
    nextItemPoints([[1, 2, 3, 4, 5, 6]], { maxHistory: 9, max: 2, seed: 3, minHistory: 2 }),
  );
  for (const [i, t] of some.targets.entries())
    assert.deepEqual(some.histories[i], [1, 2, 3, 4, 5].slice(0, t - 1));

  const users = [0, 0, 1, 1, 2, 2];
  const same = pairedRelativeChange([1, 0, 1, 1, 0, 1], [1, 0, 1, 1, 0, 1], users, {
    resamples: 50,
  });
  assert.deepEqual(same, {
    before: 4 / 6,
    after: 4 / 6,
    change: 0,
    ci95: [0, 0],
    beforeCi95: same.beforeCi95,
    afterCi95: same.beforeCi95,
  });
  // Resampling whole users: user 1 alone gives 1, users 0 and 2 alone 1/2.
  assert.ok(same.beforeCi95[0] >= 0.5 && same.beforeCi95[1] <= 1, String(same.beforeCi95));
  const half = pairedRelativeChange([1, 1, 1, 1, 1, 1], [0.5, 0.5, 0.5, 0.5, 0.5, 0.5], users);
  close(half.change, -0.5);
  close(half.ci95[0], -0.5);
  close(half.ci95[1], -0.5);
  assert.deepEqual(half.beforeCi95, [1, 1]);
  assert.deepEqual(half.afterCi95, [0.5, 0.5]);
});

test('the normal-approximation interval of a mean, against a known case', () => {
  // 100 hits in 400 users: mean 0.25, s² = 75/399, half-width 1.96·s/20.
  const values = Array.from({ length: 400 }, (_v, i) => (i < 100 ? 1 : 0));
  const half = (1.96 * Math.sqrt(75 / 399)) / 20;
  const [lo, hi] = meanCi95(values);
  close(lo, 0.25 - half);
  close(hi, 0.25 + half);
  close(half, 0.0424884, 1e-5);
  // Kept within the values' range: a mean of rare hits cannot go below 0.
  assert.deepEqual(
    meanCi95([1, 0, 0, 0]).map((x) => x >= 0),
    [true, true],
  );
  assert.equal(meanCi95([1, 0, 0, 0])[0], 0);
  assert.deepEqual(meanCi95([0.3]), [0.3, 0.3]);
  assert.ok(meanCi95([]).every(Number.isNaN));
});
