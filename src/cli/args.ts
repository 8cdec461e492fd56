/** Parsing a verb's options: a bad option is a usage error (exit code 2, one line on stderr). */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { DataRef } from '../core/data/interactions';
import { RecMarkError } from '../core/errors';
import type { UtilityUsers } from '../core/utility';

export class UsageError extends RecMarkError {
  constructor(message: string) {
    super(`${message} (run "recmark --help" for usage)`, 'usage');
  }
}

export function parse<O extends NonNullable<ParseArgsConfig['options']>>(
  args: string[],
  options: O,
) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0]);
  }
}

export function numberOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n))
    throw new UsageError(`--${name} must be a number, got "${value}"`);
  return n;
}

/**
 * --utility-users N|all: how many users utility is measured on (a seeded sample of at most N,
 * or every user); unset leaves the core's default (UTILITY_USERS_DEFAULT).
 */
export function utilityUsersOption(value: string | undefined): UtilityUsers | undefined {
  if (value === undefined) return undefined;
  if (value.trim().toLowerCase() === 'all') return 'all';
  const n = Number(value);
  if (value.trim() === '' || !Number.isSafeInteger(n) || n < 1)
    throw new UsageError(
      `--utility-users must be a positive whole number of users or "all", got "${value}"`,
    );
  return n;
}

export function intOption(value: string | undefined, name: string): number | undefined {
  const n = numberOption(value, name);
  if (n !== undefined && !Number.isSafeInteger(n))
    throw new UsageError(`--${name} must be an integer, got "${value}"`);
  return n;
}

/** `--data FILE` and the `--id-map FILE` that translates its raw item ids. */
export const DATA_OPTIONS = {
  data: { type: 'string' },
  'id-map': { type: 'string' },
} as const;

export interface DataValues {
  data?: string;
  'id-map'?: string;
}

export function dataRef(values: DataValues): DataRef | undefined {
  const idMap = values['id-map'];
  if (idMap !== undefined && values.data === undefined)
    throw new UsageError('--id-map translates the ids of a --data FILE; pass --data too');
  if (values.data === undefined) return undefined;
  return idMap === undefined ? values.data : { file: values.data, idMap };
}

/** The files `--data` and `--id-map` name, for the checks that an output never clobbers an input. */
export function dataInputs(values: DataValues): (string | undefined)[] {
  return [values.data, values['id-map']];
}
