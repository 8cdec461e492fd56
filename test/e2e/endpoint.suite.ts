/**
 * Palette → RecMark: Verify Watermark on Endpoint, against a live service: the test server
 * (test/support/recServer.ts, loopback) serves the GREW-watermarked copy behind a bearer token.
 * The workspace's only profile is picked automatically, the stored GREW key is chosen, the token
 * is typed into the password box (and kept in SecretStorage), and the report shows PRESENT with
 * the Endpoint panel. Runs after the verify suite, which imported the key. With the default 1,000
 * probes grown from the service (~11 requests each), the audit takes ~30 s here.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { startRecServer, type RecServer } from '../support/recServer';
import {
  choose,
  clearNotifications,
  closeAllEditors,
  note,
  quickInputTitled,
  runCommand,
  webview,
  type Suite,
} from './harness';
import { done, expectChartsDrawn, expectReport, KEY_FILE, MARKED } from './verify.suite';

const PROFILE = 'shop.recmark-endpoint.json';
const NAME = 'Shop recommender';
const TOKEN = 'e2e-token';

let server: RecServer | undefined;

export const endpointSuite: Suite = {
  name: 'verify on an endpoint',

  fill() {
    // The profile is written once the server has its port (in the test).
  },

  dispose() {
    void server?.close();
  },

  register(e2e) {
    describe('verify on an endpoint', () => {
      test('Palette → Verify Watermark on Endpoint asks for the token and reports PRESENT', () =>
        e2e.step('verify-endpoint', async () => {
          assert.ok(done.imported, 'skipped: needs the verify suite to have imported the GREW key');
          const { page, workspace } = e2e;
          server = await startRecServer({ model: path.join(workspace, MARKED), token: TOKEN });
          writeFileSync(
            path.join(workspace, PROFILE),
            JSON.stringify(
              {
                name: NAME,
                url: server.url,
                method: 'POST',
                headers: { Authorization: 'Bearer ${secret:apiToken}' },
                request: { items: '${items}', k: '${k}' },
                response: { items: '$.items', scores: '$.scores' },
                rateLimit: 2000,
                concurrency: 4,
                timeoutMs: 5000,
                budget: 20000,
              },
              null,
              2,
            ),
          );
          await closeAllEditors(page);
          await runCommand(page, 'RecMark: Verify Watermark on Endpoint');
          await choose(
            page,
            'Verify the endpoint with which key?',
            new RegExp(KEY_FILE.replace(/\./g, '\\.')),
          );
          const secret = await quickInputTitled(page, /Secret "apiToken"/);
          await secret.locator('input').fill(TOKEN);
          await e2e.screenshot('endpoint-token');
          await secret.locator('input').press('Enter');
          await expectReport(e2e, `${NAME} (endpoint)`, 'PRESENT');
          await expectChartsDrawn(e2e, '.rm-report');
          const panel = webview(page).locator('.rm-endpoint');
          await panel.scrollIntoViewIfNeeded({ timeout: 20_000 });
          const text = await panel.innerText();
          assert.match(text, /Probes\s+1,000 of 1,000 answered, 0 lost/); // the default recmark.probes
          assert.match(text, /Queries spent/);
          assert.doesNotMatch(text, new RegExp(TOKEN), 'the token reached the report');
          note(`endpoint: ${server.stats.requests} requests served`);
          assert.ok(server.stats.requests >= 1_000);
          await e2e.screenshot('report-endpoint');
          await clearNotifications(page);
        }));
    });
  },
};
