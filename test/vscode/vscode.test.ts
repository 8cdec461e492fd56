/**
 * The in-host suite (test/vscode/suite) in desktop VS Code via @vscode/test-electron.
 *   npm run test:vscode
 * Needs a VS Code build: VSCODE_EXECUTABLE_PATH, or one test-electron can download (or has
 * cached in .cache/vscode-test). Offline with neither, the test is reported as skipped with the
 * words "NOT RUN" and the reason: never as a pass. (test/e2e runs the same suite inside
 * code-server's extension host, which needs no download.)
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { downloadAndUnzipVSCode, runTests } from '@vscode/test-electron';
import { prepareInHostRun, type InHostResults } from './config';

const ROOT = path.resolve(__dirname, '..', '..');

/** A VS Code executable, or why there is none. */
async function findVsCode(): Promise<{ executable: string } | { reason: string }> {
  const given = process.env.VSCODE_EXECUTABLE_PATH;
  if (given) {
    return existsSync(given)
      ? { executable: given }
      : { reason: `VSCODE_EXECUTABLE_PATH=${given} does not exist` };
  }
  if (process.platform === 'linux' && !process.env.DISPLAY) {
    return { reason: 'no display for desktop VS Code (run under xvfb-run, or set DISPLAY)' };
  }
  try {
    const executable = await Promise.race([
      downloadAndUnzipVSCode({
        cachePath: path.join(ROOT, '.cache', 'vscode-test'),
        timeout: 15_000,
      }),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('no answer in 60 s')), 60_000).unref(),
      ),
    ]);
    return { executable };
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    return {
      reason: `VSCODE_EXECUTABLE_PATH is unset and no VS Code build could be downloaded (${why})`,
    };
  }
}

test(
  'the in-host suite passes in desktop VS Code (@vscode/test-electron)',
  { timeout: 600_000 },
  async (t) => {
    const found = await findVsCode();
    if ('reason' in found) {
      console.log(`[test:vscode] NOT RUN: ${found.reason}`);
      t.skip(`NOT RUN: ${found.reason}`);
      return;
    }
    const dir = mkdtempSync(path.join(tmpdir(), 'recmark-vscode-'));
    try {
      const { config, suite } = await prepareInHostRun(dir);
      const code = await runTests({
        vscodeExecutablePath: found.executable,
        extensionDevelopmentPath: ROOT,
        extensionTestsPath: suite,
        launchArgs: [
          config.workspace,
          '--disable-extensions',
          '--disable-workspace-trust',
          '--skip-welcome',
        ],
      });
      const results = JSON.parse(readFileSync(config.resultsFile, 'utf8')) as InHostResults;
      const failed = results.tests.filter((t) => !t.ok).map((t) => `${t.name}: ${t.error}`);
      assert.deepEqual(failed, []);
      assert.equal(code, 0);
      console.log(
        `[test:vscode] ${results.tests.length} in-host tests passed in ${results.host} ${results.version}`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
