/**
 * Errors a user can act on. The CLI maps them to exit code 2 and a one-line message;
 * the extension shows them as a notification. Anything else is an internal error.
 */
export class RecMarkError extends Error {
  constructor(
    message: string,
    /** A stable machine-readable code, e.g. "model-corrupt", "adapter-ambiguous". */
    readonly code: string,
  ) {
    super(message);
    this.name = 'RecMarkError';
  }
}

/** Thrown when a long operation is cancelled by the user (AbortSignal). */
export class CancelledError extends Error {
  constructor() {
    super('Cancelled.');
    this.name = 'CancelledError';
  }
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError();
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
