/** Entry point: registers the commands and the model view. Heavy modules load on first use. */
import * as vscode from 'vscode';
import { inspectModelCommand } from './commands/inspectModel';
import { errorMessage, RecMarkError } from './core/errors';
import { log } from './log';
import { ModelEditorProvider } from './modelEditor';

/** Run a command so that a failure becomes a notification, never an unhandled rejection. */
function guarded<A extends unknown[]>(name: string, fn: (...args: A) => Promise<void>) {
  return async (...args: A): Promise<void> => {
    try {
      await fn(...args);
    } catch (err) {
      if (!(err instanceof RecMarkError)) log.error(`${name} failed`, err);
      const choice = await vscode.window.showErrorMessage(
        `RecMark: ${errorMessage(err)}`,
        'Show Log',
      );
      if (choice === 'Show Log') log.show();
    }
  };
}

export function activate(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    ModelEditorProvider.register(context),
    vscode.commands.registerCommand(
      'recmark.inspectModel',
      guarded('Inspect Model', inspectModelCommand),
    ),
    vscode.commands.registerCommand('recmark.showLog', () => log.show()),
    { dispose: () => log.dispose() },
  );
}

export function deactivate(): void {
  // Subscriptions are disposed by VS Code.
}
