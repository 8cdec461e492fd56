/**
 * The report for people: one deciding p up front with its sentence, the supporting statistics
 * under "Details" with what each means (src/core/report/explain.ts, text.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { explainReport, withExplanation } from '../../../../src/core/report/explain';
import { grewEvidence } from '../../../../src/core/report/figures';
import { reportVerdict, type AuditReport } from '../../../../src/core/report/report';
import { reportLines } from '../../../../src/core/report/text';
import { normalSf } from '../../../../src/core/stats/tests';
import { aowStatistics } from '../../../../src/core/watermark/aowStats';

const MODEL: AuditReport['model'] = {
  fileName: 'suspect.onnx',
  sha256: 'b'.repeat(64),
  bytes: 1,
  numItems: 3650,
  parameters: 1,
  opset: 17,
  input: 'seq',
  output: 'scores',
  outputRank: 2,
  padding: 'left',
  maskId: null,
};

function grewReport(z: number, zNull: number, zClassic: number): AuditReport {
  const pValue = normalSf(Math.min(z, zNull));
  const classic = normalSf(zClassic);
  return {
    kind: 'recmark-audit',
    version: 1,
    createdAt: '2026-01-01T00:00:00.000Z',
    scheme: 'grew',
    ...reportVerdict('grew', pValue, 1e-4),
    model: MODEL,
    keyId: 'k1',
    parameters: { probes: 1000, topK: 20, nullKeys: 200, seed: 1, gamma: 0.5, probeSource: 'data' },
    timings: [],
    grew: grewEvidence({
      z,
      zNull,
      zClassic,
      pEmpirical: 1 / 201,
      pClassic: classic.value,
      pClassicText: '2.0e-663', // what older reports carried
      greenHits: 14_000,
      trials: 20_000,
      expectedHits: 10_000,
      sdHits: 420,
      gamma: 0.5,
      topK: 20,
      probes: 1000,
      nullKeys: 200,
      distinctItems: 900,
      probeSource: 'data',
      perProbeGreen: [14],
      nullPerProbeGreen: [10],
      greenRateByRank: [0.7],
      nullGreenHits: [9_990, 10_020],
    }),
  };
}

test('GREW: the deciding p up front with its sentence, the rest under Details with meanings', () => {
  const r = withExplanation(grewReport(9.4, 9.9, 55));
  const lines = reportLines(r);
  assert.match(lines[0], /^PRESENT {2}\(GREW, p = 2\.7e-21, α = 1\.0e-4\)$/);
  assert.equal(
    lines[1],
    'p = 2.7e-21: a model without this watermark would show evidence this strong about once in 3.7e20 audits.',
  );
  assert.ok(lines.includes(r.sentence));
  assert.match(lines.join('\n'), /The deciding p is the normal tail beyond z_w = 9\.40/);
  const details = lines.indexOf('Details');
  assert.ok(details > 1, 'a Details heading after the verdict');
  const below = lines.slice(details).join('\n');
  assert.match(
    below,
    /z_w \(popularity-aware\): z = 9\.40 std\. deviations above chance {2}← decides\n {6}Green hits against/,
  );
  assert.match(
    below,
    /Empirical p \(null keys\): 0\.005 \(0 of 200 null keys reached G\)\n {6}No random key did as well; .* cannot go below 1\/201 = 0\.005/,
  );
  assert.match(
    below,
    /Classic z \(KGW\): z = 55\.00 std\. deviations above chance, p = 2\.0e-663\n {6}.*never decides/,
  );
  // Parameters read with their labels, not camelCase keys.
  const params = lines.find((l) => l.startsWith('Parameters: '));
  assert.ok(params?.includes('Green fraction γ 0.5'), params);
  assert.ok(params?.includes('Top-k list length 20'), params);
  assert.doesNotMatch(params ?? '', /topK|nullKeys|probeSource/);
});

test('z_null deciding is marked; a z of 0 reads "at chance" in the details and the figures', () => {
  const r = grewReport(1.2, -0.004, 0.3);
  const x = explainReport(r);
  const zNull = x.details.find((d) => d.label.startsWith('z_null'));
  assert.equal(zNull?.decides, true);
  assert.equal(zNull?.value, 'z = 0.00, at chance');
  assert.equal(x.details.find((d) => d.label.startsWith('z_w'))?.decides, undefined);
  assert.equal(r.grew?.figures?.zDecisionNote, 'at chance');
  assert.equal(grewReport(-2, -2, -2).grew?.figures?.zDecisionNote, 'std. deviations below chance');
  assert.match(x.decidedBy, /beyond z_null = 0\.00, the more conservative/);
  assert.match(x.pSentence, /^p = 0\.50: .* about once in 2 audits\.$/);
});

test('a saved report from before explanations reads the same in the CLI (explained on the fly)', () => {
  const r = grewReport(9.4, 9.9, 55);
  assert.equal(r.explanation, undefined);
  assert.deepEqual(reportLines(r), reportLines(withExplanation(r)));
});

test('AOW: binomial and Fisher p under Details, ranks as "rank r of N (top/bottom x%)"', () => {
  const stats = aowStatistics([1, 3568, 2, 1], 3650);
  const r = withExplanation({
    kind: 'recmark-audit',
    version: 1,
    createdAt: '2026-01-01T00:00:00.000Z',
    scheme: 'aow',
    ...reportVerdict('aow', stats.pValue, 1e-4),
    model: MODEL,
    keyId: 'k1',
    parameters: { length: 5, queries: 4, bottomM: 100, start: 'cold' },
    timings: [],
    aow: stats.evidence,
  });
  const text = reportLines(r).join('\n');
  assert.match(
    text,
    /The deciding p is the smallest of \d p-values \(binomial at K = 1, 5, 10, 20, 100 and Fisher's\), multiplied by \d \(Bonferroni\)\./,
  );
  assert.match(text, /Step 2: rank 3,568 of 3,650 \(bottom 2\.3%\)/);
  assert.match(text, /Step 1: rank 1 of 3,650 \(top 0\.027%\)/);
  assert.match(
    text,
    /Binomial p at K = 1: 2 of 4 steps in the top 1, p = \S+\n {6}The chance that a model ranking the targets at random/,
  );
  assert.match(text, /Fisher’s combined p: X = [\d.]+, p = \S+/);
  assert.match(text, /Watermark length L 5 · Queries \(L − 1 prefixes\) 4/);
  assert.deepEqual(r.aow?.figures?.rankPositions, [
    'top 0.027%',
    'bottom 2.3%',
    'top 0.055%',
    'top 0.027%',
  ]);
  assert.doesNotMatch(text, /top 98%/);
});

test('no evidence: no p-value is claimed and nothing is detailed as if it were', () => {
  const r = withExplanation({
    kind: 'recmark-audit',
    version: 1,
    createdAt: '2026-01-01T00:00:00.000Z',
    scheme: 'aow',
    ...reportVerdict('aow', { value: Number.NaN, log10: Number.NaN }, 1e-4, 'every row was NaN'),
    model: MODEL,
    keyId: 'k1',
    parameters: {},
    timings: [],
  });
  const lines = reportLines(r);
  assert.match(lines[0], /^INCONCLUSIVE {2}\(AOW, p = —, α = 1\.0e-4\)$/);
  assert.equal(lines[1], 'No verdict: every row was NaN.');
  assert.equal(r.explanation?.pSentence, '');
  assert.equal(r.explanation?.decidedBy, '');
  assert.ok(!lines.includes('Details'));
});
