/**
 * What `activate` returns when VS Code runs the extension under an in-host test suite
 * (ExtensionMode.Test, i.e. launched with --extensionTestsPath). In every other mode activate
 * returns nothing, so no other extension can reach the key store through `exports`.
 */
import * as vscode from 'vscode';
import type { AuditReport } from '../core/report/report';
import type { KeyStore } from './keyStore';
import { ReportPanel, type PanelEvent } from './reportPanel';

/** Hooks the host code calls when set; set only by `testApi` in ExtensionMode.Test. */
export const testObservers: { errorShown?: (message: string) => void } = {};

export interface RecMarkTestApi {
  /** Every error notification a failed command showed, oldest first. */
  errors: string[];
  /** The key store the commands use (SecretStorage + globalState index). */
  keys: KeyStore;
  reportPanel: {
    /** Show a report in the panel, as an audit does. */
    show(report: AuditReport): void;
    /** Hand the open panel a raw message, as its webview would. */
    deliver(raw: unknown): Promise<void>;
    /** Every message event since activation, oldest first. */
    events: PanelEvent[];
  };
}

export function testApi(
  context: vscode.ExtensionContext,
  keys: KeyStore,
): RecMarkTestApi | undefined {
  if (context.extensionMode !== vscode.ExtensionMode.Test) return undefined;
  const events: PanelEvent[] = [];
  const errors: string[] = [];
  ReportPanel.observer = (event) => events.push(event);
  testObservers.errorShown = (message) => errors.push(message);
  context.subscriptions.push({
    dispose: () => {
      ReportPanel.observer = undefined;
      testObservers.errorShown = undefined;
    },
  });
  return {
    errors,
    keys,
    reportPanel: {
      show: (report) =>
        ReportPanel.show(context.extensionUri, report, { modelKey: report.model.fileName }),
      deliver: (raw) => ReportPanel.deliver(raw),
      events,
    },
  };
}
