import {
  EXTRACT_DEFAULTS,
  extractModel,
  type ExtractArch,
  type ExtractLoss,
} from '../../core/attack/extraction';
import { extractionLines } from '../../core/report/resultText';
import {
  dataOptions,
  dataRef,
  FORCE,
  intOption,
  JSON_OUTPUT,
  parse,
  seedOption,
  UsageError,
  UTILITY_USERS,
  utilityUsersOption,
} from '../args';
import { printJson, printLines, stepPrinter } from '../output';
import { command, REQUIRED, str } from '../spec';
import { attackPaths } from '../targets';

export const ATTACK_EXTRACT = command({
  name: 'attack extract',
  synopsis: ['attack extract MODEL --out SURROGATE [--data FILE] [options]'],
  about: `Simulate data-free model extraction: query MODEL as a black box with synthetic sequences
(each next item drawn from its top-k), train a surrogate (MODEL's graph re-initialised, or
a SASRec) on the ranked lists alone; prints the query budget, the surrogate's agreement
with MODEL and, with --data, both models' Recall/NDCG@10. Then run "verify" on SURROGATE.`,
  options: {
    out: str('SURROGATE', 'the surrogate model to write', REQUIRED),
    sequences: str('N', 'synthetic query sequences sent to MODEL', EXTRACT_DEFAULTS.sequences),
    'top-k': str(
      'K',
      'length of the ranked list MODEL answers each query with',
      EXTRACT_DEFAULTS.topK,
    ),
    arch: str(
      'same|sasrec',
      "the surrogate: MODEL's graph re-initialised, or a SASRec",
      EXTRACT_DEFAULTS.arch,
    ),
    epochs: str('N', 'training passes over the answered queries', EXTRACT_DEFAULTS.epochs),
    length: str(
      'L',
      'items in each synthetic sequence',
      `MODEL's sequence length, at most ${EXTRACT_DEFAULTS.maxLength}`,
    ),
    loss: str(
      'listwise|ranking',
      "how the surrogate learns MODEL's lists: the whole list, or pairwise hinge",
      EXTRACT_DEFAULTS.loss,
    ),
    'max-steps': str('N', 'stop after N training steps', 'every step of every epoch'),
    ...dataOptions("also both models' Recall/NDCG@10 on its users"),
    'utility-users': UTILITY_USERS,
    seed: seedOption(EXTRACT_DEFAULTS.seed),
    force: FORCE,
    json: JSON_OUTPUT,
  },
});

/** attack extract: data-free extraction of MODEL into a surrogate trained on its ranked lists. */
export async function extractCommand(args: string[], signal: AbortSignal): Promise<void> {
  const { values, positionals } = parse(args, ATTACK_EXTRACT);
  const { model, out } = await attackPaths('extract', positionals, values, {
    outName: 'SURROGATE.onnx',
  });
  const arch = values.arch ?? EXTRACT_DEFAULTS.arch;
  if (arch !== 'same' && arch !== 'sasrec')
    throw new UsageError(`--arch must be same or sasrec, got "${arch}"`);
  const loss = values.loss ?? EXTRACT_DEFAULTS.loss;
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
