/**
 * The pieces of the end-to-end run (DESIGN.md §8): the cached Node 24 + code-server from
 * setup.sh, the packaged .vsix, a code-server on a free loopback port with throwaway data
 * folders, and Debian's chromium driven by playwright-core. Every wait is bounded, and every
 * process started here is ended by `stop()` (and, as a last resort, when node exits).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  chromium,
  type Browser,
  type ConsoleMessage,
  type FrameLocator,
  type Locator,
  type Page,
} from 'playwright-core';

export const ROOT = path.resolve(__dirname, '..', '..');
export const SCREENSHOTS = path.join(__dirname, 'screenshots');

/** Logs with elapsed time, to stderr so the test reporter's output stays readable. */
const t0 = Date.now();
export function note(message: string): void {
  process.stderr.write(`[e2e +${((Date.now() - t0) / 1000).toFixed(1)}s] ${message}\n`);
}

interface RunResult {
  stdout: string;
  stderr: string;
}

/** Run a program to completion with a hard time limit; rejects with its output on failure. */
export function run(
  file: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      {
        cwd: options.cwd ?? ROOT,
        env: options.env ?? process.env,
        timeout: options.timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        if (err) {
          const why = err.killed ? `timed out after ${options.timeoutMs} ms` : err.message;
          reject(
            new Error(`${path.basename(file)} ${args.join(' ')}: ${why}\n${stdout}\n${stderr}`),
          );
        } else resolve({ stdout, stderr });
      },
    );
    child.stdin?.end();
  });
}

export interface Tools {
  node: string; // Node 24
  codeServer: string; // code-server's out/node/entry.js
  chromium: string;
}

/** setup.sh: a fast no-op once the cache is warm; a few minutes on a cold machine. */
export async function setup(): Promise<Tools> {
  const { stdout } = await run('bash', [path.join(__dirname, 'setup.sh')], {
    timeoutMs: 15 * 60_000,
  });
  const vars = Object.fromEntries(
    stdout
      .split('\n')
      .map((line) => /^([A-Z_]+)=(.*)$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1], m[2]]),
  );
  if (!vars.NODE || !vars.CODE_SERVER) throw new Error(`setup.sh printed no paths:\n${stdout}`);
  return { node: vars.NODE, codeServer: vars.CODE_SERVER, chromium: vars.CHROMIUM };
}

/**
 * The .vsix under test: $RECMARK_VSIX if set, else scripts/package.mjs (as `npm run package`)
 * into .cache/e2e/recmark.vsix (git-ignored).
 */
export async function packageVsix(): Promise<string> {
  if (process.env.RECMARK_VSIX) return path.resolve(process.env.RECMARK_VSIX);
  const vsix = path.join(ROOT, '.cache', 'e2e', 'recmark.vsix');
  mkdirSync(path.dirname(vsix), { recursive: true });
  await run(process.execPath, [path.join(ROOT, 'scripts', 'package.mjs'), '--out', vsix], {
    timeoutMs: 180_000,
  });
  return vsix;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last}` : ''}`);
}

/** Settings for a quiet, offline workbench: no welcome page, chat, update or gallery traffic. */
const USER_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'chat.disableAIFeatures': true,
  'chat.commandCenter.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'security.workspace.trust.enabled': false,
  'git.enabled': false,
  'npm.autoDetect': 'off',
};

/** No extension gallery at all (code-server's default is open-vsx.org, unreachable here). */
const NO_GALLERY = '{}';

/** Runs in every frame, webview frames included: CSP violations become console errors with detail. */
const REPORT_CSP = `document.addEventListener('securitypolicyviolation', (e) => {
  console.error('CSP violation: ' + JSON.stringify({
    directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample,
    source: e.sourceFile, line: e.lineNumber, column: e.columnNumber, page: location.href,
  }));
});`;

export interface Session {
  root: string; // temp folder holding everything below
  workspace: string;
  extensions: string; // --extensions-dir
  port: number;
  url: string;
  page: Page;
  console: ConsoleMessage[];
  pageErrors: Error[];
  screenshot(name: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Let the workbench's finite CSS animations and transitions end (a toast fading in, the quick
 * input opening), so a screenshot shows the state rather than a frame of the fade. Infinite
 * ones (progress bars) are left running. At most 2 s; only screenshots depend on it.
 */
async function settle(page: Page): Promise<void> {
  await page
    .evaluate(() => {
      const finite = document
        .getAnimations()
        .filter((a) => a.effect?.getComputedTiming().endTime !== Infinity);
      return Promise.race([
        Promise.all(finite.map((a) => a.finished.catch(() => undefined))),
        new Promise((resolve) => setTimeout(resolve, 2_000)),
      ]);
    })
    .catch(() => undefined);
}

export interface StartOptions {
  /** More code-server arguments (e.g. `--vscode-option=…`). */
  extraArgs?: string[];
  /** A second session in one run: keep the first one's screenshots; name its server log. */
  keepScreenshots?: boolean;
  serverLog?: string;
}

export async function start(
  tools: Tools,
  vsix: string,
  fillWorkspace: (dir: string) => void,
  options: StartOptions = {},
): Promise<Session> {
  const root = mkdtempSync(path.join(tmpdir(), 'recmark-e2e-'));
  const workspace = path.join(root, 'workspace');
  const userData = path.join(root, 'user-data');
  const extensions = path.join(root, 'extensions');
  const home = path.join(root, 'home');
  for (const dir of [workspace, path.join(userData, 'User'), extensions, home]) {
    mkdirSync(dir, { recursive: true });
  }
  fillWorkspace(workspace);
  // Screenshots and logs of this run only.
  if (!options.keepScreenshots) rmSync(SCREENSHOTS, { recursive: true, force: true });
  mkdirSync(SCREENSHOTS, { recursive: true });
  writeFileSync(
    path.join(userData, 'User', 'settings.json'),
    JSON.stringify(
      {
        ...USER_SETTINGS,
        // e.g. RECMARK_E2E_THEME="Default Dark Modern" to look at the webview in a dark theme.
        ...(process.env.RECMARK_E2E_THEME && {
          'workbench.colorTheme': process.env.RECMARK_E2E_THEME,
        }),
      },
      null,
      2,
    ),
  );
  const config = path.join(root, 'config.yaml');
  writeFileSync(config, 'auth: none\ncert: false\n');

  // code-server and its children write their state only under `root`.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_DATA_HOME: path.join(home, '.local', 'share'),
    XDG_CACHE_HOME: path.join(home, '.cache'),
    EXTENSIONS_GALLERY: NO_GALLERY,
    VSCODE_CLI_DISABLE_KEYCHAIN_ENCRYPT: '1',
  };
  delete env.NODE_OPTIONS; // tsx's loader must not leak into the server or extension host
  const common = [
    '--config',
    config,
    '--user-data-dir',
    userData,
    '--extensions-dir',
    extensions,
    '--disable-telemetry',
    '--disable-update-check',
  ];

  const processes: ChildProcess[] = [];
  let browser: Browser | undefined;
  const killAll = (signal: NodeJS.Signals): void => {
    for (const child of processes) {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) continue;
      try {
        process.kill(-child.pid, signal); // the whole group: server, extension host, pty host
      } catch {
        /* already gone */
      }
    }
  };
  const onExit = (): void => killAll('SIGKILL');
  const onSignal = (signal: NodeJS.Signals): void => {
    killAll('SIGKILL');
    if (!process.env.RECMARK_E2E_KEEP) rmSync(root, { recursive: true, force: true });
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('exit', onExit);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const stop = async (): Promise<void> => {
    if (browser) {
      const closing = browser.close().catch(() => undefined);
      await Promise.race([closing, new Promise((r) => setTimeout(r, 10_000))]);
      browser = undefined;
    }
    killAll('SIGTERM');
    const exited = processes.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) resolve();
          else child.once('exit', () => resolve());
        }),
    );
    const timer = new Promise<void>((r) => setTimeout(r, 5_000));
    await Promise.race([Promise.all(exited), timer]);
    killAll('SIGKILL');
    process.removeListener('exit', onExit);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    if (!process.env.RECMARK_E2E_KEEP) rmSync(root, { recursive: true, force: true });
    else note(`kept ${root}`);
  };

  try {
    note(`installing ${path.basename(vsix)}`);
    const installed = await run(
      tools.node,
      [tools.codeServer, ...common, '--install-extension', vsix, '--force'],
      { env, timeoutMs: 90_000 },
    );
    if (!/successfully installed/i.test(installed.stdout + installed.stderr)) {
      throw new Error(
        `--install-extension did not succeed:\n${installed.stdout}${installed.stderr}`,
      );
    }

    const port = await freePort();
    const log = path.join(SCREENSHOTS, options.serverLog ?? 'code-server.log');
    const server = spawn(
      tools.node,
      [
        tools.codeServer,
        ...common,
        '--bind-addr',
        `127.0.0.1:${port}`,
        '--auth',
        'none',
        '--disable-workspace-trust',
        '--disable-getting-started-override',
        '--ignore-last-opened',
        ...(options.extraArgs ?? []),
        workspace,
      ],
      { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    processes.push(server);
    let serverOutput = '';
    const keep = (chunk: Buffer): void => {
      serverOutput += chunk.toString();
      if (serverOutput.length > 200_000) serverOutput = serverOutput.slice(-100_000);
    };
    server.stdout?.on('data', keep);
    server.stderr?.on('data', keep);
    server.once('exit', () => writeFileSync(log, serverOutput));

    const url = `http://127.0.0.1:${port}`;
    note(`waiting for code-server on ${url}`);
    await waitFor(
      'code-server /healthz',
      async () => {
        if (server.exitCode !== null) throw new Error(`code-server exited:\n${serverOutput}`);
        const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) });
        return res.ok ? true : undefined;
      },
      60_000,
    );

    browser = await chromium.launch({
      executablePath: tools.chromium || '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
      timeout: 60_000,
    });
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    context.setDefaultTimeout(30_000);
    await context.addInitScript({ content: REPORT_CSP });
    const page = await context.newPage();
    const consoleMessages: ConsoleMessage[] = [];
    const pageErrors: Error[] = [];
    page.on('console', (msg) => consoleMessages.push(msg));
    page.on('pageerror', (err) => pageErrors.push(err));
    let shot = 0;

    return {
      root,
      workspace,
      extensions,
      port,
      url,
      page,
      console: consoleMessages,
      pageErrors,
      async screenshot(name: string): Promise<string> {
        const file = path.join(SCREENSHOTS, `${String(++shot).padStart(2, '0')}-${name}.png`);
        await settle(page);
        await page.screenshot({ path: file, timeout: 15_000 });
        return file;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

// ---- Driving the workbench ------------------------------------------------------------------
// Shared by the suites in workbench.test.ts. Every wait below has its own bound.

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A label matcher: a string matches the whole label, a RegExp as written. */
function labelPattern(label: string | RegExp): RegExp {
  return typeof label === 'string' ? new RegExp(`^${escapeRegExp(label)}$`) : label;
}

/** The content frame of the visible webview: outer iframe.webview, inner #active-frame. */
export function webview(page: Page): FrameLocator {
  return page
    .locator('iframe.webview.ready:visible')
    .contentFrame()
    .locator('#active-frame')
    .contentFrame();
}

export function quickInput(page: Page): Locator {
  return page.locator('.quick-input-widget');
}

/** A row of the open quick pick whose label matches. */
export function quickPickRow(page: Page, label: string | RegExp): Locator {
  return quickInput(page).locator('.quick-input-list .monaco-list-row', {
    has: page.locator('.label-name', { hasText: labelPattern(label) }),
  });
}

/** Type into the quick input (F1 / Ctrl+P) and pick the row whose label is exactly `label`. */
export async function pick(page: Page, key: string, text: string, label: string): Promise<void> {
  const widget = quickInput(page);
  await page.keyboard.press(key);
  const input = widget.locator('input');
  await input.waitFor({ state: 'visible', timeout: 10_000 });
  await input.fill(text);
  await quickPickRow(page, label).first().click({ timeout: 15_000 });
  // Done when this quick input is gone: hidden, replaced by the next one the command opens (the
  // widget is reused, so that one shows a different value), or taken down with the page (Reload
  // Window). The short read timeout matters there: Playwright's default would wait 30 s for an
  // input that no longer exists.
  await waitFor(
    `the quick input to close after picking ${label}`,
    async () => {
      if (!(await widget.isVisible().catch(() => false))) return true;
      const value = await input.inputValue({ timeout: 500 }).catch(() => undefined);
      return value === undefined || value !== text ? true : undefined;
    },
    10_000,
    100,
  );
}

/**
 * Wait for the quick input an extension opened (known by its title, so a quick pick that closes
 * and the next one that opens are never confused) and return it.
 */
export async function quickInputTitled(page: Page, title: string | RegExp): Promise<Locator> {
  const widget = quickInput(page).filter({
    has: page.locator('.quick-input-title', { hasText: title }),
  });
  await widget.waitFor({ state: 'visible', timeout: 20_000 });
  return widget;
}

/** In the quick pick titled `title`, click the row whose label matches. */
export async function choose(
  page: Page,
  title: string | RegExp,
  label: string | RegExp,
): Promise<void> {
  const widget = await quickInputTitled(page, title);
  // The list can re-render while it loads (the workspace's models arrive asynchronously), and a
  // row detached mid-click leaves Playwright waiting on a node that is gone: click again on the
  // fresh row until the pick closes or moves on to its next question.
  await waitFor(
    `"${label}" chosen in "${title}"`,
    async () => {
      try {
        await quickPickRow(page, label).first().click({ timeout: 3_000 });
        return true;
      } catch (err) {
        if (!(await widget.isVisible())) return true;
        throw err;
      }
    },
    20_000,
  );
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The value of a file dialog's input once it has stopped changing. code-server's "simple file
 * dialog" is a quick input that loads its folder asynchronously and rewrites the input when it
 * is done, so anything typed before then can be overwritten.
 */
export async function settledDialogValue(dialog: Locator): Promise<string> {
  const input = dialog.locator('input');
  const rows = dialog.locator('.quick-input-list .monaco-list-row');
  return waitFor(
    'the file dialog to settle',
    async () => {
      const first = await input.inputValue();
      if ((await rows.count()) === 0) return undefined; // not loaded: not even ".." yet
      await sleep(300);
      return (await input.inputValue()) === first ? first : undefined;
    },
    20_000,
    100,
  );
}

/**
 * Enter `file` (an absolute path) in the simple file dialog titled `title` and accept it, the
 * way a person types a path and presses Enter. `exists`: the file is on disk, so the dialog must
 * list it once it has followed the typed path. Retries (at most 3 times) if the dialog is still
 * open after Enter, e.g. because a late folder load replaced the typed path. `beforeEnter` runs
 * once, with the path in place (a screenshot, say).
 */
export async function enterPathInFileDialog(
  page: Page,
  title: string,
  file: string,
  exists: boolean,
  beforeEnter?: () => Promise<unknown>,
): Promise<void> {
  const dialog = await quickInputTitled(page, title);
  const input = dialog.locator('input');
  const listed = quickPickRow(page, path.basename(file));
  for (let attempt = 1; ; attempt++) {
    if ((await settledDialogValue(dialog)) !== file) {
      await input.focus();
      await input.press('ControlOrMeta+A');
      await page.keyboard.insertText(file);
    }
    await waitFor(
      `the file dialog to hold ${file}`,
      async () => {
        if (exists && !(await listed.first().isVisible())) return undefined;
        return (await settledDialogValue(dialog)) === file ? true : undefined;
      },
      20_000,
    );
    if (attempt === 1) await beforeEnter?.();
    await input.press('Enter');
    try {
      await dialog.waitFor({ state: 'hidden', timeout: 10_000 });
      return;
    } catch (err) {
      if (attempt >= 3) throw err;
      note(`file dialog "${title}" still open after Enter (attempt ${attempt}); trying again`);
    }
  }
}

/** Quick Open (Ctrl+P), the way a person opens a file by name. */
export async function quickOpen(page: Page, name: string): Promise<void> {
  await pick(page, 'Control+P', name, name);
  await page.locator('.tab.active', { hasText: name }).waitFor({ timeout: 15_000 });
}

export async function runCommand(page: Page, title: string): Promise<void> {
  await pick(page, 'F1', `>${title}`, title);
}

export async function closeAllEditors(page: Page): Promise<void> {
  await runCommand(page, 'View: Close All Editors');
  await page.locator('.tab').first().waitFor({ state: 'detached', timeout: 10_000 });
}

/** The Explorer row of a workspace file, by its exact name. */
export function explorerRow(page: Page, name: string): Locator {
  return page.locator('.explorer-folders-view .monaco-list-row', {
    has: page.locator('.label-name', { hasText: labelPattern(name) }),
  });
}

/** A notification toast (or the notification centre's row) whose text matches. */
export function notification(page: Page, text: string | RegExp): Locator {
  return page.locator('.notifications-toasts .notification-toast, .notifications-center', {
    hasText: text,
  });
}

/** Dismiss every notification toast, so they do not cover what the next screenshot shows. */
export async function clearNotifications(page: Page): Promise<void> {
  await runCommand(page, 'Notifications: Clear All Notifications');
}

// ---- One workbench for every suite ----------------------------------------------------------

/**
 * A group of end-to-end tests that runs in the shared workbench. `prepare` (slow work such as
 * embedding a watermark with the CLI) runs while the .vsix is packaged; `fill` then copies files
 * into the workspace; `register` declares the tests (inside the caller's describe); `dispose`
 * removes whatever `prepare` made outside the session's temp folder.
 */
export interface Suite {
  name: string;
  prepare?(): Promise<void>;
  fill(workspace: string): void;
  register(e2e: E2E): void;
  dispose?(): void;
}

/** What the tests see: the running session, filled in by the shared `before` hook. */
export class E2E {
  tools!: Tools;
  vsix!: string;
  session!: Session;

  get page(): Page {
    return this.session.page;
  }

  get workspace(): string {
    return this.session.workspace;
  }

  /** Runs one step; on failure leaves a screenshot named after it before rethrowing. */
  async step(name: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      await this.session?.screenshot(`FAILED-${name}`).catch(() => undefined);
      throw err;
    }
  }

  screenshot(name: string): Promise<string> {
    return this.session.screenshot(name);
  }
}

/**
 * setup.sh, packaging (while the suites prepare), code-server with every suite's files in the
 * workspace, and the workbench loaded in Chromium with `firstFile` listed in the Explorer.
 */
export async function openWorkbench(e2e: E2E, suites: Suite[], firstFile: string): Promise<void> {
  e2e.tools = await setup();
  note(`setup ok: ${e2e.tools.codeServer}`);
  const [vsix] = await Promise.all([
    packageVsix(),
    ...suites.map(async (suite) => {
      const began = Date.now();
      await suite.prepare?.();
      if (suite.prepare) note(`${suite.name}: prepared in ${Date.now() - began} ms`);
    }),
  ]);
  note(`vsix: ${vsix}`);
  e2e.vsix = vsix;
  e2e.session = await start(e2e.tools, vsix, (dir) => suites.forEach((s) => s.fill(dir)));
  const { page, url, workspace } = e2e.session;
  await page.goto(`${url}/?folder=${encodeURIComponent(workspace)}`, { timeout: 60_000 });
  await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
  // The Explorer lists the workspace once the remote connection and file service are up.
  await explorerRow(page, firstFile).waitFor({ timeout: 60_000 });
  note('workbench ready');
  await e2e.screenshot('workbench');
}
