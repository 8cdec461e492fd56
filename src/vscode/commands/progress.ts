/** Run a core operation under a cancellable notification, mapping VS Code cancel to AbortSignal. */
import * as vscode from 'vscode';
import type { Progress } from '../../core/util/progress';

export function withCancellableProgress<T>(
  title: string,
  task: (signal: AbortSignal, progress: Progress) => Promise<T>,
): Thenable<T> {
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title, cancellable: true },
    async (report, token) => {
      const controller = new AbortController();
      const sub = token.onCancellationRequested(() => controller.abort());
      let last = 0;
      try {
        return await task(controller.signal, ({ message, fraction }) => {
          // VS Code takes increments; convert absolute fractions and never go backwards.
          const increment = fraction === undefined ? undefined : Math.max(0, fraction * 100 - last);
          if (fraction !== undefined) last = Math.max(last, fraction * 100);
          report.report({ message, increment });
        });
      } finally {
        sub.dispose();
      }
    },
  );
}
