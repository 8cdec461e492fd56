/**
 * End to end in a real VS Code: the packaged .vsix installed into code-server, driven in Chromium.
 *   bash test/e2e/setup.sh && node --import tsx --test test/e2e/*.test.ts
 * One code-server for every suite (starting one costs ~10 s and packaging ~20 s, on a machine
 * whose two cores would otherwise run two of everything at once): the suites in *.suite.ts
 * register their tests here, in order, inside one describe.
 *
 * Packages .cache/e2e/recmark.vsix with vsce (which runs the production build) unless
 * RECMARK_VSIX=path names one. Screenshots, console.log and code-server.log of the last run land
 * in test/e2e/screenshots/ (git-ignored). RECMARK_E2E_KEEP=1 keeps the temp folder (workspace,
 * data dirs); RECMARK_E2E_THEME="Default Dark Modern" runs in another colour theme;
 * RECMARK_E2E_CONSOLE=1 prints the browser console.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { E2E, note, openWorkbench, SCREENSHOTS, type Suite } from './harness';
import { GOOD, modelViewSuite } from './modelView.suite';
import { verifySuite } from './verify.suite';

const suites: Suite[] = [modelViewSuite, verifySuite];

describe('RecMark in code-server (real VS Code)', { timeout: 420_000 }, () => {
  const e2e = new E2E();

  before(() => openWorkbench(e2e, suites, GOOD));

  after(async () => {
    try {
      const session = e2e.session;
      if (!session) return;
      const messages = session.console.map((m) => `${m.type()}: ${m.text()} (${m.location().url})`);
      const csp = messages.filter((m) => /Content Security Policy|Refused to/i.test(m));
      note(`${messages.length} console messages, ${csp.length} CSP-like`);
      writeFileSync(path.join(SCREENSHOTS, 'console.log'), messages.join('\n'));
      if (process.env.RECMARK_E2E_CONSOLE) for (const m of messages) note(m);
      await session.stop();
    } finally {
      for (const suite of suites) suite.dispose?.();
    }
  });

  for (const suite of suites) suite.register(e2e);

  test('the webviews break no Content Security Policy rule', () => {
    // Only the webviews' own frames (vscode-resource / vscode-cdn / webview pre): the
    // workbench's own messages are VS Code's business. Runs last, so the model view, the error
    // view, the report panel and the latest-audit view have all been shown.
    const ours = e2e.session.console
      .filter((m) => /CSP violation|Content Security Policy|Refused to/i.test(m.text()))
      .filter((m) => /vscode-resource|vscode-cdn|webview/i.test(`${m.location().url} ${m.text()}`))
      .map((m) => m.text());
    assert.deepEqual(ours, []);
    const errors = e2e.session.pageErrors.filter((e) => /recmark|webview\.js/i.test(`${e.stack}`));
    assert.deepEqual(errors.map(String), []);
  });
});
