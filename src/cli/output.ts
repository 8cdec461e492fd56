/*
 * The CLI's only ways out to the terminal. Model metadata, file names, key ids and service
 * answers reach these strings, so controls in them are shown escaped (core/util/terminalSafe):
 * `printLines` escapes each line whole, so a newline inside a value cannot forge a line either.
 * `--json` is escaped too (bidi and C1 as \uXXXX, the same value to a JSON parser).
 */
import { ProgressPacer, type Progress } from '../core/util/progress';
import { safeJson, safeLines, safeText } from '../core/util/terminalSafe';

export function print(text: string): void {
  process.stdout.write(`${safeLines(text)}\n`);
}
export function printLines(lines: readonly string[]): void {
  process.stdout.write(`${lines.map(safeText).join('\n')}\n`);
}
export function printJson(value: unknown): void {
  process.stdout.write(`${safeJson(JSON.stringify(value))}\n`);
}
export function printErr(text: string): void {
  process.stderr.write(`${safeLines(text)}\n`);
}

/**
 * Progress on stderr, one line per report that ProgressPacer lets through: each new step, and
 * within a counted step ("120/500 probes, about 40 s left") at most one line every 2 s.
 */
export function stepPrinter(now?: () => number): Progress {
  const pacer = new ProgressPacer(2000, now);
  return (update) => {
    const line = pacer.line(update);
    if (line !== null) printErr(`… ${safeText(line)}`);
  };
}
