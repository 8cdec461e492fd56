/**
 * The one home of onnxruntime-node: the only module that imports it (a lint rule holds the rest of
 * src/ to that). It loads the runtime on first use, opens sessions, runs them, builds the tensors
 * RecMark feeds and turns onnxruntime's failures into RecMark's errors.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { RecMarkError } from '../errors';

export type { InferenceSession as OrtSession, Tensor as OrtTensor } from 'onnxruntime-node';
export type Ort = typeof import('onnxruntime-node');
/** Input tensors by input name. */
export type OrtFeeds = Record<string, Tensor>;
/** A run's output tensors by output name. */
export type OrtResults = InferenceSession.OnnxValueMapType;

let ortModule: Ort | undefined;
/** Loaded on first use: the extension activates fast and only pays for ORT when it scores. */
export async function loadOrt(): Promise<Ort> {
  ortModule ??= await import('onnxruntime-node');
  return ortModule;
}

/** The runtime, once `loadOrt` has loaded it (the tensor builders are synchronous). */
function ort(): Ort {
  if (!ortModule) throw new Error('onnxruntime-node used before loadOrt loaded it');
  return ortModule;
}

/**
 * How an onnxruntime failure reads: `onnxruntime <doing>: <its first line><hint>`. With a code it
 * is a RecMarkError (the user can act on it); without one it is internal, a plain Error that
 * keeps onnxruntime's whole message and the error as its cause.
 */
export interface OrtFailure {
  doing: string;
  code?: string;
  hint?: string;
}

/** The failures RecMark reports, one per place that opens or runs a session and maps its errors. */
export const ORT_FAILURES = {
  loadModel: {
    doing: 'cannot load the model',
    code: 'model-unloadable',
    hint:
      '. The graph may use an operator or opset this onnxruntime does not support; ' +
      're-export at opset 13-17.',
  },
  score: { doing: 'failed while scoring', code: 'model-run-failed' },
  /** RecMark builds the training graph, so a load failure is RecMark's bug. */
  loadTrainingGraph: { doing: 'cannot load the training graph' },
  train: { doing: 'failed during training', code: 'train-run-failed' },
} satisfies Record<string, OrtFailure>;

/** The RecMark error for an onnxruntime failure (see `OrtFailure`). */
export function ortError(err: unknown, failure: OrtFailure): Error {
  if (failure.code === undefined) {
    const message = err instanceof Error ? err.message : String(err);
    return new Error(`onnxruntime ${failure.doing}: ${message}${failure.hint ?? ''}`, {
      cause: err,
    });
  }
  return new RecMarkError(
    `onnxruntime ${failure.doing}: ${firstLine(err)}${failure.hint ?? ''}`,
    failure.code,
  );
}

/** The first line of an error's message, at most 300 characters. */
function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0].slice(0, 300);
}

export interface OrtSessionOptions {
  /** Errors only: onnxruntime's warnings (e.g. shape merges) would break the CLI's one-line stderr. */
  quiet?: boolean;
  /** False turns graph optimisation off (fused kernels would swallow intermediates asked for). */
  optimize?: boolean;
  /** What a load failure becomes; without one onnxruntime's own error is thrown. */
  failure?: OrtFailure;
  /** onnxruntime's intra-op threads; unset: its default (one per physical core). */
  threads?: number;
  /**
   * False: idle intra-op threads sleep instead of spinning. Spinning threads fight every other
   * process for the cores; see DEFAULT_SCORING_SPIN in ./session.ts for the measurement.
   */
  spinning?: boolean;
}

/** Open a session from a model file path or serialized model bytes (loads onnxruntime first). */
export async function createSession(
  model: string | Uint8Array,
  options: OrtSessionOptions = {},
): Promise<InferenceSession> {
  const { InferenceSession } = await loadOrt();
  const sessionOptions: InferenceSession.SessionOptions = {};
  if (options.quiet) sessionOptions.logSeverityLevel = 3;
  if (options.optimize === false) sessionOptions.graphOptimizationLevel = 'disabled';
  if (options.threads !== undefined) sessionOptions.intraOpNumThreads = options.threads;
  if (options.spinning === false)
    sessionOptions.extra = { session: { intra_op: { allow_spinning: '0' } } };
  try {
    // Two calls because ORT's overloads take either type, not their union.
    return typeof model === 'string'
      ? await InferenceSession.create(model, sessionOptions)
      : await InferenceSession.create(model, sessionOptions);
  } catch (err) {
    throw options.failure ? ortError(err, options.failure) : err;
  }
}

/**
 * Run a session: all outputs, or only `fetches`. Without `failure`, onnxruntime's own error is
 * thrown.
 */
export async function runSession(
  session: InferenceSession,
  feeds: OrtFeeds,
  fetches?: readonly string[],
  failure?: OrtFailure,
): Promise<OrtResults> {
  try {
    return fetches ? await session.run(feeds, [...fetches]) : await session.run(feeds);
  } catch (err) {
    throw failure ? ortError(err, failure) : err;
  }
}

/**
 * An integer id tensor (item ids, lengths, targets) in the model's integer type. Needs onnxruntime
 * loaded (`loadOrt`, `createSession`).
 */
export function ortIdTensor(
  type: 'int64' | 'int32',
  data: ArrayLike<number>,
  dims: readonly number[],
): Tensor {
  const { Tensor } = ort();
  return type === 'int64'
    ? new Tensor(
        'int64',
        BigInt64Array.from(data, (v) => BigInt(v)),
        dims,
      )
    : new Tensor('int32', Int32Array.from(data), dims);
}

/** A float32 tensor over `data` (not copied). Needs onnxruntime loaded (`loadOrt`, `createSession`). */
export function ortFloatTensor(data: Float32Array, dims: readonly number[]): Tensor {
  const { Tensor } = ort();
  return new Tensor('float32', data, dims);
}
