import { stripAttack } from '../../core/attack/strip';
import { stripLines } from '../../core/report/resultText';
import { DATA_OPTIONS, dataRef, intOption, parse, utilityUsersOption } from '../args';
import { printJson, printLines, stepPrinter } from '../output';
import { attackPaths } from '../targets';

/** attack strip: remove the post-processing after MODEL's scoring layer. */
export async function stripCommand(args: string[], signal: AbortSignal): Promise<void> {
  const { values, positionals } = parse(args, {
    ...DATA_OPTIONS,
    'utility-users': { type: 'string' },
    out: { type: 'string' },
    seed: { type: 'string' },
    force: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  const { model, out } = await attackPaths('strip', positionals, values);
  const quiet = values.json ?? false;
  const r = await stripAttack({
    model,
    out,
    data: dataRef(values),
    utilityUsers: utilityUsersOption(values['utility-users']),
    seed: intOption(values.seed, 'seed'),
    signal,
    progress: quiet ? undefined : stepPrinter(),
  });
  if (quiet) {
    printJson({ attack: 'strip', ...r });
    return;
  }
  printLines(stripLines(r));
}
