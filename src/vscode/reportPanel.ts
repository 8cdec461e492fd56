/**
 * Audit report panels: one tab per audited model (a new report on the same model reuses its
 * tab, another model gets its own), each restored after a window reload from the state its
 * webview keeps. Renders one AuditReport and handles export and re-run requests.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import * as notify from './notify';
import { reportToHtml } from '../core/report/html';
import type { AuditReport } from '../core/report/report';
import { freeExportName } from '../core/report/store';
import { writeFileAtomic } from '../core/util/files';
import { log } from './log';
import {
  ACTIONS,
  parsePanelState,
  parseWebviewMessage,
  type HostMessage,
  type WebviewMessage,
} from './protocol';
import { reportsRoot } from './settings';
import { webviewHtml, webviewOptions } from './webviewHtml';

/** What crossed a panel's message channel; observed only by the in-host test suite. */
export type PanelEvent =
  | { kind: 'received'; type: WebviewMessage['type'] }
  | { kind: 'ignored' }
  | { kind: 'posted'; type: HostMessage['type']; delivered: boolean };

export interface ShowOptions {
  /** The audited model's path (or endpoint profile's): one tab per key. */
  modelKey: string;
  /** The workspace folder exports default to. */
  root?: string;
  /** Repeats the audit that produced the report; absent after a reload. */
  rerun?: () => Promise<void>;
}

export class ReportPanel {
  static readonly viewType = 'recmark.report';
  private static readonly panels = new Map<string, ReportPanel>();
  private static lastShown: ReportPanel | undefined;
  /** Set only in ExtensionMode.Test (see testApi.ts). */
  static observer: ((event: PanelEvent) => void) | undefined;

  /** Feed a raw message to the panel shown last as if its webview had sent it (tests only). */
  static async deliver(raw: unknown): Promise<void> {
    await ReportPanel.lastShown?.onMessage(raw);
  }

  /** Show a report in its model's tab (created if none is open), scrolled to the top. */
  static show(extensionUri: vscode.Uri, report: AuditReport, options: ShowOptions): void {
    const panel =
      ReportPanel.panels.get(options.modelKey) ??
      new ReportPanel(
        extensionUri,
        options.modelKey,
        // The webview's options are set in the constructor (a restored panel needs them too).
        vscode.window.createWebviewPanel(
          ReportPanel.viewType,
          'RecMark audit',
          vscode.ViewColumn.Active,
          {
            retainContextWhenHidden: true,
          },
        ),
      );
    panel.display(report, options.root, options.rerun);
    panel.panel.reveal(vscode.ViewColumn.Active);
  }

  /** Restores report panels after a window reload (VS Code hands back each webview's state). */
  static registerSerializer(extensionUri: vscode.Uri): vscode.Disposable {
    return vscode.window.registerWebviewPanelSerializer(ReportPanel.viewType, {
      deserializeWebviewPanel: async (webviewPanel, raw: unknown) => {
        const state = parsePanelState(raw);
        const key = state?.modelKey ?? `unrestorable-${Date.now()}`;
        const panel = new ReportPanel(extensionUri, key, webviewPanel);
        if (state) {
          const root = path.isAbsolute(key) ? reportsRoot(vscode.Uri.file(key)) : undefined;
          panel.display(state.report, root, undefined);
        } else {
          panel.pending = {
            type: 'error',
            message: 'This audit report could not be restored after the reload.',
            fix: 'Its JSON copy is under .recmark/reports; run Verify Watermark again to see it here.',
          };
        }
      },
    });
  }

  private report: AuditReport | undefined;
  private root: string | undefined;
  private rerun: (() => Promise<void>) | undefined;
  /** Shown when the webview is ready (a restored panel that could not be read). */
  private pending: HostMessage | undefined;
  private ready = false;

  private constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly modelKey: string,
    private readonly panel: vscode.WebviewPanel,
  ) {
    ReportPanel.panels.set(modelKey, this);
    ReportPanel.lastShown = this;
    panel.webview.options = webviewOptions(extensionUri);
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'recmark.svg');
    panel.webview.html = webviewHtml(panel.webview, extensionUri, 'RecMark audit');
    panel.onDidDispose(() => {
      if (ReportPanel.panels.get(modelKey) === this) ReportPanel.panels.delete(modelKey);
      if (ReportPanel.lastShown === this) ReportPanel.lastShown = undefined;
    });
    panel.webview.onDidReceiveMessage((raw: unknown) => void this.onMessage(raw));
  }

  private display(report: AuditReport, root: string | undefined, rerun?: () => Promise<void>) {
    this.report = report;
    this.root = root;
    this.rerun = rerun;
    this.pending = undefined;
    ReportPanel.lastShown = this;
    this.panel.title = `Audit: ${report.model.fileName}`;
    if (this.ready) void this.post(this.reportMessage(report));
  }

  private reportMessage(report: AuditReport): HostMessage {
    return {
      type: 'report',
      report,
      actions: ACTIONS.filter((a) => a !== 'rerun' || this.rerun !== undefined),
      state: { report, modelKey: this.modelKey },
    };
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
      if (this.report) await this.post(this.reportMessage(this.report));
      else if (this.pending) await this.post(this.pending);
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
    // The workspace folder, under a name no saved report or earlier export has.
    const defaultUri = this.root
      ? vscode.Uri.file(path.join(this.root, await freeExportName(this.root, report, ext)))
      : undefined;
    const target = await vscode.window.showSaveDialog({
      title: ext === 'html' ? 'Export the audit report as HTML' : 'Export the audit report as JSON',
      defaultUri,
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
