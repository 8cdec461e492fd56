/**
 * `recmark` — the headless CLI over core/. Exit codes: 0 success, 2 bad input or usage (one line
 * on stderr), 1 internal error. `--json` prints exactly one JSON object on stdout.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CancelledError, RecMarkError } from './core/errors';
import { formatModelCard, inspectModel } from './core/report/modelCard';

const USAGE = `Usage: recmark <command> [options]

Commands:
  inspect MODEL [--json]   Describe a recommender ONNX checkpoint: inputs, scores, catalogue, adapter.

Options:
  -h, --help               Show this help.
  --version                Print the version.`;

class UsageError extends RecMarkError {
  constructor(message: string) {
    super(`${message} (run "recmark --help" for usage)`, 'usage');
  }
}

function parse<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0]);
  }
}

async function inspectCommand(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' } });
  if (positionals.length !== 1) throw new UsageError('inspect takes exactly one MODEL path');
  const { card } = await inspectModel(positionals[0]);
  process.stdout.write(values.json ? `${JSON.stringify(card)}\n` : `${formatModelCard(card)}\n`);
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        process.stdout.write(`${USAGE}\n`);
        return command === undefined ? 2 : 0;
      case '--version':
        process.stdout.write(`${process.env.RECMARK_VERSION ?? 'dev'}\n`);
        return 0;
      case 'inspect':
        await inspectCommand(rest);
        return 0;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    if (err instanceof RecMarkError) {
      process.stderr.write(`recmark: ${err.message}\n`);
      return 2;
    }
    if (err instanceof CancelledError) {
      process.stderr.write('recmark: cancelled\n');
      return 130;
    }
    process.stderr.write(`recmark: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
