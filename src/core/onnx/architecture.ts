/**
 * "Same architecture": two models whose graphs are identical except for the values of float
 * weights. What a weights-only watermark must preserve (the file stays a drop-in, nothing is
 * added that could be cut), and what a test checks it against the original.
 */
import { DataType, tensorDims } from './graph';
import { graphOf, onnx } from './model';

const FLOATS = new Set<number>([
  DataType.FLOAT,
  DataType.FLOAT16,
  DataType.DOUBLE,
  DataType.BFLOAT16,
]);

const encodedNode = (n: onnx.INodeProto): string =>
  Buffer.from(onnx.NodeProto.encode(onnx.NodeProto.create(n)).finish()).toString('base64');
const encodedValue = (v: onnx.IValueInfoProto): string =>
  Buffer.from(onnx.ValueInfoProto.encode(onnx.ValueInfoProto.create(v)).finish()).toString(
    'base64',
  );

/** A tensor's bytes with its values, for non-float initializers (shape constants, indices, masks). */
function tensorBytes(t: onnx.ITensorProto): string {
  return Buffer.from(onnx.TensorProto.encode(onnx.TensorProto.create(t)).finish()).toString(
    'base64',
  );
}

/**
 * Differences between two models other than float weight values, as sentences (empty: the same
 * architecture). Compared: opset imports, inputs, outputs, value infos, every node (op type,
 * domain, name, inputs, outputs, attributes) in order, and every initializer's name, type and
 * shape, plus the full contents of non-float initializers.
 */
export function architectureDifferences(a: onnx.IModelProto, b: onnx.IModelProto): string[] {
  const diffs: string[] = [];
  const ga = graphOf(a);
  const gb = graphOf(b);
  const opsets = (m: onnx.IModelProto) =>
    (m.opsetImport ?? []).map((o) => `${o.domain ?? ''}:${String(o.version)}`).join(',');
  if (opsets(a) !== opsets(b)) diffs.push(`opset imports differ: ${opsets(a)} vs ${opsets(b)}`);
  const lists: [string, onnx.IValueInfoProto[], onnx.IValueInfoProto[]][] = [
    ['inputs', ga.input, gb.input],
    ['outputs', ga.output, gb.output],
    ['value infos', ga.valueInfo, gb.valueInfo],
  ];
  for (const [what, x, y] of lists) {
    const ex = x.map(encodedValue);
    const ey = y.map(encodedValue);
    if (ex.length !== ey.length || ex.some((v, i) => v !== ey[i])) diffs.push(`${what} differ`);
  }
  if (ga.node.length !== gb.node.length) {
    diffs.push(`${ga.node.length} nodes vs ${gb.node.length}`);
  } else {
    const i = ga.node.findIndex((n, k) => encodedNode(n) !== encodedNode(gb.node[k]));
    if (i >= 0) diffs.push(`node ${i} (${ga.node[i].opType} ${ga.node[i].name ?? ''}) differs`);
  }
  if (ga.initializer.length !== gb.initializer.length) {
    diffs.push(`${ga.initializer.length} initializers vs ${gb.initializer.length}`);
  } else {
    ga.initializer.forEach((t, k) => {
      const u = gb.initializer[k];
      const same =
        t.name === u.name &&
        t.dataType === u.dataType &&
        tensorDims(t).join('x') === tensorDims(u).join('x');
      if (!same) diffs.push(`initializer ${k} (${t.name}) differs in name, type or shape`);
      else if (!FLOATS.has(t.dataType ?? 0) && tensorBytes(t) !== tensorBytes(u))
        diffs.push(`non-float initializer ${t.name} changed its values`);
    });
  }
  return diffs;
}
