/**
 * The in-host suite: runs inside a VS Code extension host (launched with --extensionTestsPath by
 * @vscode/test-electron, or inside code-server by test/e2e). VS Code calls `run()`; a rejection
 * fails the run. Results also go to the file named in config.json (written by the launcher next
 * to this bundle), because the host's console is not visible to the launcher.
 *
 * No test framework: a dozen sequential tests with node:assert do not need mocha.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { AuditReport } from '../../../src/core/report/report';
import { keyFromJson, keyToJson } from '../../../src/core/watermark/keyJson';
import type { RecMarkTestApi } from '../../../src/vscode/testApi';
import type { InHostConfig, InHostResults } from '../config';

const EXTENSION_ID = 'recmark.recmark';

const config = JSON.parse(
  readFileSync(path.join(__dirname, 'config.json'), 'utf8'),
) as InHostConfig;

interface Case {
  name: string;
  fn: () => Promise<void>;
}
const cases: Case[] = [];
const test = (name: string, fn: () => Promise<void>): void => void cases.push({ name, fn });
const measured: Record<string, number> = {};

function extension(): vscode.Extension<RecMarkTestApi | undefined> {
  const ext = vscode.extensions.getExtension<RecMarkTestApi | undefined>(EXTENSION_ID);
  assert.ok(ext, `${EXTENSION_ID} is not installed in this host`);
  return ext;
}

function api(): RecMarkTestApi {
  const exports = extension().exports;
  assert.ok(exports, 'activate() returned no test API: is the host in ExtensionMode.Test?');
  return exports;
}

async function until<T>(what: string, probe: () => T | undefined, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const onnxRuntimeLoaded = (): boolean =>
  Object.keys(require.cache).some((file) =>
    file.includes(`${path.sep}onnxruntime-node${path.sep}`),
  );

// ---- activation --------------------------------------------------------------------------------

test('nothing activates RecMark before it is needed', async () => {
  assert.equal(extension().isActive, false);
  // VS Code derives the activation events from the contributions (commands, custom editor);
  // the one declared is a report panel restored after a reload, which has no contribution.
  assert.deepEqual(extension().packageJSON.activationEvents, ['onWebviewPanel:recmark.report']);
});

test('running a RecMark command activates it, without loading onnxruntime', async () => {
  const began = performance.now();
  await vscode.commands.executeCommand('recmark.showLog');
  measured.firstCommandMs = performance.now() - began;
  assert.equal(extension().isActive, true);
  assert.equal(onnxRuntimeLoaded(), false, 'onnxruntime-node was loaded during activation');
});

test('every contributed command is registered, and no undeclared one', async () => {
  const declared = (extension().packageJSON.contributes.commands as { command: string }[]).map(
    (c) => c.command,
  );
  const registered = (await vscode.commands.getCommands(true)).filter((c) =>
    c.startsWith('recmark.'),
  );
  assert.deepEqual([...registered].sort(), [...declared].sort());
});

test('opening a .onnx opens the RecMark model view', async () => {
  const model = vscode.Uri.file(path.join(config.workspace, config.model));
  await vscode.commands.executeCommand('vscode.open', model);
  const tab = await until('the model view tab', () => {
    const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
    return input instanceof vscode.TabInputCustom ? input : undefined;
  });
  assert.equal(tab.viewType, 'recmark.modelView');
  assert.equal(tab.uri.fsPath, model.fsPath);
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
});

// ---- SecretStorage ----------------------------------------------------------------------------

test('a key survives the SecretStorage round trip, secret included', async () => {
  const { keys } = api();
  const original = keyFromJson(JSON.parse(readFileSync(config.keyFile, 'utf8')), 'key file');
  await keys.add(original, 'round trip');
  assert.ok(keys.list().some((k) => k.keyId === original.keyId && k.label === 'round trip'));
  const back = await keys.get(original.keyId);
  assert.ok(back, 'stored key not found');
  assert.deepEqual(keyToJson(back, true), keyToJson(original, true));
  await keys.remove(original.keyId);
  assert.equal(await keys.get(original.keyId), null);
  assert.ok(!keys.list().some((k) => k.keyId === original.keyId));
});

test('Import Key File stores the key given its file', async () => {
  const { keys } = api();
  const original = keyFromJson(JSON.parse(readFileSync(config.keyFile, 'utf8')), 'key file');
  await vscode.commands.executeCommand('recmark.importKey', vscode.Uri.file(config.keyFile));
  const back = await keys.get(original.keyId);
  assert.ok(back, 'the imported key is not in secret storage');
  assert.deepEqual(keyToJson(back, true), keyToJson(original, true));
  // The index that the pickers show holds ids and labels, never the secret.
  assert.ok(!JSON.stringify(keys.list()).includes(String(keyToJson(original, true).secret)));
  await keys.remove(original.keyId);
});

test('Import Key File refuses broken key files with an error naming the problem; the host keeps working', async () => {
  const { keys, errors } = api();
  const stored = keys.list().length;
  for (const { file, problem } of config.badKeys) {
    const before = errors.length;
    // Resolves (the command catches); a rejection here would mean an unhandled failure.
    await vscode.commands.executeCommand('recmark.importKey', vscode.Uri.file(file));
    const shown = errors.slice(before);
    assert.equal(shown.length, 1, `${path.basename(file)}: expected one error notification`);
    assert.match(shown[0]!, new RegExp(problem));
    assert.doesNotMatch(shown[0]!, /\n\s+at /, 'a stack trace reached the notification');
  }
  assert.equal(keys.list().length, stored, 'a broken key was stored');
  assert.equal(extension().isActive, true);
  // And the next good import still works.
  const good = keyFromJson(JSON.parse(readFileSync(config.keyFile, 'utf8')), 'key file');
  await vscode.commands.executeCommand('recmark.importKey', vscode.Uri.file(config.keyFile));
  assert.ok(await keys.get(good.keyId));
  await keys.remove(good.keyId);
});

// ---- report panel messaging -------------------------------------------------------------------

test('the report panel’s webview says ready and receives the report', async () => {
  const { reportPanel } = api();
  const report = JSON.parse(readFileSync(config.reportFile, 'utf8')) as AuditReport;
  const before = reportPanel.events.length;
  reportPanel.show(report);
  const events = () => reportPanel.events.slice(before);
  await until('the webview’s ready message', () =>
    events().some((e) => e.kind === 'received' && e.type === 'ready') ? true : undefined,
  );
  const posted = await until('the report posted to the webview', () =>
    events().find((e) => e.kind === 'posted' && e.type === 'report'),
  );
  assert.deepEqual(posted, { kind: 'posted', type: 'report', delivered: true });
  const tab = vscode.window.tabGroups.activeTabGroup.activeTab;
  assert.equal(tab?.label, `Audit: ${report.model.fileName}`);
});

test('the report panel ignores malformed and unknown messages', async () => {
  const { reportPanel } = api();
  const hostile: unknown[] = [
    null,
    'ready',
    { type: 'action', action: 'deleteWorkspace' },
    { type: 'copy', text: 'x'.repeat(10_001) },
    { type: 'copy', text: 42 },
    { type: 'evaluate', code: 'process.exit(1)' },
  ];
  const before = reportPanel.events.length;
  for (const raw of hostile) await reportPanel.deliver(raw);
  const events = reportPanel.events.slice(before);
  assert.deepEqual(
    events,
    hostile.map(() => ({ kind: 'ignored' })),
  );
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
});

// ---- runner ------------------------------------------------------------------------------------

export async function run(): Promise<void> {
  const results: InHostResults = {
    host: vscode.env.appName,
    version: vscode.version,
    tests: [],
    measured,
  };
  for (const { name, fn } of cases) {
    const began = performance.now();
    try {
      await fn();
      results.tests.push({ name, ok: true, ms: Math.round(performance.now() - began) });
      console.log(`ok ${name}`);
    } catch (err) {
      const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
      results.tests.push({
        name,
        ok: false,
        ms: Math.round(performance.now() - began),
        error: message,
      });
      console.error(`not ok ${name}\n${message}`);
    }
  }
  writeFileSync(config.resultsFile, JSON.stringify(results, null, 2));
  const failed = results.tests.filter((t) => !t.ok).length;
  if (failed > 0) throw new Error(`${failed} of ${results.tests.length} in-host tests failed`);
}
