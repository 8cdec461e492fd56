/** Run a core operation under a cancellable notification, mapping VS Code cancel to AbortSignal. */
import * as vscode from 'vscode';
import { ProgressPacer, type Progress } from '../../core/util/progress';

const INTERVAL_MS = 250;

export function withCancellableProgress<T>(
  title: string,
  task: (signal: AbortSignal, progress: Progress) => Promise<T>,
  /** The pacing clock (ms); tests pass their own. */
  now?: () => number,
): Thenable<T> {
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title, cancellable: true },
    async (report, token) => {
      const controller = new AbortController();
      const sub = token.onCancellationRequested(() => controller.abort());
      // A few updates a second: a training loop reports every step.
      const clock = now ?? (() => performance.now());
      const pacer = new ProgressPacer(INTERVAL_MS, clock);
      let last = 0;
      let shown = '';
      let shownAt = -Infinity;
      try {
        return await task(controller.signal, (update) => {
          const line = pacer.line(update);
          // VS Code takes increments; convert absolute fractions and never go backwards.
          const { fraction } = update;
          const increment = fraction === undefined ? 0 : Math.max(0, fraction * 100 - last);
          // A step whose text stays the same (no count) still moves the bar, at the same pace.
          const t = clock();
          if (line === null && (increment < 1 || t - shownAt < INTERVAL_MS)) return;
          if (fraction !== undefined) last = Math.max(last, fraction * 100);
          shown = line ?? shown;
          shownAt = t;
          report.report({ message: shown, increment: increment > 0 ? increment : undefined });
        });
      } finally {
        sub.dispose();
      }
    },
  );
}
