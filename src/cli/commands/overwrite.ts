import { overwriteAttack, type OverwriteScheme } from '../../core/attack/overwrite';
import { overwriteLines } from '../../core/report/resultText';
import { readKeyFile } from '../../core/watermark/keyFile';
import { DEFAULT_SEED } from '../../core/util/random';
import {
  dataOptions,
  dataRef,
  FORCE,
  intOption,
  JSON_OUTPUT,
  numberOption,
  parse,
  seedOption,
  UsageError,
  UTILITY_USERS,
  utilityUsersOption,
} from '../args';
import { printJson, printLines, stepPrinter } from '../output';
import { command, REQUIRED, str } from '../spec';
import { attackPaths } from '../targets';
import { ALPHA, PROBES } from './verify';

export const ATTACK_OVERWRITE = command({
  name: 'attack overwrite',
  synopsis: [
    'attack overwrite MODEL --out OUT --scheme grew|aow [--key OWNER_KEY] [--data FILE] [options]',
  ],
  about: `Simulate a thief embedding a watermark of their own (GREW or AOW, RecMark's embedding
with a fresh random key) to bury the owner's or to claim the model. The thief's key is
not kept; its id and the thief's own evidence are printed. With --key, the owner's
watermark is verified on OUT.`,
  options: {
    out: str('OUT', "the copy carrying the thief's watermark to write", REQUIRED),
    scheme: str('grew|aow', "the thief's watermark scheme", REQUIRED),
    key: str('OWNER_KEY', "the owner's key file, verified on OUT afterwards", 'none'),
    ...dataOptions("the thief's data: GREW probes, AOW utility, utility before/after"),
    'utility-users': UTILITY_USERS,
    probes: PROBES,
    alpha: ALPHA,
    seed: seedOption(DEFAULT_SEED),
    force: FORCE,
    json: JSON_OUTPUT,
  },
});

/** attack overwrite: the thief embeds their own watermark; the owner's key is checked after. */
export async function overwriteCommand(args: string[], signal: AbortSignal): Promise<void> {
  const { values, positionals } = parse(args, ATTACK_OVERWRITE);
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
