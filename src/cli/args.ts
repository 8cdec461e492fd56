/** Parsing a verb's options: a bad option is a usage error (exit code 2, one line on stderr). */
import { parseArgs } from 'node:util';
import type { DataRef } from '../core/data/interactions';
import { RecMarkError } from '../core/errors';
import { DEFAULT_SEED } from '../core/util/random';
import { UTILITY_USERS_DEFAULT, type UtilityUsers } from '../core/utility';
import { type CommandSpec, flag, type OptionTable, parserOptions, REQUIRED, str } from './spec';
import { closest } from './suggest';

export class UsageError extends RecMarkError {
  /** `command` ('attack prune') points the hint at that command's own help. */
  constructor(message: string, command?: string) {
    super(
      command === undefined
        ? `${message} (run "recmark --help" for usage)`
        : `${message} (run "recmark ${command} --help" for its options)`,
      'usage',
    );
  }
}

/** Parse a command's arguments by its table; an unknown flag names the closest one it accepts. */
export function parse<O extends OptionTable>(args: string[], spec: CommandSpec<O>) {
  try {
    return parseArgs({
      args,
      options: parserOptions(spec.options) as unknown as O,
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError(parseProblem(err as Error & { code?: string }, spec), spec.name);
  }
}

/** node:util's parse errors, said in RecMark's words (its own text spans several lines). */
function parseProblem(err: Error & { code?: string }, spec: CommandSpec): string {
  const first = err.message.split('\n')[0];
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const given = /^Unknown option '(.*)'\. To specify/.exec(first)?.[1] ?? first;
    const match = closest(given.replace(/^-+/, '').split('=')[0], Object.keys(spec.options));
    const hint = match === undefined ? '' : `; did you mean --${match}?`;
    return `${spec.name} has no option ${given}${hint}`;
  }
  const name = /^Option '(-[^ ']*)/.exec(first)?.[1]?.replace(/^-+/, '');
  const option = name === undefined ? undefined : spec.options[name];
  if (option?.type === 'string') {
    const dash = / is ambiguous/.test(first)
      ? ` (a value starting with "-" goes as --${name}=-VALUE)`
      : '';
    return `--${name} needs a value: --${name} ${option.arg}${dash}`;
  }
  if (option?.type === 'boolean') return `--${name} is a switch and takes no value`;
  return first;
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

/** `--id-map MAP`: translates a data file's raw item ids to the model's indices. */
export const ID_MAP = str('MAP', "CSV of the model's item index and FILE's raw item id", 'none');

/** `--data FILE` and the `--id-map MAP` that goes with it; `use` says what the data is for. */
export function dataOptions(use: string, byDefault: string | typeof REQUIRED = 'none') {
  return { data: str('FILE', `interaction data: ${use}`, byDefault), 'id-map': ID_MAP };
}

/** The options most verbs share, each declared once. */
export const UTILITY_USERS = str(
  'N|all',
  'users utility is measured on: a seeded sample of at most N, or all',
  UTILITY_USERS_DEFAULT,
);
export function seedOption(byDefault: number = DEFAULT_SEED) {
  return str('N', 'random seed: the same seed and inputs give the same result', byDefault);
}
export const FORCE = flag('replace an existing output file (never an input)');
export const JSON_OUTPUT = flag('print one JSON object instead of text');

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
