/**
 * End to end in a real VS Code: the packaged .vsix installed into code-server, driven in Chromium.
 *   bash test/e2e/setup.sh && node --import tsx --test test/e2e/*.test.ts
 * Packages .cache/e2e/recmark.vsix with vsce (which runs the production build) unless
 * RECMARK_VSIX=path names one. Screenshots, console.log and code-server.log of the last run land
 * in test/e2e/screenshots/ (git-ignored). RECMARK_E2E_KEEP=1 keeps the temp folder (workspace,
 * data dirs); RECMARK_E2E_THEME="Default Dark Modern" runs in another colour theme.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FrameLocator, Page } from 'playwright-core';
import { encodeModel } from '../../src/core/onnx/model';
import { tinyModel } from '../unit/tinyModel';
import {
  note,
  packageVsix,
  ROOT,
  run,
  SCREENSHOTS,
  setup,
  start,
  type Session,
  type Tools,
} from './harness';

const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'sasrec_opset17.onnx');
const GOOD = existsSync(FIXTURE) ? path.basename(FIXTURE) : 'tiny_model.onnx';
const BROKEN = 'broken.onnx';

function fillWorkspace(dir: string): void {
  if (existsSync(FIXTURE)) copyFileSync(FIXTURE, path.join(dir, GOOD));
  else writeFileSync(path.join(dir, GOOD), encodeModel(tinyModel()));
  writeFileSync(path.join(dir, BROKEN), randomBytes(4096));
}

/** The content frame of the visible webview: outer iframe.webview, inner #active-frame. */
function webview(page: Page): FrameLocator {
  return page
    .locator('iframe.webview.ready:visible')
    .contentFrame()
    .locator('#active-frame')
    .contentFrame();
}

/** Type into the quick input (F1 / Ctrl+P) and pick the row whose label is exactly `label`. */
async function pick(page: Page, key: string, text: string, label: string): Promise<void> {
  const widget = page.locator('.quick-input-widget');
  await page.keyboard.press(key);
  const input = widget.locator('input');
  await input.waitFor({ state: 'visible', timeout: 10_000 });
  await input.fill(text);
  const row = widget.locator('.quick-input-list .monaco-list-row', {
    has: page.locator('.label-name', { hasText: new RegExp(`^${escapeRegExp(label)}$`) }),
  });
  await row.first().click({ timeout: 15_000 });
  await widget.waitFor({ state: 'hidden', timeout: 10_000 });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Quick Open (Ctrl+P), the way a person opens a file by name. */
async function quickOpen(page: Page, name: string): Promise<void> {
  await pick(page, 'Control+P', name, name);
  await page.locator('.tab.active', { hasText: name }).waitFor({ timeout: 15_000 });
}

async function runCommand(page: Page, title: string): Promise<void> {
  await pick(page, 'F1', `>${title}`, title);
}

async function closeAllEditors(page: Page): Promise<void> {
  await runCommand(page, 'View: Close All Editors');
  await page.locator('.tab').first().waitFor({ state: 'detached', timeout: 10_000 });
}

describe('RecMark in code-server (real VS Code)', { timeout: 300_000 }, () => {
  let session: Session | undefined;
  let page: Page;
  let tools: Tools;

  before(async () => {
    tools = await setup();
    note(`setup ok: ${tools.codeServer}`);
    const vsix = await packageVsix();
    note(`vsix: ${vsix}`);
    session = await start(tools, vsix, fillWorkspace);
    page = session.page;
    await page.goto(`${session.url}/?folder=${encodeURIComponent(session.workspace)}`, {
      timeout: 60_000,
    });
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    // The Explorer lists the workspace once the remote connection and file service are up.
    await page
      .locator('.explorer-folders-view .monaco-list-row', { hasText: GOOD })
      .waitFor({ timeout: 60_000 });
    note('workbench ready');
    await session.screenshot('workbench');
  });

  after(async () => {
    if (!session) return;
    const messages = session.console.map((m) => `${m.type()}: ${m.text()} (${m.location().url})`);
    const csp = messages.filter((m) => /Content Security Policy|Refused to/i.test(m));
    note(`${messages.length} console messages, ${csp.length} CSP-like`);
    writeFileSync(path.join(SCREENSHOTS, 'console.log'), messages.join('\n'));
    if (process.env.RECMARK_E2E_CONSOLE) for (const m of messages) note(m);
    await session.stop();
  });

  /** Runs one step; on failure leaves a screenshot named after it before rethrowing. */
  async function step(name: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      await session?.screenshot(`FAILED-${name}`).catch(() => undefined);
      throw err;
    }
  }

  async function expectModelCard(): Promise<void> {
    const frame = webview(page);
    await frame.locator('h1', { hasText: GOOD }).waitFor({ timeout: 30_000 });
    await frame.getByText('Sequence input', { exact: true }).waitFor({ timeout: 10_000 });
    // The badges: "N items" (a toolkit badge or a plain span, whichever the webview uses).
    await frame.locator('.badges', { hasText: /\d items/ }).waitFor({ timeout: 10_000 });
  }

  test('opening a model shows its model card', () =>
    step('model-card', async () => {
      await quickOpen(page, GOOD);
      await expectModelCard();
      // Theme and toolkit: theme variables reach the webview and the toolkit elements upgrade.
      const styled = await webview(page)
        .locator('body')
        .evaluate(() => ({
          foreground: getComputedStyle(document.body).getPropertyValue('--vscode-foreground'),
          background: getComputedStyle(document.body).backgroundColor,
          grid: customElements.get('vscode-data-grid') !== undefined,
          rendered: Boolean(document.querySelector('vscode-data-grid-row')?.shadowRoot),
        }));
      note(`webview style: ${JSON.stringify(styled)}`);
      assert.ok(styled.foreground.trim(), 'the webview gets theme colours (--vscode-foreground)');
      assert.ok(styled.grid && styled.rendered, 'toolkit components are registered and rendered');
      await session!.screenshot('model-card');
    }));

  test('a corrupt file shows the error view, and the extension host survives', () =>
    step('broken-model', async () => {
      await closeAllEditors(page);
      await quickOpen(page, BROKEN);
      await webview(page).getByText('This model cannot be read').waitFor({ timeout: 30_000 });
      await session!.screenshot('broken-model');

      await closeAllEditors(page);
      await quickOpen(page, GOOD);
      await expectModelCard();
      await session!.screenshot('model-card-again');
    }));

  test('the command palette lists RecMark: Inspect Model', () =>
    step('command-palette', async () => {
      const widget = page.locator('.quick-input-widget');
      await page.keyboard.press('F1');
      await widget.locator('input').waitFor({ state: 'visible', timeout: 10_000 });
      await widget.locator('input').fill('>RecMark');
      await widget
        .locator('.quick-input-list .monaco-list-row', {
          has: page.locator('.label-name', { hasText: /^RecMark: Inspect Model$/ }),
        })
        .waitFor({ timeout: 10_000 });
      await session!.screenshot('command-palette');
      await page.keyboard.press('Escape');
      await widget.waitFor({ state: 'hidden', timeout: 10_000 });
    }));

  test("the packaged onnxruntime-node loads under the server's Node and opens the model", async () => {
    // What the extension host would do when scoring: require the copy inside the installed
    // extension (so .vscodeignore kept everything it needs) and open the workspace model.
    const [dir] = readdirSync(session!.extensions).filter((d) => d.startsWith('recmark.recmark-'));
    assert.ok(dir, 'the extension is installed');
    const ort = path.join(session!.extensions, dir, 'node_modules', 'onnxruntime-node');
    const script = `
      const ort = require(process.argv[1]);
      ort.InferenceSession.create(process.argv[2])
        .then((s) => console.log(JSON.stringify({ node: process.version, inputs: s.inputNames })))
        .catch((e) => { console.error(e); process.exit(1); });`;
    const model = path.join(session!.workspace, GOOD);
    const { stdout } = await run(tools.node, ['-e', script, ort, model], { timeoutMs: 60_000 });
    note(`onnxruntime-node in the .vsix: ${stdout.trim()}`);
    assert.match(stdout, /"node":"v24\./);
  });

  test('the webview breaks no Content Security Policy rule', () => {
    // Only the webview's own frames (vscode-resource / vscode-cdn / webview pre): the workbench's
    // own messages are VS Code's business.
    const ours = session!.console
      .filter((m) => /CSP violation|Content Security Policy|Refused to/i.test(m.text()))
      .filter((m) => /vscode-resource|vscode-cdn|webview/i.test(`${m.location().url} ${m.text()}`))
      .map((m) => m.text());
    assert.deepEqual(ours, []);
    const errors = session!.pageErrors.filter((e) => /recmark|webview\.js/i.test(`${e.stack}`));
    assert.deepEqual(errors.map(String), []);
  });
});
