/**
 * All of differentiation is this ONE table of small per-op rules (after tinygrad's gradient.py)
 * plus the reverse walk in autodiff.ts. A rule receives the node, the gradients of its outputs
 * (null where an output does not reach the loss) and which inputs need a gradient; it emits ONNX
 * nodes through the Emitter and returns one gradient name (or null) per input.
 * Shapes are static: the shape probe ran the forward graph at the training batch shape.
 */
import { RecMarkError } from '../errors';
import { onnx, toNumber } from '../onnx/model';
import type { Emitter } from './emitter';

export type GradRule = (
  e: Emitter,
  node: onnx.INodeProto,
  dy: (string | null)[],
  needs: boolean[],
) => (string | null)[];

// ---- attribute helpers ----
function attr(node: onnx.INodeProto, name: string): onnx.IAttributeProto | undefined {
  return (node.attribute ?? []).find((a) => a.name === name);
}
export function attrInt(node: onnx.INodeProto, name: string, fallback: number): number {
  const a = attr(node, name);
  return a ? toNumber(a.i) : fallback;
}
export function attrFloat(node: onnx.INodeProto, name: string, fallback: number): number {
  const a = attr(node, name);
  return a ? (a.f ?? fallback) : fallback;
}
export function attrInts(node: onnx.INodeProto, name: string): number[] | null {
  const a = attr(node, name);
  return a ? (a.ints ?? []).map((v) => toNumber(v)) : null;
}

const inp = (node: onnx.INodeProto, i: number): string => node.input?.[i] ?? '';
const out = (node: onnx.INodeProto, i = 0): string => node.output?.[i] ?? '';
const norm = (axis: number, rank: number): number => (axis < 0 ? axis + rank : axis);

/** Values of a small constant int input (Reshape shapes, Slice bounds, axes), from the probe. */
function intValues(e: Emitter, name: string, what: string, node: onnx.INodeProto): number[] {
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
function swapLast(e: Emitter, x: string, rank: number): string {
  const perm = [...Array(rank).keys()];
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  return e.one('Transpose', [x], { perm });
}

const mul = (e: Emitter, a: string, b: string): string => e.one('Mul', [a, b]);

/** Elementwise rule dy·f(x, y) for unary ops. */
const unary =
  (local: (e: Emitter, x: string, y: string) => string): GradRule =>
  (e, node, dy) =>
    dy[0] ? [mul(e, dy[0], local(e, inp(node, 0), out(node)))] : [null];

/** Gradient of a reduction: broadcast dy back over the reduced axes. */
function unreduce(
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

export const GRADIENTS: Record<string, GradRule> = {
  Identity: (_e, _n, dy) => [dy[0]],
  Dropout: (_e, _n, dy) => [dy[0], null, null], // exported in inference mode: identity
  Cast: (e, node, dy) => {
    const from = e.elemType(inp(node, 0));
    const isFloat =
      from === onnx.TensorProto.DataType.FLOAT || from === onnx.TensorProto.DataType.DOUBLE;
    return [dy[0] && isFloat ? e.one('Cast', [dy[0]], { to: from }) : null];
  },
  Neg: (e, _n, dy) => [dy[0] ? e.one('Neg', [dy[0]]) : null],
  Add: (e, node, dy, needs) => {
    const [a, b] = [inp(node, 0), inp(node, 1)];
    const g = dy[0]!;
    const od = e.shape(out(node));
    return [
      needs[0] ? e.unbroadcast(g, od, e.shape(a)) : null,
      needs[1] ? e.unbroadcast(g, od, e.shape(b)) : null,
    ];
  },
  Sub: (e, node, dy, needs) => {
    const [a, b] = [inp(node, 0), inp(node, 1)];
    const g = dy[0]!;
    const od = e.shape(out(node));
    return [
      needs[0] ? e.unbroadcast(g, od, e.shape(a)) : null,
      needs[1] ? e.unbroadcast(e.one('Neg', [g]), od, e.shape(b)) : null,
    ];
  },
  Mul: (e, node, dy, needs) => {
    const [a, b] = [inp(node, 0), inp(node, 1)];
    const g = dy[0]!;
    const od = e.shape(out(node));
    return [
      needs[0] ? e.unbroadcast(mul(e, g, b), od, e.shape(a)) : null,
      needs[1] ? e.unbroadcast(mul(e, g, a), od, e.shape(b)) : null,
    ];
  },
  Div: (e, node, dy, needs) => {
    const [a, b] = [inp(node, 0), inp(node, 1)];
    const g = dy[0]!;
    const od = e.shape(out(node));
    const da = needs[0] ? e.unbroadcast(e.one('Div', [g, b]), od, e.shape(a)) : null;
    // d(a/b)/db = −(a/b)/b = −y/b
    const db = needs[1]
      ? e.unbroadcast(e.one('Neg', [mul(e, g, e.one('Div', [out(node), b]))]), od, e.shape(b))
      : null;
    return [da, db];
  },
  Relu: unary((e, x) =>
    e.one('Cast', [e.one('Greater', [x, e.constFloat([0])])], {
      to: onnx.TensorProto.DataType.FLOAT,
    }),
  ),
  Tanh: unary((e, _x, y) => e.one('Sub', [e.constFloat([1]), mul(e, y, y)])),
  Sigmoid: unary((e, _x, y) => mul(e, y, e.one('Sub', [e.constFloat([1]), y]))),
  Exp: unary((_e, _x, y) => y),
  Log: unary((e, x) => e.one('Reciprocal', [x])),
  Sqrt: unary((e, _x, y) => e.one('Div', [e.constFloat([0.5]), y])),
  Reciprocal: unary((e, _x, y) => e.one('Neg', [mul(e, y, y)])),
  Erf: unary((e, x) =>
    mul(e, e.constFloat([2 / Math.sqrt(Math.PI)]), e.one('Exp', [e.one('Neg', [mul(e, x, x)])])),
  ),
  Pow: (e, node, dy, needs) => {
    if (needs[1]) {
      throw new RecMarkError(
        `Pow node "${node.name}": a trained exponent is not supported.`,
        'train-unsupported',
      );
    }
    const [x, p] = [inp(node, 0), inp(node, 1)];
    const pm1 = e.one('Sub', [p, e.constFloat([1])]);
    const local = mul(e, p, e.one('Pow', [x, pm1]));
    return [e.unbroadcast(mul(e, dy[0]!, local), e.shape(out(node)), e.shape(x)), null];
  },
  MatMul: (e, node, dy, needs) => {
    const [a, b] = [inp(node, 0), inp(node, 1)];
    // Vectors become matrices ([1, K] and [K, 1]) so one batched formula covers every case;
    // gradients are summed over broadcast batch axes, then reshaped back to the input's shape.
    const ad = e.shape(a).length === 1 ? [1, e.shape(a)[0]] : e.shape(a);
    const bd = e.shape(b).length === 1 ? [e.shape(b)[0], 1] : e.shape(b);
    const aa = e.shape(a).length === 1 ? e.one('Reshape', [a, e.constInt64(ad)]) : a;
    const bb = e.shape(b).length === 1 ? e.one('Reshape', [b, e.constInt64(bd)]) : b;
    const batch = broadcastShapes(ad.slice(0, -2), bd.slice(0, -2));
    const g = e.one('Reshape', [
      dy[0]!,
      e.constInt64([...batch, ad[ad.length - 2], bd[bd.length - 1]]),
    ]);
    const back = (grad: string, promoted: number[], original: string): string =>
      e.one('Reshape', [
        e.unbroadcast(grad, [...batch, ...promoted.slice(-2)], promoted),
        e.constInt64(e.shape(original)),
      ]);
    return [
      needs[0] ? back(e.one('MatMul', [g, swapLast(e, bb, bd.length)]), ad, a) : null,
      needs[1] ? back(e.one('MatMul', [swapLast(e, aa, ad.length), g]), bd, b) : null,
    ];
  },
  Gemm: (e, node, dy, needs) => {
    const [a, b, c] = [inp(node, 0), inp(node, 1), inp(node, 2)];
    const alpha = attrFloat(node, 'alpha', 1);
    const beta = attrFloat(node, 'beta', 1);
    const transA = attrInt(node, 'transA', 0);
    const transB = attrInt(node, 'transB', 0);
    const g = dy[0]!;
    const scale = (x: string, s: number): string => (s === 1 ? x : mul(e, x, e.constFloat([s])));
    // Y = α·A'·B' + β·C with A' = transA ? Aᵀ : A.
    const da = needs[0]
      ? scale(
          transA
            ? e.one('Gemm', [b, g], { transA: transB, transB: 1 })
            : e.one('Gemm', [g, b], { transA: 0, transB: transB ? 0 : 1 }),
          alpha,
        )
      : null;
    const db = needs[1]
      ? scale(
          transB
            ? e.one('Gemm', [g, a], { transA: 1, transB: transA })
            : e.one('Gemm', [a, g], { transA: transA ? 0 : 1, transB: 0 }),
          alpha,
        )
      : null;
    const dc = c && needs[2] ? e.unbroadcast(scale(g, beta), e.shape(out(node)), e.shape(c)) : null;
    return [da, db, dc];
  },
  Softmax: (e, node, dy) => {
    const y = out(node);
    const axis = norm(attrInt(node, 'axis', -1), e.shape(y).length);
    const gy = mul(e, dy[0]!, y);
    const s = e.one('ReduceSum', [gy, e.constInt64([axis])], { keepdims: 1 });
    return [mul(e, y, e.one('Sub', [dy[0]!, s]))];
  },
  LogSoftmax: (e, node, dy) => {
    const y = out(node);
    const axis = norm(attrInt(node, 'axis', -1), e.shape(y).length);
    const s = e.one('ReduceSum', [dy[0]!, e.constInt64([axis])], { keepdims: 1 });
    return [e.one('Sub', [dy[0]!, mul(e, e.one('Exp', [y]), s)])];
  },
  ReduceMean: (e, node, dy) => [unreduce(e, node, dy[0]!, attrInts(node, 'axes'), true)],
  ReduceSum: (e, node, dy) => {
    const axesInput = inp(node, 1);
    const axes = axesInput ? intValues(e, axesInput, 'axes', node) : null;
    return [unreduce(e, node, dy[0]!, axes, false), null];
  },
  Transpose: (e, node, dy) => {
    const rank = e.shape(inp(node, 0)).length;
    const perm = attrInts(node, 'perm') ?? [...Array(rank).keys()].reverse();
    const inverse = new Array<number>(rank);
    perm.forEach((p, i) => (inverse[p] = i));
    return [e.one('Transpose', [dy[0]!], { perm: inverse })];
  },
  Reshape: (e, node, dy) => [e.one('Reshape', [dy[0]!, e.constInt64(e.shape(inp(node, 0)))]), null],
  Flatten: (e, node, dy) => [e.one('Reshape', [dy[0]!, e.constInt64(e.shape(inp(node, 0)))])],
  Squeeze: (e, node, dy) => [e.one('Reshape', [dy[0]!, e.constInt64(e.shape(inp(node, 0)))]), null],
  Unsqueeze: (e, node, dy) => [
    e.one('Reshape', [dy[0]!, e.constInt64(e.shape(inp(node, 0)))]),
    null,
  ],
  Expand: (e, node, dy) => [e.unbroadcast(dy[0]!, e.shape(out(node)), e.shape(inp(node, 0))), null],
  Where: (e, node, dy, needs) => {
    const [c, x, y] = [inp(node, 0), inp(node, 1), inp(node, 2)];
    const zero = e.constFloat([0]);
    const od = e.shape(out(node));
    return [
      null,
      needs[1] ? e.unbroadcast(e.one('Where', [c, dy[0]!, zero]), od, e.shape(x)) : null,
      needs[2] ? e.unbroadcast(e.one('Where', [c, zero, dy[0]!]), od, e.shape(y)) : null,
    ];
  },
};

/** Ops whose outputs carry no gradient (shapes, comparisons, index arithmetic). */
export const NON_DIFFERENTIABLE = new Set([
  'Shape',
  'Size',
  'Equal',
  'Greater',
  'Less',
  'GreaterOrEqual',
  'LessOrEqual',
  'Not',
  'And',
  'Or',
  'Xor',
  'Range',
  'ConstantOfShape',
  'Constant',
  'ArgMax',
  'ArgMin',
  'NonZero',
  'OneHot',
  'IsNaN',
  'IsInf',
  'Sign',
  'Floor',
  'Ceil',
  'Round',
  'EyeLike',
  'RandomNormal',
  'RandomUniform',
  'RandomNormalLike',
  'RandomUniformLike',
  'Bernoulli',
]);

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
