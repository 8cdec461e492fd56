/**
 * Which ONNX ops compute each position of a tensor from that position alone, so that the last
 * position's result needs only the last position's inputs (lastPosition.ts moves a Gather
 * upstream through them). The position axis is followed: it moves under Transpose and stays
 * under a Reshape that copies the axes before it, so attention queries are followed too while
 * keys and values (MatMul's right operand) are used whole. Anything that mixes positions along
 * the position axis, or that is not listed, stops the walk.
 */
import type { onnx } from 'onnx-proto';
import { attrInt, attrInts } from './attributes';

/**
 * What an input of a node that works position by position is, for an output whose position
 * axis is known:
 * - `data`: a tensor whose positions are at `axis` (the output follows them one for one);
 * - `broadcast`: an elementwise operand, any shape that broadcasts against the output;
 * - `whole`: used whole for every position (MatMul's right operand: weights, or attention keys
 *   and values computed at every position);
 * - `param`: carries no position (scales, biases, K, slice bounds, shapes).
 */
export type Operand =
  { role: 'data'; axis: number } | { role: 'broadcast' } | { role: 'whole' } | { role: 'param' };

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

/** An axis attribute resolved against a rank. */
const resolve = (axis: number, rank: number): number => (axis < 0 ? axis + rank : axis);

/** Helpers the rules need: the graph's opset, small integer constants and ranks. */
export interface RuleContext {
  opset: number;
  /** The integer values of a constant (initializer or Constant node), or null if not constant. */
  constantInts(name: string): number[] | null;
  /** A value's rank, or null when unknown. */
  rank(name: string): number | null;
}

/** Op types `positionOperands` may accept (the probe reports shapes around them). */
export function mayWorkPerPosition(node: onnx.INodeProto): boolean {
  const op = node.opType ?? '';
  return (
    (!node.domain || node.domain === 'ai.onnx') &&
    (ELEMENTWISE.has(op) || REDUCE.has(op) || PER_ROW.has(op))
  );
}

const PER_ROW = new Set([
  'MatMul',
  'LayerNormalization',
  'Softmax',
  'LogSoftmax',
  'Hardmax',
  'TopK',
  'Slice',
  'Transpose',
  'Reshape',
]);

/**
 * The operands of `node` when its output (of rank `rank`) has its positions at `axis` and each
 * position is computed from that position alone; null when that is not (or may not be) so.
 */
export function positionOperands(
  node: onnx.INodeProto,
  ctx: RuleContext,
  axis: number,
  rank: number,
): Operand[] | null {
  if (!mayWorkPerPosition(node)) return null;
  const op = node.opType ?? '';
  const inputs = node.input ?? [];
  const data: Operand = { role: 'data', axis };
  const dataAnd = (rest: Operand): Operand[] => inputs.map((_, i) => (i === 0 ? data : rest));
  const param: Operand = { role: 'param' };
  /** Ops that work along some axes: fine when none of them is the position axis. */
  const along = (axes: number[] | null): Operand[] | null =>
    axes && axes.length > 0 && axes.every((a) => resolve(a, rank) !== axis) ? dataAnd(param) : null;
  if (ELEMENTWISE.has(op)) {
    if (op === 'Clip' || op === 'Dropout') return dataAnd(param);
    return inputs.map(() => ({ role: 'broadcast' }));
  }
  if (REDUCE.has(op)) {
    if (attrInt(node, 'keepdims', 1) !== 1) return null;
    // Axes moved from attribute to input (ReduceSum at opset 13, the others at 18).
    return along(attrInts(node, 'axes') ?? (inputs[1] ? ctx.constantInts(inputs[1]) : null));
  }
  switch (op) {
    case 'MatMul':
      // Rows times a matrix used whole: [.., T, k] x [.., k, n] with positions on the rows
      // (a linear layer, or attention queries against all keys).
      if (inputs.length !== 2 || axis !== rank - 2 || ctx.rank(inputs[0]) !== rank) return null;
      return (ctx.rank(inputs[1]) ?? 0) >= 2 ? [data, { role: 'whole' }] : null;
    case 'LayerNormalization':
      // Normalises axis..rank-1 together: all must come after the position axis.
      return resolve(attrInt(node, 'axis', -1), rank) > axis ? dataAnd(param) : null;
    case 'Softmax':
    case 'LogSoftmax':
    case 'Hardmax': {
      // Before opset 13 the default axis is 1 and the input is coerced to 2-D around it.
      if (ctx.opset >= 13) return along([attrInt(node, 'axis', -1)]);
      return resolve(attrInt(node, 'axis', 1), rank) > axis ? dataAnd(param) : null;
    }
    case 'TopK':
      return along([attrInt(node, 'axis', -1)]);
    case 'Slice':
      // Opset 10+: starts, ends, axes, steps as inputs; the axes must be known.
      if (ctx.opset < 10 || !inputs[3]) return null;
      return along(ctx.constantInts(inputs[3]));
    case 'Transpose': {
      const perm = attrInts(node, 'perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
      return perm.length === rank ? [{ role: 'data', axis: perm[axis] }] : null;
    }
    case 'Reshape': {
      // Splitting or merging axes after the position axis, copying (0) every axis up to it.
      const shape = inputs[1] ? ctx.constantInts(inputs[1]) : null;
      if (!shape || shape.length !== rank || attrInt(node, 'allowzero', 0) !== 0) return null;
      const input = ctx.rank(inputs[0]);
      if (input === null || input <= axis || shape.slice(0, axis + 1).some((d) => d !== 0))
        return null;
      return [data, param];
    }
    default:
      return null;
  }
}
