/**
 * Webview security (issue 8, part 5): the CSP of the VS Code webview shell; every message from
 * a webview validated (a seeded fuzz of `parseWebviewMessage`, and the two hosts — report panel
 * and model view — fed malformed messages through their real handlers); model-derived strings
 * rendered as text by the real webview bundle in Chromium; and untrusted workspaces limited to
 * inspecting models, in the manifest and in the command handlers.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import * as esbuild from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { parseWebviewMessage, type WebviewMessage } from '../../../src/vscode/protocol';
import { inspectModel, type ModelCard } from '../../../src/core/report/modelCard';
import type { AuditReport } from '../../../src/core/report/report';
import { keyFromJson } from '../../../src/core/watermark/keyJson';
import { verifyWithKeys } from '../../../src/core/watermark/verify';
import { fixture, mulberry32, ROOT, tempDir } from '../../support/helpers';
import {
  answers,
  extensionContext,
  install,
  recorded,
  resetRecorded,
  state,
  stubPanel,
  stubWebview,
  Uri,
} from '../../support/vscodeStub';

install();

// ---- (a) The webview shell's Content-Security-Policy ---------------------------------------------

function cspOf(html: string): Map<string, string[]> {
  const match = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html);
  assert.ok(match, 'a CSP meta element');
  return new Map(
    match[1].split(';').map((d) => {
      const [name, ...values] = d.trim().split(/\s+/);
      return [name, values] as const;
    }),
  );
}

test('the webview CSP: default none, scripts by nonce only, nothing remote, every script nonced', async () => {
  const { webviewHtml } = await import('../../../src/vscode/webviewHtml');
  const view = stubWebview();
  const extension = Uri.file(ROOT);
  const html = webviewHtml(
    view as never,
    extension as never,
    'Audit: <img src=x onerror=alert(1)>',
  );
  const csp = cspOf(html);
  assert.deepEqual(csp.get('default-src'), ["'none'"]);

  const scriptSrc = csp.get('script-src') ?? [];
  assert.equal(scriptSrc.length, 1, `script-src ${scriptSrc.join(' ')}`);
  const nonce = /^'nonce-([A-Za-z0-9+/]{22}==)'$/.exec(scriptSrc[0])?.[1];
  assert.ok(nonce, `script-src is one 128-bit nonce: ${scriptSrc[0]}`);

  // The only origin allowed anywhere is VS Code's own for the extension's files (cspSource).
  for (const [directive, values] of csp) {
    for (const value of values) {
      if (value === view.cspSource) continue;
      assert.doesNotMatch(
        value,
        /^(https?:|\*|\/\/|blob:|'unsafe-(inline|eval|hashes)'|'strict-dynamic')/,
        `${directive} ${value}`,
      );
      assert.ok(
        value === "'none'" || value === 'data:' || value === `'nonce-${nonce}'`,
        `${directive} allows ${value}`,
      );
    }
  }
  assert.ok(!csp.has('connect-src') && !csp.has('frame-src') && !csp.has('object-src'));

  // Every script element carries the nonce and loads the bundle from the extension's dist/.
  const scripts = [...html.matchAll(/<script\b([^>]*)>/gi)].map((m) => m[1]);
  assert.ok(scripts.length >= 1);
  for (const attrs of scripts) {
    assert.ok(attrs.includes(`nonce="${nonce}"`), `<script${attrs}>`);
    const src = /src="([^"]*)"/.exec(attrs)?.[1] ?? '';
    assert.ok(src.endsWith(`${path.sep}dist${path.sep}webview.js`), src);
    assert.equal(src, view.asWebviewUri(Uri.joinPath(extension, 'dist', 'webview.js')).toString());
  }
  assert.doesNotMatch(html, /<[a-z][^>]*\son[a-z]+\s*=/i, 'no inline event handlers');
  assert.ok(!html.includes('<img'), 'the title is escaped');
  assert.match(html, /<title>Audit: &#60;img src=x onerror=alert\(1\)&#62;<\/title>/);
  // The toolkit reads the nonce for its one style element.
  assert.ok(html.includes(`<meta property="csp-nonce" content="${nonce}">`));
  // A fresh nonce each time.
  const again = cspOf(webviewHtml(view as never, extension as never, 'x')).get('script-src');
  assert.notDeepEqual(again, scriptSrc);
});

// ---- (b) Messages from the webview ---------------------------------------------------------------

const WELL_FORMED: ((m: WebviewMessage) => boolean)[] = [
  (m) => m.type === 'ready' && Object.keys(m).length === 1,
  (m) =>
    m.type === 'copy' &&
    typeof m.text === 'string' &&
    m.text.length <= 10_000 &&
    Object.keys(m).length === 2,
  (m) =>
    m.type === 'action' &&
    ['exportHtml', 'exportJson', 'rerun'].includes(m.action) &&
    Object.keys(m).length === 2,
];

/** Seeded generator of hostile message-like values. */
function hostile(rand: () => number, depth = 0): unknown {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const keys = [
    'type',
    'text',
    'action',
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'valueOf',
    'then',
    'length',
    '',
  ];
  const strings = [
    'ready',
    'copy',
    'action',
    'exportHtml',
    'exportJson',
    'rerun',
    'READY',
    'ready ',
    'exportHTML',
    '__proto__',
    'constructor',
    '<img src=x onerror=alert(1)>',
    'x'.repeat(10_000),
    'x'.repeat(10_001),
    '\u0000',
    '',
  ];
  const r = rand();
  if (depth === 0 && r < 0.3) {
    // Near misses: a valid message with extra, missing or retyped fields.
    const base = pick<Record<string, unknown>>([
      { type: 'ready' },
      { type: 'copy', text: pick(strings) },
      { type: 'action', action: pick(['exportHtml', 'exportJson', 'rerun', 'exportHTML', '']) },
    ]);
    const extra = Math.floor(rand() * 3);
    for (let i = 0; i < extra; i++)
      Object.defineProperty(base, pick(keys), {
        value: hostile(rand, depth + 1),
        enumerable: true,
        configurable: true,
        writable: true,
      });
    return base;
  }
  if (depth > 3 || r < 0.45) {
    return pick<unknown>([
      null,
      undefined,
      0,
      -1,
      NaN,
      Infinity,
      true,
      false,
      10n,
      pick(strings),
      'y'.repeat(1 + Math.floor(rand() * 2_000_000)),
      Symbol('s'),
      () => 1,
      new Date(0),
      /re/,
      new Uint8Array(4),
    ]);
  }
  if (r < 0.55)
    return Array.from({ length: Math.floor(rand() * 4) }, () => hostile(rand, depth + 1));
  const obj: Record<string, unknown> = rand() < 0.2 ? Object.create(null) : {};
  const n = Math.floor(rand() * 5);
  for (let i = 0; i < n; i++) {
    const key = pick(keys);
    const value = rand() < 0.5 ? pick(strings) : hostile(rand, depth + 1);
    // defineProperty makes "__proto__" an own key, as JSON.parse and structured clone do.
    Object.defineProperty(obj, key, {
      value,
      enumerable: true,
      configurable: true,
      writable: true,
    });
  }
  return obj;
}

test('parseWebviewMessage: 20,000 seeded hostile values give null or a well-formed message', () => {
  const rand = mulberry32(8);
  const counts = { null: 0, ready: 0, copy: 0, action: 0 };
  for (let i = 0; i < 20_000; i++) {
    const value = hostile(rand);
    const msg = parseWebviewMessage(value);
    if (msg === null) {
      counts.null++;
      continue;
    }
    counts[msg.type]++;
    assert.ok(
      WELL_FORMED.some((ok) => ok(msg)),
      `not well-formed: ${String(JSON.stringify(msg)).slice(0, 200)}`,
    );
    assert.notEqual(msg, value, 'a fresh object: nothing else from the input passes through');
    assert.equal(Object.getPrototypeOf(msg), Object.prototype);
  }
  // The generator reaches every branch.
  for (const [kind, n] of Object.entries(counts)) assert.ok(n > 20, `${kind}: ${n}`);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'type'), false);
});

test('parseWebviewMessage: the edges, and prototype tricks, explicitly', () => {
  const parsed = (text: string) => parseWebviewMessage(JSON.parse(text));
  assert.deepEqual(parsed('{"type":"ready","extra":{"deep":[1,2]}}'), { type: 'ready' });
  assert.deepEqual(parsed('{"type":"action","action":"rerun","then":"x"}'), {
    type: 'action',
    action: 'rerun',
  });
  assert.equal(
    parsed('{"__proto__":{"type":"ready"}}'),
    null,
    'a type inherited via __proto__ is not own',
  );
  assert.equal(
    parseWebviewMessage(Object.create({ type: 'ready' })),
    null,
    'an inherited type does not count',
  );
  assert.equal(parsed('{"type":"action","action":"toString"}'), null);
  assert.equal(parsed('{"type":"action","action":"constructor"}'), null);
  assert.equal(parsed('{"type":"action","action":["rerun"]}'), null);
  assert.equal(parsed('{"type":["ready"]}'), null);
  assert.equal(parsed('{"type":"copy","text":42}'), null);
  assert.equal(parseWebviewMessage({ type: 'copy', text: 'x'.repeat(10_001) }), null);
  assert.deepEqual(parseWebviewMessage({ type: 'copy', text: 'x'.repeat(10_000) }), {
    type: 'copy',
    text: 'x'.repeat(10_000),
  });
  assert.equal(parseWebviewMessage([{ type: 'ready' }]), null);
  assert.equal(
    parseWebviewMessage('{"type":"ready"}'),
    null,
    'a string is not parsed on our behalf',
  );
  assert.equal(({} as Record<string, unknown>).type, undefined);
});

test('both hosts send every webview message through the validator and ignore malformed ones', async () => {
  const { ReportPanel } = await import('../../../src/vscode/reportPanel');
  const { ModelEditorProvider } = await import('../../../src/vscode/modelEditor');
  const sources = ['reportPanel.ts', 'modelEditor.ts'].map((f) =>
    readFileSync(path.join(ROOT, 'src', 'vscode', f), 'utf8'),
  );
  for (const source of sources) {
    // One handler each, and it validates before anything else.
    const handlers = [...source.matchAll(/onDidReceiveMessage\(/g)];
    assert.equal(handlers.length, 1);
    assert.match(
      source,
      /onDidReceiveMessage\(\(raw: unknown\)[\s\S]{0,80}(parseWebviewMessage\(raw\)|this\.onMessage\(raw\))/,
    );
  }
  // Every onDidReceiveMessage in src/ is one of those two.
  const all = readdirSync(path.join(ROOT, 'src'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .filter((f) => readFileSync(path.join(ROOT, 'src', f), 'utf8').includes('onDidReceiveMessage'));
  assert.deepEqual(all.sort(), [
    path.join('vscode', 'modelEditor.ts'),
    path.join('vscode', 'reportPanel.ts'),
  ]);

  const rand = mulberry32(11);
  const malformed = Array.from({ length: 300 }, () => hostile(rand)).filter(
    (v) => parseWebviewMessage(v) === null,
  );
  assert.ok(malformed.length > 100);

  // The report panel.
  resetRecorded();
  state.trusted = true;
  const report = { kind: 'recmark-audit', model: { fileName: 'm.onnx' } } as AuditReport;
  let reruns = 0;
  ReportPanel.show(Uri.file(ROOT) as never, report, {
    modelKey: 'm.onnx',
    root: tempDir(),
    rerun: async () => void reruns++,
  });
  const panelHandler = recorded.webviewHandlers.at(-1)!;
  for (const value of malformed) await panelHandler(value);
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(
    recorded.ui.filter((u) => u !== 'createWebviewPanel'),
    [],
    'no dialog opened',
  );
  assert.deepEqual(recorded.posted, []);
  assert.deepEqual(recorded.clipboard, []);
  assert.equal(reruns, 0);
  assert.equal(recorded.log.filter((l) => l.includes('malformed')).length, malformed.length);
  // And a valid one still works.
  panelHandler({ type: 'action', action: 'rerun', extra: '<x>' });
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(reruns, 1);

  // The model view.
  resetRecorded();
  const context = extensionContext(ROOT);
  ModelEditorProvider.register(context as never);
  const provider = recorded.editorProviders.get('recmark.modelView') as {
    resolveCustomEditor(doc: unknown, panel: unknown): void;
  };
  const panel = stubPanel();
  provider.resolveCustomEditor({ uri: Uri.file(fixture('sasrec_opset17.onnx')) }, panel);
  const viewHandler = recorded.webviewHandlers.at(-1)!;
  for (const value of malformed) await viewHandler(value);
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(recorded.posted, [], 'no card posted for a malformed message');
  assert.deepEqual(recorded.clipboard, []);
  assert.equal(recorded.log.filter((l) => l.includes('malformed')).length, malformed.length);
  viewHandler({ type: 'copy', text: 'sha' });
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(recorded.clipboard, ['sha']);
  answers.message.length = 0;
});

// ---- (b) Model-derived strings in the real webview bundle ------------------------------------------

const EVIL = '<img src=x onerror="window.__pwned=(window.__pwned||0)+1">';
const EVIL_SVG = '<svg><script>window.__pwned=1</script></svg>';

test('the webview source never writes HTML from strings', () => {
  const dir = path.join(ROOT, 'webview', 'src');
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
  assert.ok(files.length >= 8);
  for (const file of files) {
    const text = readFileSync(path.join(dir, file), 'utf8');
    assert.doesNotMatch(
      text,
      /\.(innerHTML|outerHTML)\s*[+]?=|insertAdjacentHTML|document\.write|\beval\(|new Function\(|createContextualFragment|srcdoc|DOMParser/,
      file,
    );
  }
});

const CHROMIUM = process.env.RECMARK_CHROMIUM ?? '/usr/bin/chromium';
const noBrowser = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}`;
let browser: Browser | undefined;
let bundle: string;
let card: ModelCard;
let report: AuditReport;

before(async () => {
  const out = await esbuild.build({
    entryPoints: [path.join(ROOT, 'webview', 'src', 'main.ts')],
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  bundle = out.outputFiles[0].text;
  const model = fixture('sasrec_opset17.onnx');
  card = (await inspectModel(model)).card;
  const key = keyFromJson({ scheme: 'aow', sequence: [17, 2203, 981, 3555, 40] });
  report = await verifyWithKeys({ model, keys: [key] });
});
after(async () => {
  await browser?.close();
});

/** Hostile strings wherever a model file, its metadata or a report can put text. */
function hostileCard(): ModelCard {
  return {
    ...card,
    file: `/models/${EVIL}.onnx`,
    fileName: `${EVIL}.onnx`,
    producer: EVIL_SVG,
    input: EVIL,
    output: `${EVIL}scores`,
    lengthInput: EVIL,
    itemEmbedding: EVIL,
    sidecar: `${EVIL}.recmark.json`,
    externalFiles: [EVIL, EVIL_SVG],
    operators: { [EVIL]: 3, [EVIL_SVG]: 1, ...card.operators },
    sources: Object.fromEntries(
      Object.keys(card.sources).map((k) => [k, EVIL]),
    ) as unknown as ModelCard['sources'],
  };
}

function hostileReport(): AuditReport {
  return {
    ...report,
    model: { ...report.model, fileName: `${EVIL}.onnx`, input: EVIL, output: EVIL_SVG },
    keyId: EVIL,
    sentence: `${EVIL} ${report.sentence}`,
    parameters: { ...report.parameters, note: EVIL },
    keyChecks: [
      {
        keyId: EVIL,
        scheme: 'aow',
        verdict: 'absent',
        pValueText: EVIL,
        log10PValue: 0,
        error: EVIL_SVG,
      },
    ],
  };
}

/** What VS Code defines in a webview before the extension's script runs. */
const API =
  'window.acquireVsCodeApi = () => ({ postMessage: (m) => { window.__sent = (window.__sent || []).concat([m]); }, setState: (s) => { window.__state = s; } });';

/**
 * The webview as VS Code hosts it (acquireVsCodeApi present), but without a CSP: the rendering
 * itself must be inert, whatever the CSP would also block.
 */
async function renderInVsCodeMode(
  messages: unknown[],
  control = false,
): Promise<{
  pwned: unknown;
  imgs: number;
  svgs: number;
  handlers: number;
  text: string;
  errors: string[];
}> {
  browser ??= await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run'],
    timeout: 60_000,
  });
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const script = control
      ? 'window.addEventListener("message", (e) => { document.getElementById("app").innerHTML = e.data.card.fileName; });'
      : bundle.replace(/<\/script/gi, '<\\/script');
    await page.setContent(
      `<!DOCTYPE html><html><head><meta charset="utf-8"></head><body><main id="app"></main><script>${API}</script><script>${script}</script></body></html>`,
      { waitUntil: 'load' },
    );
    for (const message of messages) {
      await page.evaluate((m) => window.postMessage(m, '*'), message);
      await page.waitForTimeout(150);
    }
    await page.waitForTimeout(300);
    return await page
      .evaluate(() => {
        const app = document.getElementById('app')!;
        const all = Array.from(app.querySelectorAll('*'));
        return {
          pwned: (window as unknown as { __pwned?: unknown }).__pwned,
          imgs: app.querySelectorAll('img').length,
          svgs: app.querySelectorAll('svg script').length,
          handlers: all.filter((n) => Array.from(n.attributes).some((a) => a.name.startsWith('on')))
            .length,
          text: app.textContent ?? '',
        };
      })
      .then((r) => ({ ...r, errors }));
  } finally {
    await context.close();
  }
}

test(
  'hostile model names, metadata and report fields render as inert text in the webview',
  { skip: noBrowser },
  async () => {
    // The harness can see an injection: the same payload through innerHTML fires.
    const control = await renderInVsCodeMode([{ type: 'modelCard', card: hostileCard() }], true);
    assert.ok(control.imgs >= 1 && control.pwned, 'the control injection was not detected');

    const r = await renderInVsCodeMode([
      { type: 'modelCard', card: hostileCard(), report: hostileReport() },
      { type: 'report', report: hostileReport(), actions: ['exportHtml'], state: {} },
      { type: 'error', message: EVIL, fix: EVIL_SVG },
    ]);
    assert.deepEqual(r.errors, []);
    assert.equal(r.pwned, undefined, 'a payload ran');
    assert.equal(r.imgs, 0);
    assert.equal(r.svgs, 0);
    assert.equal(r.handlers, 0, 'an element with an on* attribute was created');
    // The last message (the error view) shows both strings literally.
    assert.ok(r.text.includes(EVIL) && r.text.includes(EVIL_SVG), r.text.slice(0, 300));

    const card = await renderInVsCodeMode([
      { type: 'modelCard', card: hostileCard(), report: hostileReport() },
    ]);
    assert.equal(card.pwned, undefined);
    assert.equal(card.imgs + card.svgs + card.handlers, 0);
    assert.ok(card.text.includes(`${EVIL}.onnx`), 'the file name is shown as text');
    assert.ok(card.text.includes(EVIL_SVG), 'the producer is shown as text');
    const shown = await renderInVsCodeMode([
      { type: 'report', report: hostileReport(), actions: ['exportHtml'], state: {} },
    ]);
    assert.equal(shown.pwned, undefined);
    assert.equal(shown.imgs + shown.svgs + shown.handlers, 0);
    assert.ok(shown.text.includes(`${EVIL}.onnx`));
  },
);

// ---- (c) Untrusted workspaces: inspect only --------------------------------------------------------

interface Manifest {
  capabilities: {
    untrustedWorkspaces: { supported: unknown; restrictedConfigurations?: string[] };
  };
  contributes: {
    commands: { command: string; enablement?: string }[];
    menus: Record<string, { command: string; when?: string }[]>;
  };
}
const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Manifest;

/**
 * Available without trust: Inspect (reads a model into the read-only card; the one
 * allowance) and Show Log (reveals RecMark's own output channel; reads nothing from the
 * workspace). Everything else runs models, reads data, writes files or touches keys.
 */
const UNTRUSTED_OK = new Set(['recmark.inspectModel', 'recmark.showLog']);

test('the manifest: limited support, and every other command and menu entry needs trust', () => {
  const untrusted = manifest.capabilities.untrustedWorkspaces;
  assert.equal(untrusted.supported, 'limited');
  assert.ok(untrusted.restrictedConfigurations?.includes('recmark.dataFile'));
  assert.ok(untrusted.restrictedConfigurations?.includes('recmark.idMapFile'));
  const commands = manifest.contributes.commands;
  assert.ok(commands.length >= 10);
  for (const c of commands) {
    if (UNTRUSTED_OK.has(c.command)) continue;
    assert.match(
      c.enablement ?? '',
      /(^|&&\s*)isWorkspaceTrusted(\s*&&|$)/,
      `${c.command} enablement`,
    );
    assert.doesNotMatch(c.enablement ?? '', /\|\||!isWorkspaceTrusted/, c.command);
  }
  for (const [menu, entries] of Object.entries(manifest.contributes.menus))
    for (const e of entries) {
      if (UNTRUSTED_OK.has(e.command)) continue;
      assert.match(e.when ?? '', /isWorkspaceTrusted/, `${menu}: ${e.command}`);
    }
});

test('the handlers refuse too: in an untrusted workspace only Inspect and Show Log do anything', async () => {
  const { activate } = await import('../../../src/vscode/extension');
  resetRecorded();
  recorded.commands.clear();
  const context = extensionContext(ROOT);
  activate(context as never);
  const registered = [...recorded.commands.keys()].sort();
  assert.deepEqual(registered, manifest.contributes.commands.map((c) => c.command).sort());

  state.trusted = false;
  try {
    for (const id of registered) {
      resetRecorded();
      const model = Uri.file(fixture('sasrec_opset17.onnx'));
      await recorded.commands.get(id)!(model);
      if (UNTRUSTED_OK.has(id)) {
        assert.ok(!recorded.notifications.some((n) => /trusted workspace/.test(n)), id);
        continue;
      }
      assert.deepEqual(
        recorded.ui,
        ['showWarningMessage'],
        `${id} went further: ${recorded.ui.join(', ')}`,
      );
      assert.match(recorded.notifications[0], /only available in a trusted workspace/, id);
      assert.deepEqual(context.dump().secrets, {});
    }
  } finally {
    state.trusted = true;
  }
});
