/**
 * The inline `.onnx` view: the model card, the error view for a corrupt file, the palette entry,
 * and the packaged onnxruntime-node. Runs in the shared workbench of workbench.test.ts.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { encodeModel } from '../../src/core/onnx/model';
import { tinyModel } from '../support/tinyModel';
import {
  closeAllEditors,
  note,
  quickInput,
  quickOpen,
  quickPickRow,
  ROOT,
  run,
  webview,
  type E2E,
  type Suite,
} from './harness';

const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'sasrec_opset17.onnx');
export const GOOD = existsSync(FIXTURE) ? path.basename(FIXTURE) : 'tiny_model.onnx';
const BROKEN = 'broken.onnx';

/** The model card of `name` in the visible webview. */
export async function expectModelCard(e2e: E2E, name: string): Promise<void> {
  const frame = webview(e2e.page);
  await frame.locator('h1', { hasText: name }).waitFor({ timeout: 30_000 });
  await frame.getByText('Sequence input', { exact: true }).waitFor({ timeout: 10_000 });
  // The badges: "N items" (a toolkit badge or a plain span, whichever the webview uses).
  await frame.locator('.badges', { hasText: /\d items/ }).waitFor({ timeout: 10_000 });
}

export const modelViewSuite: Suite = {
  name: 'model view',

  fill(dir) {
    if (existsSync(FIXTURE)) copyFileSync(FIXTURE, path.join(dir, GOOD));
    else writeFileSync(path.join(dir, GOOD), encodeModel(tinyModel()));
    writeFileSync(path.join(dir, BROKEN), randomBytes(4096));
  },

  register(e2e) {
    describe('the model view', () => {
      test('opening a model shows its model card', () =>
        e2e.step('model-card', async () => {
          await quickOpen(e2e.page, GOOD);
          await expectModelCard(e2e, GOOD);
          // Theme and toolkit: theme variables reach the webview and the toolkit elements upgrade.
          const styled = await webview(e2e.page)
            .locator('body')
            .evaluate(() => ({
              foreground: getComputedStyle(document.body).getPropertyValue('--vscode-foreground'),
              background: getComputedStyle(document.body).backgroundColor,
              grid: customElements.get('vscode-data-grid') !== undefined,
              rendered: Boolean(document.querySelector('vscode-data-grid-row')?.shadowRoot),
            }));
          note(`webview style: ${JSON.stringify(styled)}`);
          assert.ok(
            styled.foreground.trim(),
            'the webview gets theme colours (--vscode-foreground)',
          );
          assert.ok(
            styled.grid && styled.rendered,
            'toolkit components are registered and rendered',
          );
          await e2e.screenshot('model-card');
        }));

      test('a corrupt file shows the error view, and the extension host survives', () =>
        e2e.step('broken-model', async () => {
          await closeAllEditors(e2e.page);
          await quickOpen(e2e.page, BROKEN);
          await webview(e2e.page)
            .getByText('This model cannot be read')
            .waitFor({ timeout: 30_000 });
          await e2e.screenshot('broken-model');

          await closeAllEditors(e2e.page);
          await quickOpen(e2e.page, GOOD);
          await expectModelCard(e2e, GOOD);
          await e2e.screenshot('model-card-again');
        }));

      test('the command palette lists RecMark: Inspect Model', () =>
        e2e.step('command-palette', async () => {
          const { page } = e2e;
          const widget = quickInput(page);
          await page.keyboard.press('F1');
          await widget.locator('input').waitFor({ state: 'visible', timeout: 10_000 });
          await widget.locator('input').fill('>RecMark');
          await quickPickRow(page, 'RecMark: Inspect Model').waitFor({ timeout: 10_000 });
          await e2e.screenshot('command-palette');
          await page.keyboard.press('Escape');
          await widget.waitFor({ state: 'hidden', timeout: 10_000 });
        }));

      test("the packaged onnxruntime-node loads under the server's Node and opens the model", async () => {
        // What the extension host would do when scoring: require the copy inside the installed
        // extension (so .vscodeignore kept everything it needs) and open the workspace model.
        const { extensions, workspace } = e2e.session;
        const [dir] = readdirSync(extensions).filter((d) => d.startsWith('recmark.recmark-'));
        assert.ok(dir, 'the extension is installed');
        const ort = path.join(extensions, dir, 'node_modules', 'onnxruntime-node');
        const script = `
          const ort = require(process.argv[1]);
          ort.InferenceSession.create(process.argv[2])
            .then((s) => console.log(JSON.stringify({ node: process.version, inputs: s.inputNames })))
            .catch((e) => { console.error(e); process.exit(1); });`;
        const model = path.join(workspace, GOOD);
        const { stdout } = await run(e2e.tools.node, ['-e', script, ort, model], {
          timeoutMs: 60_000,
        });
        note(`onnxruntime-node in the .vsix: ${stdout.trim()}`);
        assert.match(stdout, /"node":"v24\./);
      });
    });
  },
};
