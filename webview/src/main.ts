/** Webview entry: receives finished objects from the host and renders them. Computes nothing. */
import type { HostMessage, WebviewMessage } from '../../src/protocol';
import { renderError, renderModelCard } from './modelCardView';

declare function acquireVsCodeApi(): { postMessage(message: WebviewMessage): void };
const vscode = acquireVsCodeApi();

const app = document.getElementById('app')!;

function show(node: HTMLElement): void {
  app.replaceChildren(node);
}

window.addEventListener('message', (event: MessageEvent<HostMessage>) => {
  const msg = event.data;
  switch (msg?.type) {
    case 'modelCard':
      show(renderModelCard(msg.card, (text) => vscode.postMessage({ type: 'copy', text })));
      break;
    case 'error':
      show(renderError(msg.message));
      break;
  }
});

vscode.postMessage({ type: 'ready' });
