/** attack KIND MODEL: dispatch to each simulated attack; fine-tuning lives here. */
import { FINETUNE_DEFAULTS, finetuneAttack } from '../../core/attack/finetune';
import { sidecarPath } from '../../core/onnx/sidecar';
import { finetuneLines } from '../../core/report/resultText';
import {
  dataInputs,
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
import { didYouMean } from '../suggest';
import { checkOutput } from '../targets';
import { extractCommand } from './extract';
import { overwriteCommand } from './overwrite';
import { perturbCommand } from './perturb';
import { stripCommand } from './strip';

export const ATTACK_FINETUNE = command({
  name: 'attack finetune',
  synopsis: ['attack finetune MODEL --data FILE --out OUT [options]'],
  about: `Simulate a thief fine-tuning MODEL on a fraction of the users in FILE (next-item
cross-entropy); prints the loss curve and utility before/after, writes the tuned copy.`,
  options: {
    ...dataOptions("the thief's training users, and utility before/after", REQUIRED),
    'utility-users': UTILITY_USERS,
    out: str('OUT', 'the fine-tuned copy to write', REQUIRED),
    epochs: str('N', 'passes over the sampled users', FINETUNE_DEFAULTS.epochs),
    lr: str('LR', 'learning rate', FINETUNE_DEFAULTS.lr),
    fraction: str('F', "the share of FILE's users the thief trains on", FINETUNE_DEFAULTS.fraction),
    seed: seedOption(FINETUNE_DEFAULTS.seed),
    'batch-size': str('N', 'training examples per step', FINETUNE_DEFAULTS.batchSize),
    'max-steps': str('N', 'stop after N training steps', 'every step of every epoch'),
    force: FORCE,
    json: JSON_OUTPUT,
  },
});

const KINDS = ['finetune', 'prune', 'noise', 'quantize', 'strip', 'overwrite', 'extract'];

export async function attackCommand(args: string[], signal: AbortSignal): Promise<void> {
  const [kind, ...rest] = args;
  if (kind === 'prune' || kind === 'noise' || kind === 'quantize')
    return perturbCommand(kind, rest, signal);
  if (kind === 'extract') return extractCommand(rest, signal);
  if (kind === 'strip') return stripCommand(rest, signal);
  if (kind === 'overwrite') return overwriteCommand(rest, signal);
  if (kind === 'finetune') return finetuneCommand(rest, signal);
  throw new UsageError(
    kind === undefined || kind.startsWith('-')
      ? 'attack needs a kind: "attack finetune MODEL ..."'
      : `unknown attack "${kind}" (available: ${KINDS.join(', ')})${didYouMean(kind, KINDS)}`,
    'attack',
  );
}

async function finetuneCommand(args: string[], signal: AbortSignal): Promise<void> {
  const { values, positionals } = parse(args, ATTACK_FINETUNE);
  const [model, ...extra] = positionals;
  if (!model || extra.length > 0)
    throw new UsageError('attack finetune takes exactly one MODEL path');
  const data = dataRef(values);
  if (!data) throw new UsageError('attack finetune needs --data FILE');
  if (!values.out) throw new UsageError('attack finetune needs --out OUT.onnx');
  await checkOutput(
    values.out,
    [model, sidecarPath(model), ...dataInputs(values)],
    values.force ?? false,
  );
  const quiet = values.json ?? false;
  const r = await finetuneAttack({
    model,
    data,
    utilityUsers: utilityUsersOption(values['utility-users']),
    out: values.out,
    epochs: intOption(values.epochs, 'epochs'),
    lr: numberOption(values.lr, 'lr'),
    fraction: numberOption(values.fraction, 'fraction'),
    seed: intOption(values.seed, 'seed'),
    batchSize: intOption(values['batch-size'], 'batch-size'),
    maxSteps: intOption(values['max-steps'], 'max-steps'),
    signal,
    progress: quiet ? undefined : stepPrinter(),
  });
  if (quiet) {
    printJson({ attack: 'finetune', ...r });
    return;
  }
  printLines(finetuneLines(r));
}
