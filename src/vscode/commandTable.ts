/**
 * The command table: one entry per `recmark.*` command that package.json contributes. The
 * manifest owns each command's id and title (esbuild bundles the JSON import); this table owns
 * only the handler and whether the command needs a trusted workspace. `commandTableProblems`
 * names any drift between the two (checked by test/unit/vscode/commandTable.test.ts).
 */
import type * as vscode from 'vscode';
import { contributes } from '../../package.json';
import type { KeyStore } from './keyStore';
import { log } from './log';
import { attackExtractCommand } from './commands/attackExtract';
import { attackFinetuneCommand } from './commands/attackFinetune';
import { embedAowCommand } from './commands/embedAow';
import { embedGrewCommand } from './commands/embedGrew';
import { inspectModelCommand } from './commands/inspectModel';
import { exportKeyCommand, forgetKeyCommand, importKeyCommand } from './commands/keys';
import { robustnessSweepCommand } from './commands/robustnessSweep';
import { newEndpointProfileCommand, verifyEndpointCommand } from './commands/verifyEndpoint';
import { verifyWatermarkCommand } from './commands/verifyWatermark';

/** What the handlers share: the extension's context and its key store. */
export interface CommandHost {
  context: vscode.ExtensionContext;
  keys: KeyStore;
}

export interface CommandEntry {
  /**
   * 'trusted': refused in an untrusted workspace (it runs models or writes files);
   * 'anywhere': runs in any workspace. Both turn a failure into a notification.
   * 'plain': registered as is, for a handler that cannot fail (Show Log).
   */
  run: 'trusted' | 'anywhere' | 'plain';
  /** The first argument is the explorer or editor resource, when the command came from a menu. */
  handler: (host: CommandHost, uri?: vscode.Uri) => unknown;
}

export const COMMANDS: Readonly<Record<string, CommandEntry>> = {
  'recmark.inspectModel': { run: 'anywhere', handler: (_, uri) => inspectModelCommand(uri) },
  'recmark.embedGrew': { run: 'trusted', handler: (h, uri) => embedGrewCommand(h.keys, uri) },
  'recmark.embedAow': { run: 'trusted', handler: (h, uri) => embedAowCommand(h.keys, uri) },
  'recmark.verifyWatermark': {
    run: 'trusted',
    handler: (h, uri) => verifyWatermarkCommand(h.context, h.keys, uri),
  },
  'recmark.verifyEndpoint': {
    run: 'trusted',
    handler: (h, uri) => verifyEndpointCommand(h.context, h.keys, uri),
  },
  'recmark.newEndpointProfile': { run: 'trusted', handler: () => newEndpointProfileCommand() },
  'recmark.attackFinetune': { run: 'trusted', handler: (_, uri) => attackFinetuneCommand(uri) },
  'recmark.attackExtract': { run: 'trusted', handler: (_, uri) => attackExtractCommand(uri) },
  'recmark.robustnessSweep': {
    run: 'trusted',
    handler: (h, uri) => robustnessSweepCommand(h.context, h.keys, uri),
  },
  'recmark.importKey': { run: 'trusted', handler: (h, uri) => importKeyCommand(h.keys, uri) },
  'recmark.exportKey': { run: 'trusted', handler: (h) => exportKeyCommand(h.keys) },
  'recmark.forgetKey': { run: 'trusted', handler: (h) => forgetKeyCommand(h.keys) },
  'recmark.showLog': { run: 'plain', handler: () => log.show() },
};

/** The title package.json gives a command; it names the command in notifications and the log. */
export function commandTitle(id: string): string {
  const title = contributes.commands.find((c) => c.command === id)?.title;
  if (title === undefined) throw new Error(`${id} is not contributed in package.json`);
  return title;
}

/** Contributed commands without a handler, and handlers for commands not contributed. */
export function commandTableProblems(
  contributed: readonly string[] = contributes.commands.map((c) => c.command),
  handled: readonly string[] = Object.keys(COMMANDS),
): string[] {
  return [
    ...contributed.filter((id) => !handled.includes(id)).map((id) => `${id} has no handler`),
    ...handled.filter((id) => !contributed.includes(id)).map((id) => `${id} is not contributed`),
  ];
}
