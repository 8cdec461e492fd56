import assert from 'node:assert/strict';
import { test } from 'node:test';
import { REPORT_ELEMENT_ID, reportToHtml } from '../../src/core/report/html';
import type { AuditReport } from '../../src/core/report/report';
import { binomialPmf, histogramBins, shares } from '../../webview/src/histograms';

/** A GREW audit as `recmark verify` writes it, with small chart arrays. */
function sampleReport(fileName = 'sasrec_ml1m_suspect.onnx'): AuditReport {
  return {
    kind: 'recmark-audit',
    version: 1,
    createdAt: '2026-05-14T09:41:07.512Z',
    scheme: 'grew',
    verdict: 'present',
    pValue: 3.1e-13,
    log10PValue: -12.51,
    pValueText: '3.1e-13',
    alpha: 1e-4,
    sentence:
      'The chance that an unrelated model shows this much green-item bias is below 1 in 10^12.',
    model: {
      fileName,
      sha256: '9f2c4e1b7a0d3c58e6f41b2a9d07c3e5b8a16f4d2e9c0b7a5f3d1e8c6b4a2f09',
      bytes: 14_873_216,
      numItems: 3706,
      parameters: 3_716_224,
      opset: 17,
      input: 'item_seq',
      output: 'scores',
      outputRank: 2,
      padding: 'left',
      maskId: null,
    },
    keyId: 'grew-7c1e93a4d2b8',
    parameters: { probes: 8, topK: 5, nullKeys: 6, seed: 1, gamma: 0.5, probeSource: 'data' },
    timings: [
      { step: 'load', ms: 412 },
      { step: 'queries', ms: 6120 },
      { step: 'statistics', ms: 233 },
    ],
    grew: {
      z: 7.21,
      zNull: 6.94,
      zClassic: 12.4,
      pEmpirical: 1 / 7,
      pClassic: 1.2e-35,
      pClassicText: '1.2e-35',
      greenHits: 31,
      trials: 40,
      expectedHits: 20.1,
      sdHits: 1.51,
      gamma: 0.5,
      topK: 5,
      probes: 8,
      nullKeys: 6,
      distinctItems: 23,
      probeSource: 'data',
      perProbeGreen: [4, 5, 3, 4, 4, 5, 3, 3],
      nullPerProbeGreen: [2, 3, 2, 1, 3, 2, 4, 2],
      greenRateByRank: [0.875, 0.875, 0.75, 0.75, 0.625],
      nullGreenHits: [19, 21, 20, 22, 18, 20],
    },
    utility: [
      { metric: 'Recall@10', before: 0.2431, after: 0.2417 },
      { metric: 'NDCG@10', before: 0.1302, after: 0.1295 },
    ],
  };
}

const assets = {
  script:
    'document.getElementById("app").textContent = "rendered";\n//# sourceMappingURL=webview.js.map\n',
  css: 'body { color: var(--rm-fg); }',
};

function embeddedJson(html: string): string {
  const match = new RegExp(
    `<script type="application/json" id="${REPORT_ELEMENT_ID}">([\\s\\S]*?)</script>`,
  ).exec(html);
  assert.ok(match, 'the report JSON block is present');
  return match[1];
}

function csp(html: string): string {
  const match = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html);
  assert.ok(match, 'a CSP meta element is present');
  return match[1].replace(/&#39;/g, "'");
}

test('the report JSON round-trips out of the HTML', () => {
  const report = sampleReport();
  const html = reportToHtml(report, assets);
  assert.deepEqual(JSON.parse(embeddedJson(html)), report);
  assert.ok(html.startsWith('<!DOCTYPE html>'));
  assert.ok(html.includes(assets.css), 'the stylesheet is inlined');
  assert.ok(html.includes('textContent = "rendered"'), 'the bundle is inlined');
  assert.ok(!html.includes('sourceMappingURL'), 'no source map reference to a missing file');
});

test('a hostile string in the report cannot break out of the JSON block', () => {
  const evil = '</script><script>alert(1)</script>';
  const report = sampleReport(`${evil}.onnx`);
  report.keyId = '<!--<script>';
  report.parameters.note = '</SCRIPT ><img src=x onerror=alert(2)>';
  const html = reportToHtml(report, assets);
  const json = embeddedJson(html);
  assert.ok(!json.includes('<'), 'no raw "<" inside the JSON block');
  assert.deepEqual(JSON.parse(json), report, 'the strings survive intact');
  assert.ok(!html.includes('<script>alert(1)'), 'no injected script element anywhere');
  assert.ok(!/<img/i.test(html), 'no injected markup anywhere');
  // Exactly two script elements: the JSON block and the nonce'd bundle.
  assert.equal(html.match(/<script[\s>]/gi)?.length, 2);
  assert.equal(html.match(/<\/script>/gi)?.length, 2);
  // The title and the no-script summary carry the name escaped.
  assert.ok(html.includes('&#60;/script&#62;&#60;script&#62;alert(1)'));
});

test('a bundle or stylesheet containing a closing tag stays inside its element', () => {
  const html = reportToHtml(sampleReport(), {
    script: 'const s = "</script><p>oops</p>"; const r = /<\\/script>/;',
    css: '/* </style><p>oops</p> */ body { margin: 0 }',
  });
  assert.equal(html.match(/<\/script>/gi)?.length, 2);
  assert.equal(html.match(/<\/style>/gi)?.length, 1);
  // What would have closed the element is now inert text inside it.
  assert.ok(html.includes('const s = "<\\/script><p>oops</p>"'));
  assert.ok(html.includes('/* <\\/style><p>oops</p> */'));
});

test('the CSP allows only the inlined script (by nonce) and inline styles, nothing remote', () => {
  const html = reportToHtml(sampleReport(), assets);
  const policy = csp(html);
  const directives = new Map(
    policy.split(';').map((d) => {
      const [name, ...values] = d.trim().split(/\s+/);
      return [name, values] as const;
    }),
  );
  assert.deepEqual(directives.get('default-src'), ["'none'"]);
  assert.deepEqual(directives.get('style-src'), ["'unsafe-inline'"]);
  assert.deepEqual(directives.get('img-src'), ['data:']);
  const scriptSrc = directives.get('script-src') ?? [];
  assert.equal(scriptSrc.length, 1);
  const nonce = /^'nonce-([A-Za-z0-9+/=]{16,})'$/.exec(scriptSrc[0])?.[1];
  assert.ok(nonce, `script-src is a single nonce: ${scriptSrc[0]}`);
  assert.ok(html.includes(`<script nonce="${nonce}">`), 'the bundle carries the nonce');
  assert.doesNotMatch(policy, /https?:|\/\/|\*|'unsafe-eval'|blob:/, 'no remote origins');
  assert.doesNotMatch(html, /<(script|link|img|iframe)[^>]+(src|href)=/i, 'nothing is loaded');
  // A fresh nonce for every export.
  assert.notEqual(csp(reportToHtml(sampleReport(), assets)), policy);
});

test('no secret reaches the export, even if one was smuggled into the object', () => {
  const html = reportToHtml(sampleReport(), assets);
  assert.doesNotMatch(html, /secret/i);
  const smuggled = sampleReport() as AuditReport & { secret?: string };
  smuggled.secret = 'a3'.repeat(32);
  (smuggled.parameters as Record<string, unknown>).keySecret = 'ff'.repeat(32);
  const leaked = reportToHtml(smuggled, assets);
  assert.doesNotMatch(leaked, /secret/i);
  assert.ok(!leaked.includes('a3'.repeat(32)));
  assert.ok(!leaked.includes('ff'.repeat(32)));
});

test('chart presentation math: Binomial reference curve and histogram bins', () => {
  const pmf = binomialPmf(20, 0.5);
  assert.equal(pmf.length, 21);
  assert.ok(Math.abs(pmf.reduce((a, b) => a + b, 0) - 1) < 1e-12);
  assert.ok(Math.abs(pmf[10] - 184756 / 2 ** 20) < 1e-12);
  assert.ok(Math.abs(binomialPmf(3, 0.25)[0] - 0.75 ** 3) < 1e-12);
  assert.deepEqual(binomialPmf(2, 0), [1, 0, 0]);
  const large = binomialPmf(1000, 0.1);
  assert.ok(large.every(Number.isFinite));
  assert.ok(Math.abs(large.reduce((a, b) => a + b, 0) - 1) < 1e-9);

  assert.deepEqual(shares([0, 2, 2, 5, 9], 4), [0.2, 0, 0.4, 0, 0.4]);

  const values = [19, 21, 20, 22, 18, 20, 100];
  const bins = histogramBins(values, 4);
  assert.equal(
    bins.reduce((a, b) => a + b.count, 0),
    values.length,
  );
  assert.equal(bins[0].from, 18);
  assert.ok(bins.at(-1)!.to > 100 && bins.at(-1)!.count === 1);
  assert.ok(bins.every((b) => b.to - b.from === bins[0].to - bins[0].from));
  assert.deepEqual(histogramBins([7, 7, 7]), [{ from: 7, to: 8, count: 3 }]);
  assert.deepEqual(histogramBins([]), []);
});

test('a bundle that would confuse the HTML parser is refused, not written', () => {
  assert.throws(
    () => reportToHtml(sampleReport(), { script: 'const a = "<!--<script>";', css: '' }),
    /cannot be inlined/,
  );
  // The harmless form (FAST's template markers) passes.
  assert.doesNotThrow(() =>
    reportToHtml(sampleReport(), { script: 'const m = `<!--${x}:${i}-->`;', css: '' }),
  );
});
