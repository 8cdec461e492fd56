/**
 * All of differentiation is this ONE table of small per-op rules (after tinygrad's gradient.py)
 * plus the reverse walk in autodiff.ts. A rule receives the node, the gradients of its outputs
 * (null where an output does not reach the loss) and which inputs need a gradient; it emits ONNX
 * nodes through the Emitter and returns one gradient name (or null) per input.
 * Shapes are static: the shape probe ran the forward graph at the training batch shape.
 */
import { RecMarkError } from '../errors';
import { attrFloat, attrInt, attrInts, attrString } from '../onnx/attributes';
import { onnx } from '../onnx/model';
import type { Emitter } from './emitter';

export type GradRule = (
  e: Emitter,
  node: onnx.INodeProto,
  dy: (string | null)[],
  needs: boolean[],
) => (string | null)[];

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

const range = (from: number, to: number): number[] =>
  Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
const isIdentity = (perm: number[]): boolean => perm.every((p, i) => p === i);
const FLOAT = onnx.TensorProto.DataType.FLOAT;

function unsupported(node: onnx.INodeProto, what: string): RecMarkError {
  return new RecMarkError(
    `Cannot train through ${node.opType} node "${node.name}": ${what}`,
    'train-unsupported',
  );
}

/** Index tensor as int64 with negative indices wrapped (scatter ops want them in range). */
function wrapIndex(e: Emitter, idx: string, size: number): string {
  const i64 = e.int64(idx);
  const neg = e.one('Less', [i64, e.constInt64([0], [])]);
  return e.one('Where', [neg, e.one('Add', [i64, e.constInt64([size], [])]), i64]);
}

function transpose(e: Emitter, x: string, perm: number[]): string {
  return isIdentity(perm) ? x : e.one('Transpose', [x], { perm });
}

function inversePerm(perm: number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}

/** Max/Min: dy goes to the inputs equal to the result; ties share it evenly (as torch.maximum). */
const winner: GradRule = (e, node, dy, needs) => {
  const y = out(node);
  const od = e.shape(y);
  const ins = node.input ?? [];
  const masks = ins.map((i) => e.one('Cast', [e.one('Equal', [i, y])], { to: FLOAT }));
  const g = ins.length > 1 ? e.one('Div', [dy[0]!, e.one('Sum', masks)]) : dy[0]!;
  return ins.map((i, k) => (needs[k] ? e.unbroadcast(mul(e, g, masks[k]), od, e.shape(i)) : null));
};

/** Slice bounds: inputs since opset 10, attributes before. */
function sliceParams(e: Emitter, node: onnx.INodeProto) {
  const fromInput = (i: number, what: string) =>
    inp(node, i) ? intValues(e, inp(node, i), what, node) : null;
  const starts = fromInput(1, 'starts') ?? attrInts(node, 'starts') ?? [];
  // The ends are not needed: the output's probed shape says how many elements were taken.
  const axes = fromInput(3, 'axes') ?? attrInts(node, 'axes') ?? range(0, starts.length);
  const steps = fromInput(4, 'steps') ?? starts.map(() => 1);
  return { starts, axes, steps };
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
  ReduceMean: (e, node, dy) => {
    const axesInput = inp(node, 1); // opset 18 moved axes from an attribute to an input
    const axes = axesInput ? intValues(e, axesInput, 'axes', node) : attrInts(node, 'axes');
    return [unreduce(e, node, dy[0]!, axes, true), null];
  },
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

  // Rows picked by the indices get dy scatter-added back (repeated ids accumulate); a
  // non-zero axis is moved to the front by transposes so one ScatterND covers every case.
  Gather: (e, node, dy, needs) => {
    if (!needs[0]) return [null, null];
    const [x, idx] = [inp(node, 0), inp(node, 1)];
    const xd = e.shape(x);
    const rank = xd.length;
    const axis = norm(attrInt(node, 'axis', 0), rank);
    const ir = e.shape(idx).length;
    const ind = e.one('Unsqueeze', [wrapIndex(e, idx, xd[axis]), e.constInt64([ir])]);
    // dy is [x dims before axis, idx dims, x dims after axis] -> [idx dims, before, after].
    const dperm = [
      ...range(axis, axis + ir),
      ...range(0, axis),
      ...range(axis + ir, rank - 1 + ir),
    ];
    const xperm = [axis, ...range(0, axis), ...range(axis + 1, rank)];
    const zeros = e.zeros(xperm.map((p) => xd[p]));
    const scattered = e.one('ScatterND', [zeros, ind, transpose(e, dy[0]!, dperm)], {
      reduction: 'add',
    });
    return [transpose(e, scattered, inversePerm(xperm)), null];
  },
  // Each dy element goes back to the position its index named, accumulating duplicates.
  GatherElements: (e, node, dy, needs) => {
    if (!needs[0]) return [null, null];
    const [x, idx] = [inp(node, 0), inp(node, 1)];
    const xd = e.shape(x);
    const axis = norm(attrInt(node, 'axis', 0), xd.length);
    const ind = wrapIndex(e, idx, xd[axis]);
    return [e.one('ScatterElements', [e.zeros(xd), ind, dy[0]!], { axis, reduction: 'add' }), null];
  },
  // The k values were read from k distinct positions of x along the axis (largest or smallest,
  // sorted or not): dy of the values goes back to the positions the Indices output names, zero
  // elsewhere. Indices and K carry no gradient. Where two entries tie at the k-th place the
  // gradient follows the one onnxruntime picked (a subgradient, as torch.topk does).
  TopK: (e, node, dy, needs) => {
    if (!needs[0] || !dy[0]) return [null, null];
    const indices = out(node, 1);
    if (!indices) throw unsupported(node, 'its Indices output is not named.');
    const xd = e.shape(inp(node, 0));
    const axis = norm(attrInt(node, 'axis', -1), xd.length);
    return [
      e.one('ScatterElements', [e.zeros(xd), indices, dy[0]], { axis, reduction: 'add' }),
      null,
    ];
  },
  // Concat's inverse: split dy at the inputs' static sizes.
  Concat: (e, node, dy, needs) => {
    const ins = node.input ?? [];
    const axis = norm(attrInt(node, 'axis', 0), e.shape(ins[0]).length);
    const sizes = ins.map((i) => e.shape(i)[axis]);
    if (ins.length === 1) return [dy[0]];
    const parts = e.node('Split', [dy[0]!, e.constInt64(sizes)], { axis }, ins.length);
    return parts.map((p, i) => (needs[i] ? p : null));
  },
  // Split's inverse: concatenate the outputs' gradients, zeros where an output has none.
  Split: (e, node, dy) => {
    const outs = node.output ?? [];
    const axis = norm(attrInt(node, 'axis', 0), e.shape(inp(node, 0)).length);
    const parts = outs.map((o, i) => dy[i] ?? e.zeros(e.shape(o)));
    return [parts.length === 1 ? parts[0] : e.one('Concat', parts, { axis }), null];
  },
  // Put dy back where the slice came from, one axis at a time: Pad for step 1, else
  // ScatterElements at the static positions start + k·step.
  Slice: (e, node, dy) => {
    const xd = e.shape(inp(node, 0));
    const rank = xd.length;
    const { starts, axes, steps } = sliceParams(e, node);
    let g = dy[0]!;
    const gd = [...e.shape(out(node))];
    axes.forEach((a0, j) => {
      const a = norm(a0, rank);
      const [d, step, n] = [xd[a], steps[j], gd[a]];
      const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
      const s0 = starts[j] < 0 ? starts[j] + d : starts[j];
      const start = step > 0 ? clamp(s0, 0, d) : clamp(s0, 0, d - 1);
      if (n === d && step === 1) return;
      if (step === 1) {
        const pads = new Array<number>(2 * rank).fill(0);
        pads[a] = start;
        pads[rank + a] = d - start - n;
        g = e.one('Pad', [g, e.constInt64(pads)]);
      } else {
        const shape = gd.map((_v, i) => (i === a ? n : 1));
        const pos = e.constInt64(
          range(0, n).map((k) => start + k * step),
          shape,
        );
        const ind = e.one('Expand', [pos, e.constInt64(gd)]);
        const zd = gd.map((v, i) => (i === a ? d : v));
        g = e.one('ScatterElements', [e.zeros(zd), ind, g], { axis: a });
      }
      gd[a] = d;
    });
    return [g, null, null, null, null];
  },
  // Written from primitives: recompute mean and 1/σ over the normalised axes, then
  // dX = (g − mean(g) − x̂·mean(g·x̂))/σ with g = dY·scale.
  LayerNormalization: (e, node, dy, needs) => {
    if (dy[1] || dy[2]) throw unsupported(node, 'its Mean/InvStdDev outputs are used downstream.');
    const [x, scale, b] = [inp(node, 0), inp(node, 1), inp(node, 2)];
    const xd = e.shape(x);
    const axes = range(norm(attrInt(node, 'axis', -1), xd.length), xd.length);
    const count = axes.reduce((p, a) => p * xd[a], 1);
    const mean = (t: string): string =>
      mul(
        e,
        e.one('ReduceSum', [t, e.constInt64(axes)], { keepdims: 1 }),
        e.constFloat([1 / count]),
      );
    const xc = e.one('Sub', [x, mean(x)]);
    const variance = mean(mul(e, xc, xc));
    const eps = e.constFloat([attrFloat(node, 'epsilon', 1e-5)]);
    const inv = e.one('Reciprocal', [e.one('Sqrt', [e.one('Add', [variance, eps])])]);
    const xhat = mul(e, xc, inv);
    const g = dy[0]!;
    let dx: string | null = null;
    if (needs[0]) {
      const gs = mul(e, g, scale);
      const inner = e.one('Sub', [
        e.one('Sub', [gs, mean(gs)]),
        mul(e, xhat, mean(mul(e, gs, xhat))),
      ]);
      dx = mul(e, inv, inner);
    }
    return [
      dx,
      needs[1] ? e.unbroadcast(mul(e, g, xhat), xd, e.shape(scale)) : null,
      b && needs[2] ? e.unbroadcast(g, xd, e.shape(b)) : null,
    ];
  },
  // Linear in x: the same triangle of dy.
  Trilu: (e, node, dy) => {
    const k = inp(node, 1);
    const upper = attrInt(node, 'upper', 1);
    return [e.one('Trilu', k ? [dy[0]!, k] : [dy[0]!], { upper }), null];
  },
  // Variadic, broadcasting add.
  Sum: (e, node, dy, needs) => {
    const od = e.shape(out(node));
    return (node.input ?? []).map((i, k) =>
      needs[k] ? e.unbroadcast(dy[0]!, od, e.shape(i)) : null,
    );
  },
  Max: winner,
  Min: winner,
  // softplus(x) = log(1 + eˣ), whose derivative is σ(x).
  Softplus: unary((e, x) => e.one('Sigmoid', [x])),
  // Slope 1 above zero, alpha at or below (the kink goes to alpha, as torch).
  LeakyRelu: (e, node, dy) => {
    const x = inp(node, 0);
    const slope = e.one('Where', [
      e.one('Greater', [x, e.constFloat([0])]),
      e.constFloat([1]),
      e.constFloat([attrFloat(node, 'alpha', 0.01)]),
    ]);
    return [mul(e, dy[0]!, slope)];
  },
  // Exact: Φ(x) + x·φ(x); tanh form: ½(1+t) + ½x(1−t²)·√(2/π)(1 + 3·0.044715x²).
  Gelu: (e, node, dy) => {
    const x = inp(node, 0);
    const c = (v: number): string => e.constFloat([v]);
    const half = (t: string): string => mul(e, c(0.5), t);
    let local: string;
    if (attrString(node, 'approximate', 'none') === 'tanh') {
      const k = Math.sqrt(2 / Math.PI);
      const x2 = mul(e, x, x);
      const u = mul(e, c(k), e.one('Add', [x, mul(e, c(0.044715), mul(e, x2, x))]));
      const t = e.one('Tanh', [u]);
      const du = mul(e, c(k), e.one('Add', [c(1), mul(e, c(3 * 0.044715), x2)]));
      const sech2 = e.one('Sub', [c(1), mul(e, t, t)]);
      local = e.one('Add', [half(e.one('Add', [c(1), t])), half(mul(e, x, mul(e, sech2, du)))]);
    } else {
      const cdf = half(e.one('Add', [c(1), e.one('Erf', [mul(e, x, c(Math.SQRT1_2))])]));
      const pdf = mul(
        e,
        c(1 / Math.sqrt(2 * Math.PI)),
        e.one('Exp', [mul(e, c(-0.5), mul(e, x, x))]),
      );
      local = e.one('Add', [cdf, mul(e, x, pdf)]);
    }
    return [mul(e, dy[0]!, local)];
  },
  // Conv (any spatial rank) with strides 1 and group 1: dX is the transposed convolution of dy
  // with the same weights; dW is a convolution of the batch-transposed input by the
  // batch-transposed dy (dilation becomes its stride); dB sums dy over batch and space.
  Conv: (e, node, dy, needs) => {
    const [x, w, b] = [inp(node, 0), inp(node, 1), inp(node, 2)];
    const xd = e.shape(x);
    const spatial = xd.length - 2;
    const autoPad = attrString(node, 'auto_pad', 'NOTSET');
    if (autoPad !== 'NOTSET' && autoPad !== 'VALID')
      throw unsupported(node, `auto_pad=${autoPad} is not supported; export with explicit pads.`);
    const strides = attrInts(node, 'strides') ?? new Array<number>(spatial).fill(1);
    if (strides.some((s) => s !== 1))
      throw unsupported(node, 'strides other than 1 are not supported.');
    if (attrInt(node, 'group', 1) !== 1)
      throw unsupported(node, 'grouped convolution is not supported.');
    const dilations = attrInts(node, 'dilations') ?? new Array<number>(spatial).fill(1);
    const pads = attrInts(node, 'pads') ?? new Array<number>(2 * spatial).fill(0);
    const g = dy[0]!;
    const swap01 = [1, 0, ...range(2, xd.length)];
    const dx = needs[0] ? e.one('ConvTranspose', [g, w], { pads, dilations }) : null;
    const dw = needs[1]
      ? transpose(
          e,
          e.one('Conv', [transpose(e, x, swap01), transpose(e, g, swap01)], {
            pads,
            strides: dilations,
          }),
          swap01,
        )
      : null;
    const db =
      b && needs[2]
        ? e.one('ReduceSum', [g, e.constInt64([0, ...range(2, xd.length)])], { keepdims: 0 })
        : null;
    return [dx, dw, db];
  },
  // Recurrences are unrolled into primitives first (rewrite.ts).
  GRU: (_e, node) => {
    throw unsupported(node, 'unroll it first with rewriteForTraining (rewrite.ts).');
  },
  LSTM: (_e, node) => {
    throw unsupported(node, 'LSTM is not supported yet (only GRU is unrolled).');
  },
  RNN: (_e, node) => {
    throw unsupported(node, 'RNN is not supported yet (only GRU is unrolled).');
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
