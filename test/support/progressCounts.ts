/**
 * Progress reports recorded by step, and the check every counted step must pass: its counts
 * only go up, always out of the same total (the one the test expects), and end at total/total.
 */
import assert from 'node:assert/strict';
import type { Progress, ProgressUpdate } from '../../src/core/util/progress';

export interface Recorded {
  progress: Progress;
  updates: ProgressUpdate[];
  /** The counts reported under `message`, as [done, total]. */
  counts(message: string, unit: string): [number, number][];
  messages(): string[];
}

export function recordProgress(): Recorded {
  const updates: ProgressUpdate[] = [];
  return {
    progress: (u) => void updates.push(u),
    updates,
    counts: (message, unit) =>
      updates
        .filter((u) => u.message === message && u.count)
        .map((u) => {
          assert.equal(u.count!.unit, unit, `the unit of "${message}"`);
          return [u.count!.done, u.count!.total];
        }),
    messages: () => [...new Set(updates.map((u) => u.message))],
  };
}

/** Counts go up from the first report to the last, which is `total`/`total`. */
export function assertCounted(counts: [number, number][], total: number, what: string): void {
  assert.ok(counts.length >= 2, `${what}: more than one report (${JSON.stringify(counts)})`);
  assert.ok(
    counts.every(([, t]) => t === total),
    `${what}: every total is ${total} (${JSON.stringify(counts.slice(0, 5))}…)`,
  );
  const done = counts.map(([d]) => d);
  assert.ok(
    done.every((d, i) => i === 0 || d >= done[i - 1]),
    `${what}: counts only go up (${JSON.stringify(done)})`,
  );
  assert.equal(done.at(-1), total, `${what}: ends at ${total}/${total}`);
}
