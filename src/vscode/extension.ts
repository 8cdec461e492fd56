/** Entry point: registers the commands and the model view. Heavy modules load on first use. */
import * as vscode from 'vscode';
import * as notify from './notify';
import { attackExtractCommand } from './commands/attackExtract';
import { attackFinetuneCommand } from './commands/attackFinetune';
import { embedAowCommand } from './commands/embedAow';
import { embedGrewCommand } from './commands/embedGrew';
import { inspectModelCommand } from './commands/inspectModel';
import { robustnessSweepCommand } from './commands/robustnessSweep';
import { exportKeyCommand, forgetKeyCommand, importKeyCommand } from './commands/keys';
import { newEndpointProfileCommand, verifyEndpointCommand } from './commands/verifyEndpoint';
import { verifyWatermarkCommand } from './commands/verifyWatermark';
import { CancelledError, errorMessage, RecMarkError } from '../core/errors';
import { KeyStore } from './keyStore';
import { log } from './log';
import { ModelEditorProvider } from './modelEditor';
import { testApi, testObservers, type RecMarkTestApi } from './testApi';

/** Run a command so that a failure becomes a notification, never an unhandled rejection. */
function guarded<A extends unknown[]>(
  name: string,
  fn: (...args: A) => Promise<unknown>,
  trusted = false,
) {
  return async (...args: A): Promise<void> => {
    try {
      if (trusted && !vscode.workspace.isTrusted) {
        void notify.showWarningMessage(
          `RecMark: ${name} runs models and writes files, so it is only available in a trusted workspace.`,
        );
        return;
      }
      await fn(...args);
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
  const keys = new KeyStore(context);
  const command = (id: string, handler: (...args: never[]) => Promise<void>) =>
    vscode.commands.registerCommand(id, handler);
  context.subscriptions.push(
    ModelEditorProvider.register(context),
    command('recmark.inspectModel', guarded('Inspect Model', inspectModelCommand)),
    command(
      'recmark.embedGrew',
      guarded('Embed GREW Watermark', (uri?: vscode.Uri) => embedGrewCommand(keys, uri), true),
    ),
    command(
      'recmark.embedAow',
      guarded('Embed AOW Watermark', (uri?: vscode.Uri) => embedAowCommand(keys, uri), true),
    ),
    command(
      'recmark.verifyWatermark',
      guarded(
        'Verify Watermark',
        (uri?: vscode.Uri) => verifyWatermarkCommand(context, keys, uri),
        true,
      ),
    ),
    command(
      'recmark.verifyEndpoint',
      guarded(
        'Verify Watermark on Endpoint',
        (uri?: vscode.Uri) => verifyEndpointCommand(context, keys, uri),
        true,
      ),
    ),
    command(
      'recmark.newEndpointProfile',
      guarded('New Endpoint Profile', () => newEndpointProfileCommand(), true),
    ),
    command(
      'recmark.attackFinetune',
      guarded(
        'Simulate Fine-Tuning Attack',
        (uri?: vscode.Uri) => attackFinetuneCommand(uri),
        true,
      ),
    ),
    command(
      'recmark.attackExtract',
      guarded('Simulate Extraction Attack', (uri?: vscode.Uri) => attackExtractCommand(uri), true),
    ),
    command(
      'recmark.robustnessSweep',
      guarded(
        'Robustness Sweep',
        (uri?: vscode.Uri) => robustnessSweepCommand(context, keys, uri),
        true,
      ),
    ),
    command(
      'recmark.importKey',
      guarded('Import Key', (uri?: vscode.Uri) => importKeyCommand(keys, uri), true),
    ),
    command(
      'recmark.exportKey',
      guarded('Export Key', () => exportKeyCommand(keys), true),
    ),
    command(
      'recmark.forgetKey',
      guarded('Remove Stored Key', () => forgetKeyCommand(keys), true),
    ),
    vscode.commands.registerCommand('recmark.showLog', () => log.show()),
    { dispose: () => log.dispose() },
  );
  return testApi(context, keys);
}

export function deactivate(): void {
  // Subscriptions are disposed by VS Code.
}
