/**
 * onnxruntime plumbing of training: sessions over the training and loss graphs (weights fed as
 * inputs), one step's run, and the forward-only mean loss over examples.
 */
import { RecMarkError, throwIfAborted } from '../errors';
import type { Adapter } from '../onnx/adapter';
import { initializersToInputs } from '../onnx/graph';
import { cloneModel, encodeModel, graphOf, type onnx } from '../onnx/model';
import {
  createSession,
  loadOrt,
  ORT_FAILURES,
  runSession,
  type OrtFeeds,
  type OrtResults,
  type OrtSession,
} from '../onnx/ort';
import { Batcher, needsAllPositions } from './batcher';
import type { TrainExample } from './examples';
import { lastPositionForward } from './lastPositionTraining';
import { appendLoss, type LossHead, type LossKind } from './losses';
import { TRAIN_DEFAULTS } from './prepareTraining';

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
  /** False scores a [batch, T, N] export at every position (prepareTraining's option). */
  lastPosition?: boolean;
}): Promise<number> {
  await loadOrt();
  const examples = options.examples.filter((x) => (x.weight ?? 1) > 0);
  if (examples.length === 0)
    throw new RecMarkError('There are no examples to evaluate.', 'train-no-data');
  const batchSize = options.batchSize ?? TRAIN_DEFAULTS.batchSize;
  const kind = options.loss ?? 'cross-entropy';
  // Forward only: onnxruntime runs GRU and If nodes as they are, no rewrite needed; a loss that
  // reads one position per row runs on the last-position rewrite, as training does.
  const graph = await lastPositionForward(options.model, options.adapter, [], {
    perPosition: needsAllPositions(kind, examples),
    enabled: options.lastPosition,
  });
  const batcher = new Batcher(options.adapter, kind, batchSize, examples, undefined, graph.layout);
  const head = appendLoss(graph.proto, batcher.lossSpec(options));
  batcher.check(head.inputs);
  const session = await trainingSession(head.proto);
  try {
    return await evaluate(session, head.loss, batcher, examples, () => ({}), options.signal);
  } finally {
    await session.release();
  }
}

export async function evaluate(
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
    const result = await runTraining(session, { ...batcher.feeds(batch), ...weightFeeds() });
    const w = batch.reduce((s, x) => s + (x.weight ?? 1), 0);
    sum += (result[loss].data as Float32Array)[0] * w;
    weight += w;
  }
  return weight > 0 ? sum / weight : NaN;
}

/** A session over a training or loss graph (a refusal to load is a loadTrainingGraph failure). */
export function trainingSession(proto: onnx.ModelProto): Promise<OrtSession> {
  return createSession(encodeModel(proto), { failure: ORT_FAILURES.loadTrainingGraph });
}

/** One run of a training or loss session (a failure is a train failure). */
export function runTraining(session: OrtSession, feeds: OrtFeeds): Promise<OrtResults> {
  return runSession(session, feeds, undefined, ORT_FAILURES.train);
}

/** The loss graph with the trainable initializers as inputs, so updated weights can be fed. */
export function evalModel(head: LossHead, trainable: readonly string[]): onnx.ModelProto {
  const proto = cloneModel(head.proto);
  const graph = graphOf(proto);
  initializersToInputs(graph, new Set(trainable));
  return proto;
}
