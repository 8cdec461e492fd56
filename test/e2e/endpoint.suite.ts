/**
 * Palette → RecMark: Verify Watermark on Endpoint, against a live service: the test server
 * (test/support/recServer.ts, loopback) serves the GREW-watermarked copy behind a bearer token.
 * The workspace's only profile is picked automatically, the stored GREW key is chosen, the token
 * is typed into the password box (and kept in SecretStorage), and the report shows PRESENT with
 * the Endpoint panel. Runs after the verify suite, which imported the key. With the default 1,000
 * probes grown from the service (~11 requests each), the audit takes ~30 s here.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { startRecServer, type RecServer } from '../support/recServer';
import {
  choose,
  clearNotifications,
  closeAllEditors,
  note,
  notification,
  quickInputTitled,
  runCommand,
  waitFor,
  webview,
  type Suite,
} from './harness';
import { done, expectChartsDrawn, expectReport, KEY_FILE, MARKED } from './verify.suite';

const PROFILE = 'shop.recmark-endpoint.json';
const NAME = 'Shop recommender';
const TOKEN = 'e2e-token';

let server: RecServer | undefined;
const hostile: Server[] = [];

/** A service on 127.0.0.1 that answers every request with `answer`; counts what reaches it. */
async function hostileService(
  answer: (res: ServerResponse) => void,
): Promise<{ url: string; requests: () => number }> {
  let requests = 0;
  const s = createServer((req, res) => {
    requests++;
    req.resume();
    req.on('end', () => answer(res));
  });
  hostile.push(s);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/recommend`, requests: () => requests };
}

/** A profile like the shop's, pointed at `url`. */
function writeProfile(file: string, name: string, url: string, extra: object = {}): void {
  writeFileSync(
    file,
    JSON.stringify({
      name,
      url,
      method: 'POST',
      request: { items: '${items}', k: '${k}' },
      response: { items: '$.items' },
      timeoutMs: 5000,
      ...extra,
    }),
  );
}

/** The extension host still answers: a RecMark command opens its input box, and no crash notice. */
async function expectHostAlive(page: Page): Promise<void> {
  await runCommand(page, 'RecMark: New Endpoint Profile');
  const box = await quickInputTitled(page, /New endpoint profile/);
  await box.locator('input').press('Escape');
  assert.equal(
    await notification(page, /Extension host terminated|extension host.*(crash|stopped)/i).count(),
    0,
    'the extension host died',
  );
}

export const endpointSuite: Suite = {
  name: 'verify on an endpoint',

  fill() {
    // The profile is written once the server has its port (in the test).
  },

  dispose() {
    void server?.close();
    for (const h of hostile) h.close();
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

      test('a cloned profile that sends the stored token elsewhere gets a modal; declined, nothing is sent', () =>
        e2e.step('endpoint-other-origin', async () => {
          assert.ok(server, 'skipped: needs the audit above to have stored the token');
          const { page, workspace } = e2e;
          const evil = await hostileService((res) => res.end('{"items":[]}'));
          const file = path.join(workspace, 'cloned.recmark-endpoint.json');
          writeProfile(file, 'Cloned profile', evil.url, {
            headers: { Authorization: 'Bearer ${secret:apiToken}' },
          });
          try {
            await closeAllEditors(page);
            await runCommand(page, 'RecMark: Verify Watermark on Endpoint');
            await choose(page, 'Audit which endpoint?', /cloned\.recmark-endpoint\.json/);
            await choose(
              page,
              'Verify the endpoint with which key?',
              new RegExp(KEY_FILE.replace(/\./g, '\\.')),
            );
            const dialog = page.locator('.monaco-dialog-box', {
              hasText: /wants to send the secret "apiToken"/,
            });
            await dialog.waitFor({ state: 'visible', timeout: 20_000 });
            const text = await dialog.innerText();
            assert.match(
              text,
              new RegExp(evil.url.replace(/\/recommend$/, '').replace(/\./g, '\\.')),
            );
            assert.match(
              text,
              new RegExp(server!.url.replace(/\/recommend$/, '').replace(/\./g, '\\.')),
            );
            await e2e.screenshot('endpoint-other-origin');
            await dialog.getByRole('button', { name: 'Cancel' }).click();
            await dialog.waitFor({ state: 'hidden', timeout: 10_000 });
            assert.equal(evil.requests(), 0, 'a request reached the other origin');
          } finally {
            rmSync(file, { force: true });
          }
        }));

      test('a gzip bomb ends the audit with an error naming the cap, and the extension host lives on', () =>
        e2e.step('endpoint-gzip-bomb', async () => {
          const { page, workspace } = e2e;
          // 64 MiB of JSON-ish zeros in ~64 KiB of gzip: 16 times the default 4 MiB cap.
          const bomb = gzipSync(
            Buffer.concat([Buffer.from('{"items":['), Buffer.alloc(64 << 20, 0x30)]),
          );
          const service = await hostileService((res) => {
            res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' });
            res.end(bomb);
          });
          const file = path.join(workspace, 'bomb.recmark-endpoint.json');
          writeProfile(file, 'Bomb', service.url, { budget: 40, retries: { max: 0 } });
          try {
            await closeAllEditors(page);
            await clearNotifications(page);
            await runCommand(page, 'RecMark: Verify Watermark on Endpoint');
            await choose(page, 'Audit which endpoint?', /bomb\.recmark-endpoint\.json/);
            await choose(
              page,
              'Verify the endpoint with which key?',
              new RegExp(KEY_FILE.replace(/\./g, '\\.')),
            );
            await waitFor(
              'the error naming maxResponseBytes',
              async () =>
                (await notification(page, /maxResponseBytes/).count()) > 0 ? true : undefined,
              60_000,
            );
            await e2e.screenshot('endpoint-gzip-bomb');
            note(
              `gzip bomb: ${service.requests()} requests answered with ${bomb.length} bytes each`,
            );
            assert.ok(service.requests() >= 1 && service.requests() <= 40);
            await expectHostAlive(page);
            await clearNotifications(page);
          } finally {
            rmSync(file, { force: true });
          }
        }));
    });
  },
};
