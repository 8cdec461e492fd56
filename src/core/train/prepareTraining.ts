/**
 * Everything before the first training step: the loss head, the rewrites (last position, GRU
 * unrolling, static If), the shape probe at the training batch shape and the training graph.
 */
import { RecMarkError } from '../errors';
import type { Adapter } from '../onnx/adapter';
import { DataType, tensorDims, tensorFloat32 } from '../onnx/graph';
import { cloneModel, graphOf, onnx } from '../onnx/model';
import { loadOrt, type OrtFeeds } from '../onnx/ort';
import { buildTrainingGraph, type TrainingGraph } from './autodiff';
import { Batcher, needsAllPositions } from './batcher';
import type { TrainExample } from './examples';
import {
  allPositions,
  lastPositionForward,
  type LastPositionForward,
  type TrainingLayout,
} from './lastPositionTraining';
import { appendLoss, type LossHead, type LossKind } from './losses';
import { ADAMW_DEFAULTS } from './optimizer';
import { rewriteForTraining } from './rewrite';
import { probeShapes } from './shapes';
import { defaultTrainable } from './weights';

export const TRAIN_DEFAULTS = {
  batchSize: 64,
  epochs: 1,
  lr: ADAMW_DEFAULTS.lr,
  weightDecay: 0,
  clip: ADAMW_DEFAULTS.clip,
  seed: 1,
};

/** What preparing a training run needs: the model, its examples and the loss (train's options). */
export interface PrepareOptions {
  model: onnx.ModelProto;
  adapter: Adapter;
  examples: readonly TrainExample[];
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
  /**
   * Completes a batch just before its step (e.g. teacher scores computed on demand, so a large
   * catalogue never holds a teacher row for every example at once). Returns the batch to train on.
   */
  prepare?: (batch: readonly TrainExample[]) => Promise<TrainExample[]>;
  /**
   * False trains a [batch, T, N] export at every position even when the loss reads one position
   * per row (tests and benches compare both). Default true: its last-position rewrite.
   */
  lastPosition?: boolean;
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
  /** Which forward graph trains (the export, or its last-position rewrite) and why. */
  layout: TrainingLayout;
}

/**
 * Everything before the first step: the loss head, the rewrites (last position, GRU unrolling,
 * static If), the shape probe at the training batch shape and the training graph. Exposed for
 * gradient checks.
 */
export async function prepareTraining(options: PrepareOptions): Promise<PreparedTraining> {
  const { adapter } = options;
  await loadOrt();
  const examples = options.examples.filter((x) => (x.weight ?? 1) > 0);
  if (examples.length === 0)
    throw new RecMarkError('There are no training examples.', 'train-no-data');
  const batchSize = options.batchSize ?? TRAIN_DEFAULTS.batchSize;
  const original = options.model;
  const forward = cloneModel(original);
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
  const kind = options.loss ?? 'cross-entropy';
  const build = async (graph: LastPositionForward) => {
    const { layout } = graph;
    const batcher = new Batcher(adapter, kind, batchSize, sample, options.boundary, layout);
    const probeFeeds = batcher.feeds(sample.slice(0, batchSize));
    const proto = await rewriteIfNeeded(graph.proto, batcher.modelFeeds(probeFeeds));
    const head = appendLoss(proto, batcher.lossSpec(options));
    batcher.check(head.inputs);
    const shapes = await probeShapes(head.proto, probeFeeds);
    const training = buildTrainingGraph(
      head.proto,
      head.loss,
      trainable,
      shapes,
      head.scoreGradient,
    );
    return { batcher, head, training, layout };
  };
  const chosen = await lastPositionForward(forward, adapter, trainable, {
    perPosition: needsAllPositions(kind, sample),
    enabled: options.lastPosition,
  });
  let built: Awaited<ReturnType<typeof build>>;
  try {
    built = await build(chosen);
  } catch (err) {
    if (chosen.layout.mode !== 'rewritten') throw err;
    // The export as it is reports its own problems, if it has them.
    const note = `training the rewrite failed: ${(err as Error).message.split('\n')[0]}`;
    built = await build(allPositions(forward, adapter, note));
  }
  const { batcher, head, training, layout } = built;
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
    layout,
  };
}
