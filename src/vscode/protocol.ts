/**
 * Messages between the extension host and the webview. The webview computes nothing: it is
 * handed finished objects and reports user intents back.
 */
import type { ModelCard } from '../core/report/modelCard';
import type { AuditReport } from '../core/report/report';

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

/**
 * Validate a message from the webview: it is untrusted input like any other. Only the object's
 * own fields count (a polluted prototype cannot make a message), and the result is a fresh
 * object holding the validated fields alone.
 */
export function parseWebviewMessage(value: unknown): WebviewMessage | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const own = (key: string): unknown =>
    Object.prototype.hasOwnProperty.call(value, key)
      ? (value as Record<string, unknown>)[key]
      : undefined;
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
