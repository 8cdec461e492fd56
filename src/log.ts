/** The RecMark output channel. Never log secrets: keys are referred to by their key id only. */
import * as vscode from 'vscode';

let channel: vscode.LogOutputChannel | undefined;

function out(): vscode.LogOutputChannel {
  channel ??= vscode.window.createOutputChannel('RecMark', { log: true });
  return channel;
}

export const log = {
  info: (message: string): void => out().info(message),
  warn: (message: string): void => out().warn(message),
  error: (message: string, err?: unknown): void =>
    out().error(err instanceof Error ? `${message}: ${err.stack ?? err.message}` : message),
  show: (): void => out().show(true),
  dispose: (): void => {
    channel?.dispose();
    channel = undefined;
  },
};
