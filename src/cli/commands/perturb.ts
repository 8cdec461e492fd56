import { noiseAttack, pruneAttack, type PerturbResult } from '../../core/attack/perturb';
import { quantizeAttack } from '../../core/attack/quantize';
import { perturbLines, type PerturbKind } from '../../core/report/resultText';
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

/** attack prune|noise|quantize: perturb a copy of MODEL's weights; utility on --data when given. */
export async function perturbCommand(
  kind: PerturbKind,
  args: string[],
  signal: AbortSignal,
): Promise<void> {
  const { values, positionals } = parse(args, {
    ...DATA_OPTIONS,
    'utility-users': { type: 'string' },
    out: { type: 'string' },
    fraction: { type: 'string' },
    scale: { type: 'string' },
    seed: { type: 'string' },
    force: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  const { model, out } = await attackPaths(kind, positionals, values);
  // The one amount each attack takes: prune --fraction, noise --scale, quantize none.
  const takes = { prune: 'fraction', noise: 'scale', quantize: null } as const;
  const wanted = takes[kind];
  for (const option of ['fraction', 'scale'] as const) {
    if (option !== wanted && values[option] !== undefined)
      throw new UsageError(
        `attack ${kind} takes ${wanted ? `--${wanted}` : 'no amount'}, not --${option}`,
      );
  }
  const amount = wanted ? numberOption(values[wanted], wanted) : undefined;
  if (wanted && amount === undefined)
    throw new UsageError(
      `attack ${kind} needs --${wanted} X (${kind === 'prune' ? 'in [0, 1)' : '≥ 0'})`,
    );
  const quiet = values.json ?? false;
  const common = {
    model,
    out,
    data: dataRef(values),
    utilityUsers: utilityUsersOption(values['utility-users']),
    seed: intOption(values.seed, 'seed'),
    signal,
    progress: quiet ? undefined : stepPrinter(),
  };
  const r: PerturbResult =
    kind === 'prune'
      ? await pruneAttack({ ...common, fraction: amount! })
      : kind === 'noise'
        ? await noiseAttack({ ...common, scale: amount! })
        : await quantizeAttack(common);
  if (quiet) {
    const setting = wanted ? { [wanted]: amount } : { bits: 8 };
    printJson({ attack: kind, ...setting, ...r });
    return;
  }
  printLines(perturbLines(kind, amount, r));
}
