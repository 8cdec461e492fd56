/**
 * Which ONNX ops compute each sequence position of a [batch, T, *] tensor from that position
 * alone, so that the last position's result needs only the last position's inputs
 * (lastPosition.ts moves a Gather upstream through them). Anything that mixes positions
 * (attention MatMuls, Reshape/Transpose, Conv, recurrent ops) or that is not listed is not
 * position-wise: the walk stops there.
 */
import type { onnx } from 'onnx-proto';
import { attrInt, attrInts } from './attributes';

/**
 * What an input of a position-wise node may be:
 * - `data`: the [batch, T, *] stream itself (the node's output follows its positions);
 * - `broadcast`: an elementwise operand, any shape that broadcasts against the output;
 * - `weight`: a 2-D right operand of MatMul (the same matrix for every position);
 * - `param`: anything that carries no T axis (scales, biases, K, slice bounds).
 */
export type OperandRole = 'data' | 'broadcast' | 'weight' | 'param';

/** Elementwise ops: every output position reads the same position of each (broadcast) input. */
const ELEMENTWISE = new Set([
  'Abs',
  'Add',
  'And',
  'Cast',
  'Ceil',
  'Celu',
  'Clip',
  'Cos',
  'Div',
  'Dropout',
  'Elu',
  'Equal',
  'Erf',
  'Exp',
  'Floor',
  'Gelu',
  'Greater',
  'GreaterOrEqual',
  'HardSigmoid',
  'HardSwish',
  'Identity',
  'IsInf',
  'IsNaN',
  'LeakyRelu',
  'Less',
  'LessOrEqual',
  'Log',
  'Max',
  'Mean',
  'Min',
  'Mish',
  'Mod',
  'Mul',
  'Neg',
  'Not',
  'Or',
  'Pow',
  'PRelu',
  'Reciprocal',
  'Relu',
  'Round',
  'Selu',
  'Sigmoid',
  'Sign',
  'Sin',
  'Softplus',
  'Softsign',
  'Sqrt',
  'Sub',
  'Sum',
  'Tanh',
  'Where',
  'Xor',
]);

const REDUCE = new Set([
  'ReduceL1',
  'ReduceL2',
  'ReduceLogSum',
  'ReduceLogSumExp',
  'ReduceMax',
  'ReduceMean',
  'ReduceMin',
  'ReduceProd',
  'ReduceSum',
  'ReduceSumSquare',
]);

/** Rank of every stream the walk follows: [batch, T, features]. */
export const STREAM_RANK = 3;

/** An axis attribute resolved against a rank-3 stream. */
const resolve = (axis: number): number => (axis < 0 ? axis + STREAM_RANK : axis);
/** The only axis a position-wise op may work along: the feature axis. */
const FEATURE_AXIS = STREAM_RANK - 1;

/** Helpers the rules need: the graph's opset and the values of small integer constants. */
export interface RuleContext {
  opset: number;
  /** The integer values of a constant (initializer or Constant node), or null if not constant. */
  constantInts(name: string): number[] | null;
}

/**
 * The role of each input of `node` when it is applied to [batch, T, *] streams and works on each
 * position on its own; null when it is not (or may not be) position-wise.
 */
export function operandRoles(node: onnx.INodeProto, ctx: RuleContext): OperandRole[] | null {
  const op = node.opType ?? '';
  if (node.domain && node.domain !== 'ai.onnx') return null;
  const inputs = node.input ?? [];
  if (ELEMENTWISE.has(op)) {
    if (op === 'Clip' || op === 'Dropout')
      return inputs.map((_, i) => (i === 0 ? 'data' : 'param'));
    return inputs.map(() => 'broadcast');
  }
  const dataAnd = (rest: OperandRole): OperandRole[] =>
    inputs.map((_, i) => (i === 0 ? 'data' : rest));
  switch (op) {
    case 'MatMul':
      // [B, T, k] × [k, n]: a per-position linear map. Anything else (attention) mixes positions.
      return inputs.length === 2 ? ['data', 'weight'] : null;
    case 'LayerNormalization':
      return resolve(attrInt(node, 'axis', -1)) === FEATURE_AXIS ? dataAnd('param') : null;
    case 'Softmax':
    case 'LogSoftmax':
    case 'Hardmax': {
      // Before opset 13 the default axis is 1 and the input is coerced to 2-D around it.
      const axis = attrInt(node, 'axis', ctx.opset >= 13 ? -1 : 1);
      return resolve(axis) === FEATURE_AXIS ? dataAnd('param') : null;
    }
    case 'TopK':
      return resolve(attrInt(node, 'axis', -1)) === FEATURE_AXIS ? dataAnd('param') : null;
    case 'Slice': {
      // Opset 10+: starts, ends, axes, steps as inputs; the axes must be known and all features.
      if (ctx.opset < 10 || inputs.length < 4 || !inputs[3]) return null;
      const axes = ctx.constantInts(inputs[3]);
      return axes && axes.length > 0 && axes.every((a) => resolve(a) === FEATURE_AXIS)
        ? dataAnd('param')
        : null;
    }
    default:
      return REDUCE.has(op) ? reduceRoles(node, ctx) : null;
  }
}

/** Reductions over the feature axis only, keeping it (so the stream stays [B, T, 1]). */
function reduceRoles(node: onnx.INodeProto, ctx: RuleContext): OperandRole[] | null {
  if (attrInt(node, 'keepdims', 1) !== 1) return null;
  const inputs = node.input ?? [];
  // Axes moved from attribute to input (ReduceSum at opset 13, the others at 18).
  const axes = attrInts(node, 'axes') ?? (inputs[1] ? ctx.constantInts(inputs[1]) : null);
  if (!axes || axes.length === 0) return null;
  if (!axes.every((a) => resolve(a) === FEATURE_AXIS)) return null;
  return inputs.map((_, i) => (i === 0 ? 'data' : 'param'));
}
