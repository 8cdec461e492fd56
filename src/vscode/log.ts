/**
 * The RecMark output channel. Never log secrets: keys are referred to by their key id only.
 * Messages carry file names, model metadata and service answers, so controls in them are shown
 * escaped (core/util/terminalSafe); a stack trace keeps its lines.
 */
import * as vscode from 'vscode';
import { safeLines, safeText } from '../core/util/terminalSafe';

let channel: vscode.LogOutputChannel | undefined;

function out(): vscode.LogOutputChannel {
  channel ??= vscode.window.createOutputChannel('RecMark', { log: true });
  return channel;
}

export const log = {
  info: (message: string): void => out().info(safeText(message)),
  warn: (message: string): void => out().warn(safeText(message)),
  error: (message: string, err?: unknown): void =>
    out().error(
      err instanceof Error
        ? `${safeText(message)}: ${safeLines(err.stack ?? err.message)}`
        : safeText(message),
    ),
  show: (): void => out().show(true),
  dispose: (): void => {
    channel?.dispose();
    channel = undefined;
  },
};
