/**
 * Activation: registers the model view and every command in the command table (commandTable.ts),
 * each wrapped so a failure becomes a notification. Heavy modules load on first use.
 */
import * as vscode from 'vscode';
import { CancelledError, errorMessage, RecMarkError } from '../core/errors';
import { COMMANDS, commandNeedsTrust, commandTitle, type CommandHost } from './commandTable';
import { KeyStore } from './keyStore';
import { log } from './log';
import { ModelEditorProvider } from './modelEditor';
import * as notify from './notify';
import { ReportPanel } from './reportPanel';
import { testApi, testObservers, type RecMarkTestApi } from './testApi';

/**
 * Run a command so that a failure becomes a notification, never an unhandled rejection. `name`
 * is the command's package.json title.
 */
function guarded(name: string, fn: (uri?: vscode.Uri) => unknown, trusted: boolean) {
  return async (uri?: vscode.Uri): Promise<void> => {
    try {
      if (trusted && !vscode.workspace.isTrusted) {
        void notify.showWarningMessage(
          `RecMark: ${name} runs models and writes files, so it is only available in a trusted workspace.`,
        );
        return;
      }
      await fn(uri);
    } catch (err) {
      if (err instanceof CancelledError) {
        void notify.showInformationMessage(`RecMark: ${name} cancelled; nothing was written.`);
        return;
      }
      if (!(err instanceof RecMarkError)) log.error(`${name} failed`, err);
      const text = `RecMark: ${errorMessage(err)}`;
      testObservers.errorShown?.(text);
      // Not awaited: the command ends now; the notification waits for the user on its own.
      void notify.showErrorMessage(text, 'Show Log').then((choice) => {
        if (choice === 'Show Log') log.show();
      });
    }
  };
}

export function activate(context: vscode.ExtensionContext): RecMarkTestApi | undefined {
  const host: CommandHost = { context, keys: new KeyStore(context) };
  context.subscriptions.push(ModelEditorProvider.register(context));
  context.subscriptions.push(ReportPanel.registerSerializer(context.extensionUri));
  for (const [id, { handler, plain }] of Object.entries(COMMANDS)) {
    const call = (uri?: vscode.Uri) => handler(host, uri);
    const registered = plain ? call : guarded(commandTitle(id), call, commandNeedsTrust(id));
    context.subscriptions.push(vscode.commands.registerCommand(id, registered));
  }
  context.subscriptions.push({ dispose: () => log.dispose() });
  return testApi(context, host.keys);
}

export function deactivate(): void {
  // Subscriptions are disposed by VS Code.
}
