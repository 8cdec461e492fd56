/** embed grew|aow MODEL: write a watermarked copy and its key; print what was done. */
import { sidecarPath } from '../../core/onnx/sidecar';
import { aowEmbedLines, grewEmbedLines } from '../../core/report/resultText';
import { embedAow, type AowStart, type AowUtility } from '../../core/watermark/aow';
import { embedGrew, GREW_MODES, type GrewMode } from '../../core/watermark/grew';
import {
  DATA_OPTIONS,
  dataInputs,
  dataRef,
  type DataValues,
  intOption,
  numberOption,
  parse,
  UsageError,
  utilityUsersOption,
} from '../args';
import { printJson, printLines, stepPrinter } from '../output';
import { checkOutput } from '../targets';

export async function embedCommand(args: string[], signal: AbortSignal): Promise<void> {
  const [scheme, ...rest] = args;
  if (scheme === 'grew') return embedGrewCommand(rest, signal);
  if (scheme === 'aow') return embedAowCommand(rest, signal);
  throw new UsageError(
    scheme === undefined || scheme.startsWith('-')
      ? 'embed needs a scheme: "embed grew MODEL ..." or "embed aow MODEL ..."'
      : `unknown scheme "${scheme}" (available: grew, aow)`,
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
    throw new UsageError(`embed ${scheme} takes exactly one MODEL path`);
  if (!values.out) throw new UsageError(`embed ${scheme} needs --out OUT.onnx`);
  if (!values['key-out']) throw new UsageError(`embed ${scheme} needs --key-out KEY.wmkey.json`);
  const inputs = [model, sidecarPath(model), ...dataInputs(values)];
  await checkOutput(values.out, inputs, values.force ?? false);
  await checkOutput(values['key-out'], [...inputs, values.out], values.force ?? false, '--key-out');
  return { model, out: values.out, keyOut: values['key-out'] };
}

async function embedAowCommand(args: string[], signal: AbortSignal): Promise<void> {
  const { values, positionals } = parse(args, {
    out: { type: 'string' },
    'key-out': { type: 'string' },
    ...DATA_OPTIONS,
    'utility-users': { type: 'string' },
    length: { type: 'string' },
    'bottom-m': { type: 'string' },
    ratio: { type: 'string' },
    start: { type: 'string' },
    utility: { type: 'string' },
    contextual: { type: 'boolean' },
    lr: { type: 'string' },
    'min-steps': { type: 'string' },
    'max-steps': { type: 'string' },
    seed: { type: 'string' },
    force: { type: 'boolean' },
    json: { type: 'boolean' },
  });
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
  const { values, positionals } = parse(args, {
    out: { type: 'string' },
    'key-out': { type: 'string' },
    ...DATA_OPTIONS,
    'utility-users': { type: 'string' },
    mode: { type: 'string' },
    gamma: { type: 'string' },
    delta: { type: 'string' },
    'target-z': { type: 'string' },
    'max-steps': { type: 'string' },
    kc: { type: 'string' },
    'protect-head': { type: 'string' },
    clusters: { type: 'string' },
    seed: { type: 'string' },
    force: { type: 'boolean' },
    json: { type: 'boolean' },
  });
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
