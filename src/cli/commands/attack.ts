/** attack KIND MODEL: dispatch to each simulated attack; fine-tuning lives here. */
import { finetuneAttack } from '../../core/attack/finetune';
import { sidecarPath } from '../../core/onnx/sidecar';
import { finetuneLines } from '../../core/report/resultText';
import {
  DATA_OPTIONS,
  dataInputs,
  dataRef,
  intOption,
  numberOption,
  parse,
  UsageError,
  utilityUsersOption,
} from '../args';
import { printJson, printLines, stepPrinter } from '../output';
import { checkOutput } from '../targets';
import { extractCommand } from './extract';
import { overwriteCommand } from './overwrite';
import { perturbCommand } from './perturb';
import { stripCommand } from './strip';

export async function attackCommand(args: string[], signal: AbortSignal): Promise<void> {
  if (args[0] === 'prune' || args[0] === 'noise' || args[0] === 'quantize')
    return perturbCommand(args[0], args.slice(1), signal);
  if (args[0] === 'extract') return extractCommand(args.slice(1), signal);
  if (args[0] === 'strip') return stripCommand(args.slice(1), signal);
  if (args[0] === 'overwrite') return overwriteCommand(args.slice(1), signal);
  const { values, positionals } = parse(args, {
    ...DATA_OPTIONS,
    'utility-users': { type: 'string' },
    out: { type: 'string' },
    epochs: { type: 'string' },
    lr: { type: 'string' },
    fraction: { type: 'string' },
    seed: { type: 'string' },
    'batch-size': { type: 'string' },
    'max-steps': { type: 'string' },
    force: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  const [kind, model, ...extra] = positionals;
  if (kind !== 'finetune') {
    throw new UsageError(
      kind === undefined
        ? 'attack needs a kind: "attack finetune MODEL ..."'
        : `unknown attack "${kind}" (available: finetune, prune, noise, quantize, strip, overwrite, extract)`,
    );
  }
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
