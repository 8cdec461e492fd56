/** Argument checks shared by the long-running operations: a bad value is a usage error naming it. */
import { RecMarkError } from '../errors';

export function usageError(message: string): RecMarkError {
  return new RecMarkError(message, 'usage');
}

/** `value` must be a safe integer in [lo, hi]. */
export function checkInt(name: string, value: number, lo: number, hi: number): void {
  if (!Number.isSafeInteger(value) || value < lo || value > hi)
    throw usageError(`${name} must be an integer from ${lo} to ${hi}, got ${value}.`);
}

/** `value` must be finite and satisfy `ok`; `want` says what is allowed. */
export function checkNumber(name: string, value: number, ok: boolean, want: string): void {
  if (!Number.isFinite(value) || !ok) throw usageError(`${name} must be ${want}, got ${value}.`);
}

/** `value` must lie in [lo, hi], or strictly between them when `open`. */
export function checkRange(
  name: string,
  value: number,
  lo: number,
  hi: number,
  open = false,
): void {
  const ok = open ? value > lo && value < hi : value >= lo && value <= hi;
  if (!Number.isFinite(value) || !ok) {
    throw new RecMarkError(
      `${name} must be ${open ? 'strictly ' : ''}between ${lo} and ${hi}, got ${value}.`,
      'usage',
    );
  }
}
