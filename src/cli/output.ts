/*
 * The CLI's only ways out to the terminal. Model metadata, file names, key ids and service
 * answers reach these strings, so controls in them are shown escaped (core/util/terminalSafe):
 * `printLines` escapes each line whole, so a newline inside a value cannot forge a line either.
 * `--json` is escaped too (bidi and C1 as \uXXXX, the same value to a JSON parser).
 */
import type { Progress } from '../core/util/progress';
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
 * Progress on stderr: one line per step, not per batch; a step whose message only counts up
 * ("step 120 of at most 1,500") prints at most every 2 s.
 */
export function stepPrinter(): Progress {
  let last = '';
  let lastShape = '';
  let lastAt = 0;
  return ({ message }) => {
    if (message === last) return;
    const shape = message.replace(/[\d.,]+/g, '#');
    const now = performance.now();
    if (shape === lastShape && now - lastAt < 2000) return;
    last = message;
    lastShape = shape;
    lastAt = now;
    printErr(`… ${safeText(message)}`);
  };
}
