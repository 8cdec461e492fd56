/**
 * Graph rewrites that make an exported model differentiable by the reverse walk:
 * - `unrollRecurrent`: each ONNX GRU node becomes primitive nodes (MatMul/Add/Sigmoid/Tanh/Mul
 *   per time step) for the static sequence length the shape probe saw.
 * - `inlineStaticIf`: an If whose condition depends only on tensor shapes (torch.squeeze
 *   exports one) is replaced by the branch the probe took.
 * Both keep every original output name, so nothing downstream changes. The rewritten graph has
 * new intermediate values: probe it again before building the training graph.
 */
import { RecMarkError } from '../errors';
import { GraphIndex } from '../onnx/graph';
import { findAttr } from '../onnx/attributes';
import { toNumber } from '../onnx/int64';
import { cloneModel, graphOf, onnx } from '../onnx/model';
import { Emitter, type ValueShape } from './emitter';

type Shapes = Map<string, ValueShape>;
const { DataType } = onnx.TensorProto;
const FLOAT_TYPES = new Set<number>([
  DataType.FLOAT,
  DataType.DOUBLE,
  DataType.FLOAT16,
  DataType.BFLOAT16,
]);

function unsupported(node: onnx.INodeProto, what: string): RecMarkError {
  return new RecMarkError(
    `Cannot train through ${node.opType} node "${node.name}": ${what}`,
    'train-unsupported',
  );
}

function dimsOf(shapes: Shapes, name: string, node: onnx.INodeProto): number[] {
  const s = shapes.get(name);
  if (!s) throw unsupported(node, `the shape of "${name}" is unknown (run the shape probe first).`);
  return s.dims;
}

const identity = (from: string, to: string): onnx.NodeProto =>
  onnx.NodeProto.create({
    opType: 'Identity',
    input: [from],
    output: [to],
    name: `${to}/identity`,
  });

/** Replace nodes in place (keeping topological order) and append new initializers. */
function replaceNodes(
  graph: onnx.GraphProto,
  replacements: Map<onnx.INodeProto, onnx.INodeProto[]>,
  initializers: onnx.ITensorProto[],
): void {
  graph.node = graph.node.flatMap((n) => (replacements.get(n) ?? [n]) as onnx.NodeProto[]);
  graph.initializer.push(...(initializers as onnx.TensorProto[]));
}

/** Emit one GRU (ONNX gate order z, r, h) as per-step primitives; returns the new nodes. */
function unrollGru(
  node: onnx.INodeProto,
  shapes: Shapes,
  tag: string,
  isStatic: (name: string) => boolean,
): Emitter {
  const inp = (i: number): string => node.input?.[i] ?? '';
  const direction = findAttr(node, 'direction')?.s;
  if (direction && Buffer.from(direction).toString() !== 'forward')
    throw unsupported(node, 'only forward GRUs can be trained (not reverse or bidirectional).');
  if (toNumber(findAttr(node, 'layout')?.i) !== 0)
    throw unsupported(node, 'only layout 0 ([seq, batch, input]) is supported.');
  if (findAttr(node, 'clip')) throw unsupported(node, 'the clip attribute is not supported.');
  const acts = (findAttr(node, 'activations')?.strings ?? []).map((s) =>
    Buffer.from(s).toString().toLowerCase(),
  );
  if (acts.length > 0 && (acts[0] !== 'sigmoid' || acts[1] !== 'tanh'))
    throw unsupported(node, `activations ${acts.join(',')} are not supported (only Sigmoid,Tanh).`);
  const lbr = toNumber(findAttr(node, 'linear_before_reset')?.i) === 1;
  const [S, Bn, I] = dimsOf(shapes, inp(0), node);
  const wd = dimsOf(shapes, inp(1), node);
  const H = wd[1] / 3;
  if (wd[0] !== 1) throw unsupported(node, 'only one direction is supported.');
  if (inp(4)) {
    // sequence_lens shorter than the sequence would need masking; all-full is the plain GRU.
    const lens = isStatic(inp(4)) ? shapes.get(inp(4))?.values : undefined;
    if (!lens || lens.some((l) => l !== S))
      throw unsupported(node, 'sequence_lens shorter than the sequence is not supported.');
  }

  const e = new Emitter(`${tag}`, shapes);
  const split = (x: string, sizes: number[], axis: number): string[] =>
    e.node('Split', [x, e.constInt64(sizes)], { axis }, sizes.length);
  const matmul = (a: string, b: string): string => e.one('MatMul', [a, b]);
  const add = (a: string, b: string): string => e.one('Add', [a, b]);
  const mul = (a: string, b: string): string => e.one('Mul', [a, b]);
  // Wᵀ [I, 3H] and Rᵀ [H, 3H]; biases Wb, Rb [3H] (no Add at all when B is absent).
  const wt = e.one('Transpose', [e.one('Reshape', [inp(1), e.constInt64([3 * H, I])])], {
    perm: [1, 0],
  });
  const rt = e.one('Transpose', [e.one('Reshape', [inp(2), e.constInt64([3 * H, H])])], {
    perm: [1, 0],
  });
  let wb: string | null = null;
  let rb: string | null = null;
  if (inp(3))
    [wb, rb] = split(e.one('Reshape', [inp(3), e.constInt64([6 * H])]), [3 * H, 3 * H], 0);
  // Input projections for all steps at once: [S, B, 3H], then one [B, 3H] slice per step.
  let xw = matmul(inp(0), wt);
  if (wb) xw = add(xw, wb);
  const steps = S === 1 ? [xw] : split(xw, new Array<number>(S).fill(1), 0);
  // With linear_before_reset=0 the reset gate applies before Rh, so R splits into z|r and h.
  const [rzr, rh] = lbr ? [rt, ''] : split(rt, [2 * H, H], 1);
  const [rbzr, rbh] = !rb || lbr ? [rb, null] : split(rb, [2 * H, H], 0);

  let h = inp(5) ? e.one('Reshape', [inp(5), e.constInt64([Bn, H])]) : e.zeros([Bn, H]);
  const ys: string[] = [];
  for (const step of steps) {
    const x = e.one('Reshape', [step, e.constInt64([Bn, 3 * H])]);
    const [xz, xr, xh] = split(x, [H, H, H], 1);
    let hr = matmul(h, rzr);
    if (rbzr) hr = add(hr, rbzr);
    const [hz, hrr, hh] = lbr ? split(hr, [H, H, H], 1) : [...split(hr, [H, H], 1), ''];
    const z = e.one('Sigmoid', [add(xz, hz)]);
    const r = e.one('Sigmoid', [add(xr, hrr)]);
    let gated: string;
    if (lbr) gated = mul(r, hh);
    else {
      gated = matmul(mul(r, h), rh);
      if (rbh) gated = add(gated, rbh);
    }
    const n = e.one('Tanh', [add(xh, gated)]);
    h = add(n, mul(z, e.one('Sub', [h, n]))); // (1 − z)·n + z·h
    ys.push(e.one('Reshape', [h, e.constInt64([1, 1, Bn, H])]));
  }
  const [yName, yhName] = [node.output?.[0], node.output?.[1]];
  if (yName) {
    const y = ys.length === 1 ? ys[0] : e.one('Concat', ys, { axis: 0 });
    e.nodes.push(identity(y, yName));
  }
  if (yhName) e.nodes.push(identity(e.one('Reshape', [h, e.constInt64([1, Bn, H])]), yhName));
  return e;
}

/**
 * Replace every GRU node by its unrolled primitives for the probed sequence length (LSTM and
 * RNN stay; their gradient rules refuse them with a clear error). Returns a new model.
 */
export function unrollRecurrent(proto: onnx.ModelProto, shapes: Shapes): onnx.ModelProto {
  const out = cloneModel(proto);
  const graph = graphOf(out);
  const replacements = new Map<onnx.INodeProto, onnx.INodeProto[]>();
  const initializers: onnx.ITensorProto[] = [];
  const index = new GraphIndex(graph);
  const runtime = new Set(index.runtimeInputs().map((v) => v.name ?? ''));
  const isStatic = (name: string): boolean => !dependsOnData(index, name, runtime);
  graph.node.forEach((node, i) => {
    if (node.opType !== 'GRU') return;
    const e = unrollGru(node, shapes, `unroll${i}`, isStatic);
    replacements.set(node, e.nodes);
    initializers.push(...e.initializers);
  });
  replaceNodes(graph, replacements, initializers);
  return out;
}

const COMPARE: Record<string, (a: number, b: number) => boolean> = {
  Equal: (a, b) => a === b,
  Greater: (a, b) => a > b,
  Less: (a, b) => a < b,
  GreaterOrEqual: (a, b) => a >= b,
  LessOrEqual: (a, b) => a <= b,
};

/**
 * Whether `name` depends on fed inputs or float weights (which training changes), not looking
 * through Shape/Size (shape-only reads).
 */
function dependsOnData(index: GraphIndex, name: string, runtime: Set<string>): boolean {
  const seen = new Set<string>();
  const stack = [name];
  while (stack.length > 0) {
    const v = stack.pop()!;
    if (seen.has(v)) continue;
    seen.add(v);
    if (runtime.has(v)) return true;
    const init = index.initializers.get(v);
    if (init && FLOAT_TYPES.has(init.dataType ?? 0)) return true;
    const p = index.producer.get(v);
    if (!p || p.opType === 'Shape' || p.opType === 'Size') continue;
    for (const i of p.input ?? []) if (i) stack.push(i);
  }
  return false;
}

/** The value of a scalar bool condition: probe values, else one comparison of probed ints. */
function conditionValue(index: GraphIndex, cond: string, shapes: Shapes): boolean | null {
  const direct = shapes.get(cond)?.values;
  if (direct?.length === 1) return direct[0] !== 0;
  const p = index.producer.get(cond);
  if (!p) return null;
  if (p.opType === 'Not') {
    const v = conditionValue(index, p.input?.[0] ?? '', shapes);
    return v === null ? null : !v;
  }
  const compare = COMPARE[p.opType ?? ''];
  const a = shapes.get(p.input?.[0] ?? '')?.values;
  const b = shapes.get(p.input?.[1] ?? '')?.values;
  if (!compare || a?.length !== 1 || b?.length !== 1) return null;
  return compare(a[0], b[0]);
}

/**
 * Replace each If whose condition depends only on shapes by the branch it takes at the probed
 * shapes. An If on data values is refused. Returns a new model.
 */
export function inlineStaticIf(proto: onnx.ModelProto, shapes: Shapes): onnx.ModelProto {
  const out = cloneModel(proto);
  const graph = graphOf(out);
  const index = new GraphIndex(graph);
  const runtime = new Set(index.runtimeInputs().map((v) => v.name ?? ''));
  const replacements = new Map<onnx.INodeProto, onnx.INodeProto[]>();
  const initializers: onnx.ITensorProto[] = [];
  for (const node of graph.node) {
    if (node.opType !== 'If') continue;
    const cond = node.input?.[0] ?? '';
    const value = dependsOnData(index, cond, runtime) ? null : conditionValue(index, cond, shapes);
    // Refused even off the gradient path: the reverse walk cannot see a branch's outer-scope reads.
    if (value === null)
      throw unsupported(node, 'its condition depends on data, not only on shapes.');
    const branch = findAttr(node, value ? 'then_branch' : 'else_branch')?.g;
    if (!branch) throw unsupported(node, 'it has no branch graph.');
    const outs = (node.output ?? []).map((o, i) =>
      o ? identity(branch.output?.[i]?.name ?? '', o) : null,
    );
    replacements.set(node, [...(branch.node ?? []), ...outs.filter((n) => n !== null)]);
    initializers.push(...(branch.initializer ?? []));
  }
  replaceNodes(graph, replacements, initializers);
  return out;
}

/** Both rewrites; `changed` tells the caller to probe the shapes again. */
export function rewriteForTraining(
  proto: onnx.ModelProto,
  shapes: Shapes,
): { proto: onnx.ModelProto; changed: boolean } {
  const ops = new Set(graphOf(proto).node.map((n) => n.opType));
  if (!ops.has('If') && !ops.has('GRU')) return { proto, changed: false };
  return { proto: unrollRecurrent(inlineStaticIf(proto, shapes), shapes), changed: true };
}
