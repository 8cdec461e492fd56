/**
 * Loss heads, appended as ONNX nodes after a forward graph's score output (DESIGN.md §5): softmax
 * cross-entropy on chosen positions with per-example weights, KL(teacher ‖ student) with a
 * temperature, and a margin ranking loss on top-k positives against negatives. Every op used has
 * a gradient rule, so autodiff.ts can differentiate through the head into the model.
 *
 * Pad and mask columns never compete for probability: a constant −1e9 is added to them before
 * every (Log)Softmax. Rows with weight 0 are ignored, which lets the trainer pad its last batch
 * to the full training shape; the loss is Σ w·ℓ / max(Σ w, tiny).
 */
import { RecMarkError } from '../errors';
import { cloneModel, defaultOpset, graphOf, onnx } from '../onnx/model';
import { Emitter } from './emitter';

export type LossKind = 'cross-entropy' | 'kl' | 'margin';

/** A tensor the loss head reads, fed at every step next to the model's own inputs. */
export interface LossInput {
  name: string;
  dims: number[];
  type: 'int64' | 'float32';
}

export interface LossHead {
  /** A copy of the forward model with the loss nodes appended; its only output is the loss. */
  proto: onnx.ModelProto;
  /** The scalar loss value. */
  loss: string;
  inputs: LossInput[];
  /**
   * Cross-entropy only: the loss gradient with respect to the scores in closed form, for the
   * reverse walk to start from (autodiff.ts) instead of differentiating the head node by node.
   */
  scoreGradient?: ScoreGradient;
}

/** d loss / d `value`, emitted into the training graph by `emit` (it reads only head values). */
export interface ScoreGradient {
  value: string;
  emit: (e: Emitter) => string;
}

interface CommonSpec {
  /** The score value: [B, W], or [B, T, W] with one score row per position. */
  logits: string;
  /** Its static shape at the training batch shape. */
  dims: number[];
  /** Score columns that are not items (pad, mask): excluded with a −1e9 penalty. */
  exclude?: readonly number[];
}

export interface CrossEntropySpec extends CommonSpec {
  kind: 'cross-entropy';
  /**
   * For [B, T, W] scores: 'targets' (default) takes targets and weights of shape [B, T] (weight 0
   * = ignore that position); 'select' takes a one-hot [B, T, 1] positions input and targets and
   * weights of shape [B] — one chosen position per example, at a fraction of the cost.
   */
  positions?: 'targets' | 'select';
  /**
   * Targets per row or position (default 1): targets and weights get a last axis of this size,
   * every draw its own loss term over the same scores.
   */
  draws?: number;
}

export interface KlSpec extends CommonSpec {
  kind: 'kl';
  temperature?: number;
  /**
   * Weight of a second KL term restricted to a per-example focus set of columns (fed as an
   * additive 0 / −1e9 mask): the softmax renormalised over those items gives their relative
   * order a weight the full softmax, dominated by the top few items, does not.
   */
  focus?: number;
  /**
   * A hinge that keeps the head of the focus set on top: the teacher's `head`-th best item must
   * score above every later focus item; each crossing costs its score difference, times
   * `weight`. Fed as that item [B, 1] and the `below` focus items after it [B, below].
   */
  boundary?: { head: number; below: number; weight: number };
}

export interface MarginSpec extends CommonSpec {
  kind: 'margin';
  /** Positives and negatives per example. */
  k: number;
  margin?: number;
}

export type LossSpec = CrossEntropySpec | KlSpec | MarginSpec;

/** Names of the loss inputs, fixed so the trainer can feed them. */
export const LOSS_INPUTS = {
  targets: 'loss/targets',
  weights: 'loss/weights',
  positions: 'loss/positions',
  teacher: 'loss/teacher',
  focus: 'loss/focus',
  boundaryHead: 'loss/boundary_head',
  boundaryBelow: 'loss/boundary_below',
  positives: 'loss/positives',
  negatives: 'loss/negatives',
} as const;

export const EXCLUDED_PENALTY = -1e9;
const TINY = 1e-12;
const MIN_OPSET = 13;

/** Append a loss head to a copy of `forward`. */
export function appendLoss(forward: onnx.ModelProto, spec: LossSpec): LossHead {
  const opset = defaultOpset(forward);
  if (opset < MIN_OPSET) {
    throw new RecMarkError(
      `The model uses opset ${opset}; training needs opset ${MIN_OPSET} or newer. Re-export it at opset 13-17.`,
      'train-unsupported',
    );
  }
  const rank = spec.dims.length;
  if (rank !== 2 && rank !== 3) {
    throw new RecMarkError(
      `Scores "${spec.logits}" have shape [${spec.dims.join(', ')}]; a loss needs [B, W] or [B, T, W].`,
      'train-unsupported',
    );
  }
  const proto = cloneModel(forward);
  const graph = graphOf(proto);
  const e = new Emitter('loss', new Map());
  const inputs: LossInput[] = [];
  const input = (name: string, dims: number[], type: LossInput['type']): string => {
    inputs.push({ name, dims, type });
    return name;
  };
  const [B] = spec.dims;
  const W = spec.dims[rank - 1];
  const exclude = [...new Set(spec.exclude ?? [])].filter((c) => c >= 0 && c < W);
  const penalize = (x: string): string => {
    if (exclude.length === 0) return x;
    const penalty = new Float32Array(W);
    for (const c of exclude) penalty[c] = EXCLUDED_PENALTY;
    return e.one('Add', [x, e.constFloat(penalty, [W])]);
  };
  /** [B, T, W] → [B, W] at one position per row, chosen by a one-hot [B, T, 1] input. */
  const selectRows = (x: string): string => {
    if (rank === 2) return x;
    const onehot = input(LOSS_INPUTS.positions, [B, spec.dims[1], 1], 'float32');
    return e.one('ReduceSum', [e.one('Mul', [x, onehot]), e.constInt64([1])], { keepdims: 0 });
  };
  /** max(Σ w, tiny): the normaliser of a weighted mean. */
  const denominator = (weights: string): string =>
    e.one('Max', [e.one('ReduceSum', [weights], { keepdims: 0 }), e.constFloat([TINY])]);
  /** Σ w·values / max(Σ w, tiny) over every element. */
  const weightedMean = (values: string, weights: string, den = denominator(weights)): string =>
    e.one('Div', [e.one('ReduceSum', [e.one('Mul', [values, weights])], { keepdims: 0 }), den]);

  let loss: string;
  let scoreGradient: ScoreGradient | undefined;
  if (spec.kind === 'cross-entropy') {
    const perPosition = rank === 3 && (spec.positions ?? 'targets') === 'targets';
    const lead = perPosition ? [B, spec.dims[1]] : [B];
    const D = spec.draws ?? 1;
    if (!Number.isSafeInteger(D) || D < 1)
      throw new RecMarkError(`Draws per row must be a positive integer, got ${D}.`, 'usage');
    const fed = D === 1 ? lead : [...lead, D];
    const scores = perPosition ? spec.logits : selectRows(spec.logits);
    const targets = input(LOSS_INPUTS.targets, fed, 'int64');
    const weights = input(LOSS_INPUTS.weights, fed, 'float32');
    const logProbs = e.one('LogSoftmax', [penalize(scores)], { axis: -1 });
    const index = e.one('Reshape', [targets, e.constInt64([...lead, D])]);
    const picked = e.one('GatherElements', [logProbs, index], { axis: lead.length });
    const nll = e.one('Neg', [e.one('Reshape', [picked, e.constInt64(fed)])]);
    const den = denominator(weights);
    loss = weightedMean(nll, weights, den);
    // d loss / d scores = Σ_draws c·(softmax − onehot(target)), c = w / max(Σ w, tiny): three
    // passes over the [rows, W] scores (Exp, Mul, an in-place scatter) where the node-by-node
    // gradient of LogSoftmax and GatherElements takes six (zeros, scatter, sum, Exp, Mul, Sub).
    scoreGradient = {
      value: scores,
      emit: (g) => {
        const c = g.one('Reshape', [g.one('Div', [weights, den]), g.constInt64([...lead, D])]);
        const rowSum =
          D === 1 ? c : g.one('ReduceSum', [c, g.constInt64([lead.length])], { keepdims: 1 });
        const dense = g.one('Mul', [g.one('Exp', [logProbs]), rowSum]);
        return g.one('ScatterElements', [dense, index, g.one('Neg', [c])], {
          axis: lead.length,
          reduction: 'add',
        });
      },
    };
  } else if (spec.kind === 'kl') {
    const tau = spec.temperature ?? 1;
    if (!(tau > 0) || !Number.isFinite(tau))
      throw new RecMarkError(`The temperature must be positive, got ${tau}.`, 'usage');
    const student = selectRows(spec.logits);
    const teacher = input(LOSS_INPUTS.teacher, [B, W], 'float32');
    const weights = input(LOSS_INPUTS.weights, [B], 'float32');
    const invTau = e.constFloat([1 / tau]);
    /** Σ_c p_t(c)·(log p_t(c) − log p_s(c)) per row, both softmaxes over `x/τ + mask`. */
    const klRows = (mask: (x: string) => string): string => {
      const logSoftmax = (x: string) =>
        e.one('LogSoftmax', [mask(e.one('Mul', [x, invTau]))], { axis: -1 });
      const ls = logSoftmax(student);
      const lt = logSoftmax(teacher);
      const terms = e.one('Mul', [e.one('Exp', [lt]), e.one('Sub', [lt, ls])]);
      return e.one('ReduceSum', [terms, e.constInt64([1])], { keepdims: 0 });
    };
    // Pad/mask columns carry −1e9 either way, so penalizing before or after 1/τ is the same.
    let rows = klRows(penalize);
    if (spec.focus !== undefined && spec.focus > 0) {
      const focusMask = input(LOSS_INPUTS.focus, [B, W], 'float32');
      const focused = klRows((x) => e.one('Add', [x, focusMask]));
      rows = e.one('Add', [rows, e.one('Mul', [focused, e.constFloat([spec.focus])])]);
    }
    if (spec.boundary && spec.boundary.weight > 0) {
      const head = input(LOSS_INPUTS.boundaryHead, [B, 1], 'int64');
      const below = input(LOSS_INPUTS.boundaryBelow, [B, spec.boundary.below], 'int64');
      const sh = e.one('GatherElements', [student, head], { axis: 1 });
      const sb = e.one('GatherElements', [student, below], { axis: 1 });
      const crossing = e.one('Relu', [e.one('Sub', [sb, sh])]);
      const perRowHinge = e.one('ReduceSum', [crossing, e.constInt64([1])], { keepdims: 0 });
      rows = e.one('Add', [
        rows,
        e.one('Mul', [perRowHinge, e.constFloat([spec.boundary.weight])]),
      ]);
    }
    // τ² keeps gradient magnitudes comparable across temperatures (Hinton et al.).
    loss = e.one('Mul', [weightedMean(rows, weights), e.constFloat([tau * tau])]);
  } else {
    const k = spec.k;
    if (!Number.isSafeInteger(k) || k < 1)
      throw new RecMarkError(`The margin loss needs k ≥ 1, got ${k}.`, 'usage');
    const scores = selectRows(spec.logits);
    const pos = input(LOSS_INPUTS.positives, [B, k], 'int64');
    const neg = input(LOSS_INPUTS.negatives, [B, k], 'int64');
    const weights = input(LOSS_INPUTS.weights, [B], 'float32');
    const sp = e.one('GatherElements', [scores, pos], { axis: 1 });
    const sn = e.one('GatherElements', [scores, neg], { axis: 1 });
    const hinge = e.one('Relu', [
      e.one('Sub', [e.constFloat([spec.margin ?? 1]), e.one('Sub', [sp, sn])]),
    ]);
    const perRow = e.one('Mul', [
      e.one('ReduceSum', [hinge, e.constInt64([1])], { keepdims: 0 }),
      e.constFloat([1 / k]),
    ]);
    loss = weightedMean(perRow, weights);
  }

  graph.node.push(...e.nodes);
  graph.initializer.push(...e.initializers);
  const { DataType } = onnx.TensorProto;
  graph.input.push(
    ...inputs.map((i) =>
      onnx.ValueInfoProto.create({
        name: i.name,
        type: {
          tensorType: {
            elemType: i.type === 'int64' ? DataType.INT64 : DataType.FLOAT,
            shape: { dim: i.dims.map((d) => ({ dimValue: d })) },
          },
        },
      }),
    ),
  );
  graph.output = [
    onnx.ValueInfoProto.create({
      name: loss,
      type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [] } } },
    }),
  ];
  return { proto, loss, inputs, scoreGradient };
}
