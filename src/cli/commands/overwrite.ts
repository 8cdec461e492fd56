import { overwriteAttack, type OverwriteScheme } from '../../core/attack/overwrite';
import { overwriteLines } from '../../core/report/resultText';
import { readKeyFile } from '../../core/watermark/keyFile';
import {
  DATA_OPTIONS,
  dataRef,
  intOption,
  numberOption,
  parse,
  UsageError,
  utilityUsersOption,
} from '../args';
import { printJson, printLines, stepPrinter } from '../output';
import { attackPaths } from '../targets';

/** attack overwrite: the thief embeds their own watermark; the owner's key is checked after. */
export async function overwriteCommand(args: string[], signal: AbortSignal): Promise<void> {
  const { values, positionals } = parse(args, {
    out: { type: 'string' },
    scheme: { type: 'string' },
    key: { type: 'string' },
    ...DATA_OPTIONS,
    'utility-users': { type: 'string' },
    probes: { type: 'string' },
    alpha: { type: 'string' },
    seed: { type: 'string' },
    force: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  const { model, out } = await attackPaths('overwrite', positionals, values, {
    inputs: [values.key],
  });
  const scheme = values.scheme;
  if (scheme !== 'grew' && scheme !== 'aow')
    throw new UsageError(
      scheme === undefined
        ? "attack overwrite needs --scheme grew or --scheme aow (the thief's watermark)"
        : `--scheme must be grew or aow, got "${scheme}"`,
    );
  const ownerKey = values.key ? await readKeyFile(values.key) : undefined;
  const quiet = values.json ?? false;
  const r = await overwriteAttack({
    model,
    out,
    scheme: scheme as OverwriteScheme,
    data: dataRef(values),
    utilityUsers: utilityUsersOption(values['utility-users']),
    seed: intOption(values.seed, 'seed'),
    ownerKey,
    verify: {
      probes: intOption(values.probes, 'probes'),
      alpha: numberOption(values.alpha, 'alpha'),
    },
    signal,
    progress: quiet ? undefined : stepPrinter(),
  });
  if (quiet) {
    printJson({ attack: 'overwrite', ...r });
    return;
  }
  printLines(overwriteLines(r));
}
