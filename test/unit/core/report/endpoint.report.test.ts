/**
 * An endpoint audit's report in the HTML export, drawn by the real webview bundle in Chromium:
 * the Endpoint panel (queries, failures by kind, latency percentiles, probes lost, the partial
 * note) takes the model card's place, and AOW ranks beyond the returned list read "> m".
 */
import { ROOT } from '../../../support/helpers';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import * as esbuild from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { reportToHtml } from '../../../../src/core/report/html';
import {
  reportVerdict,
  type AuditReport,
  type EndpointSection,
} from '../../../../src/core/report/report';
import { aowStatistics } from '../../../../src/core/watermark/aowStats';

const CHROMIUM = process.env.RECMARK_CHROMIUM ?? '/usr/bin/chromium';
// `npm test` runs these before the e2e setup installs Chromium; like report-html.test.ts, the
// browser half is skipped when there is none (the e2e suite renders exports in it either way).
const noBrowser = existsSync(CHROMIUM)
  ? false
  : `no Chromium at ${CHROMIUM} (set RECMARK_CHROMIUM, or run test/e2e/setup.sh)`;
let browser: Promise<Browser> | undefined;
after(async () => {
  if (browser) await (await browser).close();
});

const endpoint: EndpointSection = {
  name: 'Shop recommender',
  profile: 'shop.recmark-endpoint.json',
  url: 'https://api.shop.example/v2/recommend',
  method: 'POST',
  answers: 'ranked ids',
  probes: { wanted: 4, answered: 3, lost: 1 },
  requests: { total: 4, fromCache: 1, answered: 2, lost: 1 },
  queries: { spent: 6, budget: 500, retries: 3 },
  failures: { timeout: 1, network: 0, malformed: 1, http: { '429': 1, '503': 1 } },
  lost: { retriesExhausted: 0, malformed: 1, httpError: 0, budget: 0 },
  latencyMs: { p50: 41.2, p90: 88.5, p99: 130.1, max: 130.1 },
  probesPerSecond: 3.4,
  seconds: 0.6,
  unknownIds: 0,
  budgetExhausted: false,
  cacheFile: '/w/.recmark/endpoint-cache/abc.jsonl',
  note: '1 request(s) got no usable answer (1 malformed, 0 still failing after 4 retries, 0 refused) and were left out; 1 of 4 probes were lost, so the verdict is computed on 3.',
};

function report(): AuditReport {
  // A top-100 endpoint: two targets found at rank 1, one beyond the list.
  const stats = aowStatistics([1, 101, 1], 3650, { censored: [false, true, false] });
  return {
    kind: 'recmark-audit',
    version: 1,
    createdAt: '2026-05-14T09:41:07.512Z',
    scheme: 'aow',
    ...reportVerdict('aow', stats.pValue, 1e-4),
    model: {
      fileName: 'Shop recommender (endpoint)',
      sha256: '',
      bytes: 0,
      numItems: 3650,
      parameters: 0,
      opset: 0,
      input: '',
      output: '',
      outputRank: 2,
      padding: 'left',
      maskId: null,
    },
    keyId: 'aow-5e0b2c7f19d4',
    parameters: { length: 5, queries: 4, endpoint: 'Shop recommender', budget: 500 },
    timings: [{ step: 'queries', ms: 612 }],
    aow: stats.evidence,
    endpoint,
  };
}

/** The standalone HTML export of the endpoint report, with the real webview bundle. */
async function exportHtml(): Promise<string> {
  const built = await esbuild.build({
    entryPoints: [path.join(ROOT, 'webview/src/main.ts')],
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  return reportToHtml(report(), {
    script: built.outputFiles[0].text,
    css: readFileSync(path.join(ROOT, 'media/recmark.css'), 'utf8'),
  });
}

test('the export names the endpoint and what the audit cost', async () => {
  assert.match(
    await exportHtml(),
    /Audited through the endpoint Shop recommender: 3 of 4 probes answered \(1 lost\), 6 queries spent/,
  );
});

test(
  'the export shows the endpoint panel and censored ranks',
  { timeout: 120_000, skip: noBrowser },
  async () => {
    const html = await exportHtml();
    browser ??= chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run'],
      timeout: 60_000,
    });
    const page = await (await browser).newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.setContent(html, { waitUntil: 'load', timeout: 30_000 });
    await page.waitForSelector('.rm-report', { timeout: 10_000 });
    const r = await page.evaluate(() => ({
      visible: document.getElementById('app')!.innerText,
      headings: Array.from(document.querySelectorAll('h2')).map((h) =>
        (h.textContent ?? '').trim(),
      ),
      tables: Array.from(document.querySelectorAll('table')).map((t) => ({
        label: t.getAttribute('aria-label') ?? '',
        rows: Array.from(t.querySelectorAll('tbody tr')).map((row) =>
          Array.from(row.children).map((c) => (c.textContent ?? '').trim()),
        ),
      })),
    }));
    assert.deepEqual(errors, []);
    const table = (label: string): string[][] => {
      const found = r.tables.find((t) => t.label === label);
      assert.ok(found, `table ${label} (have ${r.tables.map((t) => t.label).join(', ')})`);
      return found.rows;
    };
    assert.ok(r.headings.includes('Endpoint'));
    assert.ok(!r.headings.includes('Model'), 'no checkpoint card for a service');
    const rows = Object.fromEntries(table('Endpoint').map(([k, v]) => [k, v]));
    assert.equal(rows.Endpoint, 'Shop recommender · POST https://api.shop.example/v2/recommend');
    assert.equal(rows.Probes, '3 of 4 answered, 1 lost');
    assert.equal(rows['Queries spent'], '6 of 500, 3 retries');
    assert.equal(rows.Latency, 'p50 41 ms · p90 89 ms · p99 130 ms');
    assert.equal(rows.Throughput, '3.4 probes/s over 0.6 s');
    assert.deepEqual(table('Failed attempts by kind'), [
      ['Timeouts', '1'],
      ['Network errors', '0'],
      ['HTTP 429', '1'],
      ['HTTP 503', '1'],
      ['Malformed bodies', '1'],
    ]);
    assert.ok(r.visible.includes(endpoint.note!));
    const steps = table('Rank of each watermark step');
    assert.deepEqual(
      steps.map((s) => s.slice(0, 4)),
      [
        ['1', 'w1 (1 item)', '1 of 3,650', 'top 0.027%'],
        ['2', 'w1…w2 (2 items)', '> 100 of 3,650', 'below top 2.7%'],
        ['3', 'w1…w3 (3 items)', '1 of 3,650', 'top 0.027%'],
      ],
    );
    assert.ok(r.visible.includes('not in the returned list (rank > 100)'));
  },
);
