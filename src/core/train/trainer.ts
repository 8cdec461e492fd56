/**
 * The trainer (DESIGN.md §5): append a loss head to the forward graph, probe shapes at the fixed
 * training batch shape, build the gradient graph once, then run steps in onnxruntime with the
 * weights fed as inputs and updated by AdamW in JS. Batches are shuffled with a seeded PRNG; the
 * last batch is padded to full size with weight-0 rows so every shape stays static. The trained
 * weights are written into a copy of the ORIGINAL ModelProto: only initializer data changes.
 */
import { RecMarkError, throwIfAborted } from '../errors';
import type { Adapter } from '../onnx/adapter';
import {
  DataType,
  initializersToInputs,
  tensorDims,
  tensorFloat32,
  tensorSize,
} from '../onnx/graph';
import { cloneModel, encodeModel, graphOf, onnx } from '../onnx/model';
import {
  createSession,
  loadOrt,
  ORT_FAILURES,
  ortFloatTensor,
  ortIdTensor,
  runSession,
  type OrtFeeds,
  type OrtResults,
  type OrtSession,
} from '../onnx/ort';
import { encodeBatch } from '../onnx/session';
import { Rng } from '../util/random';
import { buildTrainingGraph, type TrainingGraph } from './autodiff';
import { NON_DIFFERENTIABLE } from './gradients';
import {
  appendLoss,
  EXCLUDED_PENALTY,
  LOSS_INPUTS,
  type LossHead,
  type LossInput,
  type LossKind,
} from './losses';
import { AdamW, ADAMW_DEFAULTS } from './optimizer';
import { rewriteForTraining } from './rewrite';
import { findTiedCopies, foldTiedGradients, syncTiedCopies, type TiedCopy } from './tied';
import { probeShapes } from './shapes';

export interface TrainExample {
  /** Item ids, oldest first; encoded like any query (truncation, mask token, padding). */
  history: readonly number[];
  /** Cross-entropy: the item to predict at the query position. */
  target?: number;
  /**
   * Cross-entropy on [B, T, W] scores at every position: targets[i] is the item to predict after
   * history[0..i] (−1 = no loss there). Used instead of `target` when given.
   */
  targets?: readonly number[];
  /** KL: the teacher's scores over all W columns. */
  teacher?: ArrayLike<number>;
  /** KL with a focus term: the columns of this example's focus set. */
  focus?: readonly number[];
  /** Margin ranking: k items that should outrank the k `negatives`. */
  positives?: readonly number[];
  negatives?: readonly number[];
  /** Example weight (default 1; 0 = ignore). */
  weight?: number;
}

export interface EpochState {
  epoch: number;
  step: number;
  trainLoss: number;
  heldOutLoss: number | null;
}

export type EarlyStop =
  | {
      /**
       * Epochs without improvement of the held-out loss (else the training loss) before
       * stopping; the weights of the best epoch are then restored.
       */
      patience: number;
      minDelta?: number;
    }
  | ((state: EpochState) => boolean);

export interface TrainProgress {
  step: number;
  totalSteps: number;
  epoch: number;
  epochs: number;
  loss: number;
}

export interface TrainOptions {
  model: onnx.ModelProto;
  adapter: Adapter;
  examples: readonly TrainExample[];
  heldOut?: readonly TrainExample[];
  /** Initializers to train (default: every float initializer of size > 1 on the score path). */
  trainable?: readonly string[];
  loss?: LossKind;
  temperature?: number;
  margin?: number;
  /** KL: weight of the focus term when examples carry `focus` sets (default 1). */
  focus?: number;
  /** KL with focus sets: keep the first `head` focus items above the rest (losses.ts). */
  boundary?: { head: number; weight: number };
  batchSize?: number;
  epochs?: number;
  maxSteps?: number;
  lr?: number;
  weightDecay?: number;
  clip?: number;
  betas?: [number, number];
  seed?: number;
  earlyStop?: EarlyStop;
  /**
   * Called every `every` steps and after the last one with the current weights (read-only
   * views; copy to keep them); resolving true stops training there. For goals a loss cannot
   * see, e.g. "every watermark prefix ranks its target first".
   */
  checkpoint?: {
    every: number;
    check: (step: number, weights: ReadonlyMap<string, Float32Array>) => Promise<boolean>;
  };
  /**
   * Completes a batch just before its step (e.g. teacher scores computed on demand, so a large
   * catalogue never holds a teacher row for every example at once). Returns the batch to train on.
   */
  prepare?: (batch: readonly TrainExample[]) => Promise<TrainExample[]>;
  /**
   * Train tensors that hold the same values (a tied embedding stored twice) as separate
   * parameters. Default false: copies train as one and stay equal (see tied.ts).
   */
  untie?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: TrainProgress) => void;
}

export interface TrainResult {
  /** A copy of the original model with the trained weights. */
  proto: onnx.ModelProto;
  trainable: string[];
  /** Trainable tensors that were copies of another and trained as it. */
  tied: TiedCopy[];
  /** Loss of every step (on that step's batch, before its update). */
  curve: { step: number; epoch: number; loss: number }[];
  epochs: EpochState[];
  steps: number;
  stoppedEarly: boolean;
  /** Wall-clock time of the optimisation steps alone (graph building excluded). */
  stepsPerSecond: number;
  sequencesPerSecond: number;
  /** Time to build the training graph (probe + autodiff + session), ms. */
  setupMs: number;
}

export const TRAIN_DEFAULTS = {
  batchSize: 64,
  epochs: 1,
  lr: ADAMW_DEFAULTS.lr,
  weightDecay: 0,
  clip: ADAMW_DEFAULTS.clip,
  seed: 1,
};

/** Float initializers of size > 1 from which the score output is reachable through differentiable ops. */
export function defaultTrainable(proto: onnx.ModelProto, output: string): string[] {
  const graph = graphOf(proto);
  const reaches = new Set([output]);
  for (let n = graph.node.length - 1; n >= 0; n--) {
    const node = graph.node[n];
    if (NON_DIFFERENTIABLE.has(node.opType ?? '')) continue;
    if ((node.output ?? []).some((o) => reaches.has(o)))
      for (const i of node.input ?? []) if (i) reaches.add(i);
  }
  return (graph.initializer as onnx.TensorProto[])
    .filter((t) => t.dataType === DataType.FLOAT && tensorSize(t) > 1 && reaches.has(t.name))
    .map((t) => t.name);
}

/**
 * Rewrite GRU nodes (unrolled) and shape-only If nodes (inlined) so the reverse walk can
 * differentiate them; other graphs are returned as they are, without a probe.
 */
async function rewriteIfNeeded(proto: onnx.ModelProto, feeds: OrtFeeds): Promise<onnx.ModelProto> {
  const ops = new Set(graphOf(proto).node.map((n) => n.opType));
  if (!['If', 'GRU', 'LSTM', 'RNN'].some((op) => ops.has(op))) return proto;
  return rewriteForTraining(proto, await probeShapes(proto, feeds)).proto;
}

export interface PreparedTraining {
  trainable: string[];
  head: LossHead;
  training: TrainingGraph;
  /** Initial values (copies) and shapes of the trainable weights. */
  params: Map<string, Float32Array>;
  dims: Map<string, number[]>;
  /** Feeds (model inputs and loss inputs) for up to batchSize examples, padded to batchSize. */
  feeds: (batch: readonly TrainExample[]) => OrtFeeds;
  batcher: Batcher;
}

/**
 * Everything before the first step: the loss head, the rewrites (GRU unrolling, static If), the
 * shape probe at the training batch shape and the training graph. Exposed for gradient checks.
 */
export async function prepareTraining(
  options: Pick<
    TrainOptions,
    | 'model'
    | 'adapter'
    | 'examples'
    | 'trainable'
    | 'loss'
    | 'temperature'
    | 'margin'
    | 'focus'
    | 'boundary'
    | 'batchSize'
    | 'prepare'
  >,
): Promise<PreparedTraining> {
  const { adapter } = options;
  await loadOrt();
  const examples = options.examples.filter((x) => (x.weight ?? 1) > 0);
  if (examples.length === 0)
    throw new RecMarkError('There are no training examples.', 'train-no-data');
  const batchSize = options.batchSize ?? TRAIN_DEFAULTS.batchSize;
  const original = options.model;
  let forward = cloneModel(original);
  graphOf(forward).output = graphOf(forward).output.filter((o) => o.name === adapter.output);
  const trainable = [...(options.trainable ?? defaultTrainable(forward, adapter.output))];
  const initializers = new Map(
    graphOf(original).initializer.map((t) => [t.name, t as onnx.ITensorProto]),
  );
  for (const name of trainable) {
    const t = initializers.get(name);
    if (!t || t.dataType !== DataType.FLOAT)
      throw new RecMarkError(`"${name}" is not a float initializer of the model.`, 'usage');
  }
  if (trainable.length === 0)
    throw new RecMarkError('The model has no trainable float weights.', 'train-unsupported');

  // With `prepare`, the first batch, completed, stands for all: later batches are checked as they come.
  const sample = options.prepare ? await options.prepare(examples.slice(0, batchSize)) : examples;
  const batcher = new Batcher(
    adapter,
    options.loss ?? 'cross-entropy',
    batchSize,
    sample,
    options.boundary,
  );
  const probeFeeds = batcher.feeds(sample.slice(0, batchSize));
  forward = await rewriteIfNeeded(forward, batcher.modelFeeds(probeFeeds));
  const head = appendLoss(forward, batcher.lossSpec(options));
  batcher.check(head.inputs);
  const shapes = await probeShapes(head.proto, probeFeeds);
  const training = buildTrainingGraph(head.proto, head.loss, trainable, shapes);
  const params = new Map<string, Float32Array>();
  const dims = new Map<string, number[]>();
  for (const name of trainable) {
    const t = initializers.get(name)!;
    params.set(name, tensorFloat32(t));
    dims.set(name, tensorDims(t));
  }
  return {
    trainable,
    head,
    training,
    params,
    dims,
    feeds: (batch) => batcher.feeds(batch),
    batcher,
  };
}

export async function train(options: TrainOptions): Promise<TrainResult> {
  const { signal } = options;
  const batchSize = options.batchSize ?? TRAIN_DEFAULTS.batchSize;
  const epochs = options.epochs ?? TRAIN_DEFAULTS.epochs;
  const maxSteps = options.maxSteps ?? Infinity;
  const lossKind = options.loss ?? 'cross-entropy';
  if (!Number.isSafeInteger(batchSize) || batchSize < 1)
    throw new RecMarkError(`The batch size must be a positive integer, got ${batchSize}.`, 'usage');
  if (!Number.isSafeInteger(epochs) || epochs < 1)
    throw new RecMarkError(`Epochs must be a positive integer, got ${epochs}.`, 'usage');
  if (!(maxSteps >= 1))
    throw new RecMarkError(`maxSteps must be at least 1, got ${maxSteps}.`, 'usage');
  const examples = options.examples.filter((x) => (x.weight ?? 1) > 0);
  if (examples.length === 0)
    throw new RecMarkError('There are no training examples.', 'train-no-data');
  const rng = new Rng(options.seed ?? TRAIN_DEFAULTS.seed);
  await loadOrt();
  const setupStart = performance.now();
  const prepared = await prepareTraining({ ...options, examples, batchSize, loss: lossKind });
  const { trainable, head, training, batcher, params, dims } = prepared;
  throwIfAborted(signal);

  const [beta1, beta2] = options.betas ?? [ADAMW_DEFAULTS.beta1, ADAMW_DEFAULTS.beta2];
  // Tied copies (an exported tied embedding) train as their original and stay equal to it.
  const tied = options.untie ? [] : findTiedCopies(params, dims);
  const copies = new Set(tied.map((t) => t.copy));
  const optimized = new Map([...params].filter(([name]) => !copies.has(name)));
  const optimizer = new AdamW(optimized, {
    lr: options.lr ?? TRAIN_DEFAULTS.lr,
    weightDecay: options.weightDecay ?? TRAIN_DEFAULTS.weightDecay,
    clip: options.clip ?? TRAIN_DEFAULTS.clip,
    beta1,
    beta2,
    // Decay matrices only, never biases and norm scales (the usual recipe).
    decay: (name) => dims.get(name)!.length >= 2,
  });
  const weightFeeds = (): OrtFeeds => {
    const feeds: OrtFeeds = {};
    for (const [name, p] of params) feeds[name] = ortFloatTensor(p, dims.get(name)!);
    return feeds;
  };

  const heldOut = (options.heldOut ?? []).filter((x) => (x.weight ?? 1) > 0);
  heldOut.forEach((x, i) => batcher.validate(x, i, 'Held-out example'));
  const session = await trainingSession(training.proto);
  let evalSession: OrtSession | null = null;
  try {
    if (heldOut.length > 0) evalSession = await trainingSession(evalModel(head, trainable));
  } catch (err) {
    await session.release();
    throw err;
  }
  const setupMs = performance.now() - setupStart;
  const gradNames = [...training.gradients.entries()];
  const curve: TrainResult['curve'] = [];
  const epochStates: EpochState[] = [];
  let step = 0;
  let stepMs = 0;
  let stoppedEarly = false;
  let goalReached = false;
  let best = Infinity;
  let bestParams: Map<string, Float32Array> | null = null;
  let sinceBest = 0;
  const stepsPerEpoch = Math.ceil(examples.length / batchSize);
  const totalSteps = Math.min(maxSteps, stepsPerEpoch * epochs);
  try {
    for (let epoch = 1; epoch <= epochs && step < maxSteps && !stoppedEarly; epoch++) {
      const order = rng.shuffle([...examples.keys()]);
      let lossSum = 0;
      let weightSum = 0;
      for (let start = 0; start < order.length && step < maxSteps; start += batchSize) {
        throwIfAborted(signal);
        let batch = order.slice(start, start + batchSize).map((i) => examples[i]);
        if (options.prepare) {
          batch = await options.prepare(batch);
          batch.forEach((x, i) => batcher.validate(x, start + i));
        }
        const t0 = performance.now();
        const result = await run(session, { ...batcher.feeds(batch), ...weightFeeds() });
        const loss = (result[training.loss].data as Float32Array)[0];
        if (!Number.isFinite(loss)) {
          throw new RecMarkError(
            `The training loss became ${loss} at step ${step + 1}; lower the learning rate.`,
            'train-diverged',
          );
        }
        const grads = new Map<string, Float32Array>();
        for (const [name, g] of gradNames) grads.set(name, result[g].data as Float32Array);
        foldTiedGradients(grads, tied, dims);
        optimizer.step(grads);
        syncTiedCopies(params, tied, dims);
        stepMs += performance.now() - t0;
        step++;
        const w = batch.reduce((s, x) => s + (x.weight ?? 1), 0);
        lossSum += loss * w;
        weightSum += w;
        curve.push({ step, epoch, loss });
        options.onProgress?.({ step, totalSteps, epoch, epochs, loss });
        const cp = options.checkpoint;
        if (
          cp &&
          (step % cp.every === 0 || step === totalSteps) &&
          (await cp.check(step, params))
        ) {
          goalReached = true;
          break;
        }
      }
      if (goalReached) break;
      const heldOutLoss = evalSession
        ? await evaluate(evalSession, head.loss, batcher, heldOut, weightFeeds, signal)
        : null;
      const state: EpochState = { epoch, step, trainLoss: lossSum / weightSum, heldOutLoss };
      epochStates.push(state);
      const stop = options.earlyStop;
      if (typeof stop === 'function') {
        if (stop(state)) stoppedEarly = true;
      } else if (stop) {
        const watched = heldOutLoss ?? state.trainLoss;
        if (watched < best - (stop.minDelta ?? 0)) {
          best = watched;
          sinceBest = 0;
          bestParams = new Map([...params].map(([k, v]) => [k, v.slice()]));
        } else if (++sinceBest >= stop.patience) {
          stoppedEarly = true;
        }
      }
    }
  } finally {
    await session.release();
    await evalSession?.release();
  }
  if (stoppedEarly && bestParams) for (const [k, v] of bestParams) params.get(k)!.set(v);

  return {
    proto: writeWeights(options.model, params),
    trainable,
    tied,
    curve,
    epochs: epochStates,
    steps: step,
    stoppedEarly: stoppedEarly || goalReached,
    stepsPerSecond: step / Math.max(stepMs / 1000, 1e-9),
    sequencesPerSecond: (step * batchSize) / Math.max(stepMs / 1000, 1e-9),
    setupMs: Math.round(setupMs),
  };
}

/**
 * The mean loss of a model over examples (forward only), e.g. the training loss before and after
 * fine-tuning. Uses the same loss head and batch shape as `train`.
 */
export async function evaluateLoss(options: {
  model: onnx.ModelProto;
  adapter: Adapter;
  examples: readonly TrainExample[];
  loss?: LossKind;
  temperature?: number;
  margin?: number;
  batchSize?: number;
  signal?: AbortSignal;
}): Promise<number> {
  await loadOrt();
  const examples = options.examples.filter((x) => (x.weight ?? 1) > 0);
  if (examples.length === 0)
    throw new RecMarkError('There are no examples to evaluate.', 'train-no-data');
  const batchSize = options.batchSize ?? TRAIN_DEFAULTS.batchSize;
  const batcher = new Batcher(
    options.adapter,
    options.loss ?? 'cross-entropy',
    batchSize,
    examples,
  );
  // Forward only: onnxruntime runs GRU and If nodes as they are, no rewrite needed.
  const head = appendLoss(options.model, batcher.lossSpec(options));
  batcher.check(head.inputs);
  const session = await trainingSession(head.proto);
  try {
    return await evaluate(session, head.loss, batcher, examples, () => ({}), options.signal);
  } finally {
    await session.release();
  }
}

async function evaluate(
  session: OrtSession,
  loss: string,
  batcher: Batcher,
  examples: readonly TrainExample[],
  weightFeeds: () => OrtFeeds,
  signal?: AbortSignal,
): Promise<number> {
  let sum = 0;
  let weight = 0;
  for (let start = 0; start < examples.length; start += batcher.batchSize) {
    throwIfAborted(signal);
    const batch = examples.slice(start, start + batcher.batchSize);
    const result = await run(session, { ...batcher.feeds(batch), ...weightFeeds() });
    const w = batch.reduce((s, x) => s + (x.weight ?? 1), 0);
    sum += (result[loss].data as Float32Array)[0] * w;
    weight += w;
  }
  return weight > 0 ? sum / weight : NaN;
}

function trainingSession(proto: onnx.ModelProto): Promise<OrtSession> {
  return createSession(encodeModel(proto), { failure: ORT_FAILURES.loadTrainingGraph });
}

function run(session: OrtSession, feeds: OrtFeeds): Promise<OrtResults> {
  return runSession(session, feeds, undefined, ORT_FAILURES.train);
}

/** The loss graph with the trainable initializers as inputs, so updated weights can be fed. */
function evalModel(head: LossHead, trainable: readonly string[]): onnx.ModelProto {
  const proto = cloneModel(head.proto);
  const graph = graphOf(proto);
  initializersToInputs(graph, new Set(trainable));
  return proto;
}

/** A copy of `original` whose named float initializers hold `params`; nothing else changes. */
export function writeWeights(
  original: onnx.ModelProto,
  params: ReadonlyMap<string, Float32Array>,
): onnx.ModelProto {
  const proto = cloneModel(original);
  for (const t of graphOf(proto).initializer as onnx.TensorProto[]) {
    const p = params.get(t.name);
    if (!p) continue;
    if (t.rawData && t.rawData.length > 0) {
      t.rawData = new Uint8Array(p.buffer.slice(p.byteOffset, p.byteOffset + p.byteLength));
    } else {
      t.floatData = Array.from(p);
    }
  }
  return proto;
}

/** Turns examples into feeds at the fixed training batch shape. */
export class Batcher {
  private readonly rank: 2 | 3;
  private readonly perPosition: boolean;
  private readonly k: number;
  private readonly isItem: Uint8Array;
  private readonly filler: TrainExample;
  /** KL examples carry focus sets: the loss gets its focus term and this batcher feeds its mask. */
  private readonly focused: boolean;
  /** Length every focus set must have (the first example's), and the boundary head once set. */
  private readonly focusLength: number;
  private readonly boundaryHead: number;

  constructor(
    private readonly adapter: Adapter,
    private readonly kind: LossKind,
    readonly batchSize: number,
    examples: readonly TrainExample[],
    private readonly boundary?: { head: number; weight: number },
  ) {
    this.rank = adapter.outputRank;
    this.perPosition = kind === 'cross-entropy' && examples.some((x) => x.targets !== undefined);
    this.isItem = new Uint8Array(adapter.scoreWidth);
    for (const id of adapter.itemIds) this.isItem[id] = 1;
    if (this.perPosition && (this.rank !== 3 || adapter.maskId !== null)) {
      throw new RecMarkError(
        'Per-position targets need a model that scores every position ([B, T, W]) without a mask token.',
        'usage',
      );
    }
    this.k = kind === 'margin' ? (examples[0].positives?.length ?? 0) : 0;
    this.focused = kind === 'kl' && examples.some((x) => x.focus !== undefined);
    this.focusLength = examples.find((x) => x.focus)?.focus?.length ?? 0;
    this.boundaryHead = this.boundaryWidth(boundary)?.head ?? 0;
    examples.forEach((x, i) => this.validate(x, i));
    const first = adapter.itemIds[0];
    this.filler = {
      history: examples[0].history,
      target: first,
      targets: examples[0].targets?.map(() => -1),
      teacher: new Float32Array(adapter.scoreWidth),
      positives: new Array<number>(this.k).fill(first),
      negatives: new Array<number>(this.k).fill(first),
      weight: 0,
    };
  }

  lossSpec(o: { temperature?: number; margin?: number; focus?: number }) {
    const W = this.adapter.scoreWidth;
    const B = this.batchSize;
    const dims = this.rank === 2 ? [B, W] : [B, this.adapter.seqLen, W];
    const exclude = [...Array(W).keys()].filter((c) => !this.isItem[c]);
    const common = { logits: this.adapter.output, dims, exclude };
    if (this.kind === 'cross-entropy')
      return {
        kind: 'cross-entropy' as const,
        ...common,
        positions: this.perPosition ? ('targets' as const) : ('select' as const),
      };
    if (this.kind === 'kl')
      return {
        kind: 'kl' as const,
        ...common,
        temperature: o.temperature,
        focus: this.focused ? (o.focus ?? 1) : undefined,
        boundary: this.boundaryWidth(this.boundary),
      };
    return { kind: 'margin' as const, ...common, k: this.k, margin: o.margin };
  }

  /** The boundary hinge's shape: only with focus sets longer than its head. */
  private boundaryWidth(
    b: { head: number; weight: number } | undefined,
  ): { head: number; below: number; weight: number } | undefined {
    if (!b || !this.focused || this.focusLength <= b.head || b.head < 1) return undefined;
    return { ...b, below: this.focusLength - b.head };
  }

  /** Every loss input is one this batcher feeds. */
  check(inputs: LossInput[]): void {
    const fed = new Set(Object.keys(this.feeds([this.filler])));
    for (const i of inputs)
      if (!fed.has(i.name)) throw new Error(`internal: loss input ${i.name} is not fed`);
  }

  validate(x: TrainExample, i: number, label = 'Training example'): void {
    const bad = (what: string): never => {
      throw new RecMarkError(`${label} ${i + 1}: ${what}.`, 'train-bad-example');
    };
    const item = (id: number): boolean =>
      Number.isInteger(id) && id >= 0 && id < this.isItem.length && this.isItem[id] === 1;
    if (x.history.length === 0) bad('the history is empty');
    if (!(Number.isFinite(x.weight ?? 1) && (x.weight ?? 1) >= 0)) bad('the weight must be ≥ 0');
    if (this.kind === 'cross-entropy') {
      if (this.perPosition) {
        if (!x.targets || x.targets.length !== x.history.length)
          bad('per-position targets must be as long as the history');
        if (x.targets!.some((t) => t !== -1 && !item(t))) bad('a target is not a real item id');
      } else if (x.target === undefined || !item(x.target)) {
        bad(`the target ${x.target} is not a real item id`);
      }
    } else if (this.kind === 'kl') {
      if (!x.teacher || x.teacher.length !== this.adapter.scoreWidth)
        bad(`the teacher scores must have ${this.adapter.scoreWidth} values`);
    } else {
      if (this.k < 1) bad('margin examples need at least one positive');
      if (x.positives?.length !== this.k || x.negatives?.length !== this.k)
        bad(`margin examples need ${this.k} positives and ${this.k} negatives`);
      if (![...x.positives!, ...x.negatives!].every((id) => id >= 0 && id < this.isItem.length))
        bad('a positive or negative id is outside the score columns');
    }
  }

  /** The model's own inputs from `feeds` (for rewrites that probe the forward graph). */
  modelFeeds(feeds: OrtFeeds): OrtFeeds {
    const out: OrtFeeds = { [this.adapter.input]: feeds[this.adapter.input] };
    if (this.adapter.lengthInput) out[this.adapter.lengthInput] = feeds[this.adapter.lengthInput];
    return out;
  }

  feeds(batch: readonly TrainExample[]): OrtFeeds {
    const B = this.batchSize;
    const T = this.adapter.seqLen;
    const W = this.adapter.scoreWidth;
    const full = [...batch];
    while (full.length < B) full.push(this.filler);
    const { rows, lengths, lastPositions } = encodeBatch(
      this.adapter,
      full.map((x) => x.history),
    );
    const int = (data: ArrayLike<number>, dims: number[]) =>
      ortIdTensor(this.adapter.inputType, data, dims);
    const i64 = (data: ArrayLike<number>, dims: number[]) => ortIdTensor('int64', data, dims);
    const feeds: OrtFeeds = { [this.adapter.input]: int(rows, [B, T]) };
    if (this.adapter.lengthInput) feeds[this.adapter.lengthInput] = int(lengths, [B]);
    const weights = Float32Array.from(full, (x) => x.weight ?? 1);

    if (this.kind === 'cross-entropy' && this.perPosition) {
      const targets = new Int32Array(B * T);
      const w = new Float32Array(B * T);
      full.forEach((x, b) => {
        const kept = Math.min(x.history.length, T);
        const offset = x.history.length - kept;
        const start = this.adapter.padding === 'left' ? T - kept : 0;
        for (let j = 0; j < kept; j++) {
          const t = x.targets![offset + j];
          if (t < 0) continue;
          targets[b * T + start + j] = t;
          w[b * T + start + j] = weights[b];
        }
      });
      feeds[LOSS_INPUTS.targets] = i64(targets, [B, T]);
      feeds[LOSS_INPUTS.weights] = ortFloatTensor(w, [B, T]);
      return feeds;
    }
    feeds[LOSS_INPUTS.weights] = ortFloatTensor(weights, [B]);
    if (this.rank === 3) {
      const onehot = new Float32Array(B * T);
      lastPositions.forEach((p, b) => (onehot[b * T + p] = 1));
      feeds[LOSS_INPUTS.positions] = ortFloatTensor(onehot, [B, T, 1]);
    }
    if (this.kind === 'cross-entropy') {
      feeds[LOSS_INPUTS.targets] = i64(
        full.map((x) => x.target!),
        [B],
      );
    } else if (this.kind === 'kl') {
      const teacher = new Float32Array(B * W);
      full.forEach((x, b) => teacher.set(x.teacher!, b * W));
      feeds[LOSS_INPUTS.teacher] = ortFloatTensor(teacher, [B, W]);
      if (this.focused) {
        const mask = new Float32Array(B * W).fill(EXCLUDED_PENALTY);
        full.forEach((x, b) => {
          for (const c of x.focus ?? this.adapter.itemIds) mask[b * W + c] = 0;
        });
        feeds[LOSS_INPUTS.focus] = ortFloatTensor(mask, [B, W]);
      }
      const h = this.boundaryHead;
      if (h > 0) {
        const L = this.focusLength;
        const ids = full.map((x) => {
          const f = x.focus ?? [];
          if (x.weight !== 0 && f.length !== L)
            throw new RecMarkError(`Every focus set must hold ${L} items.`, 'train-bad-example');
          return f.length === L ? f : new Array<number>(L).fill(this.adapter.itemIds[0]);
        });
        feeds[LOSS_INPUTS.boundaryHead] = i64(
          ids.map((f) => f[h - 1]),
          [B, 1],
        );
        feeds[LOSS_INPUTS.boundaryBelow] = i64(
          ids.flatMap((f) => f.slice(h)),
          [B, L - h],
        );
      }
    } else {
      feeds[LOSS_INPUTS.positives] = i64(
        full.flatMap((x) => [...x.positives!]),
        [B, this.k],
      );
      feeds[LOSS_INPUTS.negatives] = i64(
        full.flatMap((x) => [...x.negatives!]),
        [B, this.k],
      );
    }
    return feeds;
  }
}
