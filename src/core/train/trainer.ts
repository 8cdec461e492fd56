/**
 * The trainer (DESIGN.md §5): append a loss head to the forward graph, probe shapes at the fixed
 * training batch shape, build the gradient graph once, then run steps in onnxruntime with the
 * weights fed as inputs and updated by AdamW in JS. Batches are shuffled with a seeded PRNG; the
 * last batch is padded to full size with weight-0 rows so every shape stays static. A [B, T, N]
 * export whose loss reads one position per row trains on its last-position rewrite
 * (lastPositionTraining.ts). The trained weights are written into a copy of the ORIGINAL
 * ModelProto: only initializer data changes.
 */
import { RecMarkError, throwIfAborted } from '../errors';
import type { onnx } from '../onnx/model';
import { loadOrt, ortFloatTensor, type OrtFeeds, type OrtSession } from '../onnx/ort';
import { Rng } from '../util/random';
import { EarlyStopping, type EarlyStop, type EpochState } from './earlyStopping';
import type { TrainExample } from './examples';
import { AdamW, ADAMW_DEFAULTS } from './optimizer';
import { prepareTraining, TRAIN_DEFAULTS, type PrepareOptions } from './prepareTraining';
import type { TrainingLayout } from './lastPositionTraining';
import { findTiedCopies, foldTiedGradients, syncTiedCopies, type TiedCopy } from './tied';
import { evalModel, evaluate, runTraining, trainingSession } from './trainingSession';
import { writeWeights } from './weights';

export interface TrainProgress {
  step: number;
  totalSteps: number;
  epoch: number;
  epochs: number;
  loss: number;
}

/** Training options beyond preparing it (prepareTraining.ts): the schedule, optimiser and stops. */
export interface TrainOptions extends PrepareOptions {
  heldOut?: readonly TrainExample[];
  epochs?: number;
  maxSteps?: number;
  lr?: number;
  /** The learning rate of step n (1-based), e.g. schedule.ts's warm-up and decay; default `lr`. */
  lrAt?: (step: number) => number;
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
  /** Which forward graph trained: the export, or its last-position rewrite (and why). */
  layout: TrainingLayout;
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
  const { trainable, head, training, batcher, params, dims, layout } = prepared;
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
  const earlyStopping = new EarlyStopping(options.earlyStop);
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
        const result = await runTraining(session, { ...batcher.feeds(batch), ...weightFeeds() });
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
        optimizer.step(grads, options.lrAt?.(step + 1));
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
      if (earlyStopping.shouldStop(state, params)) stoppedEarly = true;
    }
  } finally {
    await session.release();
    await evalSession?.release();
  }
  if (stoppedEarly) earlyStopping.restoreBest(params);

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
    layout,
  };
}
