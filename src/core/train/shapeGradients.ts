/** Gradient rules of ops that only move values: reshapes, transposes, gathers, slices, Concat. */
import { attrInt, attrInts } from '../onnx/attributes';
import {
  type GradRule,
  inp,
  inversePerm,
  norm,
  out,
  range,
  sliceParams,
  transpose,
  unsupported,
  wrapIndex,
} from './gradRuleKit';

export const SHAPE_GRADIENTS: Record<string, GradRule> = {
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
  // Only the per-row form the last-position rewrite emits (batch_dims 1, indices [B, m, 1]:
  // m positions along axis 1 of each row): dy goes back to those positions, as GatherElements'.
  GatherND: (e, node, dy, needs) => {
    if (!needs[0]) return [null, null];
    const [x, idx] = [inp(node, 0), inp(node, 1)];
    const xd = e.shape(x);
    const id = e.shape(idx);
    if (attrInt(node, 'batch_dims', 0) !== 1 || id.length !== 3 || id[2] !== 1 || xd.length < 2)
      throw unsupported(node, 'only batch_dims = 1 with [batch, m, 1] indices is supported.');
    const yd = e.shape(out(node));
    const column = [id[0], id[1], ...new Array<number>(xd.length - 2).fill(1)];
    const at = e.one('Reshape', [wrapIndex(e, idx, xd[1]), e.constInt64(column)]);
    const ind = e.one('Expand', [at, e.constInt64(yd)]);
    return [
      e.one('ScatterElements', [e.zeros(xd), ind, dy[0]!], { axis: 1, reduction: 'add' }),
      null,
    ];
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
  // Linear in x: the same triangle of dy.
  Trilu: (e, node, dy) => {
    const k = inp(node, 1);
    const upper = attrInt(node, 'upper', 1);
    return [e.one('Trilu', k ? [dy[0]!, k] : [dy[0]!], { upper }), null];
  },
};
