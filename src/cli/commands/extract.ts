import { extractModel, type ExtractArch, type ExtractLoss } from '../../core/attack/extraction';
import { extractionLines } from '../../core/report/resultText';
import { DATA_OPTIONS, dataRef, intOption, parse, UsageError, utilityUsersOption } from '../args';
import { printJson, printLines, stepPrinter } from '../output';
import { attackPaths } from '../targets';

/** attack extract: data-free extraction of MODEL into a surrogate trained on its ranked lists. */
export async function extractCommand(args: string[], signal: AbortSignal): Promise<void> {
  const { values, positionals } = parse(args, {
    out: { type: 'string' },
    sequences: { type: 'string' },
    'top-k': { type: 'string' },
    arch: { type: 'string' },
    epochs: { type: 'string' },
    length: { type: 'string' },
    loss: { type: 'string' },
    'max-steps': { type: 'string' },
    ...DATA_OPTIONS,
    'utility-users': { type: 'string' },
    seed: { type: 'string' },
    force: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  const { model, out } = await attackPaths('extract', positionals, values, {
    outName: 'SURROGATE.onnx',
  });
  const arch = values.arch ?? 'same';
  if (arch !== 'same' && arch !== 'sasrec')
    throw new UsageError(`--arch must be same or sasrec, got "${arch}"`);
  const loss = values.loss ?? 'listwise';
  if (loss !== 'listwise' && loss !== 'ranking')
    throw new UsageError(`--loss must be listwise or ranking, got "${loss}"`);
  const options = {
    sequences: intOption(values.sequences, 'sequences'),
    topK: intOption(values['top-k'], 'top-k'),
    epochs: intOption(values.epochs, 'epochs'),
    length: intOption(values.length, 'length'),
    maxSteps: intOption(values['max-steps'], 'max-steps'),
    seed: intOption(values.seed, 'seed'),
  };
  const quiet = values.json ?? false;
  const r = await extractModel({
    model,
    out,
    data: dataRef(values),
    utilityUsers: utilityUsersOption(values['utility-users']),
    arch: arch as ExtractArch,
    loss: loss as ExtractLoss,
    ...options,
    signal,
    progress: quiet ? undefined : stepPrinter(),
  });
  if (quiet) {
    printJson({ attack: 'extract', ...r });
    return;
  }
  printLines(extractionLines(r));
}
