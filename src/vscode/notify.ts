/**
 * Notifications with their text made safe: messages name files, keys and models, whose names may
 * hold bidi overrides or controls (core/util/terminalSafe). Line breaks become spaces, since a
 * notification is one paragraph. Use these instead of vscode.window.show*Message.
 */
import * as vscode from 'vscode';
import { safeText } from '../core/util/terminalSafe';

type Show = typeof vscode.window.showInformationMessage;
type Loose = (message: string, ...rest: unknown[]) => Thenable<unknown>;

export function notificationText(message: string): string {
  return safeText(message.replace(/\s*\n\s*/g, ' '));
}

/** Looked up at call time, so a test's stub of vscode.window is what gets called. */
function safely(pick: () => Loose): Show {
  return ((message: string, ...rest: unknown[]) =>
    pick()(notificationText(message), ...rest)) as Show;
}

export const showInformationMessage = safely(() => vscode.window.showInformationMessage as Loose);
export const showWarningMessage = safely(() => vscode.window.showWarningMessage as Loose);
export const showErrorMessage = safely(() => vscode.window.showErrorMessage as Loose);
