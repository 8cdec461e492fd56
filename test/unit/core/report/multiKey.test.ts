/** Several keys on one model: the verdict is corrected for the number of keys tried (Bonferroni). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withExplanation } from '../../../../src/core/report/explain';
import { correctForKeys } from '../../../../src/core/report/multiKey';
import { reportVerdict, type AuditReport, type KeyCheck } from '../../../../src/core/report/report';
import { reportLines } from '../../../../src/core/report/text';

const ALPHA = 1e-4;
const p = (x: number) => ({ value: x, log10: Math.log10(x) });

function report(pValue: number, keyId: string, extra: Partial<AuditReport> = {}): AuditReport {
  return withExplanation({
    kind: 'recmark-audit',
    version: 1,
    createdAt: '2026-01-01T00:00:00.000Z',
    scheme: 'aow',
    ...reportVerdict('aow', p(pValue), ALPHA),
    model: {
      fileName: 'suspect.onnx',
      sha256: 'a'.repeat(64),
      bytes: 1,
      numItems: 100,
      parameters: 1,
      opset: 17,
      input: 'seq',
      output: 'scores',
      outputRank: 2,
      padding: 'left',
      maskId: null,
    },
    keyId,
    parameters: {},
    timings: [],
    ...extra,
  });
}

const check = (r: AuditReport): KeyCheck => ({
  keyId: r.keyId,
  scheme: r.scheme,
  verdict: r.verdict,
  pValueText: r.pValueText,
  log10PValue: r.log10PValue,
});

test('a p that passes α alone fails α / 3 with 3 keys tried', () => {
  const best = report(5e-5, 'k1');
  assert.equal(best.verdict, 'present', 'alone, 5e-5 < α = 1e-4');
  const others = [report(0.2, 'k2'), report(0.7, 'k3')];
  const corrected = correctForKeys(best, [best, ...others].map(check));
  assert.notEqual(corrected.verdict, 'present');
  assert.equal(corrected.verdict, 'inconclusive', 'still below 0.01: suggestive, not decided');
  assert.deepEqual(corrected.correction, { keys: 3, alpha: ALPHA / 3 });
  // The p-value itself is the key's own; what changed is what it is compared with.
  assert.equal(corrected.pValue, 5e-5);
  assert.equal(corrected.keyChecks?.[0].verdict, 'inconclusive');
  assert.match(corrected.sentence, /not enough to decide at α = 3\.3e-5/);
  // The report says so, in every view.
  assert.equal(corrected.explanation?.alphaText, '3.3e-5 (1.0e-4 corrected for 3 keys tried)');
  assert.match(
    corrected.explanation?.decidedBy ?? '',
    /With 3 keys tried, it is compared with α \/ 3/,
  );
  const lines = reportLines(corrected);
  assert.match(
    lines[0],
    /^INCONCLUSIVE {2}\(AOW, p = 5\.0e-5, α = 3\.3e-5, corrected for 3 keys tried\)$/,
  );
  assert.ok(lines.some((l) => /^Corrected for 3 keys tried: .*α \/ 3 = 3\.3e-5/.test(l)));
});

test('strong evidence stays present after the correction; the same p with one key is uncorrected', () => {
  const best = report(1e-9, 'k1');
  const corrected = correctForKeys(best, [best, report(0.5, 'k2')].map(check));
  assert.equal(corrected.verdict, 'present');
  assert.deepEqual(corrected.correction, { keys: 2, alpha: ALPHA / 2 });
  const alone = correctForKeys(report(5e-5, 'k1'), [check(report(5e-5, 'k1'))]);
  assert.equal(alone.verdict, 'present');
  assert.equal(alone.correction, undefined);
});

test('a key that could not be checked tested nothing: it does not count towards m', () => {
  const best = report(3e-5, 'k1');
  const failed: KeyCheck = {
    keyId: 'k9',
    scheme: 'aow',
    verdict: 'inconclusive',
    pValueText: '—',
    log10PValue: 0,
    error: 'another catalogue',
  };
  const corrected = correctForKeys(best, [check(best), check(report(0.4, 'k2'))], [failed]);
  assert.equal(corrected.correction?.keys, 2);
  assert.equal(corrected.verdict, 'present', '3e-5 < 1e-4 / 2');
  assert.equal(corrected.keyChecks?.length, 3);
  assert.equal(corrected.keyChecks?.[2].error, 'another catalogue');
});

test("a note after the verdict's words survives the correction", () => {
  const best = report(5e-5, 'k1');
  best.sentence += ' 3 of 4 watermark prefixes were unusable.';
  const corrected = correctForKeys(best, [best, report(0.3, 'k2'), report(0.3, 'k3')].map(check));
  assert.match(corrected.sentence, /α = 3\.3e-5; audit with more probes\. 3 of 4 watermark/);
});
