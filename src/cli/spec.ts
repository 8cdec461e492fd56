/**
 * One table per command drives both its parser and its help: each option is declared once, with
 * what it means and its default next to its type, so `recmark <command> --help` cannot drift
 * from what the command accepts.
 */

/** A default as help shows it; `REQUIRED` marks an option the command cannot run without. */
export const REQUIRED = Symbol('required');
type Shown = string | number | boolean | typeof REQUIRED;

export interface StringOption {
  readonly type: 'string';
  readonly multiple?: true;
  /** The value's placeholder in help: `--out OUT`. */
  readonly arg: string;
  /** What the option does, in plain words. */
  readonly help: string;
  /** Its default (imported from core where core owns it), or REQUIRED. */
  readonly byDefault: Shown;
}
export interface BooleanOption {
  readonly type: 'boolean';
  readonly help: string;
}
export type OptionSpec = StringOption | BooleanOption;
export type OptionTable = Readonly<Record<string, OptionSpec>>;

export interface CommandSpec<O extends OptionTable = OptionTable> {
  /** How it is typed after `recmark`: 'verify', 'embed grew'. */
  readonly name: string;
  /** Its synopsis lines, after `recmark `. */
  readonly synopsis: readonly string[];
  /** What it does (prose, wrapped; the overview and the command's help both print it). */
  readonly about: string;
  readonly options: O;
}

export function str(arg: string, help: string, byDefault: Shown) {
  return { type: 'string', arg, help, byDefault } as const;
}
export function flag(help: string) {
  return { type: 'boolean', help } as const;
}
export function command<O extends OptionTable>(spec: CommandSpec<O>): CommandSpec<O> {
  return spec;
}

/** The table as node:util parseArgs reads it (type and multiple only: it must not see defaults). */
export function parserOptions(
  options: OptionTable,
): Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> {
  const out: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {};
  for (const [name, o] of Object.entries(options))
    out[name] =
      o.type === 'string' && o.multiple ? { type: o.type, multiple: true } : { type: o.type };
  return out;
}

/** Numbers as a user would type them back: 0.0001 as 1e-4. */
function shown(value: Shown): string {
  if (value === REQUIRED) return '(required)';
  if (typeof value === 'number' && value !== 0 && Math.abs(value) < 0.01)
    return `(default: ${value.toExponential()})`;
  return `(default: ${String(value)})`;
}

/** One line per option: the flag (and its value), what it does, its default. */
export function optionLines(options: OptionTable): string[] {
  const left = Object.entries(options).map(([name, o]) =>
    o.type === 'string' ? `--${name} ${o.arg}${o.multiple ? ' ...' : ''}` : `--${name}`,
  );
  const width = Math.max(...left.map((l) => l.length));
  return Object.values(options).map((o, i) => {
    const text = o.type === 'string' ? `${o.help} ${shown(o.byDefault)}` : o.help;
    return `  ${left[i].padEnd(width)}  ${text}`;
  });
}

/** The help of one command: synopsis, what it does, every option it accepts. */
export function commandHelp(spec: CommandSpec): string {
  const [first, ...more] = spec.synopsis;
  const synopsis = [`Usage: recmark ${first}`, ...more.map((s) => `       recmark ${s}`)];
  return [
    ...synopsis,
    '',
    indent(spec.about, 2),
    '',
    'Options:',
    ...optionLines(spec.options),
  ].join('\n');
}

/** A command's entry in the overview: its synopsis and what it does. */
export function overviewEntry(spec: CommandSpec): string {
  return [...spec.synopsis.map((s) => `  ${s}`), indent(spec.about, 6)].join('\n');
}

function indent(text: string, by: number): string {
  return text
    .split('\n')
    .map((line) => `${' '.repeat(by)}${line}`)
    .join('\n');
}
