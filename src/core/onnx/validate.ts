/**
 * Structural checks on a decoded model, before anything trusts it: every value a node reads is
 * produced somewhere, the graph has no cycle, and every initializer holds exactly the bytes its
 * shape declares. onnxruntime would refuse most of these at load, but inspection never loads
 * the model, and adapter detection and GREW's clustering read shapes and tensors directly.
 */
import { onnx } from 'onnx-proto';
import { RecMarkError } from '../errors';
import { findAttr } from './attributes';
import { toNumber } from './int64';

const { DataType } = onnx.TensorProto;

function invalid(label: string, problem: string): RecMarkError {
  return new RecMarkError(
    `${label} is not a valid ONNX graph: ${problem}. Re-export the model with torch.onnx.export.`,
    'model-graph-invalid',
  );
}

/** Dangling inputs, doubly produced values, cycles and unproduced outputs of the main graph. */
export function checkGraphStructure(graph: onnx.IGraphProto, label: string): void {
  const available = new Set<string>();
  for (const v of graph.input ?? []) if (v.name) available.add(v.name);
  for (const t of graph.initializer ?? []) if (t.name) available.add(t.name);
  const nodes = graph.node ?? [];
  const producerOf = new Map<string, number>();
  nodes.forEach((node, i) => {
    for (const out of node.output ?? []) {
      if (!out) continue;
      if (producerOf.has(out) || available.has(out))
        throw invalid(label, `value "${out}" is produced twice`);
      producerOf.set(out, i);
    }
  });
  // Kahn's walk: a node is ready once every value it reads exists. Nodes left over sit on a cycle.
  const waitingOn = new Array<number>(nodes.length).fill(0);
  const readers = new Map<string, number[]>();
  nodes.forEach((node, i) => {
    for (const input of new Set(node.input ?? [])) {
      if (!input || available.has(input)) continue;
      if (!producerOf.has(input)) {
        throw invalid(
          label,
          `node "${node.name || node.opType}" reads "${input}", which no node, input or initializer provides`,
        );
      }
      waitingOn[i]++;
      const list = readers.get(input) ?? [];
      list.push(i);
      readers.set(input, list);
    }
  });
  const ready = nodes.map((_, i) => i).filter((i) => waitingOn[i] === 0);
  let done = 0;
  while (ready.length > 0) {
    const i = ready.pop()!;
    done++;
    for (const out of nodes[i].output ?? []) {
      for (const reader of readers.get(out) ?? [])
        if (--waitingOn[reader] === 0) ready.push(reader);
    }
  }
  if (done < nodes.length) {
    const stuck = nodes.find((_, i) => waitingOn[i] > 0)!;
    throw invalid(label, `it has a cycle through node "${stuck.name || stuck.opType}"`);
  }
  for (const out of graph.output ?? []) {
    if (out.name && !available.has(out.name) && !producerOf.has(out.name))
      throw invalid(label, `output "${out.name}" is produced by no node`);
  }
}

/** Bytes per element of the types whose raw_data length we can check; undefined otherwise. */
const WIDTH: Partial<Record<number, number>> = {
  [DataType.FLOAT]: 4,
  [DataType.DOUBLE]: 8,
  [DataType.INT64]: 8,
  [DataType.UINT64]: 8,
  [DataType.INT32]: 4,
  [DataType.UINT32]: 4,
  [DataType.FLOAT16]: 2,
  [DataType.BFLOAT16]: 2,
  [DataType.INT16]: 2,
  [DataType.UINT16]: 2,
  [DataType.INT8]: 1,
  [DataType.UINT8]: 1,
  [DataType.BOOL]: 1,
};

/** How many values a tensor holds in its typed field (when it has no raw_data). */
function typedValues(t: onnx.ITensorProto): number {
  return (
    (t.floatData?.length ?? 0) +
    (t.int32Data?.length ?? 0) +
    (t.int64Data?.length ?? 0) +
    (t.doubleData?.length ?? 0) +
    (t.uint64Data?.length ?? 0) +
    (t.stringData?.length ?? 0)
  );
}

/** Every inline initializer holds exactly as many values as its shape says. */
export function checkInitializers(graph: onnx.IGraphProto, label: string): void {
  for (const t of graph.initializer ?? []) {
    const dims = (t.dims ?? []).map(toNumber);
    const name = t.name ?? '?';
    if (dims.some((d) => !Number.isSafeInteger(d) || d < 0))
      throw invalid(label, `initializer "${name}" has an invalid shape [${dims.join(', ')}]`);
    const size = dims.reduce((a, b) => a * b, 1);
    if (!Number.isSafeInteger(size))
      throw invalid(label, `initializer "${name}" declares ${dims.join(' x ')} elements`);
    if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) continue;
    const width = WIDTH[t.dataType ?? 0];
    const raw = t.rawData?.length ?? 0;
    const have = raw > 0 ? raw : typedValues(t);
    const want = raw > 0 ? (width === undefined ? have : size * width) : size;
    // Complex types keep two numbers per element in their typed field.
    const pairs = t.dataType === DataType.COMPLEX64 || t.dataType === DataType.COMPLEX128;
    if (raw === 0 && pairs ? have !== 2 * size : have !== want) {
      throw invalid(
        label,
        `initializer "${name}" has shape [${dims.join(', ')}] but holds ${have.toLocaleString('en-US')} ${raw > 0 ? 'bytes' : 'values'} instead of ${(pairs ? 2 * size : want).toLocaleString('en-US')}`,
      );
    }
  }
}

/** Longest constant we evaluate as a shape, repeats or scales: real ones have a handful of values. */
const MAX_CONST_VALUES = 64;

/**
 * The values of a small constant (an initializer or a Constant node, through ops that keep
 * values: Identity, Cast, Squeeze, Unsqueeze, Reshape, and Concat of constants); null when the
 * value depends on the input or is too large to be a shape.
 */
function constantValues(
  name: string,
  inits: Map<string, onnx.ITensorProto>,
  producer: Map<string, onnx.INodeProto>,
  depth = 0,
): number[] | null {
  if (depth > 16) return null;
  const init = inits.get(name);
  if (init) return smallTensorValues(init);
  const node = producer.get(name);
  if (!node) return null;
  const op = node.opType ?? '';
  if (op === 'Constant') {
    const t = findAttr(node, 'value')?.t;
    return t ? smallTensorValues(t) : null;
  }
  const inputs = node.input ?? [];
  if (['Identity', 'Cast', 'Squeeze', 'Unsqueeze', 'Reshape'].includes(op))
    return constantValues(inputs[0] ?? '', inits, producer, depth + 1);
  if (op === 'Concat') {
    const parts = inputs.map((i) => constantValues(i, inits, producer, depth + 1));
    if (parts.some((p) => p === null)) return null;
    const all = parts.flat() as number[];
    return all.length <= MAX_CONST_VALUES ? all : null;
  }
  return null;
}

function smallTensorValues(t: onnx.ITensorProto): number[] | null {
  const n = (t.dims ?? []).map(toNumber).reduce((a, b) => a * b, 1);
  if (n > MAX_CONST_VALUES) return null;
  const raw = t.rawData;
  if (raw && raw.length > 0) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const type = t.dataType ?? 0;
    const width = WIDTH[type] ?? 0;
    if (raw.length < n * width) return null;
    const read: Partial<Record<number, (i: number) => number>> = {
      [DataType.INT64]: (i) => Number(view.getBigInt64(i * 8, true)),
      [DataType.INT32]: (i) => view.getInt32(i * 4, true),
      [DataType.FLOAT]: (i) => view.getFloat32(i * 4, true),
      [DataType.DOUBLE]: (i) => view.getFloat64(i * 8, true),
    };
    const at = read[type];
    return at ? Array.from({ length: n }, (_, i) => at(i)) : null;
  }
  const typed = [t.int64Data, t.int32Data, t.floatData, t.doubleData].find((d) => d?.length);
  return typed ? Array.from(typed.slice(0, n), (v) => toNumber(v)) : null;
}

const product = (values: number[]): number => values.reduce((a, b) => a * b, 1);

/** Elements in a constant input (an initializer's declared shape), or 1 when unknown. */
function knownElements(name: string, inits: Map<string, onnx.ITensorProto>): number {
  const init = inits.get(name);
  return init ? product((init.dims ?? []).map(toNumber)) : 1;
}

/**
 * A lower bound on the elements a shape-building node creates, from its constant inputs; null
 * when they are not constant (then the size follows the input, which the other limits bound).
 */
function builtElements(
  node: onnx.INodeProto,
  inits: Map<string, onnx.ITensorProto>,
  producer: Map<string, onnx.INodeProto>,
): number | null {
  const inputs = node.input ?? [];
  const values = (i: number): number[] | null =>
    inputs[i] ? constantValues(inputs[i], inits, producer) : null;
  const positive = (v: number[]): number[] => v.map((x) => Math.max(1, Math.abs(x)));
  switch (node.opType) {
    case 'ConstantOfShape':
    case 'Expand': {
      const shape = values(node.opType === 'Expand' ? 1 : 0);
      return shape && positive(shape).reduce((a, b) => a * b, 1);
    }
    case 'Tile': {
      const repeats = values(1);
      return repeats && product(positive(repeats)) * knownElements(inputs[0], inits);
    }
    case 'Range': {
      const [start, limit, delta] = [values(0)?.[0], values(1)?.[0], values(2)?.[0]];
      if (start === undefined || limit === undefined || delta === undefined || delta === 0)
        return null;
      return Math.max(0, Math.ceil((limit - start) / delta));
    }
    case 'Resize':
    case 'Upsample': {
      const sizes = node.opType === 'Resize' ? values(3) : null;
      if (sizes) return product(positive(sizes));
      const scales = values(node.opType === 'Resize' ? 2 : 1);
      return scales && scales.length > 0
        ? product(scales.map((s) => Math.max(1, s))) * knownElements(inputs[0], inits)
        : null;
    }
    case 'Pad': {
      const attr = findAttr(node, 'pads');
      const pads = attr ? (attr.ints ?? []).map(toNumber) : values(1);
      if (!pads || pads.length % 2 !== 0) return null;
      const rank = pads.length / 2;
      const grow = pads.slice(0, rank).map((b, i) => Math.max(1, b + pads[rank + i]));
      return product(grow) * knownElements(inputs[0], inits);
    }
    default:
      return null;
  }
}

/**
 * Shape-building ops (ConstantOfShape, Expand, Tile, Range, Resize, Upsample, Pad) whose
 * constant inputs ask for more than `maxElements`: a 1-KiB model can otherwise make
 * onnxruntime allocate gigabytes. Refused here, before any session runs the graph.
 */
export function checkShapeBuilders(
  graph: onnx.IGraphProto,
  label: string,
  maxElements: number,
  hint: string,
): void {
  const inits = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const producer = new Map<string, onnx.INodeProto>();
  for (const node of graph.node ?? []) for (const out of node.output ?? []) producer.set(out, node);
  for (const node of graph.node ?? []) {
    const elements = builtElements(node, inits, producer);
    if (elements === null || !(elements > maxElements)) continue;
    const size = Number.isFinite(elements)
      ? `${Math.round(elements).toLocaleString('en-US')} elements`
      : 'an unbounded number of elements';
    throw new RecMarkError(
      `${label}: node "${node.name || node.opType}" (${node.opType}) would build a tensor of ${size}, ` +
        `above the limit of ${maxElements.toLocaleString('en-US')} elements for shape-built tensors; ${hint}.`,
      'model-shape-too-large',
    );
  }
}
