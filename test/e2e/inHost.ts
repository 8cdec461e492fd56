/**
 * The in-host suite of test/vscode, run inside code-server's extension host: the same module
 * @vscode/test-electron would load into desktop VS Code. code-server honours the web
 * workbench's extension-test payload (extensionDevelopmentPath + extensionTestsPath in the URL)
 * when started with VS Code's --enable-smoke-test-driver; the workbench then reports the suite's
 * exit code through window.codeAutomationExit, as in VS Code's own web integration tests.
 * The development extension is the installed .vsix folder, so the packaged bits are tested.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { prepareInHostRun, type InHostResults } from '../vscode/config';
import { note, start, type Tools } from './harness';

export async function runInHostSuite(tools: Tools, vsix: string): Promise<InHostResults> {
  const dir = mkdtempSync(path.join(tmpdir(), 'recmark-inhost-'));
  try {
    const { config, suite } = await prepareInHostRun(dir);
    const session = await start(tools, vsix, () => undefined, {
      extraArgs: ['--vscode-option=--enable-smoke-test-driver'],
      keepScreenshots: true,
      serverLog: 'code-server-inhost.log',
    });
    try {
      const installed = readdirSync(session.extensions).find((d) =>
        d.startsWith('recmark.recmark-'),
      );
      if (!installed) throw new Error(`no recmark.recmark-* folder in ${session.extensions}`);
      const remote = (file: string) => `vscode-remote://127.0.0.1:${session.port}${file}`;
      const exit = new Promise<number>((resolve) => {
        void session.page.exposeFunction('codeAutomationExit', (code: number) => resolve(code));
      });
      const payload = JSON.stringify([
        ['extensionDevelopmentPath', remote(path.join(session.extensions, installed))],
        ['extensionTestsPath', remote(suite)],
      ]);
      note('in-host suite: starting the extension-test workbench');
      await session.page.goto(
        `${session.url}/?folder=${encodeURIComponent(config.workspace)}&payload=${encodeURIComponent(payload)}`,
        { timeout: 60_000 },
      );
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([
        exit,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error('the in-host suite did not finish in 180 s')),
            180_000,
          );
        }),
      ]).finally(() => clearTimeout(timer));
      await session.screenshot('in-host-suite').catch(() => undefined);
      if (!existsSync(config.resultsFile)) {
        throw new Error(
          `the in-host suite exited with code ${code} and wrote no results: it did not load or ` +
            'crashed the extension host (see test/e2e/screenshots/code-server-inhost.log)',
        );
      }
      const results = JSON.parse(readFileSync(config.resultsFile, 'utf8')) as InHostResults;
      note(`in-host suite: exit code ${code}, ${results.tests.length} tests`);
      if (code !== 0 && results.tests.every((t) => t.ok)) {
        throw new Error(`the extension host exited with code ${code} although every test passed`);
      }
      return results;
    } finally {
      await session.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
