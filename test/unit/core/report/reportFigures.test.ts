/**
 * The numbers the report's charts and tables draw (src/core/report/figures.ts), checked against
 * independent computations: exact binomial terms from mathjs, direct counting and summation.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { combinations } from 'mathjs';
import {
  aowFigures,
  grewEvidence,
  grewFigures,
  robustnessFigures,
  robustnessSection,
} from '../../../../src/core/report/figures';
import {
  utilityRow,
  type GrewEvidence,
  type RobustnessRow,
} from '../../../../src/core/report/report';
import { binomialPmf } from '../../../../src/core/stats/tests';
import { aowStatistics } from '../../../../src/core/watermark/aowStats';
import { grewStatistics } from '../../../../src/core/watermark/grewStats';
import { ROOT } from '../../../support/helpers';
import { NOT_AN_ITEM } from '../../../../src/core/watermark/key';
import { Rng } from '../../../../src/core/util/random';

const close = (a: number, b: number, tol = 1e-12): boolean => Math.abs(a - b) <= tol;

test('binomialPmf equals C(n, i) p^i (1 − p)^(n − i) term by term', () => {
  for (const [n, p] of [
    [10, 0.5],
    [20, 0.3],
    [7, 0.9],
    [1, 0.25],
  ]) {
    const pmf = binomialPmf(n, p);
    assert.equal(pmf.length, n + 1);
    for (let i = 0; i <= n; i++) {
      const exact = combinations(n, i) * p ** i * (1 - p) ** (n - i);
      assert.ok(close(pmf[i], exact, 1e-12), `n=${n} p=${p} i=${i}: ${pmf[i]} vs ${exact}`);
    }
  }
  assert.deepEqual(binomialPmf(3, 0), [1, 0, 0, 0]);
  assert.deepEqual(binomialPmf(3, 1), [0, 0, 0, 1]);
});

/** GREW evidence as verifyGrew assembles it from the statistics. */
function measuredGrew(seed: number, nullKeys: number): Omit<GrewEvidence, 'figures'> {
  const rng = new Rng(seed);
  const W = 201;
  const clusters = new Uint16Array(W).map((_, id) => (id === 0 ? NOT_AN_ITEM : id % 4));
  const green = new Uint8Array(W).map((_, id) => (id > 0 && rng.next() < 0.5 ? 1 : 0));
  const key = { gamma: 0.5, clusters, green, numClusters: 4 };
  const lists = Array.from({ length: 60 }, () => {
    const set = new Set<number>();
    while (set.size < 5) set.add(1 + rng.int(200));
    return Int32Array.from(set);
  });
  const s = grewStatistics(lists, key, { topK: 5, nullKeys, seed });
  return {
    z: s.z,
    zNull: s.zNull,
    zClassic: s.zClassic,
    pEmpirical: s.pEmpirical,
    pClassic: s.pValueClassic.value,
    pClassicText: '',
    greenHits: s.greenHits,
    trials: s.trials,
    expectedHits: s.expectedHits,
    sdHits: s.sdHits,
    gamma: key.gamma,
    topK: 5,
    probes: lists.length,
    nullKeys: s.nullKeys,
    distinctItems: s.distinctItems,
    probeSource: 'sampled',
    perProbeGreen: s.perProbeGreen,
    nullPerProbeGreen: s.nullPerProbeGreen,
    greenRateByRank: s.greenRateByRank,
    nullGreenHits: s.nullGreenHits,
  };
}

test('GREW figures: shares, means, counts and the decisive z, counted directly', () => {
  const g = measuredGrew(3, 40);
  const f = grewFigures(g);
  const k = g.topK;

  const count = (xs: number[], i: number) => xs.filter((x) => x === i).length;
  for (let i = 0; i <= k; i++) {
    assert.ok(close(f.greenPerProbe.suspect[i], count(g.perProbeGreen, i) / g.probes));
    assert.ok(
      close(
        f.greenPerProbe.nullKeys![i],
        count(g.nullPerProbeGreen, i) / g.nullPerProbeGreen.length,
      ),
    );
    assert.ok(
      close(f.greenPerProbe.binomial[i], combinations(k, i) * 0.5 ** k),
      `Binomial(${k}, 0.5) at ${i}`,
    );
  }
  let sum = 0;
  for (const x of g.perProbeGreen) sum += x;
  assert.ok(close(f.greenPerProbe.suspectMean, sum / g.probes));
  assert.ok(close(f.greenPerProbe.suspectMeanShare, sum / g.probes / k));
  assert.equal(f.greenPerProbe.expectedMean, k * 0.5);
  assert.equal(sum, g.greenHits, 'the per-probe counts add up to G');

  assert.equal(f.zDecision, g.z < g.zNull ? g.z : g.zNull);
  assert.equal(f.decidedBy, g.zNull < g.z ? 'zNull' : 'z');
  assert.ok(close(f.greenRate, g.greenHits / g.trials));
  assert.ok(close(f.expectedGreenRate, g.expectedHits / g.trials));
  let reached = 0;
  for (const x of g.nullGreenHits) if (x >= g.greenHits) reached++;
  assert.equal(f.nullKeysReached, reached);
  // The empirical p counts the same null keys: (1 + reached) / (M + 1).
  assert.ok(close(g.pEmpirical, (1 + reached) / (g.nullGreenHits.length + 1)));
  let above = 0;
  for (const r of g.greenRateByRank) if (r > g.gamma) above++;
  assert.equal(f.ranksAboveGamma, above);

  // The null histogram holds every null key once, in equal-width bins from the smallest G.
  const h = f.nullHits;
  assert.equal(
    h.bins.reduce((a, b) => a + b.count, 0),
    g.nullGreenHits.length,
  );
  const sorted = [...g.nullGreenHits].sort((a, b) => a - b);
  assert.deepEqual(h.range, [sorted[0], sorted.at(-1)]);
  assert.equal(h.bins[0].from, sorted[0]);
  for (const b of h.bins) {
    assert.equal(b.to - b.from, h.bins[0].to - h.bins[0].from);
    assert.equal(b.count, g.nullGreenHits.filter((x) => x >= b.from && x < b.to).length);
  }
  assert.ok(close(h.mean, g.nullGreenHits.reduce((a, b) => a + b, 0) / g.nullGreenHits.length));

  // The normal curve: 81 points, its area over the bins ≈ M (it is scaled to the counts), its
  // peak at E[G] is M · width / (sd √(2π)).
  const width = h.bins[0].to - h.bins[0].from;
  const M = g.nullGreenHits.length;
  assert.equal(h.normalCurve.length, 81);
  let area = 0;
  for (let i = 1; i < h.normalCurve.length; i++) {
    const [a, b] = [h.normalCurve[i - 1], h.normalCurve[i]];
    area += ((a.y + b.y) / 2) * (b.x - a.x);
  }
  assert.ok(Math.abs(area / width / M - 1) < 0.01, `area ${area} vs ${M * width}`);
  const density = (x: number) =>
    ((M * width) / (g.sdHits * Math.sqrt(2 * Math.PI))) *
    Math.exp(-0.5 * ((x - g.expectedHits) / g.sdHits) ** 2);
  for (const p of h.normalCurve) assert.ok(close(p.y, density(p.x), 1e-9));
  assert.ok(h.normalCurve[0].x <= Math.min(g.expectedHits - 4 * g.sdHits, sorted[0]));
});

test('GREW figures without null keys: no null shares, no range, an empty histogram', () => {
  const g = measuredGrew(5, 0);
  const f = grewFigures(g);
  assert.equal(f.greenPerProbe.nullKeys, null);
  assert.equal(f.greenPerProbe.nullKeysMean, null);
  assert.equal(f.nullHits.range, null);
  assert.deepEqual(f.nullHits.bins, []);
  assert.equal(f.nullKeysReached, 0);
  // Still drawable: the curve needs only E[G] and sd.
  assert.equal(f.nullHits.normalCurve.length, g.sdHits > 0 ? 81 : 0);
  // The figures survive JSON (a saved report): nothing turns into null on the way.
  assert.deepEqual(JSON.parse(JSON.stringify(grewEvidence(g))), grewEvidence(g));
});

test('AOW figures: hits per K, best rank, rank shares and Fisher degrees of freedom', () => {
  const N = 3650;
  const ranks = [1, 3, 50, 2000];
  const { evidence: e } = aowStatistics(ranks, N);
  const f = e.figures!;
  assert.equal(f.steps, 4);
  for (const k of e.ks) assert.equal(f.hits[k], e.recall[k] * f.steps, `hits at K = ${k}`);
  assert.deepEqual(f.hits, { '1': 1, '5': 2, '10': 2, '20': 2, '100': 3 });
  assert.equal(f.bestRank, 1);
  assert.equal(f.randomMedianRank, (N + 1) / 2);
  assert.deepEqual(
    f.rankShares,
    ranks.map((r) => r / N),
  );
  assert.deepEqual(f.rankedFirst, [true, false, false, false]);
  assert.deepEqual(f.rankedTop10, [true, true, false, false]);
  assert.equal(f.fisherDegreesOfFreedom, 8);
  const { figures, ...measured } = e;
  assert.deepEqual(aowFigures(measured), figures);
});

test('AOW figures of an endpoint audit: a censored rank is a share it lies below', () => {
  const { evidence: e } = aowStatistics([1, 101, 101], 1000, { censored: [false, true, true] });
  const f = e.figures!;
  // Known for K up to 100 (every censored rank is above it), so those are tested.
  assert.deepEqual(e.ks, [1, 5, 10, 20, 100]);
  assert.deepEqual(f.hits, { '1': 1, '5': 1, '10': 1, '20': 1, '100': 1 });
  assert.deepEqual(f.rankShares, [1 / 1000, 100 / 1000, 100 / 1000]);
  assert.equal(f.fisherDegreesOfFreedom, 6);
});

function row(log10: number, verdict: RobustnessRow['verdict'], extra: Partial<RobustnessRow> = {}) {
  return {
    attack: 'prune',
    label: 'Prune',
    setting: '',
    verdict,
    pValue: 10 ** log10,
    log10PValue: log10,
    pValueText: '',
    ms: 1,
    ...extra,
  } satisfies RobustnessRow;
}

test('robustness figures: counts, −log10 p per row, the α line and the NDCG change', () => {
  const rows: RobustnessRow[] = [
    row(-9, 'present', { ndcg: 0.12 }),
    row(0, 'absent', { error: 'could not run', ndcg: 0.5 }),
    row(-2.5, 'inconclusive', { ndcg: 0.15 }),
    row(0.1, 'absent'),
  ];
  const f = robustnessFigures(rows, 1e-4, 0.1);
  assert.equal(f.ran, 3);
  assert.equal(f.survived, 1);
  assert.equal(f.notRun, 1);
  assert.ok(close(f.alphaEvidence, 4));
  // A log10 p above 0 (rounding) never draws a negative bar.
  assert.deepEqual(f.evidence, [9, null, 2.5, 0]);
  assert.equal(f.ndcgChange[1], null, 'a row that did not run has no change');
  assert.equal(f.ndcgChange[3], null, 'no NDCG, no change');
  assert.ok(close(f.ndcgChange[0]!, 0.12 / 0.1 - 1));
  assert.ok(close(f.ndcgChange[2]!, 0.15 / 0.1 - 1));
  // Without the watermarked model's NDCG (or with 0) there is nothing to compare to.
  assert.deepEqual(robustnessFigures(rows, 1e-4).ndcgChange, [null, null, null, null]);
  assert.deepEqual(robustnessFigures(rows, 1e-4, 0).ndcgChange, [null, null, null, null]);

  const section = robustnessSection(rows, 1e-4);
  assert.ok(!('ndcg' in section), 'no NDCG key when there is none');
  assert.deepEqual(robustnessSection(rows, 1e-4, 0.1), {
    ndcg: 0.1,
    rows,
    figures: robustnessFigures(rows, 1e-4, 0.1),
  });
});

/** The one core value module the webview bundles: the parameter labels, plain data. */
const WEBVIEW_VALUE_IMPORTS = ['../../src/core/report/labels'];

test('the webview takes only types from core: it draws the figures, it cannot recompute them', () => {
  const dir = path.join(ROOT, 'webview/src');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const text = readFileSync(path.join(dir, file), 'utf8');
    for (const m of text.matchAll(/^import\s+(type\s+)?[^;]*?from\s+'([^']+)';/gms)) {
      if (m[2].includes('/src/') && !WEBVIEW_VALUE_IMPORTS.includes(m[2]))
        assert.ok(m[1], `${file} imports values from ${m[2]}`);
    }
  }
  // The labels table is bundled into the webview as it is: it must import nothing itself.
  for (const module of WEBVIEW_VALUE_IMPORTS) {
    const text = readFileSync(path.join(dir, `${module}.ts`), 'utf8');
    assert.doesNotMatch(text, /^import\b/m, `${module} imports nothing`);
  }
});

test('utility rows carry their relative change, so the CLI, the log and the panel show one number', () => {
  const row = utilityRow('NDCG@10', 0.25, 0.2, [-0.3, -0.1]);
  assert.ok(Math.abs((row.change ?? NaN) - (0.2 / 0.25 - 1)) < 1e-15);
  assert.deepEqual(row.ci95, [-0.3, -0.1]);
  // A metric at 0 before has no relative change: the row says so by leaving it out.
  const zero = utilityRow('Recall@10', 0, 0.1);
  assert.equal(zero.change, undefined);
  assert.equal('ci95' in zero, false);
});
