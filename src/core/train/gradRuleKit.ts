/**
 * What gradient rules are made of: the rule type and the small shared pieces (node inputs and
 * outputs, static int values, reductions undone, permutations, index wrapping).
 */
import { RecMarkError } from '../errors';
import { attrInts } from '../onnx/attributes';
import { onnx } from '../onnx/model';
import type { Emitter } from './emitter';

export type GradRule = (
  e: Emitter,
  node: onnx.INodeProto,
  dy: (string | null)[],
  needs: boolean[],
) => (string | null)[];

export const inp = (node: onnx.INodeProto, i: number): string => node.input?.[i] ?? '';
export const out = (node: onnx.INodeProto, i = 0): string => node.output?.[i] ?? '';
export const norm = (axis: number, rank: number): number => (axis < 0 ? axis + rank : axis);

/** Values of a small constant int input (Reshape shapes, Slice bounds, axes), from the probe. */
export function intValues(e: Emitter, name: string, what: string, node: onnx.INodeProto): number[] {
  const v = e.values(name);
  if (!v) {
    throw new RecMarkError(
      `${node.opType} node "${node.name}": its ${what} must be known before training; it is computed at run time.`,
      'train-unsupported',
    );
  }
  return v;
}

/** Transpose swapping the last two axes. */
export function swapLast(e: Emitter, x: string, rank: number): string {
  const perm = [...Array(rank).keys()];
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  return e.one('Transpose', [x], { perm });
}

export const mul = (e: Emitter, a: string, b: string): string => e.one('Mul', [a, b]);

/** Elementwise rule dy·f(x, y) for unary ops. */
export const unary =
  (local: (e: Emitter, x: string, y: string) => string): GradRule =>
  (e, node, dy) =>
    dy[0] ? [mul(e, dy[0], local(e, inp(node, 0), out(node)))] : [null];

/** Gradient of a reduction: broadcast dy back over the reduced axes. */
export function unreduce(
  e: Emitter,
  node: onnx.INodeProto,
  dy: string,
  axes: number[] | null,
  scale: boolean,
): string {
  const x = inp(node, 0);
  const dims = e.shape(x);
  const rank = dims.length;
  const reduced =
    axes === null || axes.length === 0 ? [...Array(rank).keys()] : axes.map((a) => norm(a, rank));
  const keptDims = dims.map((d, i) => (reduced.includes(i) ? 1 : d));
  let g = e.one('Reshape', [dy, e.constInt64(keptDims)]);
  if (scale) {
    const count = reduced.reduce((p, a) => p * dims[a], 1);
    g = mul(e, g, e.constFloat([1 / count]));
  }
  return e.one('Expand', [g, e.constInt64(dims)]);
}

export const range = (from: number, to: number): number[] =>
  Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
export const isIdentity = (perm: number[]): boolean => perm.every((p, i) => p === i);
export const FLOAT = onnx.TensorProto.DataType.FLOAT;

export function unsupported(node: onnx.INodeProto, what: string): RecMarkError {
  return new RecMarkError(
    `Cannot train through ${node.opType} node "${node.name}": ${what}`,
    'train-unsupported',
  );
}

/** Index tensor as int64 with negative indices wrapped (scatter ops want them in range). */
export function wrapIndex(e: Emitter, idx: string, size: number): string {
  const i64 = e.int64(idx);
  const neg = e.one('Less', [i64, e.constInt64([0], [])]);
  return e.one('Where', [neg, e.one('Add', [i64, e.constInt64([size], [])]), i64]);
}

export function transpose(e: Emitter, x: string, perm: number[]): string {
  return isIdentity(perm) ? x : e.one('Transpose', [x], { perm });
}

export function inversePerm(perm: number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}

/** Max/Min: dy goes to the inputs equal to the result; ties share it evenly (as torch.maximum). */
export const winner: GradRule = (e, node, dy, needs) => {
  const y = out(node);
  const od = e.shape(y);
  const ins = node.input ?? [];
  const masks = ins.map((i) => e.one('Cast', [e.one('Equal', [i, y])], { to: FLOAT }));
  const g = ins.length > 1 ? e.one('Div', [dy[0]!, e.one('Sum', masks)]) : dy[0]!;
  return ins.map((i, k) => (needs[k] ? e.unbroadcast(mul(e, g, masks[k]), od, e.shape(i)) : null));
};

/** Slice bounds: inputs since opset 10, attributes before. */
export function sliceParams(e: Emitter, node: onnx.INodeProto) {
  const fromInput = (i: number, what: string) =>
    inp(node, i) ? intValues(e, inp(node, i), what, node) : null;
  const starts = fromInput(1, 'starts') ?? attrInts(node, 'starts') ?? [];
  // The ends are not needed: the output's probed shape says how many elements were taken.
  const axes = fromInput(3, 'axes') ?? attrInts(node, 'axes') ?? range(0, starts.length);
  const steps = fromInput(4, 'steps') ?? starts.map(() => 1);
  return { starts, axes, steps };
}

export function broadcastShapes(a: number[], b: number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    out.push(x === 1 ? y : x);
  }
  return out;
}
