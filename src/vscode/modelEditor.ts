/**
 * The inline view of a `.onnx` checkpoint: a read-only custom editor showing the model card.
 * Loading runs in the extension host through core/; the webview only renders what it is sent.
 */
import * as vscode from 'vscode';
import { errorMessage, RecMarkError } from '../core/errors';
import { inspectModel } from '../core/report/modelCard';
import { latestReportFor } from '../core/report/store';
import { reportsRoot } from './settings';
import { log } from './log';
import { parseWebviewMessage, type HostMessage } from './protocol';
import { webviewHtml, webviewOptions } from './webviewHtml';

export class ModelEditorProvider implements vscode.CustomReadonlyEditorProvider {
  static readonly viewType = 'recmark.modelView';

  static register(context: vscode.ExtensionContext): vscode.Disposable {
    return vscode.window.registerCustomEditorProvider(
      ModelEditorProvider.viewType,
      new ModelEditorProvider(context.extensionUri),
      { supportsMultipleEditorsPerDocument: true },
    );
  }

  private constructor(private readonly extensionUri: vscode.Uri) {}

  openCustomDocument(uri: vscode.Uri): vscode.CustomDocument {
    return { uri, dispose: () => undefined };
  }

  resolveCustomEditor(document: vscode.CustomDocument, panel: vscode.WebviewPanel): void {
    const { webview } = panel;
    webview.options = webviewOptions(this.extensionUri);
    webview.html = webviewHtml(webview, this.extensionUri, 'RecMark model');
    const post = (message: HostMessage): Thenable<boolean> => webview.postMessage(message);

    let generation = 0;
    const refresh = async (): Promise<void> => {
      const mine = ++generation;
      const message = await loadCard(document.uri);
      if (mine === generation) await post(message);
    };

    const disposables: vscode.Disposable[] = [
      webview.onDidReceiveMessage((raw: unknown) => {
        const msg = parseWebviewMessage(raw);
        if (!msg) {
          log.warn('Ignored a malformed message from the model view.');
          return;
        }
        if (msg.type === 'ready') void refresh();
        else if (msg.type === 'copy') void vscode.env.clipboard.writeText(msg.text);
      }),
    ];
    if (document.uri.scheme === 'file') {
      const folder = vscode.Uri.joinPath(document.uri, '..');
      const name = document.uri.path.split('/').pop() ?? '';
      // Refresh when the checkpoint or its sidecar changes on disk.
      const watcher = vscode.workspace.createFileSystemWatcher(
        new vscode.RelativePattern(folder, `${name}{,.recmark.json}`),
      );
      watcher.onDidChange(() => void refresh());
      watcher.onDidCreate(() => void refresh());
      watcher.onDidDelete(() => void refresh());
      // A new audit report for this model shows up in the view as soon as it is saved.
      const reports = vscode.workspace.createFileSystemWatcher('**/.recmark/reports/*.json');
      reports.onDidCreate(() => void refresh());
      reports.onDidChange(() => void refresh());
      disposables.push(watcher, reports);
    }
    panel.onDidDispose(() => disposables.forEach((d) => d.dispose()));
  }
}

async function loadCard(uri: vscode.Uri): Promise<HostMessage> {
  if (uri.scheme !== 'file') {
    return {
      type: 'error',
      message: `RecMark reads models from local files; ${uri.scheme}: is not supported.`,
    };
  }
  try {
    const { card } = await inspectModel(uri.fsPath);
    log.info(`Inspected ${card.fileName}: ${card.numItems} items, opset ${card.opset}.`);
    const root = reportsRoot(uri);
    const report = root ? await latestReportFor(root, card.sha256) : null;
    return report ? { type: 'modelCard', card, report } : { type: 'modelCard', card };
  } catch (err) {
    if (!(err instanceof RecMarkError)) log.error(`Internal error inspecting ${uri.fsPath}`, err);
    else log.warn(`Cannot inspect ${uri.fsPath}: ${err.message}`);
    return { type: 'error', message: errorMessage(err) };
  }
}
