/** The audit report panel: renders one AuditReport and handles export and re-run requests. */
import * as vscode from 'vscode';
import * as notify from './notify';
import { reportToHtml } from '../core/report/html';
import type { AuditReport } from '../core/report/report';
import { reportFileName, REPORTS_DIR } from '../core/report/store';
import { writeFileAtomic } from '../core/util/files';
import { log } from './log';
import { parseWebviewMessage, type HostMessage, type WebviewMessage } from './protocol';
import { webviewHtml, webviewOptions } from './webviewHtml';

/** What crossed the panel's message channel; observed only by the in-host test suite. */
export type PanelEvent =
  | { kind: 'received'; type: WebviewMessage['type'] }
  | { kind: 'ignored' }
  | { kind: 'posted'; type: HostMessage['type']; delivered: boolean };

export class ReportPanel {
  static readonly viewType = 'recmark.report';
  private static current: ReportPanel | undefined;
  /** Set only in ExtensionMode.Test (see testApi.ts). */
  static observer: ((event: PanelEvent) => void) | undefined;

  /** Feed a raw message to the open panel as if its webview had sent it (tests only). */
  static async deliver(raw: unknown): Promise<void> {
    await ReportPanel.current?.onMessage(raw);
  }

  private report: AuditReport | undefined;
  private rerun: (() => Promise<void>) | undefined;
  private ready = false;

  /** Show a report, reusing the open panel. `rerun` repeats the audit that produced it. */
  static show(
    extensionUri: vscode.Uri,
    report: AuditReport,
    root: string | undefined,
    rerun?: () => Promise<void>,
  ): void {
    if (!ReportPanel.current) ReportPanel.current = new ReportPanel(extensionUri);
    const panel = ReportPanel.current;
    panel.report = report;
    panel.root = root;
    panel.rerun = rerun;
    panel.panel.title = `Audit: ${report.model.fileName}`;
    panel.panel.reveal(vscode.ViewColumn.Active);
    if (panel.ready) void panel.post({ type: 'report', report });
  }

  private root: string | undefined;
  private readonly panel: vscode.WebviewPanel;

  private constructor(private readonly extensionUri: vscode.Uri) {
    this.panel = vscode.window.createWebviewPanel(
      ReportPanel.viewType,
      'RecMark audit',
      vscode.ViewColumn.Active,
      {
        ...webviewOptions(extensionUri),
        retainContextWhenHidden: true,
      },
    );
    this.panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'recmark.svg');
    this.panel.webview.html = webviewHtml(this.panel.webview, extensionUri, 'RecMark audit');
    this.panel.onDidDispose(() => {
      ReportPanel.current = undefined;
    });
    this.panel.webview.onDidReceiveMessage((raw: unknown) => void this.onMessage(raw));
  }

  private async post(message: HostMessage): Promise<boolean> {
    const delivered = await this.panel.webview.postMessage(message);
    ReportPanel.observer?.({ kind: 'posted', type: message.type, delivered });
    return delivered;
  }

  private async onMessage(raw: unknown): Promise<void> {
    const msg = parseWebviewMessage(raw);
    if (!msg) {
      ReportPanel.observer?.({ kind: 'ignored' });
      log.warn('Ignored a malformed message from the report panel.');
      return;
    }
    ReportPanel.observer?.({ kind: 'received', type: msg.type });
    if (msg.type === 'ready') {
      this.ready = true;
      if (this.report) await this.post({ type: 'report', report: this.report });
      return;
    }
    if (msg.type === 'copy') {
      await vscode.env.clipboard.writeText(msg.text);
      return;
    }
    const report = this.report;
    if (!report) return;
    try {
      if (msg.action === 'rerun') await this.rerun?.();
      else await this.export(report, msg.action === 'exportHtml' ? 'html' : 'json');
    } catch (err) {
      log.error('Report action failed', err);
      void notify.showErrorMessage(`RecMark: ${(err as Error).message}`);
    }
  }

  private async export(report: AuditReport, ext: 'html' | 'json'): Promise<void> {
    const defaultDir = this.root ? vscode.Uri.file(`${this.root}/${REPORTS_DIR}`) : undefined;
    if (defaultDir) await vscode.workspace.fs.createDirectory(defaultDir);
    const target = await vscode.window.showSaveDialog({
      title: ext === 'html' ? 'Export the audit report as HTML' : 'Export the audit report as JSON',
      defaultUri: defaultDir
        ? vscode.Uri.joinPath(defaultDir, reportFileName(report, ext))
        : undefined,
      filters: ext === 'html' ? { 'HTML report': ['html'] } : { 'JSON report': ['json'] },
    });
    if (!target) return;
    const text =
      ext === 'json'
        ? `${JSON.stringify(report, null, 2)}\n`
        : reportToHtml(report, await this.assets());
    // The save dialog asked before replacing an existing file.
    if (target.scheme === 'file') await writeFileAtomic(target.fsPath, text, { replace: true });
    else await vscode.workspace.fs.writeFile(target, Buffer.from(text, 'utf8'));
    const open = await notify.showInformationMessage(
      `Report exported to ${vscode.workspace.asRelativePath(target)}.`,
      'Reveal',
    );
    if (open === 'Reveal') await vscode.commands.executeCommand('revealFileInOS', target);
  }

  private async assets(): Promise<{ script: string; css: string }> {
    const read = async (...parts: string[]) =>
      Buffer.from(
        await vscode.workspace.fs.readFile(vscode.Uri.joinPath(this.extensionUri, ...parts)),
      ).toString('utf8');
    return { script: await read('dist', 'webview.js'), css: await read('media', 'recmark.css') };
  }
}
