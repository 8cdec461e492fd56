/** Every audit ends the same way: saved as JSON in the workspace, logged, shown in the panel. */
import type * as vscode from 'vscode';
import type { AuditReport } from '../../core/report/report';
import { saveReport } from '../../core/report/store';
import { reportLines } from '../../core/report/text';
import { log } from '../log';
import { ReportPanel } from '../reportPanel';
import { reportsRoot } from '../settings';

export async function saveAndShowReport(
  context: vscode.ExtensionContext,
  model: vscode.Uri,
  report: AuditReport,
  summary: string,
  rerun: () => Promise<void>,
): Promise<void> {
  const root = reportsRoot(model);
  if (root) {
    const file = await saveReport(root, report);
    log.info(`${summary}; saved ${file}.`);
  }
  // The same lines `recmark verify` prints, so the log holds the evidence, not just the verdict.
  for (const line of reportLines(report)) log.info(line);
  ReportPanel.show(context.extensionUri, report, { modelKey: model.fsPath, root, rerun });
}
