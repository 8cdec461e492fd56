/**
 * Webview entry: receives finished objects from the host and renders them. Computes nothing.
 *
 * Two homes: inside VS Code (`acquireVsCodeApi` exists; objects arrive by postMessage, intents go
 * back the same way) and the standalone HTML export (the report is embedded in the page as JSON;
 * there is no host, so no export or re-run buttons).
 */
import type { AuditReport } from '../../src/core/report/report';
import type { HostMessage, WebviewMessage } from '../../src/vscode/protocol';
import { disposeCharts } from './charts';
import { renderError, renderModelCard } from './modelCardView';
import { renderReport } from './reportView';
import { el } from './toolkit';

declare function acquireVsCodeApi(): {
  postMessage(message: WebviewMessage): void;
  /** Kept by VS Code across reloads and handed to the host's panel serializer. */
  setState(state: unknown): void;
};

/** Must match REPORT_ELEMENT_ID in src/core/report/html.ts. */
const REPORT_ELEMENT_ID = 'recmark-report';

const app = document.getElementById('app')!;
let current: (() => HTMLElement) | null = null;

function show(render: () => HTMLElement): void {
  current = render;
  disposeCharts();
  app.replaceChildren(render());
}

/** Charts take their colours from the theme when drawn: redraw when the theme changes. */
function redrawOnThemeChange(): void {
  const redraw = (): void => {
    if (!current) return;
    const { scrollX, scrollY } = window;
    show(current);
    window.scrollTo(scrollX, scrollY);
  };
  // VS Code swaps the body's theme class (vscode-light, vscode-dark, vscode-high-contrast…).
  new MutationObserver(redraw).observe(document.body, { attributeFilter: ['class'] });
  window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', redraw);
}

function isAuditReport(value: unknown): value is AuditReport {
  const r = value as Partial<AuditReport> | null;
  return (
    typeof r === 'object' &&
    r !== null &&
    r.kind === 'recmark-audit' &&
    typeof r.verdict === 'string' &&
    typeof r.model === 'object'
  );
}

function startInVsCode(): void {
  const vscode = acquireVsCodeApi();
  const copy = (text: string): void => vscode.postMessage({ type: 'copy', text });
  window.addEventListener('message', (event: MessageEvent<HostMessage>) => {
    const msg = event.data;
    switch (msg?.type) {
      case 'modelCard': {
        const { card, report } = msg;
        show(() => {
          const view = renderModelCard(card, copy);
          if (report) {
            view.append(
              el(
                'section',
                { class: 'rm-latest', 'aria-labelledby': 'rm-latest-title' },
                el('h2', { id: 'rm-latest-title' }, 'Latest audit'),
                renderReport(report, { onCopy: copy, nested: true }),
              ),
            );
          }
          return view;
        });
        break;
      }
      case 'report': {
        const { report, actions, state } = msg;
        show(() =>
          renderReport(report, {
            onCopy: copy,
            actions,
            onAction: (action) => vscode.postMessage({ type: 'action', action }),
          }),
        );
        // A new report reads from its verdict, whatever the previous one was scrolled to.
        window.scrollTo(0, 0);
        vscode.setState(state);
        break;
      }
      case 'error': {
        const { message, fix } = msg;
        show(() => renderError(message, fix));
        break;
      }
    }
  });
  vscode.postMessage({ type: 'ready' });
}

function startStandalone(): void {
  const copy = (text: string): void => {
    void navigator.clipboard?.writeText(text);
  };
  const data = document.getElementById(REPORT_ELEMENT_ID)?.textContent ?? '';
  let report: unknown;
  try {
    report = JSON.parse(data);
  } catch {
    report = null;
  }
  if (isAuditReport(report)) {
    document.title = `RecMark audit: ${report.model.fileName}`;
    show(() => renderReport(report, { onCopy: copy }));
  } else {
    show(() =>
      renderError(
        'This file carries no readable RecMark audit report.',
        'Export the report again from VS Code or with "recmark verify --report-html".',
        'No report',
      ),
    );
  }
}

redrawOnThemeChange();
if (typeof acquireVsCodeApi === 'function') startInVsCode();
else startStandalone();
