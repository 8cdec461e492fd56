import { COPY_ATTACK_DEFAULTS } from '../../core/attack/copyAttack';
import { noiseAttack, pruneAttack, type PerturbResult } from '../../core/attack/perturb';
import { quantizeAttack } from '../../core/attack/quantize';
import { perturbLines, type PerturbKind } from '../../core/report/resultText';
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
import { command, type CommandSpec, REQUIRED, str, type StringOption } from '../spec';
import { attackPaths } from '../targets';

const OUT = str('OUT', 'the attacked copy to write', REQUIRED);
/** Besides OUT (and an amount, listed after it), what every attack on a copy takes. */
const MEASURED = {
  ...dataOptions('also Recall/NDCG@10 before and after on its users'),
  'utility-users': UTILITY_USERS,
  seed: seedOption(COPY_ATTACK_DEFAULTS.seed),
  force: FORCE,
  json: JSON_OUTPUT,
};
/** What every attack on a copy of the weights takes (strip too): output, data, seed. */
export const COPY_ATTACK_OPTIONS = { out: OUT, ...MEASURED };

const TOP10 = 'prints the top-10 overlap with MODEL (and Recall/NDCG@10 with --data)';

export const ATTACK_PRUNE = command({
  name: 'attack prune',
  synopsis: ['attack prune MODEL --out OUT --fraction F [--data FILE] [options]'],
  about: `Simulate magnitude pruning: zero the fraction F (0 <= F < 1) smallest-|w| weights of each
trained weight matrix; ${TOP10}.`,
  options: {
    out: OUT,
    fraction: str('F', "the share of each matrix's smallest weights set to 0, in [0, 1)", REQUIRED),
    ...MEASURED,
  },
});

export const ATTACK_NOISE = command({
  name: 'attack noise',
  synopsis: ['attack noise MODEL --out OUT --scale S [--data FILE] [options]'],
  about: `Simulate weight noise: add N(0, (S*std(W))^2) to every trained weight tensor W (S >= 0);
prints the top-10 overlap with MODEL (and Recall/NDCG@10 with --data). Attacks on weights
touch trained weights only, never masks, flags, penalty vectors or shape constants.`,
  options: {
    out: OUT,
    scale: str('S', "noise size as a multiple of each tensor's standard deviation, >= 0", REQUIRED),
    ...MEASURED,
  },
});

export const ATTACK_QUANTIZE = command({
  name: 'attack quantize',
  synopsis: ['attack quantize MODEL --out OUT [--data FILE] [options]'],
  about: `Simulate int8 weight quantization: every trained weight tensor W rounded to 255 levels
(symmetric, scale max|W|/127) and stored back as float32, so OUT is a drop-in replacement;
prints the largest rounding error and the top-10 overlap with MODEL (and Recall/NDCG@10
with --data).`,
  options: COPY_ATTACK_OPTIONS,
});

/** Each kind's table: the shared options and at most one amount. */
type PerturbOptions = typeof COPY_ATTACK_OPTIONS & {
  fraction?: StringOption;
  scale?: StringOption;
};
const SPECS: Record<PerturbKind, CommandSpec<PerturbOptions>> = {
  prune: ATTACK_PRUNE,
  noise: ATTACK_NOISE,
  quantize: ATTACK_QUANTIZE,
};

/** attack prune|noise|quantize: perturb a copy of MODEL's weights; utility on --data when given. */
export async function perturbCommand(
  kind: PerturbKind,
  args: string[],
  signal: AbortSignal,
): Promise<void> {
  // The one amount each attack takes: prune --fraction, noise --scale, quantize none. The other
  // one is a likely slip, so it gets its own message rather than "no option".
  const takes = { prune: 'fraction', noise: 'scale', quantize: null } as const;
  const wanted = takes[kind];
  for (const option of ['fraction', 'scale'] as const) {
    if (option !== wanted && args.some((a) => a === `--${option}` || a.startsWith(`--${option}=`)))
      throw new UsageError(
        `attack ${kind} takes ${wanted ? `--${wanted}` : 'no amount'}, not --${option}`,
        `attack ${kind}`,
      );
  }
  const { values, positionals } = parse(args, SPECS[kind]);
  const { model, out } = await attackPaths(kind, positionals, values);
  const given = wanted ? values[wanted] : undefined;
  const amount = wanted
    ? numberOption(typeof given === 'string' ? given : undefined, wanted)
    : undefined;
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
