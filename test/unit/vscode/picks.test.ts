/**
 * Issue 18's small cuts in the pickers: the model open in the editor comes first (Enter takes
 * it), the key just made is the first stored key, and Export Key File proposes a place outside
 * the workspace; inside one it warns and can add the .gitignore line.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { keyIdOf, type WatermarkKey } from '../../../src/core/watermark/key';
import { ROOT, tempDir } from '../../support/helpers';
import {
  answers,
  extensionContext,
  install,
  recorded,
  resetRecorded,
  state,
  TabInputCustom,
  Uri,
} from '../../support/vscodeStub';

install();

test('the model open in the active editor is offered first; otherwise alphabetical', async () => {
  const ws = tempDir();
  const models = ['a.onnx', 'b.onnx', 'sub/c.onnx'].map((f) => path.join(ws, f));
  state.folders = [ws];
  state.files = models;
  const { pickModel } = await import('../../../src/vscode/commands/pickModel');
  let offered: { label: string; description?: string }[] = [];
  const first = (items: readonly { label: string }[]): unknown => {
    offered = [...items];
    return items[0];
  };

  state.activeTab = new TabInputCustom(Uri.file(models[2]!), 'recmark.modelView');
  answers.quickPick.push(first);
  const picked = await pickModel('Which model?');
  assert.equal(picked?.fsPath, models[2]);
  assert.deepEqual(
    offered.map((i) => [i.label, i.description]),
    [
      [path.join('sub', 'c.onnx'), 'open in the editor'],
      ['a.onnx', ''],
      ['b.onnx', ''],
    ],
  );

  state.activeTab = undefined;
  answers.quickPick.push(first);
  assert.equal((await pickModel('Which model?'))?.fsPath, models[0]);
  state.files = [];
});

/** An AOW key with a random secret, made at `createdAt`. */
function keyAt(createdAt: string): WatermarkKey {
  const secret = new Uint8Array(randomBytes(32));
  return {
    ...{ scheme: 'aow', version: 1, keyId: keyIdOf(secret), secret, createdAt },
    ...{ sequence: [3, 1, 4, 9, 5], L: 5, M: 100, start: 'cold' },
  };
}

test('the key added last is listed first, before "all stored keys"', async () => {
  const context = extensionContext(ROOT);
  const { KeyStore } = await import('../../../src/vscode/keyStore');
  const { pickStoredKey } = await import('../../../src/vscode/commands/keys');
  const store = new KeyStore(context as never);
  // Made later but imported first: the one added last (just embedded or imported) leads.
  await store.add(keyAt('2026-06-01T00:00:00.000Z'), 'imported earlier');
  await store.add(keyAt('2026-01-01T00:00:00.000Z'), 'just added');
  let offered: string[] = [];
  answers.quickPick.push((items) => {
    offered = items.map((i) => i.label);
    return undefined;
  });
  await pickStoredKey(store, 'Which key?', true, true);
  assert.deepEqual(offered, [
    '$(key) just added',
    '$(key) imported earlier',
    '$(checklist) All 2 stored keys',
    '$(folder-opened) Import a key file…',
  ]);
});

test('Export Key File proposes the home folder; inside the workspace it warns and can ignore it', async () => {
  const ws = tempDir();
  state.folders = [ws];
  const context = extensionContext(ROOT);
  const { KeyStore } = await import('../../../src/vscode/keyStore');
  const { exportKeyCommand } = await import('../../../src/vscode/commands/keys');
  const store = new KeyStore(context as never);
  const key = keyAt('2026-02-01T00:00:00.000Z');
  await store.add(key, 'mine');
  const pick = (items: readonly { label: string }[]): unknown => items[0];

  // Inside the workspace: the warning's first button saves and adds the .gitignore line once.
  writeFileSync(path.join(ws, '.gitignore'), 'node_modules'); // no final newline
  const inside = Uri.file(path.join(ws, 'keys', 'k.wmkey.json'));
  mkdirSync(path.dirname(inside.fsPath));
  for (let round = 0; round < 2; round++) {
    resetRecorded();
    answers.quickPick.push(pick);
    answers.message.push('Export', 'Save and Add "*.wmkey.json" to .gitignore');
    answers.saveDialog.push(round === 0 ? inside : Uri.file(`${inside.fsPath}.2`));
    await exportKeyCommand(store);
    assert.ok(recorded.notifications.some((n) => /inside the workspace folder/.test(n)));
  }
  assert.equal(readFileSync(path.join(ws, '.gitignore'), 'utf8'), 'node_modules\n*.wmkey.json\n');
  assert.ok(existsSync(inside.fsPath));

  // Backing out of the warning writes nothing.
  resetRecorded();
  const declined = Uri.file(path.join(ws, 'declined.wmkey.json'));
  answers.quickPick.push(pick);
  answers.message.push('Export', undefined);
  answers.saveDialog.push(declined);
  await exportKeyCommand(store);
  assert.ok(!existsSync(declined.fsPath));

  // Outside the workspace: no warning, .gitignore untouched.
  resetRecorded();
  const outside = Uri.file(path.join(tempDir(), 'k.wmkey.json'));
  answers.quickPick.push(pick);
  answers.message.push('Export');
  answers.saveDialog.push(outside);
  await exportKeyCommand(store);
  assert.ok(existsSync(outside.fsPath));
  assert.ok(!recorded.notifications.some((n) => /inside the workspace folder/.test(n)));
  assert.deepEqual(recorded.saveDefaults, [path.join(os.homedir(), `${key.keyId}.wmkey.json`)]);
});
