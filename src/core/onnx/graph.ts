/** Read-only views over an ONNX graph: who produces and consumes each value, shapes, constants. */
import { RecMarkError } from '../errors';
import { findAttr } from './attributes';
import { toNumber } from './int64';
import { onnx } from './model';

export type Dim = number | string | null;

export const DataType = onnx.TensorProto.DataType;

export function dataTypeName(type: number): string {
  return (onnx.TensorProto.DataType[type] ?? `type${type}`).toLowerCase();
}

export class GraphIndex {
  readonly producer = new Map<string, onnx.INodeProto>();
  readonly consumers = new Map<string, onnx.INodeProto[]>();
  readonly initializers = new Map<string, onnx.ITensorProto>();
  private readonly valueInfo = new Map<string, onnx.IValueInfoProto>();

  constructor(readonly graph: onnx.IGraphProto) {
    for (const t of graph.initializer ?? []) if (t.name) this.initializers.set(t.name, t);
    for (const v of [...(graph.input ?? []), ...(graph.output ?? []), ...(graph.valueInfo ?? [])]) {
      if (v.name) this.valueInfo.set(v.name, v);
    }
    for (const node of graph.node ?? []) {
      for (const out of node.output ?? []) if (out) this.producer.set(out, node);
      for (const inp of node.input ?? []) {
        if (!inp) continue;
        const list = this.consumers.get(inp) ?? [];
        list.push(node);
        this.consumers.set(inp, list);
      }
    }
  }

  /** Graph inputs that are fed at run time (old exports also list initializers as inputs). */
  runtimeInputs(): onnx.IValueInfoProto[] {
    return (this.graph.input ?? []).filter((v) => v.name && !this.initializers.has(v.name));
  }

  outputs(): onnx.IValueInfoProto[] {
    return this.graph.output ?? [];
  }

  /** Element type of a value from its declared type, or of an initializer. */
  elemType(name: string): number | null {
    const t = this.valueInfo.get(name)?.type?.tensorType;
    if (t?.elemType) return t.elemType;
    const init = this.initializers.get(name);
    return init?.dataType ?? null;
  }

  /** "int64", "float", ... for error messages. */
  dataTypeLabel(name: string): string {
    const t = this.elemType(name);
    return t === null ? 'unknown' : dataTypeName(t);
  }

  /** Declared shape: numbers for fixed dims, strings for symbolic ones, null when unknown. */
  shape(name: string): Dim[] | null {
    const init = this.initializers.get(name);
    if (init) return (init.dims ?? []).map((d) => toNumber(d));
    const shape = this.valueInfo.get(name)?.type?.tensorType?.shape;
    if (!shape) return null;
    return (shape.dim ?? []).map((d) => {
      if (d.dimValue !== null && d.dimValue !== undefined && toNumber(d.dimValue) > 0) {
        return toNumber(d.dimValue);
      }
      return d.dimParam || null;
    });
  }

  /** A constant tensor behind a value: an initializer or a Constant node's `value`. */
  constant(name: string): onnx.ITensorProto | null {
    const init = this.initializers.get(name);
    if (init) return init;
    const node = this.producer.get(name);
    if (node?.opType === 'Constant') {
      return findAttr(node, 'value')?.t ?? null;
    }
    return null;
  }

  /** Follow value-preserving ops (Identity, Cast) back to where a value comes from. */
  source(name: string): string {
    let current = name;
    for (let guard = 0; guard < 64; guard++) {
      const node = this.producer.get(current);
      if (!node || !['Identity', 'Cast'].includes(node.opType ?? '')) return current;
      current = node.input?.[0] ?? current;
    }
    return current;
  }

  nodesOfType(...types: string[]): onnx.INodeProto[] {
    return (this.graph.node ?? []).filter((n) => types.includes(n.opType ?? ''));
  }
}

export function tensorDims(t: onnx.ITensorProto): number[] {
  return (t.dims ?? []).map((d) => toNumber(d));
}

export function tensorSize(t: onnx.ITensorProto): number {
  return tensorDims(t).reduce((a, b) => a * b, 1);
}

/** Values of a numeric tensor as doubles (small tensors: masks, shapes, constants). */
export function tensorValues(t: onnx.ITensorProto): Float64Array {
  const n = tensorSize(t);
  const raw = t.rawData;
  const out = new Float64Array(n);
  if (raw && raw.length > 0) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const width = bytesPerElement(t.dataType ?? 0);
    if (raw.length < n * width) {
      throw new RecMarkError(
        `Tensor "${t.name}" has fewer bytes than its shape needs.`,
        'model-corrupt',
      );
    }
    for (let i = 0; i < n; i++) out[i] = readElement(view, t.dataType ?? 0, i * width);
    return out;
  }
  const source: ArrayLike<number | { toNumber(): number }> =
    (t.floatData?.length ? t.floatData : null) ??
    (t.int32Data?.length ? t.int32Data : null) ??
    (t.int64Data?.length ? t.int64Data : null) ??
    (t.doubleData?.length ? t.doubleData : null) ??
    [];
  if (source.length < n) {
    throw new RecMarkError(
      `Tensor "${t.name}" has fewer values than its shape needs.`,
      'model-corrupt',
    );
  }
  for (let i = 0; i < n; i++) out[i] = toNumber(source[i]);
  return out;
}

/** A float tensor as a Float32Array (item embeddings: can be large, so no detour via doubles). */
export function tensorFloat32(t: onnx.ITensorProto): Float32Array {
  if (t.dataType !== DataType.FLOAT) {
    throw new RecMarkError(
      `Tensor "${t.name}" is ${dataTypeName(t.dataType ?? 0)}, expected float32.`,
      'model-unsupported',
    );
  }
  const n = tensorSize(t);
  const raw = t.rawData;
  if (raw && raw.length > 0) {
    if (raw.length < n * 4) {
      throw new RecMarkError(
        `Tensor "${t.name}" has fewer bytes than its shape needs.`,
        'model-corrupt',
      );
    }
    // Copy: rawData is a view into the decoded buffer and may be unaligned.
    const copy = new Uint8Array(n * 4);
    copy.set(raw.subarray(0, n * 4));
    return new Float32Array(copy.buffer);
  }
  return Float32Array.from((t.floatData ?? []).slice(0, n));
}

export function bytesPerElement(type: number): number {
  switch (type) {
    case DataType.DOUBLE:
    case DataType.INT64:
    case DataType.UINT64:
      return 8;
    case DataType.FLOAT:
    case DataType.INT32:
    case DataType.UINT32:
      return 4;
    case DataType.FLOAT16:
    case DataType.BFLOAT16:
    case DataType.INT16:
    case DataType.UINT16:
      return 2;
    default:
      return 1;
  }
}

function readElement(view: DataView, type: number, offset: number): number {
  switch (type) {
    case DataType.FLOAT:
      return view.getFloat32(offset, true);
    case DataType.DOUBLE:
      return view.getFloat64(offset, true);
    case DataType.INT64:
      return Number(view.getBigInt64(offset, true));
    case DataType.UINT64:
      return Number(view.getBigUint64(offset, true));
    case DataType.INT32:
      return view.getInt32(offset, true);
    case DataType.UINT32:
      return view.getUint32(offset, true);
    case DataType.INT16:
      return view.getInt16(offset, true);
    case DataType.UINT16:
      return view.getUint16(offset, true);
    case DataType.INT8:
      return view.getInt8(offset);
    default:
      return view.getUint8(offset);
  }
}

/** A float32 initializer from plain numbers. */
export function floatTensor(
  name: string,
  dims: number[],
  values: ArrayLike<number>,
): onnx.TensorProto {
  const data = Float32Array.from(values);
  return onnx.TensorProto.create({
    name,
    dims,
    dataType: DataType.FLOAT,
    rawData: new Uint8Array(data.buffer),
  });
}

/** An int64 initializer from plain numbers. */
export function int64Tensor(
  name: string,
  dims: number[],
  values: ArrayLike<number>,
): onnx.TensorProto {
  const data = BigInt64Array.from(Array.from(values, (v) => BigInt(v)));
  return onnx.TensorProto.create({
    name,
    dims,
    dataType: DataType.INT64,
    rawData: new Uint8Array(data.buffer),
  });
}

/**
 * Move initializers into the graph inputs (with their types and shapes) so their values can be
 * fed at run time — how training feeds updated weights. Returns the moved tensors.
 */
export function initializersToInputs(
  graph: onnx.GraphProto,
  names: ReadonlySet<string>,
): onnx.TensorProto[] {
  const all = graph.initializer as onnx.TensorProto[];
  const moved = all.filter((t) => names.has(t.name));
  graph.initializer = all.filter((t) => !names.has(t.name));
  graph.input.push(
    ...moved.map((t) =>
      onnx.ValueInfoProto.create({
        name: t.name,
        type: {
          tensorType: {
            elemType: t.dataType,
            shape: { dim: t.dims.map((d) => ({ dimValue: d })) },
          },
        },
      }),
    ),
  );
  return moved;
}

/**
 * Drop the nodes and initializers the graph outputs do not need, and value infos of values that
 * no longer exist (in place).
 */
export function pruneDeadNodes(graph: onnx.IGraphProto): void {
  const needed = new Set((graph.output ?? []).map((o) => o.name ?? ''));
  const kept: onnx.INodeProto[] = [];
  const nodes = graph.node ?? [];
  for (let n = nodes.length - 1; n >= 0; n--) {
    const node = nodes[n];
    if (!(node.output ?? []).some((o) => needed.has(o))) continue;
    kept.push(node);
    for (const i of node.input ?? []) if (i) needed.add(i);
  }
  graph.node = kept.reverse();
  graph.initializer = (graph.initializer ?? []).filter((t) => needed.has(t.name ?? ''));
  const exists = new Set([
    ...needed,
    ...graph.node.flatMap((node) => node.output ?? []),
    ...(graph.input ?? []).map((v) => v.name ?? ''),
  ]);
  graph.valueInfo = (graph.valueInfo ?? []).filter((v) => exists.has(v.name ?? ''));
}
