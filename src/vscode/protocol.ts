/**
 * Messages between the extension host and the webview. The webview computes nothing: it is
 * handed finished objects and reports user intents back.
 */
import type { ModelCard } from '../core/report/modelCard';
import type { AuditReport } from '../core/report/report';
import { isAuditReport } from '../core/report/store';

export type HostMessage =
  /** The inline `.onnx` view: the model card and, when one exists, the latest report for it. */
  | { type: 'modelCard'; card: ModelCard; report?: AuditReport }
  /**
   * The report panel: the report, the buttons to offer (no Re-run after a reload), and the state
   * the webview keeps (setState) so VS Code can restore the panel after a window reload.
   */
  | { type: 'report'; report: AuditReport; actions: WebviewAction[]; state: PanelState }
  | { type: 'error'; message: string; fix?: string };

export type WebviewAction = 'exportHtml' | 'exportJson' | 'rerun';

export type WebviewMessage =
  { type: 'ready' } | { type: 'copy'; text: string } | { type: 'action'; action: WebviewAction };

export const ACTIONS: readonly WebviewAction[] = ['exportHtml', 'exportJson', 'rerun'];

/** A reader of a plain object's own fields (a polluted prototype supplies none), or null. */
function ownFields(value: unknown): ((key: string) => unknown) | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  return (key) =>
    Object.prototype.hasOwnProperty.call(value, key)
      ? (value as Record<string, unknown>)[key]
      : undefined;
}

/** What a report panel's webview keeps across window reloads (no secrets: a report holds none). */
export interface PanelState {
  report: AuditReport;
  /** The audited model's path (or endpoint profile's): one panel per model. */
  modelKey: string;
}

/**
 * Validate the state VS Code hands back when it restores a panel: it came from the webview, so
 * it is untrusted like any message; a fresh object with the validated fields, or null.
 */
export function parsePanelState(value: unknown): PanelState | null {
  const own = ownFields(value);
  if (!own) return null;
  const report = own('report');
  const modelKey = own('modelKey');
  if (!isAuditReport(report) || typeof modelKey !== 'string' || modelKey.length > 4096) return null;
  return { report, modelKey };
}

/**
 * Validate a message from the webview: it is untrusted input like any other. Only the object's
 * own fields count (a polluted prototype cannot make a message), and the result is a fresh
 * object holding the validated fields alone.
 */
export function parseWebviewMessage(value: unknown): WebviewMessage | null {
  const own = ownFields(value);
  if (!own) return null;
  const type = own('type');
  if (type === 'ready') return { type: 'ready' };
  const text = own('text');
  if (type === 'copy' && typeof text === 'string' && text.length <= 10_000) {
    return { type: 'copy', text };
  }
  const action = own('action');
  if (type === 'action' && ACTIONS.includes(action as WebviewAction)) {
    return { type: 'action', action: action as WebviewAction };
  }
  return null;
}
