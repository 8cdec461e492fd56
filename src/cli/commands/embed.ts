/** embed grew|aow MODEL: write a watermarked copy and its key; print what was done. */
import { sidecarPath } from '../../core/onnx/sidecar';
import { aowEmbedLines, grewEmbedLines } from '../../core/report/resultText';
import { AOW_DEFAULTS, embedAow, type AowStart, type AowUtility } from '../../core/watermark/aow';
import { embedGrew, GREW_DEFAULTS, GREW_MODES, type GrewMode } from '../../core/watermark/grew';
import { GREW_WEIGHTS_DEFAULTS } from '../../core/watermark/grewWeights';
import { MAX_CLUSTERS } from '../../core/watermark/partition';
import {
  dataInputs,
  dataOptions,
  dataRef,
  type DataValues,
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
import { command, flag, REQUIRED, str } from '../spec';
import { didYouMean } from '../suggest';
import { checkOutput } from '../targets';

/** What every scheme writes: the marked model and its key. */
const OUTPUTS = {
  out: str('OUT', 'the watermarked model to write', REQUIRED),
  'key-out': str('KEY', 'the key file to write; keep it secret, it proves ownership', REQUIRED),
};

export const EMBED_GREW = command({
  name: 'embed grew',
  synopsis: [
    'embed grew MODEL --out OUT --key-out KEY [--mode weights|serve] [--data FILE] [options]',
  ],
  about: `Add a GREW (green/red) watermark; writes a new model and a key file. --mode weights (the
default) trains the bias into the model's own weights (the graph stays the original's) until
its evidence reaches z_w >= --target-z. --mode serve appends the bias as nodes after the score
output: for a model you serve behind an API; anyone holding the file can remove them. The top
--protect-head items keep their order (0 biases the whole top-Kc).`,
  options: {
    ...OUTPUTS,
    ...dataOptions('histories to train and probe on, and utility before/after'),
    'utility-users': UTILITY_USERS,
    mode: str(
      'weights|serve',
      "weights: train the mark into the model's weights; serve: append it after the scores",
      GREW_DEFAULTS.mode,
    ),
    gamma: str('G', 'γ: the share of items on the secret green list', GREW_DEFAULTS.gamma),
    delta: str(
      'D',
      'δ: how strongly green items are pushed up the ranking',
      `${GREW_WEIGHTS_DEFAULTS.delta} in weights mode, ${GREW_DEFAULTS.delta} in serve mode`,
    ),
    kc: str('K', 'Kc: how deep in each ranking the push acts (the top Kc items)', GREW_DEFAULTS.kc),
    'protect-head': str(
      'N',
      'the top N items keep their order untouched (0: the whole top Kc is pushed)',
      GREW_DEFAULTS.protectHead,
    ),
    clusters: str(
      'C',
      'clusters of similar items the green list is drawn over',
      `sqrt(items / 2), at most ${MAX_CLUSTERS}`,
    ),
    'target-z': str(
      'Z',
      'with --mode weights: train until the evidence z_w reaches Z',
      GREW_WEIGHTS_DEFAULTS.targetZ,
    ),
    'max-steps': str(
      'N',
      'with --mode weights: the most training steps',
      GREW_WEIGHTS_DEFAULTS.maxSteps,
    ),
    seed: seedOption(),
    force: FORCE,
    json: JSON_OUTPUT,
  },
});

export const EMBED_AOW = command({
  name: 'embed aow',
  synopsis: ['embed aow MODEL --out OUT --key-out KEY [--data FILE] [options]'],
  about: `Generate an out-of-distribution item sequence with MODEL as oracle and fine-tune MODEL
until it continues every prefix of it; utility is kept by training on FILE's sequences
(--utility train, the default with data) or by distilling the original model's scores
(--utility distil: closest to the original; the default without data). --contextual also
teaches the continuation after any history, so the watermark survives model extraction.`,
  options: {
    ...OUTPUTS,
    ...dataOptions(
      'sequences that keep utility, item frequencies for --start, utility before/after',
    ),
    'utility-users': UTILITY_USERS,
    length: str('L', 'items in the secret watermark sequence', AOW_DEFAULTS.length),
    'bottom-m': str(
      'M',
      'each next item is drawn from the M items the model ranks lowest there',
      AOW_DEFAULTS.bottomM,
    ),
    ratio: str('R', 'the share of training examples that teach the watermark', AOW_DEFAULTS.ratio),
    start: str(
      'cold|pop|random',
      "the first item: FILE's least (cold) or most (pop) frequent, or random",
      'cold with --data, random without',
    ),
    utility: str(
      'train|distil',
      "keep utility by training on FILE's sequences or distilling the original's scores",
      'train with --data, distil without',
    ),
    contextual: flag(
      'also teach the continuation after any history, so the mark survives extraction',
    ),
    lr: str('LR', 'learning rate of the fine-tune', AOW_DEFAULTS.lr),
    'min-steps': str(
      'N',
      'steps before training may stop (a longer-trained mark sits deeper)',
      AOW_DEFAULTS.minSteps,
    ),
    'max-steps': str(
      'N',
      'the most training steps (it stops at rank 1 everywhere, or once the ranks stop improving)',
      AOW_DEFAULTS.maxSteps,
    ),
    patience: str(
      'N',
      'steps without a better watermark ranking before giving up',
      AOW_DEFAULTS.patience,
    ),
    'max-ndcg-drop': str(
      'D',
      'largest relative NDCG@10 drop (with --data); beyond it, embed again distilling, then refuse',
      AOW_DEFAULTS.maxNdcgDrop,
    ),
    seed: seedOption(),
    force: FORCE,
    json: JSON_OUTPUT,
  },
});

export async function embedCommand(args: string[], signal: AbortSignal): Promise<void> {
  const [scheme, ...rest] = args;
  if (scheme === 'grew') return embedGrewCommand(rest, signal);
  if (scheme === 'aow') return embedAowCommand(rest, signal);
  throw new UsageError(
    scheme === undefined || scheme.startsWith('-')
      ? 'embed needs a scheme: "embed grew MODEL ..." or "embed aow MODEL ..."'
      : `unknown scheme "${scheme}" (available: grew, aow)${didYouMean(scheme, ['grew', 'aow'])}`,
    'embed',
  );
}

/** MODEL, --out and --key-out, checked the same way for every scheme. */
async function embedTargets(
  scheme: string,
  positionals: string[],
  values: { out?: string; 'key-out'?: string; force?: boolean } & DataValues,
): Promise<{ model: string; out: string; keyOut: string }> {
  const [model, ...extra] = positionals;
  if (!model || extra.length > 0)
    throw new UsageError(`embed ${scheme} takes exactly one MODEL path`, `embed ${scheme}`);
  if (!values.out) throw new UsageError(`embed ${scheme} needs --out OUT.onnx`, `embed ${scheme}`);
  if (!values['key-out'])
    throw new UsageError(`embed ${scheme} needs --key-out KEY.wmkey.json`, `embed ${scheme}`);
  const inputs = [model, sidecarPath(model), ...dataInputs(values)];
  await checkOutput(values.out, inputs, values.force ?? false);
  await checkOutput(values['key-out'], [...inputs, values.out], values.force ?? false, '--key-out');
  return { model, out: values.out, keyOut: values['key-out'] };
}

async function embedAowCommand(args: string[], signal: AbortSignal): Promise<void> {
  const { values, positionals } = parse(args, EMBED_AOW);
  const { model, out, keyOut } = await embedTargets('aow', positionals, values);
  const start = values.start;
  if (start !== undefined && !['cold', 'pop', 'random'].includes(start))
    throw new UsageError(`--start must be cold, pop or random, got "${start}"`);
  const utility = values.utility;
  if (utility !== undefined && !['train', 'distil'].includes(utility))
    throw new UsageError(`--utility must be train or distil, got "${utility}"`);
  const quiet = values.json ?? false;
  const r = await embedAow({
    model,
    out,
    keyOut,
    data: dataRef(values),
    utilityUsers: utilityUsersOption(values['utility-users']),
    length: intOption(values.length, 'length'),
    bottomM: intOption(values['bottom-m'], 'bottom-m'),
    ratio: numberOption(values.ratio, 'ratio'),
    start: start as AowStart | undefined,
    utility: utility as AowUtility | undefined,
    contextual: values.contextual,
    lr: numberOption(values.lr, 'lr'),
    minSteps: intOption(values['min-steps'], 'min-steps'),
    maxSteps: intOption(values['max-steps'], 'max-steps'),
    patience: intOption(values.patience, 'patience'),
    maxNdcgDrop: numberOption(values['max-ndcg-drop'], 'max-ndcg-drop'),
    seed: intOption(values.seed, 'seed'),
    signal,
    progress: quiet ? undefined : stepPrinter(),
  });
  // The sequence is the secret of an AOW key: it goes to the key file only, never to stdout.
  const summary = {
    scheme: 'aow',
    out: r.out,
    keyOut: r.keyOut,
    keyId: r.key.keyId,
    length: r.key.L,
    bottomM: r.key.M,
    start: r.key.start,
    ranksBefore: r.ranksBefore,
    evidence: r.evidence,
    training: r.training,
    guard: r.guard,
    utility: r.utility,
    timings: r.timings,
  };
  if (quiet) {
    printJson(summary);
    return;
  }
  printLines(aowEmbedLines(r));
}

function grewMode(value: string | undefined): GrewMode | undefined {
  if (value === undefined) return undefined;
  if (!(GREW_MODES as readonly string[]).includes(value))
    throw new UsageError(`--mode must be "weights" or "serve", got "${value}"`);
  return value as GrewMode;
}

async function embedGrewCommand(args: string[], signal: AbortSignal): Promise<void> {
  const { values, positionals } = parse(args, EMBED_GREW);
  const { model, out, keyOut } = await embedTargets('grew', positionals, values);
  const quiet = values.json ?? false;
  const result = await embedGrew({
    model,
    out,
    keyOut,
    data: dataRef(values),
    utilityUsers: utilityUsersOption(values['utility-users']),
    mode: grewMode(values.mode),
    gamma: numberOption(values.gamma, 'gamma'),
    delta: numberOption(values.delta, 'delta'),
    targetZ: numberOption(values['target-z'], 'target-z'),
    maxSteps: intOption(values['max-steps'], 'max-steps'),
    kc: intOption(values.kc, 'kc'),
    protectHead: intOption(values['protect-head'], 'protect-head'),
    clusters: intOption(values.clusters, 'clusters'),
    seed: intOption(values.seed, 'seed'),
    signal,
    progress: quiet ? undefined : stepPrinter(),
  });
  const summary = {
    scheme: 'grew',
    out: result.out,
    keyOut: result.keyOut,
    keyId: result.key.keyId,
    mode: result.mode,
    gamma: result.key.gamma,
    delta: result.key.delta,
    kc: result.key.kc,
    protectHead: result.key.protectHead,
    numClusters: result.numClusters,
    numItems: result.key.numItems,
    topKOverlap: result.topKOverlap,
    evidence: result.evidence,
    utility: result.utility,
    training: result.training && {
      steps: result.training.steps,
      checks: result.training.checks,
      stepsPerSecond: result.training.stepsPerSecond,
      tiedCopies: result.training.tiedCopies,
    },
    timings: result.timings,
  };
  if (quiet) {
    printJson(summary);
    return;
  }
  printLines(grewEmbedLines(result));
}
