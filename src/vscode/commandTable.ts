/**
 * The command table: one entry per `recmark.*` command that package.json contributes. The
 * manifest owns each command's id, title and whether it needs a trusted workspace (its
 * `enablement`; esbuild bundles the JSON import); this table owns only the handler.
 * `commandTableProblems` names any drift between the two (checked by
 * test/unit/vscode/commandTable.test.ts).
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
  /** The first argument is the explorer or editor resource, when the command came from a menu. */
  handler: (host: CommandHost, uri?: vscode.Uri) => unknown;
  /** Registered as is, without turning failures into notifications: for a handler that cannot fail. */
  plain?: true;
}

export const COMMANDS: Readonly<Record<string, CommandEntry>> = {
  'recmark.inspectModel': { handler: (_, uri) => inspectModelCommand(uri) },
  'recmark.embedGrew': { handler: (h, uri) => embedGrewCommand(h.keys, uri) },
  'recmark.embedAow': { handler: (h, uri) => embedAowCommand(h.keys, uri) },
  'recmark.verifyWatermark': {
    handler: (h, uri) => verifyWatermarkCommand(h.context, h.keys, uri),
  },
  'recmark.verifyEndpoint': {
    handler: (h, uri) => verifyEndpointCommand(h.context, h.keys, uri),
  },
  'recmark.newEndpointProfile': { handler: () => newEndpointProfileCommand() },
  'recmark.attackFinetune': { handler: (_, uri) => attackFinetuneCommand(uri) },
  'recmark.attackExtract': { handler: (_, uri) => attackExtractCommand(uri) },
  'recmark.robustnessSweep': {
    handler: (h, uri) => robustnessSweepCommand(h.context, h.keys, uri),
  },
  'recmark.importKey': { handler: (h, uri) => importKeyCommand(h.keys, uri) },
  'recmark.exportKey': { handler: (h) => exportKeyCommand(h.keys) },
  'recmark.forgetKey': { handler: (h) => forgetKeyCommand(h.keys) },
  'recmark.showLog': { handler: () => log.show(), plain: true },
};

function contributed(id: string): { title: string; enablement?: string } {
  const command = contributes.commands.find((c) => c.command === id);
  if (command === undefined) throw new Error(`${id} is not contributed in package.json`);
  return command;
}

/** The title package.json gives a command; it names the command in notifications and the log. */
export function commandTitle(id: string): string {
  return contributed(id).title;
}

/**
 * Whether package.json enables the command only in a trusted workspace; the host refuses such a
 * command there too (a keybinding or another extension can call a disabled command).
 */
export function commandNeedsTrust(id: string): boolean {
  return /\bisWorkspaceTrusted\b/.test(contributed(id).enablement ?? '');
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
