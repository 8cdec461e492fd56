/**
 * Gradient rules of layers: matrix products, softmax, reductions, layer normalisation and
 * convolution. Recurrent nodes are refused here: rewrite.ts unrolls GRU before the walk.
 */
import { attrFloat, attrInt, attrInts, attrString } from '../onnx/attributes';
import {
  broadcastShapes,
  type GradRule,
  inp,
  intValues,
  mul,
  norm,
  out,
  range,
  swapLast,
  transpose,
  unreduce,
  unsupported,
} from './gradRuleKit';

export const LAYER_GRADIENTS: Record<string, GradRule> = {
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
    // A matrix b shared by a batch of a (an item head [B, T, d] × [d, N]): fold the batch axes
    // into rows, one [K, rows] × [rows, N] product, instead of a [B, K, N] product per batch
    // element summed over B afterwards (B times the memory of the result, and a slow reduction).
    const sharedMatrix = e.shape(b).length === 2 && ad.length > 2;
    const rows = ad.slice(0, -1).reduce((p, d) => p * d, 1);
    const db = (): string =>
      sharedMatrix
        ? e.one(
            'Gemm',
            [
              e.one('Reshape', [aa, e.constInt64([rows, ad[ad.length - 1]])]),
              e.one('Reshape', [g, e.constInt64([rows, bd[1]])]),
            ],
            { transA: 1 },
          )
        : back(e.one('MatMul', [swapLast(e, aa, ad.length), g]), bd, b);
    return [
      needs[0] ? back(e.one('MatMul', [g, swapLast(e, bb, bd.length)]), ad, a) : null,
      needs[1] ? db() : null,
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
