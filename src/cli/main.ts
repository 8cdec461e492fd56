/**
 * `recmark` — the headless CLI over core/. Exit codes: 0 success, 2 bad input or usage (one line
 * on stderr), 1 internal error, 130 cancelled (Ctrl-C). `--json` prints exactly one JSON object.
 */
import { CancelledError, RecMarkError } from '../core/errors';
import { safeText } from '../core/util/terminalSafe';
import { UsageError } from './args';
import { attackCommand } from './commands/attack';
import { dataCommand } from './commands/data';
import { embedCommand } from './commands/embed';
import { inspectCommand } from './commands/inspect';
import { robustnessCommand } from './commands/robustness';
import { verifyCommand } from './commands/verify';
import { print, printErr } from './output';
import { didYouMean } from './suggest';
import { COMMAND_WORDS, commandUsage, USAGE } from './usage';

/**
 * Run one command and return its exit code; bad input throws (a RecMarkError), so tests can
 * check the error code in-process. `main` maps what is thrown to exit codes and stderr.
 */
export async function run(
  argv: string[],
  signal: AbortSignal = new AbortController().signal,
): Promise<number> {
  const [command, ...rest] = argv;
  const help =
    rest.some((a) => a === '-h' || a === '--help') && command && commandUsage(command, rest[0]);
  if (help) {
    print(help);
    return 0;
  }
  switch (command) {
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      print(USAGE);
      return command === undefined ? 2 : 0;
    case '--version':
      print(safeText(process.env.RECMARK_VERSION ?? 'dev'));
      return 0;
    case 'inspect':
      await inspectCommand(rest);
      return 0;
    case 'embed':
      await embedCommand(rest, signal);
      return 0;
    case 'verify':
      await verifyCommand(rest, signal);
      return 0;
    case 'attack':
      await attackCommand(rest, signal);
      return 0;
    case 'data':
      await dataCommand(rest, signal);
      return 0;
    case 'robustness':
      await robustnessCommand(rest, signal);
      return 0;
    default:
      throw new UsageError(`unknown command "${command}"${didYouMean(command, COMMAND_WORDS)}`);
  }
}

export async function main(
  argv: string[],
  signal: AbortSignal = new AbortController().signal,
): Promise<number> {
  try {
    return await run(argv, signal);
  } catch (err) {
    if (err instanceof RecMarkError) {
      printErr(`recmark: ${safeText(err.message.replace(/\s*\n\s*/g, ' '))}`);
      return 2;
    }
    if (err instanceof CancelledError) {
      printErr('recmark: cancelled; no output was written');
      return 130;
    }
    printErr(`recmark: internal error: ${(err as Error)?.stack ?? String(err)}`);
    return 1;
  }
}

if (require.main === module) {
  const controller = new AbortController();
  // First Ctrl-C (or SIGTERM, as CI timeouts send) cancels cleanly at the next batch; a second
  // one exits at once. Either way no output is left half-written (see writeFileAtomic).
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      controller.abort();
      process.once(sig, () => process.exit(130));
    });
  }
  // RecMark's own warnings (e.g. a key id replaced on load) are notes for the user, on one
  // escaped line; Node's default printer would add its pid and a --trace-warnings hint.
  // Deprecations are left out: they come from bundled dependencies (protobufjs decodes an empty
  // bytes field as `new Buffer(0)`, DEP0005 once it is outside node_modules), and a user can do
  // nothing about them.
  process.removeAllListeners('warning');
  process.on('warning', (w: Error & { code?: string }) => {
    if (w.name === 'DeprecationWarning') return;
    printErr(w.code?.startsWith('RECMARK_') ? `note: ${safeText(w.message)}` : safeText(`${w}`));
  });
  main(process.argv.slice(2), controller.signal).then((code) => {
    process.exitCode = code;
  });
}
