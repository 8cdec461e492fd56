/**
 * The command table (src/vscode/commandTable.ts) against package.json: every contributed
 * `recmark.*` command has a handler and every handler a contributed command, and the host names
 * a command by its package.json title (the one place titles are written).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { fixture, ROOT } from '../../support/helpers';
import {
  extensionContext,
  install,
  recorded,
  resetRecorded,
  state,
  Uri,
} from '../../support/vscodeStub';

install();

interface Manifest {
  contributes: { commands: { command: string; title: string; enablement?: string }[] };
}
const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Manifest;
const contributed = manifest.contributes.commands;

test('every contributed command has a handler, and every handler a contributed command', async () => {
  const { COMMANDS, commandTableProblems } = await import('../../../src/vscode/commandTable');
  assert.deepEqual(commandTableProblems(), []);
  assert.deepEqual(Object.keys(COMMANDS).sort(), contributed.map((c) => c.command).sort());
  assert.ok(contributed.every((c) => c.command.startsWith('recmark.')));
});

test('the drift check names a missing handler and a handler nobody contributes', async () => {
  const { commandTableProblems } = await import('../../../src/vscode/commandTable');
  assert.deepEqual(commandTableProblems(['recmark.a', 'recmark.b'], ['recmark.b', 'recmark.c']), [
    'recmark.a has no handler',
    'recmark.c is not contributed',
  ]);
});

test('commandTitle reads package.json and refuses an unknown id', async () => {
  const { commandTitle } = await import('../../../src/vscode/commandTable');
  for (const c of contributed) assert.equal(commandTitle(c.command), c.title);
  assert.throws(() => commandTitle('recmark.nothing'), /recmark\.nothing is not contributed/);
});

test('a refused command is named by its package.json title', async () => {
  const { activate } = await import('../../../src/extension');
  resetRecorded();
  recorded.commands.clear();
  activate(extensionContext(ROOT) as never);
  state.trusted = false;
  try {
    // The manifest says which commands need trust (their enablement); the host refuses each.
    const trusted = contributed.filter((c) => c.enablement?.includes('isWorkspaceTrusted'));
    assert.ok(trusted.length >= 10);
    for (const { command, title } of trusted) {
      resetRecorded();
      await recorded.commands.get(command)!(Uri.file(fixture('sasrec_opset17.onnx')));
      assert.deepEqual(recorded.notifications, [
        `RecMark: ${title} runs models and writes files, so it is only available in a trusted workspace.`,
      ]);
    }
  } finally {
    state.trusted = true;
  }
});
