/**
 * The help: `recmark --help` prints the overview (every command's synopsis and what it does),
 * `recmark embed grew --help` that command's own help with every option it accepts. Both are
 * drawn from the tables the commands parse with (spec.ts), so neither can drift from them.
 */
import { UTILITY_USERS_DEFAULT } from '../core/utility';
import { ATTACK_FINETUNE } from './commands/attack';
import { DATA_CHECK } from './commands/data';
import { EMBED_AOW, EMBED_GREW } from './commands/embed';
import { ATTACK_EXTRACT } from './commands/extract';
import { INSPECT } from './commands/inspect';
import { ATTACK_OVERWRITE } from './commands/overwrite';
import { ATTACK_NOISE, ATTACK_PRUNE, ATTACK_QUANTIZE } from './commands/perturb';
import { ROBUSTNESS } from './commands/robustness';
import { ATTACK_STRIP } from './commands/strip';
import { VERIFY } from './commands/verify';
import { type CommandSpec, commandHelp, overviewEntry } from './spec';

/** Every command, in the overview's order. */
export const COMMANDS: readonly CommandSpec[] = [
  INSPECT,
  EMBED_GREW,
  EMBED_AOW,
  VERIFY,
  ATTACK_FINETUNE,
  ATTACK_PRUNE,
  ATTACK_NOISE,
  ATTACK_QUANTIZE,
  ATTACK_STRIP,
  ATTACK_OVERWRITE,
  ATTACK_EXTRACT,
  ROBUSTNESS,
  DATA_CHECK,
];

/** The words `recmark` takes first: each command's, and `help`. */
export const COMMAND_WORDS: readonly string[] = [
  ...new Set(COMMANDS.map((c) => c.name.split(' ')[0])),
  'help',
];

const NOTES = `Data (--data FILE) is read by content: "user item [timestamp]" lines, a CSV with a header
(MovieLens ratings.csv: userId,movieId,rating,timestamp), or a RecBole .inter file
(user_id:token<TAB>item_id:token<TAB>timestamp:float). Item ids are the model's indices unless
--id-map MAP translates raw ids: a CSV with a header whose first column is the model's index
and second the raw id (test/fixtures/item_map.csv); ids missing from MAP are counted and left
out. Every command that takes --data also takes --id-map.

Utility (with --data) is measured on a seeded sample of at most ${UTILITY_USERS_DEFAULT.toLocaleString('en-US')} users with a held-out
item, the same ones before and after, each metric with its 95% confidence interval;
--utility-users N samples at most N users, --utility-users all measures every user.

Outputs (--out, --key-out, --report-html) are new files: an existing file is replaced only with
--force, an input never; the checks run before any work starts.`;

export const USAGE = `Usage: recmark <command> [options]

Commands:
${COMMANDS.map(overviewEntry).join('\n\n')}

${NOTES}

Options:
  -h, --help     Show this help; "recmark <command> --help" lists every option of a command
                 with its default.
  --version      Print the version.`;

/**
 * The help for `recmark <command> [<sub>] --help`: that command's own (`embed grew`), or for a
 * word with several (`attack`), the overview of those; null for a word that is no command.
 */
export function commandUsage(command: string, sub: string | undefined): string | null {
  const exact = COMMANDS.find((c) => c.name === `${command} ${sub}` || c.name === command);
  if (exact) return commandHelp(exact);
  const group = COMMANDS.filter((c) => c.name.startsWith(`${command} `));
  if (group.length === 0) return null;
  const subs = group.map((c) => c.name.slice(command.length + 1)).join('|');
  return [
    `Usage: recmark ${command} ${subs} [options]`,
    '',
    ...group.map((c) => `${overviewEntry(c)}\n`),
    `Run "recmark ${command} <${subs}> --help" for every option of one.`,
  ].join('\n');
}
