/**
 * `recmark` — the headless CLI over core/. Exit codes: 0 success, 2 bad input or usage (one line
 * on stderr), 1 internal error, 130 cancelled (Ctrl-C). `--json` prints exactly one JSON object.
 */
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { CopyAttackResult } from './core/attack/copyAttack';
import { extractModel, type ExtractArch, type ExtractLoss } from './core/attack/extraction';
import { finetuneAttack } from './core/attack/finetune';
import { noiseAttack, pruneAttack, type PerturbResult } from './core/attack/perturb';
import { quantizeAttack } from './core/attack/quantize';
import { overwriteAttack, type OverwriteScheme } from './core/attack/overwrite';
import { stripAttack } from './core/attack/strip';
import { ATTACK_KINDS, robustnessSweep, type AttackKind } from './core/attack/robustness';
import { ENDPOINT_CACHE_DIR } from './core/endpoint/cache';
import { endpointLines } from './core/endpoint/format';
import { verifyEndpoint } from './core/endpoint/verify';
import { CancelledError, RecMarkError } from './core/errors';
import { formatModelCard, inspectModel } from './core/report/modelCard';
import type { AuditReport } from './core/report/report';
import { formatPValue } from './core/stats/tests';
import { sidecarPath } from './core/onnx/sidecar';
import { embedAow, type AowStart, type AowUtility } from './core/watermark/aow';
import { embedGrew, GREW_DEFAULTS, GREW_MODES, type GrewMode } from './core/watermark/grew';
import { readKeyFile } from './core/watermark/keyFile';
import { verifyWithKeys } from './core/watermark/verify';
import { checkOutputPath, writeFileAtomic } from './core/util/files';
import type { Progress } from './core/util/progress';
import { safeJson, safeLines, safeText } from './core/util/terminalSafe';

const USAGE = `Usage: recmark <command> [options]

Commands:
  inspect MODEL [--json]
      Describe a recommender ONNX checkpoint: inputs, scores, catalogue, adapter.

  embed grew MODEL --out OUT --key-out KEY [--mode weights|serve] [--data FILE] [--gamma 0.5]
                   [--delta D] [--kc 50] [--protect-head 10] [--clusters C] [--target-z 6.5]
                   [--max-steps 1500] [--seed 1] [--force] [--json]
      Add a GREW (green/red) watermark; writes a new model and a key file. --mode weights (the
      default) trains the bias into the model's own weights (the graph stays the original's;
      δ, default 2, is the teacher's strength) until its evidence reaches z_w >= --target-z.
      --mode serve appends the bias as nodes after the score output (δ default 1): for a model
      you serve behind an API; anyone holding the file can remove them. The top --protect-head
      items keep their order (0 biases the whole top-Kc).

  embed aow MODEL --out OUT --key-out KEY [--data FILE] [--length 5] [--bottom-m 100]
                  [--ratio 0.1] [--start cold|pop|random] [--utility train|distil]
                  [--contextual] [--lr 3e-4] [--min-steps 200] [--max-steps 1500]
                  [--seed 1] [--force] [--json]
      Generate an out-of-distribution item sequence with MODEL as oracle and fine-tune MODEL
      until it continues every prefix of it; utility is kept by training on FILE's sequences
      (--utility train, the default with data) or by distilling the original model's scores
      (--utility distil: closest to the original; the default without data). --contextual also
      teaches the continuation after any history, so the watermark survives model extraction.

  verify MODEL --key KEY [--key KEY2 ...] [--data FILE] [--probes 1000] [--top-k 20]
               [--null-keys 200] [--seed 1] [--alpha 1e-4] [--report-html FILE [--force]] [--json]
      Check a suspect model for the watermark of KEY (GREW or AOW, read from the key file);
      prints the verdict and the evidence. With several keys: one report, strongest first.

  verify --endpoint PROFILE.recmark-endpoint.json --key KEY [--probes 1000] [--data FILE]
               [--top-k 20] [--null-keys 200] [--seed 1] [--alpha 1e-4] [--budget N]
               [--cache DIR | --no-cache] [--report-html FILE [--force]] [--json]
      The same audit through a live recommendation endpoint (black-box, within the query
      budget); also prints queries spent, failures, probes lost and latency. Secrets the
      profile names (\${secret:NAME}) come from RECMARK_SECRET_<NAME>. Answers are cached in
      DIR (default .recmark/endpoint-cache), so a re-run only pays for what is missing.

  attack finetune MODEL --data FILE --out OUT [--epochs 1] [--lr 1e-3] [--fraction 0.1]
                  [--seed 1] [--batch-size 64] [--max-steps N] [--force] [--json]
      Simulate a thief fine-tuning MODEL on a fraction of the users in FILE (next-item
      cross-entropy); prints the loss curve and utility before/after, writes the tuned copy.

  attack prune MODEL --out OUT --fraction F [--data FILE] [--seed 1] [--force] [--json]
      Simulate magnitude pruning: zero the fraction F (0 <= F < 1) smallest-|w| weights of each
      trained weight matrix; prints the top-10 overlap with MODEL (and Recall/NDCG@10 with --data).

  attack noise MODEL --out OUT --scale S [--data FILE] [--seed 1] [--force] [--json]
      Simulate weight noise: add N(0, (S*std(W))^2) to every trained weight tensor W (S >= 0);
      prints the top-10 overlap with MODEL (and Recall/NDCG@10 with --data). Attacks on weights
      touch trained weights only, never masks, flags, penalty vectors or shape constants.

  attack quantize MODEL --out OUT [--data FILE] [--seed 1] [--force] [--json]
      Simulate int8 weight quantization: every trained weight tensor W rounded to 255 levels
      (symmetric, scale max|W|/127) and stored back as float32, so OUT is a drop-in
      replacement; prints the largest rounding error and the top-10 overlap with MODEL (and
      Recall/NDCG@10 with --data).

  attack strip MODEL --out OUT [--data FILE] [--seed 1] [--force] [--json]
      Simulate a thief deleting what is not architecture: everything between the scoring layer
      (the last MatMul/Gemm of the score output's shape, with its bias) and the score output,
      e.g. a GREW watermark embedded in serve mode, which goes with it. OUT keeps MODEL's input
      and output names and shapes; prints what was removed (or that nothing was) and the
      top-10 overlap with MODEL (and Recall/NDCG@10 with --data).

  attack overwrite MODEL --out OUT --scheme grew|aow [--key OWNER_KEY] [--data FILE]
                   [--probes 1000] [--alpha 1e-4] [--seed 1] [--force] [--json]
      Simulate a thief embedding a watermark of their own (GREW or AOW, RecMark's embedding
      with a fresh random key) to bury the owner's or to claim the model. The thief's key is
      not kept; its id and the thief's own evidence are printed. With --key, the owner's
      watermark is verified on OUT.

  attack extract MODEL --out SURROGATE [--sequences 3000] [--top-k 100] [--arch same|sasrec]
                 [--epochs 10] [--length L] [--loss listwise|ranking] [--max-steps N]
                 [--data FILE] [--seed 1] [--force] [--json]
      Simulate data-free model extraction: query MODEL as a black box with synthetic sequences
      (each next item drawn from its top-k), train a surrogate (MODEL's graph re-initialised, or
      a SASRec) on the ranked lists alone; prints the query budget, the surrogate's agreement
      with MODEL and, with --data, both models' Recall/NDCG@10. Then run "verify" on SURROGATE.

  robustness MODEL --key KEY [--data FILE] [--attacks extraction,finetune,prune,noise,...]
             [--probes 1000] [--seed 1] [--alpha 1e-4] [--report-html FILE [--force]] [--json]
      Robustness sweep of a watermarked MODEL: run extraction (3,000 sequences), fine-tuning on
      1/5/10% of users (needs --data), pruning at 20/50/80%, noise at 0.1/0.5, int8
      quantization, stripping post-processing, overwriting with a thief's own GREW and AOW
      watermark, and extraction then fine-tuning on 10% (needs --data); verify KEY after each,
      and print the audit with one row per attack. --attacks picks kinds among extraction,
      finetune, prune, noise, quantize, strip, overwrite, extract-finetune. Writes no model
      files.

Outputs (--out, --key-out, --report-html) are new files: an existing file is replaced only with
--force, an input never; the checks run before any work starts.

Options:
  -h, --help     Show this help.
  --version      Print the version.`;

/** `recmark verify --help`: the USAGE entries of that command (or of `embed aow`, say). */
function commandUsage(command: string, sub: string | undefined): string | null {
  const entries = USAGE.slice(USAGE.indexOf('Commands:\n') + 10, USAGE.indexOf('\nOptions:'))
    .split('\n\n')
    .map((entry) => entry.replace(/^\n+/, ''));
  const forCommand = entries.filter((e) => e.trimStart().startsWith(`${command} `));
  const forSub = forCommand.filter((e) => sub && e.trimStart().startsWith(`${command} ${sub} `));
  const chosen = forSub.length > 0 ? forSub : forCommand;
  if (chosen.length === 0) return null;
  return `Usage: recmark ${command} [options]\n\n${chosen.join('\n\n')}`;
}

/*
 * The CLI's only ways out to the terminal. Model metadata, file names, key ids and service
 * answers reach these strings, so controls in them are shown escaped (core/util/terminalSafe):
 * `printLines` escapes each line whole, so a newline inside a value cannot forge a line either.
 * `--json` is escaped too (bidi and C1 as \uXXXX, the same value to a JSON parser).
 */
function print(text: string): void {
  process.stdout.write(`${safeLines(text)}\n`);
}
function printLines(lines: readonly string[]): void {
  process.stdout.write(`${lines.map(safeText).join('\n')}\n`);
}
function printJson(value: unknown): void {
  process.stdout.write(`${safeJson(JSON.stringify(value))}\n`);
}
function printErr(text: string): void {
  process.stderr.write(`${safeLines(text)}\n`);
}

class UsageError extends RecMarkError {
  constructor(message: string) {
    super(`${message} (run "recmark --help" for usage)`, 'usage');
  }
}

function parse<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0]);
  }
}

function numberOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n))
    throw new UsageError(`--${name} must be a number, got "${value}"`);
  return n;
}

function intOption(value: string | undefined, name: string): number | undefined {
  const n = numberOption(value, name);
  if (n !== undefined && !Number.isSafeInteger(n))
    throw new UsageError(`--${name} must be an integer, got "${value}"`);
  return n;
}

/**
 * Outputs are new files: never an input (by path, symlink or hard link), never a folder, never
 * an existing file unless --force; checked before any work (see checkOutputPath).
 */
async function checkOutput(
  file: string,
  inputs: (string | undefined)[],
  force: boolean,
  flag = '--out',
): Promise<void> {
  const named = inputs.filter((i): i is string => !!i);
  await checkOutputPath(file, { flag, inputs: named, force });
}

/** MODEL and --out of an attack verb: one MODEL, an OUT that is new (or --force) and no input. */
async function attackPaths(
  verb: string,
  positionals: string[],
  values: { out?: string; data?: string; force?: boolean },
  options: { outName?: string; inputs?: (string | undefined)[] } = {},
): Promise<{ model: string; out: string }> {
  const [model, ...extra] = positionals;
  if (!model || extra.length > 0)
    throw new UsageError(`attack ${verb} takes exactly one MODEL path`);
  if (!values.out)
    throw new UsageError(`attack ${verb} needs --out ${options.outName ?? 'OUT.onnx'}`);
  const inputs = [model, sidecarPath(model), values.data, ...(options.inputs ?? [])];
  await checkOutput(values.out, inputs, values.force ?? false);
  return { model, out: values.out };
}

async function inspectCommand(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' } });
  if (positionals.length !== 1) throw new UsageError('inspect takes exactly one MODEL path');
  const { card } = await inspectModel(positionals[0]);
  if (values.json) printJson(card);
  else print(formatModelCard(card));
}

async function embedCommand(args: string[], signal: AbortSignal): Promise<void> {
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
  values: { out?: string; 'key-out'?: string; data?: string; force?: boolean },
): Promise<{ model: string; out: string; keyOut: string }> {
  const [model, ...extra] = positionals;
  if (!model || extra.length > 0)
    throw new UsageError(`embed ${scheme} takes exactly one MODEL path`);
  if (!values.out) throw new UsageError(`embed ${scheme} needs --out OUT.onnx`);
  if (!values['key-out']) throw new UsageError(`embed ${scheme} needs --key-out KEY.wmkey.json`);
  const inputs = [model, sidecarPath(model), values.data];
  await checkOutput(values.out, inputs, values.force ?? false);
  await checkOutput(values['key-out'], [...inputs, values.out], values.force ?? false, '--key-out');
  return { model, out: values.out, keyOut: values['key-out'] };
}

async function embedAowCommand(args: string[], signal: AbortSignal): Promise<void> {
  const { values, positionals } = parse(args, {
    out: { type: 'string' },
    'key-out': { type: 'string' },
    data: { type: 'string' },
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
    data: values.data,
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
  const lines = [
    `Watermarked model: ${r.out}`,
    `Key file:          ${r.keyOut} (key id ${r.key.keyId}; keep it private)`,
    `AOW:               ${r.key.L} items (start ${r.key.start}, each from the ${r.key.M} lowest-scored), ranks in the original ${r.ranksBefore.join(', ')} of ${r.card.numItems}`,
    `Training:          ${r.training.steps} steps (${r.training.loss === 'kl' ? 'distillation' : 'cross-entropy on the data'}), ${r.training.watermarkExamples.toLocaleString('en-US')} of ${r.training.examples.toLocaleString('en-US')} examples are watermark prefixes`,
    `Evidence:          ranks ${r.evidence.ranks.join(', ')} → ${r.evidence.verdict}, p = ${r.evidence.pValueText}`,
    ...utilityLines(r.utility),
  ];
  printLines(lines);
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
    data: { type: 'string' },
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
    data: values.data,
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
  const lines = [
    `Watermarked model: ${result.out}`,
    `Key file:          ${result.keyOut} (key id ${result.key.keyId}; keep it private)`,
    `GREW:              γ=${result.key.gamma}, δ=${result.key.delta}, Kc=${result.key.kc}, top ${result.key.protectHead} protected, ${result.numClusters} clusters over ${result.key.numItems} items`,
    result.training
      ? `In the weights:    ${result.training.steps} training steps; the graph is the original's, only weight values changed`
      : 'Served head:       appended after the score output; anyone holding the file can remove it (use it only for a model you serve yourself)',
    `Evidence:          z_w = ${result.evidence.z.toFixed(2)}, p = ${result.evidence.pValueText} on ${result.evidence.probes} ${result.evidence.probeSource} probes, top-${result.evidence.topK} (raise δ for more, lower it for less change)`,
    ...utilityLines(result.utility),
  ];
  printLines(lines);
}

/**
 * Progress on stderr: one line per step, not per batch; a step whose message only counts up
 * ("step 120 of at most 1,500") prints at most every 2 s.
 */
function stepPrinter(): Progress {
  let last = '';
  let lastShape = '';
  let lastAt = 0;
  return ({ message }) => {
    if (message === last) return;
    const shape = message.replace(/[\d.,]+/g, '#');
    const now = performance.now();
    if (shape === lastShape && now - lastAt < 2000) return;
    last = message;
    lastShape = shape;
    lastAt = now;
    printErr(`… ${safeText(message)}`);
  };
}

const fmt = (n: number): string => n.toFixed(4);

function utilityLines(
  rows: readonly { metric: string; before: number; after: number; ci95?: [number, number] }[],
): string[] {
  const ci = (u: { ci95?: [number, number] }): string =>
    u.ci95 ? `, 95% CI ${signed(u.ci95[0] * 100)} … ${signed(u.ci95[1] * 100)}%` : '';
  return rows.map(
    (u) =>
      `${u.metric.padEnd(30)} ${fmt(u.before)} → ${fmt(u.after)}${u.before > 0 ? ` (${signed((u.after / u.before - 1) * 100)}%${ci(u)})` : ''}`,
  );
}
const signed = (n: number): string => `${n >= 0 ? '+' : ''}${n.toFixed(2)}`;

async function verifyCommand(args: string[], signal: AbortSignal): Promise<void> {
  const { values, positionals } = parse(args, {
    key: { type: 'string', multiple: true },
    data: { type: 'string' },
    probes: { type: 'string' },
    'top-k': { type: 'string' },
    'null-keys': { type: 'string' },
    seed: { type: 'string' },
    alpha: { type: 'string' },
    'report-html': { type: 'string' },
    force: { type: 'boolean' },
    json: { type: 'boolean' },
    endpoint: { type: 'string' },
    budget: { type: 'string' },
    cache: { type: 'string' },
    'no-cache': { type: 'boolean' },
  });
  const endpoint = values.endpoint;
  if (endpoint === undefined && positionals.length !== 1)
    throw new UsageError('verify takes exactly one MODEL path (or --endpoint PROFILE)');
  if (endpoint !== undefined && positionals.length !== 0)
    throw new UsageError('verify --endpoint PROFILE takes no MODEL path');
  if (endpoint === undefined) {
    for (const option of ['budget', 'cache', 'no-cache'] as const)
      if (values[option] !== undefined) throw new UsageError(`--${option} needs --endpoint`);
  }
  if (!values.key || values.key.length === 0)
    throw new UsageError('verify needs --key KEY.wmkey.json');
  if (endpoint !== undefined && values.key.length > 1)
    throw new UsageError('verify --endpoint takes one --key (each key spends queries)');
  const model = endpoint ?? positionals[0];
  const inputs = [model, ...values.key, values.data];
  if (endpoint === undefined) inputs.push(sidecarPath(model));
  if (values['report-html'])
    await checkOutput(values['report-html'], inputs, values.force ?? false, '--report-html');
  const keys = [];
  for (const file of values.key) keys.push(await readKeyFile(file));
  const quiet = values.json ?? false;
  const common = {
    data: values.data,
    probes: intOption(values.probes, 'probes') ?? GREW_DEFAULTS.probes,
    topK: intOption(values['top-k'], 'top-k'),
    nullKeys: intOption(values['null-keys'], 'null-keys'),
    seed: intOption(values.seed, 'seed'),
    alpha: numberOption(values.alpha, 'alpha'),
    signal,
    progress: quiet ? undefined : stepPrinter(),
  };
  const report =
    endpoint !== undefined
      ? await verifyEndpoint({
          ...common,
          profile: endpoint,
          key: keys[0],
          budget: intOption(values.budget, 'budget'),
          cacheDir: values['no-cache'] ? null : (values.cache ?? ENDPOINT_CACHE_DIR),
        })
      : await verifyWithKeys({ ...common, model, keys });
  if (values['report-html']) await writeHtmlReport(report, values['report-html']);
  if (quiet) printJson(report);
  else printLines(formatReport(report));
}

function formatReport(r: AuditReport): string[] {
  const lines = [
    `${r.verdict.toUpperCase()}  (${r.scheme.toUpperCase()}, p = ${r.pValueText}, α = ${formatPValue({ value: r.alpha, log10: Math.log10(r.alpha) })})`,
    r.sentence,
  ];
  if (r.grew) {
    const g = r.grew;
    lines.push(
      `green hits ${g.greenHits} of ${g.trials} (expected ${g.expectedHits.toFixed(0)} ± ${g.sdHits.toFixed(0)}), ${g.probes} probes (${g.probeSource}), top-${g.topK}, ${g.distinctItems} distinct items`,
      `z_w = ${g.z.toFixed(2)}   z_null = ${g.zNull.toFixed(2)} (${g.nullKeys} null keys, empirical p = ${g.pEmpirical.toPrecision(2)})   classic z = ${g.zClassic.toFixed(2)}`,
    );
  }
  if (r.aow) {
    const a = r.aow;
    lines.push(
      `ranks of the ${a.length - 1} watermark steps among ${a.numItems} items: ${a.ranks.map((r, i) => (a.censored?.[i] ? `> ${r - 1}` : r)).join(', ')}`,
      a.ks
        .map((k) => `R@${k} ${(a.recall[k] * 100).toFixed(0)}% (p ${a.pBinomialText[k]})`)
        .join('  '),
      `Fisher X = ${a.fisherStatistic.toFixed(1)}, p = ${a.pFisherText}`,
    );
  }
  for (const row of r.robustness?.rows ?? []) {
    const m = row.metric;
    const metric = !m
      ? ''
      : m.name === 'Recall@10'
        ? `Recall@10 ${(m.value * 100).toFixed(0)}%`
        : `${m.name} ${m.value.toFixed(1)}`;
    const fidelity =
      row.fidelity !== undefined ? `, top-10 overlap ${(row.fidelity * 100).toFixed(0)}%` : '';
    lines.push(
      row.error
        ? `${row.label.padEnd(46)} not run: ${row.error}`
        : `${row.label.padEnd(46)} ${row.verdict.toUpperCase().padEnd(12)} p = ${row.pValueText.padEnd(8)} ${metric}${fidelity}`,
    );
    if (row.note && !row.error) lines.push(`${''.padEnd(46)} ${row.note}`);
  }
  for (const c of r.keyChecks ?? [])
    lines.push(
      `key ${c.keyId} (${c.scheme}): ${c.error ? `not checked: ${c.error}` : `${c.verdict}, p = ${c.pValueText}`}`,
    );
  if (r.endpoint) lines.push(...endpointLines(r.endpoint), `key id ${r.keyId}`);
  else
    lines.push(
      `model ${r.model.fileName} sha256 ${r.model.sha256.slice(0, 16)}…, key id ${r.keyId}`,
    );
  return lines;
}

async function attackCommand(args: string[], signal: AbortSignal): Promise<void> {
  if (args[0] === 'prune' || args[0] === 'noise' || args[0] === 'quantize')
    return perturbCommand(args[0], args.slice(1), signal);
  if (args[0] === 'extract') return extractCommand(args.slice(1), signal);
  if (args[0] === 'strip') return stripCommand(args.slice(1), signal);
  if (args[0] === 'overwrite') return overwriteCommand(args.slice(1), signal);
  const { values, positionals } = parse(args, {
    data: { type: 'string' },
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
  if (!values.data) throw new UsageError('attack finetune needs --data FILE');
  if (!values.out) throw new UsageError('attack finetune needs --out OUT.onnx');
  await checkOutput(values.out, [model, sidecarPath(model), values.data], values.force ?? false);
  const quiet = values.json ?? false;
  const r = await finetuneAttack({
    model,
    data: values.data,
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
  const every = Math.max(1, Math.ceil(r.curve.length / 10));
  const lines = [
    `Fine-tuned model: ${r.out}`,
    `Fine-tuned on:    ${r.users.finetuned} of ${r.users.total} users (${r.examples.toLocaleString('en-US')} examples), ${r.steps} steps, ${r.stepsPerSecond.toFixed(2)} steps/s`,
    `Loss by epoch:    ${r.epochs.map((e) => `${e.epoch}: ${fmt(e.loss)}`).join(', ')}`,
    `Loss by step:     ${r.curve
      .filter((_c, i) => i % every === 0 || i === r.curve.length - 1)
      .map((c) => `${c.step}: ${c.loss.toFixed(3)}`)
      .join(', ')}`,
    `Training loss:    ${fmt(r.trainLoss.before)} → ${fmt(r.trainLoss.after)} (on ${r.trainLoss.examples} examples)`,
    ...utilityLines(r.utility),
  ];
  printLines(lines);
}

/** attack prune|noise|quantize: perturb a copy of MODEL's weights; utility on --data when given. */
async function perturbCommand(
  kind: 'prune' | 'noise' | 'quantize',
  args: string[],
  signal: AbortSignal,
): Promise<void> {
  const { values, positionals } = parse(args, {
    data: { type: 'string' },
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
    data: values.data,
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
  const share = `${((100 * r.changed) / Math.max(1, r.parameters)).toFixed(1)}%`;
  const weights = `${r.parameters.toLocaleString('en-US')} weights`;
  const lines = [
    `${{ prune: 'Pruned model:    ', noise: 'Noisy model:     ', quantize: 'Quantized model: ' }[kind]} ${r.out}`,
    kind === 'prune'
      ? `Pruned:           ${r.changed.toLocaleString('en-US')} of ${weights} (${share}) set to 0, smallest |w| of each of ${r.tensors} matrices`
      : kind === 'noise'
        ? `Noise:            N(0, (${amount}·std(W))²) on ${r.tensors} tensors (${weights}, ${share} changed), seed ${r.seed}`
        : `Quantized:        ${r.tensors} tensors (${weights}) to int8, symmetric per tensor, stored as float32; ${share} changed, max |error| ${r.maxAbsChange.toPrecision(3)}`,
    overlapLine(r),
    ...utilityLines(r.utility),
  ];
  printLines(lines);
}

/** The top-10 overlap of an attacked copy with the original, and what it was measured on. */
function overlapLine(r: CopyAttackResult): string {
  const on = r.probes.source === 'data' ? 'data histories' : 'sampled from the model';
  return `Top-10 overlap:   ${fmt(r.topKOverlap)} with the original on ${r.probes.count} probes (${on})`;
}

/** attack strip: remove the post-processing after MODEL's scoring layer. */
async function stripCommand(args: string[], signal: AbortSignal): Promise<void> {
  const { values, positionals } = parse(args, {
    data: { type: 'string' },
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
    data: values.data,
    seed: intOption(values.seed, 'seed'),
    signal,
    progress: quiet ? undefined : stepPrinter(),
  });
  if (quiet) {
    printJson({ attack: 'strip', ...r });
    return;
  }
  const ops = Object.entries(r.removed.opTypes)
    .map(([op, n]) => (n > 1 ? `${op} ×${n}` : op))
    .join(', ');
  const lines = [
    `Stripped model:   ${r.out}`,
    r.removed.nodes > 0
      ? `Removed:          ${r.removed.nodes} nodes (${ops}) and ${r.removed.initializers} initializers after "${r.cutAt}"`
      : 'Removed:          nothing',
    `Note:             ${r.note}`,
    overlapLine(r),
    ...utilityLines(r.utility),
  ];
  printLines(lines);
}

/** attack overwrite: the thief embeds their own watermark; the owner's key is checked after. */
async function overwriteCommand(args: string[], signal: AbortSignal): Promise<void> {
  const { values, positionals } = parse(args, {
    out: { type: 'string' },
    scheme: { type: 'string' },
    key: { type: 'string' },
    data: { type: 'string' },
    probes: { type: 'string' },
    alpha: { type: 'string' },
    seed: { type: 'string' },
    force: { type: 'boolean' },
    json: { type: 'boolean' },
  });
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
    data: values.data,
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
  const lines = [
    `Overwritten model: ${r.out}`,
    `Thief's ${r.scheme.toUpperCase()}:      key id ${r.thief.keyId} (the key was not kept), their own audit: ${r.thief.summary}, p = ${r.thief.pValueText}`,
    `Top-10 overlap:    ${fmt(r.topKOverlap)} with the input`,
    ...utilityLines(r.utility.filter((u) => !u.metric.startsWith('Top-10 overlap'))),
  ];
  if (r.owner)
    lines.push(
      `Owner's watermark: ${r.owner.verdict.toUpperCase()} (${r.owner.scheme.toUpperCase()}, key ${r.owner.keyId}, p = ${r.owner.pValueText})`,
    );
  printLines(lines);
}

/** attack extract: data-free extraction of MODEL into a surrogate trained on its ranked lists. */
async function extractCommand(args: string[], signal: AbortSignal): Promise<void> {
  const { values, positionals } = parse(args, {
    out: { type: 'string' },
    sequences: { type: 'string' },
    'top-k': { type: 'string' },
    arch: { type: 'string' },
    epochs: { type: 'string' },
    length: { type: 'string' },
    loss: { type: 'string' },
    'max-steps': { type: 'string' },
    data: { type: 'string' },
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
    data: values.data,
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
  const n = (x: number): string => Math.round(x).toLocaleString('en-US');
  const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
  const q = r.queries;
  const t = r.training;
  const f = r.fidelity;
  const lines = [
    `Surrogate model:  ${r.out} (${r.arch === 'same' ? "the victim's graph, re-initialised" : 'a SASRec built in code'}, ${n(t.parameters)} weights)`,
    `Queries:          ${n(q.training)} for training (${n(q.sequences)} synthetic sequences × ${q.length} prefixes, top-${q.topK}) + ${n(q.heldOut)} held out = ${n(q.total)} in ${q.seconds.toFixed(1)} s (${n(q.perSecond)} queries/s)`,
    `Training:         ${t.epochs} epochs, ${n(t.steps)} steps on ${n(t.examples)} examples (${r.loss}, ${t.positions === 'all' ? 'every position' : 'last position'}) in ${t.seconds.toFixed(1)} s (${t.stepsPerSecond.toFixed(2)} steps/s); loss ${t.firstLoss.toFixed(3)} → ${t.lastLoss.toFixed(3)}`,
    `Fidelity:         top-10 overlap ${pct(f.top10Overlap)} with the victim on ${n(f.prefixes)} held-out prefixes (chance ${pct(f.chanceTop10)}); top-20 ${pct(f.top20Overlap)}; same top-1 ${pct(f.top1Agreement)}`,
  ];
  if (r.utility) {
    const u = r.utility;
    lines.push(
      `On ${n(u.users)} users:     top-10 overlap ${pct(u.top10Overlap)}; victim → surrogate:`,
      ...utilityLines([
        { metric: 'Recall@10 (leave-one-out)', before: u.victim.recall, after: u.surrogate.recall },
        { metric: 'NDCG@10 (leave-one-out)', before: u.victim.ndcg, after: u.surrogate.ndcg },
      ]),
    );
  }
  printLines(lines);
}

async function robustnessCommand(args: string[], signal: AbortSignal): Promise<void> {
  const { values, positionals } = parse(args, {
    key: { type: 'string' },
    data: { type: 'string' },
    attacks: { type: 'string' },
    probes: { type: 'string' },
    seed: { type: 'string' },
    alpha: { type: 'string' },
    'report-html': { type: 'string' },
    force: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  if (positionals.length !== 1) throw new UsageError('robustness takes exactly one MODEL path');
  if (!values.key) throw new UsageError('robustness needs --key KEY.wmkey.json');
  const model = positionals[0];
  const kinds: readonly string[] = ATTACK_KINDS;
  const attacks = values.attacks?.split(',').map((a) => a.trim());
  const unknown = attacks?.filter((a) => !kinds.includes(a)) ?? [];
  if (unknown.length > 0)
    throw new UsageError(`--attacks takes ${kinds.join(', ')}; "${unknown.join(', ')}" is not one`);
  const inputs = [model, sidecarPath(model), values.key, values.data];
  if (values['report-html'])
    await checkOutput(values['report-html'], inputs, values.force ?? false, '--report-html');
  const key = await readKeyFile(values.key);
  const quiet = values.json ?? false;
  const report = await robustnessSweep({
    model,
    key,
    data: values.data,
    attacks: attacks as AttackKind[] | undefined,
    probes: intOption(values.probes, 'probes'),
    seed: intOption(values.seed, 'seed'),
    alpha: numberOption(values.alpha, 'alpha'),
    signal,
    progress: quiet ? undefined : stepPrinter(),
  });
  if (values['report-html']) await writeHtmlReport(report, values['report-html']);
  if (quiet) printJson(report);
  else printLines(formatReport(report));
}

/** The standalone HTML export needs the webview bundle, which lives next to the CLI bundle. */
async function writeHtmlReport(report: AuditReport, file: string): Promise<void> {
  const { reportToHtml } = await import('./core/report/html');
  const root = [__dirname, path.join(__dirname, '..', 'dist')].find((d) =>
    existsSync(path.join(d, 'webview.js')),
  );
  const cssFile = [path.join(__dirname, '..', 'media', 'recmark.css')].find((f) => existsSync(f));
  if (!root || !cssFile)
    throw new RecMarkError(
      'The report assets (dist/webview.js, media/recmark.css) are missing; run "npm run build".',
      'install-broken',
    );
  const [script, css] = await Promise.all([
    fs.readFile(path.join(root, 'webview.js'), 'utf8'),
    fs.readFile(cssFile, 'utf8'),
  ]);
  await writeFileAtomic(file, reportToHtml(report, { script, css }));
}

/**
 * Run one command and return its exit code; bad input throws (a RecMarkError), so tests can
 * check the error code in-process. `main` maps what is thrown to exit codes and stderr.
 */
export async function run(
  argv: string[],
  signal: AbortSignal = new AbortController().signal,
): Promise<number> {
  const [command, ...rest] = argv;
  const help =
    rest.some((a) => a === '-h' || a === '--help') && command && commandUsage(command, rest[0]);
  if (help) {
    print(help);
    return 0;
  }
  switch (command) {
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      print(USAGE);
      return command === undefined ? 2 : 0;
    case '--version':
      print(safeText(process.env.RECMARK_VERSION ?? 'dev'));
      return 0;
    case 'inspect':
      await inspectCommand(rest);
      return 0;
    case 'embed':
      await embedCommand(rest, signal);
      return 0;
    case 'verify':
      await verifyCommand(rest, signal);
      return 0;
    case 'attack':
      await attackCommand(rest, signal);
      return 0;
    case 'robustness':
      await robustnessCommand(rest, signal);
      return 0;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

export async function main(
  argv: string[],
  signal: AbortSignal = new AbortController().signal,
): Promise<number> {
  try {
    return await run(argv, signal);
  } catch (err) {
    if (err instanceof RecMarkError) {
      printErr(`recmark: ${safeText(err.message.replace(/\s*\n\s*/g, ' '))}`);
      return 2;
    }
    if (err instanceof CancelledError) {
      printErr('recmark: cancelled; no output was written');
      return 130;
    }
    printErr(`recmark: internal error: ${(err as Error)?.stack ?? String(err)}`);
    return 1;
  }
}

if (require.main === module) {
  const controller = new AbortController();
  // First Ctrl-C (or SIGTERM, as CI timeouts send) cancels cleanly at the next batch; a second
  // one exits at once. Either way no output is left half-written (see writeFileAtomic).
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      controller.abort();
      process.once(sig, () => process.exit(130));
    });
  }
  // RecMark's own warnings (e.g. a key id replaced on load) are notes for the user, on one
  // escaped line; Node's default printer would add its pid and a --trace-warnings hint.
  process.removeAllListeners('warning');
  process.on('warning', (w: Error & { code?: string }) => {
    printErr(w.code?.startsWith('RECMARK_') ? `note: ${safeText(w.message)}` : safeText(`${w}`));
  });
  main(process.argv.slice(2), controller.signal).then((code) => {
    process.exitCode = code;
  });
}
