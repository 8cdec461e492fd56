import { ROOT } from '../../../support/helpers';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import * as esbuild from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { withExplanation } from '../../../../src/core/report/explain';
import { aowFigures, grewEvidence, robustnessSection } from '../../../../src/core/report/figures';
import {
  REPORT_ELEMENT_ID,
  reportToHtml,
  type ReportAssets,
} from '../../../../src/core/report/html';
import { correctForKeys } from '../../../../src/core/report/multiKey';
import {
  reportVerdict,
  utilityRow,
  type AowEvidence,
  type AuditReport,
  type KeyCheck,
  type RobustnessRow,
} from '../../../../src/core/report/report';
import { histogramBins, shares } from '../../../../src/core/stats/histogram';
import {
  binomialPmf,
  binomialSf,
  fisherCombination,
  formatPValue,
} from '../../../../src/core/stats/tests';
import { percentSmall } from '../../../../webview/src/format';

/** A GREW audit as `recmark verify` writes it, with small chart arrays. */
function sampleReport(fileName = 'sasrec_ml1m_suspect.onnx'): AuditReport {
  return withExplanation({
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
    grew: grewEvidence({
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
    }),
    utility: [utilityRow('Recall@10', 0.2431, 0.2417), utilityRow('NDCG@10', 0.1302, 0.1295)],
  });
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
  // The nonce is random base64 and may itself contain "//", so it is taken out first.
  const sources = policy.replace(`'nonce-${nonce}'`, "'nonce'");
  assert.doesNotMatch(sources, /https?:|\/\/|\*|'unsafe-eval'|blob:/, 'no remote origins');
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

test('small shares keep two significant figures instead of rounding to zero', () => {
  assert.equal(percentSmall(1 / 3650), '0.027%');
  assert.equal(percentSmall(100 / 3650), '2.7%');
  assert.equal(percentSmall(1), '100%');
  assert.equal(percentSmall(0.25), '25%');
  assert.equal(percentSmall(0), '0%');
  assert.equal(percentSmall(1e-7), '1e-5%');
});

// ---- AOW and multi-key reports, rendered by the real webview bundle in Chromium --------------

/**
 * The watermark sequence is the secret of an AOW key: these ids must never be rendered. The report
 * type has no field for them; the test smuggles them in (as a careless producer might) to prove the
 * view shows only the fields it knows. Distinctive numbers, so a leak cannot hide in other text.
 */
const SECRET_SEQUENCE = [271828, 314159, 161803, 141421, 173205];

const N_ITEMS = 3650;
const KS = [1, 5, 10, 20, 100];

/** AOW evidence as `recmark verify` computes it (DESIGN.md §3), from the per-step ranks. */
function aowEvidence(ranks: number[], numItems = N_ITEMS): AowEvidence {
  const steps = ranks.length;
  const rec = <T>(f: (k: number) => T): Record<string, T> =>
    Object.fromEntries(KS.map((k) => [String(k), f(k)]));
  const hits = (k: number): number => ranks.filter((r) => r <= k).length;
  const binomial = (k: number) => binomialSf(hits(k), steps, k / numItems);
  const fisher = fisherCombination(ranks.map((r) => r / numItems));
  const measured: Omit<AowEvidence, 'figures'> = {
    length: steps + 1,
    numItems,
    ranks,
    ks: KS,
    recall: rec((k) => hits(k) / steps),
    ndcg: rec((k) => ranks.reduce((s, r) => s + (r <= k ? 1 / Math.log2(r + 1) : 0), 0) / steps),
    chance: rec((k) => k / numItems),
    pBinomial: rec((k) => binomial(k).value),
    pBinomialText: rec((k) => formatPValue(binomial(k))),
    fisherStatistic: fisher.statistic,
    pFisher: fisher.pValue.value,
    pFisherText: formatPValue(fisher.pValue),
    combination: `The verdict's p-value is the smallest of the ${KS.length} binomial p-values and Fisher's p, multiplied by ${KS.length + 1} (Bonferroni), so looking at several tests cannot manufacture evidence.`,
  };
  return { ...measured, figures: aowFigures(measured) };
}

function aowReport(ranks: number[]): AuditReport {
  const aow = aowEvidence(ranks);
  const ps = [...KS.map((k) => aow.pBinomial[String(k)]), aow.pFisher];
  const log10 = Math.min(0, Math.log10(Math.min(...ps)) + Math.log10(ps.length));
  const verdict = reportVerdict('aow', { value: 10 ** log10, log10 }, 1e-4);
  const base = sampleReport('sasrec_ml1m_aow_suspect.onnx');
  const report: AuditReport = {
    ...base,
    scheme: 'aow',
    ...verdict,
    model: { ...base.model, numItems: N_ITEMS },
    keyId: 'aow-5e0b2c7f19d4',
    parameters: { length: aow.length, alpha: 1e-4, ks: KS.join(',') },
    timings: [
      { step: 'load', ms: 388 },
      { step: 'queries', ms: 41 },
      { step: 'statistics', ms: 2 },
    ],
    aow,
  };
  delete report.grew;
  delete report.utility;
  // Smuggled, as described above SECRET_SEQUENCE.
  (aow as AowEvidence & { sequence?: number[] }).sequence = SECRET_SEQUENCE;
  return withExplanation(report);
}

const watermarkedAow = (): AuditReport => aowReport([1, 1, 1, 1]);
const cleanAow = (): AuditReport => aowReport([1830, 212, 3011, 77]);

function multiKeyReport(): AuditReport {
  const report = watermarkedAow();
  const [first, second, failed]: KeyCheck[] = [
    {
      keyId: report.keyId,
      scheme: 'aow',
      verdict: report.verdict,
      pValueText: report.pValueText,
      log10PValue: report.log10PValue,
    },
    {
      keyId: 'aow-91c4a0e6b3f2',
      scheme: 'aow',
      verdict: 'absent',
      pValueText: '0.63',
      log10PValue: Math.log10(0.63),
    },
    {
      keyId: 'grew-7c1e93a4d2b8',
      scheme: 'grew',
      verdict: 'inconclusive',
      pValueText: '1.0',
      log10PValue: 0,
      error: 'The key was made for a catalogue of 3,706 items; this model has 3,650.',
    },
  ];
  // Two keys were checked (the third could not be): the verdict meets α / 2.
  return correctForKeys(report, [first, second], [failed]);
}

const CHROMIUM = process.env.RECMARK_CHROMIUM ?? '/usr/bin/chromium';
const noBrowser = existsSync(CHROMIUM)
  ? false
  : `no Chromium at ${CHROMIUM} (set RECMARK_CHROMIUM, or run test/e2e/setup.sh)`;

let browser: Promise<Browser> | undefined;
let assetsOnce: Promise<ReportAssets> | undefined;
after(async () => {
  if (browser) await (await browser).close();
});

/** The export's real assets: the webview bundled from source as scripts/build.mjs does, the css. */
function realAssets(): Promise<ReportAssets> {
  assetsOnce ??= esbuild
    .build({
      entryPoints: [path.join(ROOT, 'webview/src/main.ts')],
      bundle: true,
      platform: 'browser',
      format: 'iife',
      target: 'es2022',
      write: false,
      logLevel: 'silent',
    })
    .then((out) => ({
      script: out.outputFiles[0].text,
      css: readFileSync(path.join(ROOT, 'media/recmark.css'), 'utf8'),
    }));
  return assetsOnce;
}

interface Rendered {
  /** What a reader sees (innerText of the page: closed <details> excluded). */
  visible: string;
  /** Every text node and attribute value under the app root, rendered or not. */
  everything: string;
  tables: { label: string; header: string[]; rows: string[][] }[];
  /** The report's section headings (h2), in document order. */
  headings: string[];
  canvases: { label: string; width: number; height: number; painted: boolean }[];
  errors: string[];
}

/** The standalone export opened in Chromium: what the bundle drew, as text and numbers. */
async function renderExport(report: AuditReport): Promise<Rendered> {
  const html = reportToHtml(report, await realAssets());
  browser ??= chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run'],
    timeout: 60_000,
  });
  const context = await (await browser).newContext({ viewport: { width: 1280, height: 1000 } });
  try {
    await context.addInitScript({
      content: `document.addEventListener('securitypolicyviolation', (e) =>
        console.error('CSP violation: ' + e.violatedDirective));`,
    });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.setContent(html, { waitUntil: 'load', timeout: 30_000 });
    await page.waitForSelector('.rm-report', { timeout: 10_000 });
    // No named function bindings inside: tsx would wrap them in a helper the page lacks.
    const result = await page.evaluate(() => {
      const app = document.getElementById('app')!;
      const parts: string[] = [app.textContent ?? ''];
      for (const node of Array.from(app.querySelectorAll('*')))
        for (const attr of Array.from(node.attributes)) parts.push(attr.value);
      return {
        visible: app.innerText,
        everything: parts.join('\n'),
        headings: Array.from(app.querySelectorAll('h2')).map((h) => (h.textContent ?? '').trim()),
        tables: Array.from(app.querySelectorAll('table')).map((t) => ({
          label: t.getAttribute('aria-label') ?? '',
          header: Array.from(t.querySelectorAll('thead th')).map((c) =>
            (c.textContent ?? '').trim(),
          ),
          rows: Array.from(t.querySelectorAll('tbody tr')).map((r) =>
            Array.from(r.children).map((c) => (c.textContent ?? '').trim()),
          ),
        })),
        canvases: Array.from(app.querySelectorAll('canvas')).map((c) => {
          const data = c.getContext('2d')?.getImageData(0, 0, c.width, c.height).data;
          let painted = false;
          for (let i = 3; data && i < data.length; i += 4)
            if (data[i] > 0) {
              painted = true;
              break;
            }
          return {
            label: c.getAttribute('aria-label') ?? '',
            width: c.width,
            height: c.height,
            painted,
          };
        }),
      };
    });
    return { ...result, errors };
  } finally {
    await context.close();
  }
}

function table(r: Rendered, label: string): string[][] {
  const found = r.tables.find((t) => t.label === label);
  assert.ok(
    found,
    `a table labelled "${label}" (have: ${r.tables.map((t) => t.label).join(', ')})`,
  );
  return found.rows;
}

test('an AOW report round-trips through the HTML export', () => {
  const report = watermarkedAow();
  assert.deepEqual(JSON.parse(embeddedJson(reportToHtml(report, assets))), report);
});

test(
  'the export renders a watermarked AOW audit: verdict, key figures, charts, steps, tests',
  { skip: noBrowser },
  async () => {
    const report = watermarkedAow();
    assert.equal(report.verdict, 'present');
    const r = await renderExport(report);
    assert.deepEqual(r.errors, []);

    assert.match(r.visible, /Watermark\s+PRESENT/);
    assert.match(r.visible, /AOW \(out-of-distribution sequence\)/);
    assert.ok(r.visible.includes(`p = ${report.pValueText}`), 'the banner carries the p-value');
    // Key figures beside the verdict.
    assert.match(r.visible, /RECALL@1\s+4\/4\s+steps ranked first/i);
    assert.match(r.visible, /BEST RANK\s+1\s+of 3,650 items/i);
    assert.match(r.visible, new RegExp(`FISHER P\\s+${report.aow!.pFisherText}`, 'i'));

    // Both figures, with captions that say what each kind of model looks like.
    assert.ok(r.visible.includes('Extraction recall at K'));
    assert.match(r.visible, /watermarked model recalls nearly every step already at K = 1/);
    assert.ok(r.visible.includes('Rank of each watermark step'));
    assert.equal(r.canvases.length, 2, 'a recall chart and a rank chart');
    for (const c of r.canvases) {
      assert.ok(
        c.width > 100 && c.height > 100,
        `canvas drawn at a real size: ${c.width}×${c.height}`,
      );
      assert.ok(c.painted, `canvas has pixels: ${c.label}`);
    }
    assert.match(r.canvases[0].label, /K = 1: 100% \(4 of 4\)/);
    assert.match(
      r.canvases[0].label,
      /Chance \(K \/ 3,650\): 0\.027% at K = 1 to 2\.7% at K = 100/,
    );

    // The recall data table (under the chart) carries chance per K, tiny values included.
    assert.deepEqual(table(r, 'Extraction recall at K'), [
      ['1', '100%', '4/4', '0.027%'],
      ['5', '100%', '4/4', '0.14%'],
      ['10', '100%', '4/4', '0.27%'],
      ['20', '100%', '4/4', '0.55%'],
      ['100', '100%', '4/4', '2.7%'],
    ]);
    // The step table is open by default: one row per prefix, no item ids.
    const steps = table(r, 'Rank of each watermark step');
    assert.deepEqual(steps, [
      ['1', 'w1 (1 item)', '1 of 3,650', 'top 0.027%', '✓', '✓'],
      ['2', 'w1…w2 (2 items)', '1 of 3,650', 'top 0.027%', '✓', '✓'],
      ['3', 'w1…w3 (3 items)', '1 of 3,650', 'top 0.027%', '✓', '✓'],
      ['4', 'w1…w4 (4 items)', '1 of 3,650', 'top 0.027%', '✓', '✓'],
    ]);
    assert.ok(r.visible.includes('w1…w4 (4 items)\t1 of 3,650'), 'the step rows are visible');

    // Statistics: hits, chance, binomial p and NDCG per K; Fisher; the combination sentence.
    const tests = table(r, 'Tests at each K');
    assert.deepEqual(tests[0], ['1', '4/4', '0.027%', report.aow!.pBinomialText['1'], '1.000']);
    assert.equal(tests.length, 5);
    assert.equal(report.aow!.pBinomialText['1'], '5.6e-15');
    const combined = table(r, 'Combined test');
    assert.deepEqual(combined[1], ['Fisher p', report.aow!.pFisherText]);
    assert.match(combined[0][1], /^65\.6 \s*\(χ² with 8 degrees of freedom/);
    assert.ok(r.visible.includes(report.aow!.combination));

    // The deciding p with its sentence, and the Details core explained, drawn as they are.
    assert.ok(r.visible.includes(report.explanation!.pSentence));
    assert.match(report.explanation!.pSentence, /^p = .*: a model without this watermark/);
    const details = table(r, 'Details');
    assert.deepEqual(details.at(-1)?.slice(0, 2), ['Step 4', 'rank 1 of 3,650 (top 0.027%)']);
    assert.equal(details.length, report.explanation!.details.length);

    // One report, one key: no keys-checked panel.
    assert.ok(!r.visible.includes('Keys checked'));
  },
);

test(
  'the export renders a clean AOW audit: ABSENT, ranks scattered, recall near chance',
  { skip: noBrowser },
  async () => {
    const report = cleanAow();
    assert.equal(report.verdict, 'absent');
    const r = await renderExport(report);
    assert.deepEqual(r.errors, []);
    assert.match(r.visible, /Watermark\s+ABSENT/);
    assert.match(r.visible, /RECALL@1\s+0\/4\s+steps ranked first/i);
    assert.match(r.visible, /BEST RANK\s+77\s+of 3,650 items/i);
    assert.equal(r.canvases.length, 2);
    assert.deepEqual(
      table(r, 'Rank of each watermark step').map((row) => [row[2], row[3], row[4], row[5]]),
      [
        ['1,830 of 3,650', 'bottom 50%', '—', '—'],
        ['212 of 3,650', 'top 5.8%', '—', '—'],
        ['3,011 of 3,650', 'bottom 18%', '—', '—'],
        ['77 of 3,650', 'top 2.1%', '—', '—'],
      ],
    );
    assert.deepEqual(
      table(r, 'Extraction recall at K').map((row) => row.slice(0, 3)),
      [
        ['1', '0%', '0/4'],
        ['5', '0%', '0/4'],
        ['10', '0%', '0/4'],
        ['20', '0%', '0/4'],
        ['100', '25%', '1/4'],
      ],
    );
    assert.deepEqual(table(r, 'Tests at each K')[4].slice(0, 4), [
      '100',
      '1/4',
      '2.7%',
      report.aow!.pBinomialText['100'],
    ]);
  },
);

test(
  'a multi-key audit lists every key checked, strongest first, errors included',
  { skip: noBrowser },
  async () => {
    const report = multiKeyReport();
    const r = await renderExport(report);
    assert.deepEqual(r.errors, []);
    assert.match(r.visible, /Watermark\s+PRESENT/);
    assert.ok(r.visible.includes('Keys checked'));
    assert.deepEqual(table(r, 'Keys checked'), [
      ['aow-5e0b2c7f19d4', 'AOW', 'PRESENT', report.pValueText, 'evidence shown below'],
      ['aow-91c4a0e6b3f2', 'AOW', 'ABSENT', '0.63', ''],
      [
        'grew-7c1e93a4d2b8',
        'GREW',
        'NOT CHECKED',
        '—',
        'The key was made for a catalogue of 3,706 items; this model has 3,650.',
      ],
    ]);
    assert.match(r.visible, /3 keys were checked on this model, strongest evidence first/);
    // The verdict is corrected for the keys tried, and the report says so.
    assert.deepEqual(report.correction, { keys: 2, alpha: 5e-5 });
    assert.match(r.visible, /Each verdict is corrected for the 2 keys tried: .*α \/ 2 = 5e-5/);
    assert.ok(r.visible.includes('α = 5.0e-5 (1.0e-4 corrected for 2 keys tried)'));
    // The evidence below is still the first key's.
    assert.equal(r.canvases.length, 2);
    assert.match(r.visible, /RECALL@1\s+4\/4/i);
  },
);

test(
  'no item id of the watermark sequence reaches the rendered AOW report',
  { skip: noBrowser },
  async () => {
    for (const report of [watermarkedAow(), cleanAow(), multiKeyReport()]) {
      const r = await renderExport(report);
      // The scan sees the rendered report: the key id, the ranks and the chart summaries.
      assert.ok(r.everything.includes(report.keyId));
      assert.ok(r.everything.includes(`Rank of each watermark step's target among 3,650 items`));
      for (const id of SECRET_SEQUENCE) {
        for (const form of [String(id), id.toLocaleString('en-US')]) {
          assert.ok(
            !r.everything.includes(form),
            `item id ${form} is rendered (${report.verdict})`,
          );
        }
      }
    }
  },
);

test(
  'the GREW export still renders its three charts through the real bundle',
  { skip: noBrowser },
  async () => {
    const r = await renderExport(sampleReport());
    assert.deepEqual(r.errors, []);
    assert.match(r.visible, /Watermark\s+PRESENT/);
    assert.equal(r.canvases.length, 3);
    assert.ok(r.canvases.every((c) => c.painted));
    assert.ok(!r.visible.includes('Rank of each watermark step'));
    assert.ok(!r.headings.includes('Robustness'), 'no sweep, no robustness section');
  },
);

test(
  'the GREW export draws the figures core recorded: key figures, statistics, chart tables',
  { skip: noBrowser },
  async () => {
    const report = sampleReport();
    const r = await renderExport(report);
    assert.deepEqual(r.errors, []);
    // 31 of 40 green, E[G] = 20.1 of 40; the verdict's z is the smaller, z_null = 6.94.
    assert.match(r.visible, /GREEN RATE\s+77\.5%\s+expected 50\.3%/i);
    assert.match(r.visible, /EVIDENCE\s+z = 6\.9\s+std\. deviations above chance/i);
    // Details: each supporting statistic with what it means; the deciding one marked.
    assert.deepEqual(
      table(r, 'Details')
        .slice(0, 3)
        .map((row) => row.slice(0, 2)),
      [
        ['z_w (popularity-aware)', 'z = 7.21 std. deviations above chance'],
        ['z_null (null keys) (decides)', 'z = 6.94 std. deviations above chance'],
        ['Empirical p (null keys)', '0.14 (0 of 6 null keys reached G)'],
      ],
    );
    // Parameters read with their labels.
    assert.deepEqual(
      table(r, 'Parameters').map((row) => row[0]),
      ['Probes', 'Top-k list length', 'Null keys', 'Seed', 'Green fraction γ', 'Probe source'],
    );
    assert.deepEqual(table(r, 'Test statistics').slice(0, 5), [
      ['Popularity-aware z (z_w)', '7.21'],
      ['Null-key z (z_null)', '6.94 (decides)'],
      ['Classic z (KGW)', '12.40  (p = 1.2e-35)'],
      ['Empirical p', '0.14  (0 of 6 null keys ≥ G)'],
      ['Green hits G / T', '31 / 40  (77.5%)'],
    ]);
    // Shares of the 8 probes with 0..5 green items, Binomial(5, 0.5) = C(5, i) / 32.
    assert.deepEqual(table(r, 'Green items per probe'), [
      ['0/5', '0.0%', '3.1%', '0.0%'],
      ['1/5', '0.0%', '15.6%', '12.5%'],
      ['2/5', '0.0%', '31.3%', '50.0%'],
      ['3/5', '37.5%', '31.3%', '25.0%'],
      ['4/5', '37.5%', '15.6%', '12.5%'],
      ['5/5', '25.0%', '3.1%', '0.0%'],
    ]);
    assert.deepEqual(table(r, 'Null distribution of green hits'), [
      ['18', '19', '1'],
      ['19', '20', '1'],
      ['20', '21', '2'],
      ['21', '22', '1'],
      ['22', '23', '1'],
    ]);
    const labels = r.canvases.map((c) => c.label);
    assert.ok(labels[0].includes('Suspect: 3.9 of 5 green on average (77.5%)'), labels[0]);
    assert.ok(labels[1].includes('5 of 5 positions above γ = 50%'), labels[1]);
    assert.ok(labels[2].includes('mean 20, range 18 to 22'), labels[2]);
    assert.ok(labels[2].includes('0 of 6 null keys reached it'), labels[2]);
  },
);

/** A report as saved before core recorded the figures: the same evidence without them. */
function withoutFigures(report: AuditReport): AuditReport {
  const old = structuredClone(report);
  delete old.grew?.figures;
  delete old.aow?.figures;
  delete old.robustness?.figures;
  delete old.explanation;
  return old;
}

const UNAVAILABLE =
  /This chart is not available for this report: it was saved by an earlier version of RecMark/g;

test(
  'an older GREW report without figures says which charts are not available, computes nothing',
  { skip: noBrowser },
  async () => {
    const r = await renderExport(withoutFigures(grewSweepReport()));
    assert.deepEqual(r.errors, []);
    assert.match(r.visible, /Watermark\s+PRESENT/);
    // The histogram and the null figure need core's numbers; the green rate by rank does not.
    assert.equal(r.visible.match(UNAVAILABLE)?.length, 3, 'two evidence charts and the sweep');
    assert.ok(r.visible.includes('Green items per probe'));
    assert.ok(r.visible.includes('Null distribution of green hits'));
    assert.ok(r.visible.includes('Evidence after each attack'));
    assert.equal(r.canvases.length, 1, 'only the green rate by rank is drawn');
    assert.ok(r.canvases[0].painted);
    assert.match(
      r.canvases[0].label,
      /^Green rate by rank position 1 to 5: 88% at rank 1, 63% at rank 5; γ = 50%\.$/,
    );
    // Dashes where the report lacks a number, never one made up by the view.
    assert.match(r.visible, /GREEN RATE\s+—\s+not in this report/i);
    assert.match(r.visible, /EVIDENCE\s+—\s+not in this report/i);
    assert.deepEqual(table(r, 'Test statistics').slice(0, 5), [
      ['Popularity-aware z (z_w)', '7.21'],
      ['Null-key z (z_null)', '6.94'],
      ['Classic z (KGW)', '12.40  (p = 1.2e-35)'],
      ['Empirical p', '0.14'],
      ['Green hits G / T', '31 / 40'],
    ]);
    // The sweep: no summary counts, no chart, the table as it was.
    assert.ok(!r.visible.includes('The watermark survived'));
    assert.equal(table(r, ROBUSTNESS_TABLE).length, 9);
  },
);

test(
  'an older AOW report without figures keeps its tables and says the charts are not available',
  { skip: noBrowser },
  async () => {
    const r = await renderExport(withoutFigures(aowSweepReport()));
    assert.deepEqual(r.errors, []);
    assert.match(r.visible, /Watermark\s+PRESENT/);
    assert.equal(r.visible.match(UNAVAILABLE)?.length, 3, 'recall, ranks and the sweep');
    assert.equal(r.canvases.length, 0);
    assert.match(r.visible, /RECALL@1\s+—\s+steps ranked first/i);
    assert.match(r.visible, /BEST RANK\s+—\s+of 3,650 items/i);
    const tests = table(r, 'Tests at each K');
    assert.deepEqual(tests[0], ['1', '—', '0.027%', '5.6e-15', '1.000']);
    assert.equal(table(r, 'Combined test')[0][1], '65.6');
    // NDCG@10 of each attacked copy, without the change the report does not carry.
    const rows = table(r, ROBUSTNESS_TABLE);
    assert.deepEqual(rows[5].slice(5, 7), ['81%', '0.1187']);
  },
);

// ---- Robustness sweeps (DESIGN.md §4b.3, §6) ---------------------------------------------------

/** A row as `robustnessSweep` writes it for an attack that ran. */
function attackRow(
  attack: RobustnessRow['attack'],
  label: string,
  setting: string,
  log10: number,
  metric: RobustnessRow['metric'],
  extra: { fidelity?: number; ndcg?: number; ms?: number } = {},
): RobustnessRow {
  const p = { value: 10 ** log10, log10 };
  const { verdict, pValue, log10PValue, pValueText } = reportVerdict('grew', p, 1e-4);
  return {
    attack,
    label,
    setting,
    verdict,
    pValue,
    log10PValue,
    pValueText,
    metric,
    ms: 1500,
    ...extra,
  };
}

/**
 * A row for an attack that could not run, with the placeholders the sweep writes (verdict
 * "absent", p = 1, the watermarked model's own metric): none of them may be shown.
 */
function failedRow(
  attack: RobustnessRow['attack'],
  label: string,
  error: string,
  metric: RobustnessRow['metric'],
): RobustnessRow {
  return {
    attack,
    label,
    setting: '—',
    verdict: 'absent',
    pValue: 1,
    log10PValue: 0,
    pValueText: '—',
    metric,
    error,
    ms: 3,
  };
}

/** GREW, swept without data: fine-tuning on 1% could not run, so no NDCG anywhere. */
function grewSweepReport(): AuditReport {
  const z = (value: number) => ({ name: 'z_w', value });
  const report = sampleReport('sasrec_ml1m_grew_swept.onnx');
  report.robustness = robustnessSection(
    [
      attackRow(
        'extraction',
        'Data-free extraction (3,000 sequences)',
        '300,000 queries (top-100), 2,400 training steps',
        -9.2,
        z(6.24),
        { fidelity: 0.612, ms: 184_000 },
      ),
      failedRow(
        'finetune',
        'Fine-tune on 1% of users',
        'Fine-tuning needs interaction data (--data).',
        z(7.21),
      ),
      attackRow(
        'finetune',
        'Fine-tune on 5% of users',
        '302 users, 9,811 examples, 39 steps',
        -11.4,
        z(6.9),
        { fidelity: 0.93 },
      ),
      attackRow(
        'finetune',
        'Fine-tune on 10% of users',
        '604 users, 19,630 examples, 77 steps',
        -2.6,
        z(2.81),
        { fidelity: 0.874 },
      ),
      attackRow(
        'prune',
        'Prune 20% of each weight matrix',
        '743,200 of 3,716,224 weights zeroed',
        -35.2,
        z(12.36),
        { fidelity: 0.991, ms: 820 },
      ),
      attackRow(
        'prune',
        'Prune 50% of each weight matrix',
        '1,858,112 of 3,716,224 weights zeroed',
        -6.1,
        z(4.92),
        { fidelity: 0.85 },
      ),
      attackRow(
        'prune',
        'Prune 80% of each weight matrix',
        '2,972,979 of 3,716,224 weights zeroed',
        -0.21,
        z(0.31),
        { fidelity: 0.113 },
      ),
      attackRow(
        'noise',
        "Gaussian noise at 0.1 × each weight's std",
        '18 tensors, seed 1',
        -12.8,
        z(7.04),
        { fidelity: 0.978 },
      ),
      attackRow(
        'noise',
        "Gaussian noise at 0.5 × each weight's std",
        '18 tensors, seed 1',
        -0.9,
        z(1.02),
        { fidelity: 0.402 },
      ),
    ],
    1e-4,
  );
  return report;
}

/** AOW, swept with data: NDCG@10 for the model and every attacked copy; extraction failed. */
function aowSweepReport(): AuditReport {
  const recall = (value: number) => ({ name: 'Recall@10', value });
  const report = watermarkedAow();
  report.robustness = robustnessSection(
    [
      failedRow(
        'extraction',
        'Data-free extraction (3,000 sequences)',
        'The surrogate could not be built: the model has no embedding table to re-initialise.',
        recall(1),
      ),
      attackRow(
        'finetune',
        'Fine-tune on 1% of users',
        '60 users, 1,902 examples, 8 steps',
        -13.9,
        recall(1),
        { fidelity: 0.97, ndcg: 0.1299 },
      ),
      attackRow(
        'finetune',
        'Fine-tune on 5% of users',
        '302 users, 9,811 examples, 39 steps',
        -10.3,
        recall(0.75),
        { fidelity: 0.94, ndcg: 0.1311 },
      ),
      attackRow(
        'finetune',
        'Fine-tune on 10% of users',
        '604 users, 19,630 examples, 77 steps',
        -1.3,
        recall(0.25),
        { fidelity: 0.9, ndcg: 0.1305 },
      ),
      attackRow(
        'prune',
        'Prune 20% of each weight matrix',
        '743,200 of 3,716,224 weights zeroed',
        -13.9,
        recall(1),
        { fidelity: 0.99, ndcg: 0.1301 },
      ),
      attackRow(
        'prune',
        'Prune 50% of each weight matrix',
        '1,858,112 of 3,716,224 weights zeroed',
        -10.3,
        recall(0.75),
        { fidelity: 0.81, ndcg: 0.1187 },
      ),
      attackRow(
        'prune',
        'Prune 80% of each weight matrix',
        '2,972,979 of 3,716,224 weights zeroed',
        0,
        recall(0),
        { fidelity: 0.05, ndcg: 0.0213 },
      ),
      attackRow(
        'noise',
        "Gaussian noise at 0.1 × each weight's std",
        '18 tensors, seed 1',
        -13.9,
        recall(1),
        { fidelity: 0.98, ndcg: 0.13 },
      ),
      attackRow(
        'noise',
        "Gaussian noise at 0.5 × each weight's std",
        '18 tensors, seed 1',
        -6.8,
        recall(0.5),
        { fidelity: 0.62, ndcg: 0.0911 },
      ),
      attackRow(
        'noise',
        "Gaussian noise at 1 × each weight's std",
        '18 tensors, seed 1',
        -0.4,
        recall(0),
        { fidelity: 0.21, ndcg: 0.0402 },
      ),
    ],
    1e-4,
    0.1302,
  );
  return report;
}

const ROBUSTNESS_TABLE = 'Robustness: one row per attack';

/** The robustness chart: one painted canvas at a height that grows with the attacks. */
function robustnessCanvas(r: Rendered, attacks: number): Rendered['canvases'][number] {
  const charts = r.canvases.filter((c) => c.label.startsWith('Evidence −log10 p after each of'));
  assert.equal(charts.length, 1, 'one robustness chart');
  const [c] = charts;
  assert.ok(c.label.startsWith(`Evidence −log10 p after each of ${attacks} attacks`), c.label);
  assert.ok(c.painted, 'the robustness chart has pixels');
  assert.ok(c.width > 300 && c.height >= attacks * 40, `chart size ${c.width}×${c.height}`);
  return c;
}

const STRIP_NOTE =
  'Removed 31 nodes after the scoring layer ("score_calibration/raw_scores"), among them RecMark\'s GREW serve-mode head: the watermark is gone with it.';

/** A GREW serve-mode model swept by what a thief holding the file does (issue 14). */
function thiefSweepReport(): AuditReport {
  const z = (value: number) => ({ name: 'z_w', value });
  const report = sampleReport('sasrec_grew_serve_swept.onnx');
  report.robustness = robustnessSection(
    [
      attackRow(
        'quantize',
        'Int8 weight quantization (per tensor)',
        '29 tensors, 570,624 weights; max error 0.016',
        -19.1,
        z(9.05),
        { fidelity: 0.982 },
      ),
      {
        ...attackRow(
          'strip',
          'Strip post-processing after the scoring layer',
          '31 nodes removed (Mul, Add, MatMul, Sub, …)',
          -0.8,
          z(1.03),
          { fidelity: 1 },
        ),
        note: STRIP_NOTE,
      },
      attackRow(
        'overwrite',
        "Overwrite with the thief's own GREW watermark",
        "thief's key b84414eeb793062b: z_w 9.90 on 1000 data probes, p = 1.1e-22",
        -7.5,
        z(5.3),
        { fidelity: 1 },
      ),
      failedRow(
        'extract-finetune',
        'Extraction (3,000 sequences), then fine-tune on 10% of users',
        'Fine-tuning needs interaction data (--data).',
        z(9.1),
      ),
    ],
    1e-4,
  );
  return report;
}

test('a report with a robustness section round-trips through the HTML export', () => {
  for (const report of [grewSweepReport(), aowSweepReport(), thiefSweepReport()]) {
    assert.deepEqual(JSON.parse(embeddedJson(reportToHtml(report, assets))), report);
  }
});

test(
  'the export renders a GREW robustness sweep: summary, chart, one row per attack, NOT RUN',
  { skip: noBrowser },
  async () => {
    const report = grewSweepReport();
    const r = await renderExport(report);
    assert.deepEqual(r.errors, []);

    // After the evidence, before the side panels.
    assert.deepEqual(r.headings.slice(0, 3), ['Evidence', 'Robustness', 'Utility']);
    assert.ok(
      r.visible.includes(
        'The watermark survived 5 of 8 attacks at α = 1e-4; 1 more could not run.',
      ),
    );
    assert.match(r.visible, /Evidence after each attack/);
    assert.match(r.visible, /past the dashed α line \(at 4\.0\) means the watermark survived/);
    // Prune 20% (p = 6e-36) runs past the axis at 20, and the caption says how that looks.
    assert.match(r.visible, /Bars ending in an arrow run past the axis \(p below 1e-20\)/);

    assert.equal(r.canvases.length, 4, 'three evidence charts and the robustness chart');
    const chart = robustnessCanvas(r, 9);
    assert.match(chart.label, /against the α line at 4\.0/);
    assert.match(chart.label, /Fine-tune on 1% of users: not run/);
    assert.match(
      chart.label,
      /Prune 20% of each weight matrix: 35\.2 \(beyond the axis at 20\), PRESENT/,
    );
    assert.match(chart.label, /Prune 80% of each weight matrix: 0\.2, ABSENT/);

    const t = r.tables.find((x) => x.label === ROBUSTNESS_TABLE);
    assert.ok(t);
    // No data given: no NDCG column.
    assert.deepEqual(t.header, [
      'Attack',
      'Setting',
      'Verdict',
      'p',
      'z_w',
      'Top-10 overlap',
      'Time',
    ]);
    assert.equal(t.rows.length, 9);
    assert.deepEqual(
      t.rows.map((row) => row[2]),
      [
        '✓ PRESENT',
        '— NOT RUN',
        '✓ PRESENT',
        '? INCONCLUSIVE',
        '✓ PRESENT',
        '✓ PRESENT',
        '✗ ABSENT',
        '✓ PRESENT',
        '✗ ABSENT',
      ],
    );
    assert.deepEqual(t.rows[0], [
      'Data-free extraction (3,000 sequences)',
      '300,000 queries (top-100), 2,400 training steps',
      '✓ PRESENT',
      report.robustness!.rows[0].pValueText,
      '6.2',
      '61%',
      '3 min 4 s',
    ]);
    // The failed attack: its reason, and none of the sweep's placeholders (p = 1, the model's z).
    assert.deepEqual(t.rows[1], [
      'Fine-tune on 1% of users',
      'Fine-tuning needs interaction data (--data).',
      '— NOT RUN',
      '—',
      '—',
      '—',
      '3 ms',
    ]);
    assert.deepEqual(
      t.rows.map((row) => row[4]),
      ['6.2', '—', '6.9', '2.8', '12.4', '4.9', '0.3', '7.0', '1.0'],
    );
    assert.match(r.visible, /z_w: the popularity-aware z of green-item bias/);
  },
);

test(
  'the export renders an AOW robustness sweep: Recall@10 as a share, NDCG@10 against the model',
  { skip: noBrowser },
  async () => {
    const report = aowSweepReport();
    const r = await renderExport(report);
    assert.deepEqual(r.errors, []);

    assert.deepEqual(r.headings.slice(0, 2), ['Evidence', 'Robustness']);
    assert.ok(
      r.visible.includes(
        'The watermark survived 6 of 9 attacks at α = 1e-4; 1 more could not run.',
      ),
    );
    // No bar runs past the axis here: no arrow in the caption.
    assert.ok(!r.visible.includes('Bars ending in an arrow'));

    assert.equal(r.canvases.length, 3, 'the two AOW evidence charts and the robustness chart');
    const chart = robustnessCanvas(r, 10);
    assert.match(chart.label, /Data-free extraction \(3,000 sequences\): not run/);
    assert.doesNotMatch(chart.label, /beyond the axis/);

    const t = r.tables.find((x) => x.label === ROBUSTNESS_TABLE);
    assert.ok(t);
    assert.deepEqual(t.header, [
      'Attack',
      'Setting',
      'Verdict',
      'p',
      'Recall@10',
      'Top-10 overlap',
      'NDCG@10 (watermarked 0.1302)',
      'Time',
    ]);
    assert.equal(t.rows.length, 10);
    assert.deepEqual(
      t.rows.map((row) => row[2].replace(/^\S+ /, '')),
      [
        'NOT RUN',
        'PRESENT',
        'PRESENT',
        'ABSENT',
        'PRESENT',
        'PRESENT',
        'ABSENT',
        'PRESENT',
        'PRESENT',
        'ABSENT',
      ],
    );
    assert.deepEqual(t.rows[0].slice(1, 7), [
      'The surrogate could not be built: the model has no embedding table to re-initialise.',
      '— NOT RUN',
      '—',
      '—',
      '—',
      '—',
    ]);
    assert.deepEqual(
      t.rows.map((row) => row[4]),
      ['—', '100%', '75%', '25%', '100%', '75%', '0%', '100%', '50%', '0%'],
    );
    assert.deepEqual(t.rows[5].slice(5, 7), ['81%', '0.1187 (−8.8%)']);
    assert.deepEqual(t.rows[2].slice(5, 7), ['94%', '0.1311 (+0.7%)']);
    assert.match(
      r.visible,
      /NDCG@10 \(leave-one-out on the data\) of the watermarked model itself: 0\.1302/,
    );
    assert.match(r.visible, /Recall@10: the share of the watermark steps/);

    // The sweep's rows name attacks, never watermark items.
    for (const id of SECRET_SEQUENCE) assert.ok(!r.everything.includes(String(id)));
  },
);

test(
  "the export renders the thief-with-the-file rows; a row's note shows under its setting",
  { skip: noBrowser },
  async () => {
    const r = await renderExport(thiefSweepReport());
    assert.deepEqual(r.errors, []);
    assert.ok(
      r.visible.includes(
        'The watermark survived 2 of 3 attacks at α = 1e-4; 1 more could not run.',
      ),
    );
    const rows = table(r, ROBUSTNESS_TABLE);
    assert.equal(rows.length, 4);
    assert.deepEqual(
      rows.map((row) => row[2]),
      ['✓ PRESENT', '✗ ABSENT', '✓ PRESENT', '— NOT RUN'],
    );
    // The note sits in the setting cell, after the setting; rows without one are unchanged.
    assert.equal(rows[1][1], `31 nodes removed (Mul, Add, MatMul, Sub, …)${STRIP_NOTE}`);
    assert.equal(rows[0][1], '29 tensors, 570,624 weights; max error 0.016');
    assert.ok(r.visible.includes(STRIP_NOTE));
    assert.equal(rows[3][1], 'Fine-tuning needs interaction data (--data).');
  },
);
