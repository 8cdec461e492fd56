/**
 * Messages between the extension host and the webview. The webview computes nothing: it is
 * handed finished objects and reports user intents back.
 */
import type { ModelCard } from './core/report/modelCard';
import type { AuditReport } from './core/report/report';

export type HostMessage =
  /** The inline `.onnx` view: the model card and, when one exists, the latest report for it. */
  | { type: 'modelCard'; card: ModelCard; report?: AuditReport }
  /** The report panel. */
  | { type: 'report'; report: AuditReport }
  | { type: 'error'; message: string; fix?: string };

export type WebviewAction = 'exportHtml' | 'exportJson' | 'rerun';

export type WebviewMessage =
  { type: 'ready' } | { type: 'copy'; text: string } | { type: 'action'; action: WebviewAction };

const ACTIONS: readonly WebviewAction[] = ['exportHtml', 'exportJson', 'rerun'];

/** Validate a message from the webview: it is untrusted input like any other. */
export function parseWebviewMessage(value: unknown): WebviewMessage | null {
  if (typeof value !== 'object' || value === null) return null;
  const msg = value as Record<string, unknown>;
  if (msg.type === 'ready') return { type: 'ready' };
  if (msg.type === 'copy' && typeof msg.text === 'string' && msg.text.length <= 10_000) {
    return { type: 'copy', text: msg.text };
  }
  if (msg.type === 'action' && ACTIONS.includes(msg.action as WebviewAction)) {
    return { type: 'action', action: msg.action as WebviewAction };
  }
  return null;
}
