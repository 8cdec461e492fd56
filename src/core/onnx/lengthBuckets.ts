/**
 * Length buckets (issue 17 item 3). Probes are mostly far shorter than T (Beauty histories
 * average 6.4 items of T = 50), yet a left-padded row runs every layer on all T positions. A model
 * whose real positions never read the padding (a key-padding mask) computes the same scores on its
 * last L positions alone, once its position-indexed constants (position table, causal mask, the
 * last-position index) are cut to their last L entries. `shortenGraph` makes that copy by rule of
 * thumb; whether the copy really scores alike is never assumed: the caller runs check rows through
 * both graphs (`bucketCheckRows`, `scoresAgree`) and keeps the full graph when they differ, e.g.
 * for a SASRec whose attention reads padded keys, or when a weight happens to be T wide.
 */
import type { Adapter } from './adapter';
import { DataType, bytesPerElement, tensorDims, tensorValues } from './graph';
import { cloneModel, graphOf, onnx } from './model';
import { Rng } from '../util/random';

/**
 * Bucket lengths tried below T. On the 23,715-item bench SASRec (T = 50, d = 64) a batch of 64
 * took 291 ms per 1,000 rows at T = 50, 119 at 25, 82 at 10 and 73 at 1 (the item head alone):
 * the layers cost about linearly in T, so a few doubling lengths catch most of the saving.
 */
export const BUCKET_LENGTHS = [8, 16, 32] as const;

/** Fewer rows than this in a bucket ride with the next longer one (a session costs ~0.1 s). */
export const MIN_BUCKET_ROWS = 32;

/** Why a model's graph is never shortened (null: buckets may be tried). */
export function bucketsUnsupported(adapter: Adapter): string | null {
  if (adapter.padding !== 'left') return 'right padding puts real items at varying positions';
  if (adapter.lengthInput) return 'the model reads a length input';
  if (adapter.outputRank !== 2) return 'the score output is not [batch, N]';
  if (adapter.seqLen <= BUCKET_LENGTHS[0]) return `T = ${adapter.seqLen} is already short`;
  return null;
}

/** The bucket lengths worth trying for this model, shortest first (empty: none). */
export function bucketLengths(adapter: Adapter): number[] {
  if (bucketsUnsupported(adapter)) return [];
  return BUCKET_LENGTHS.filter((L) => L < adapter.seqLen);
}

/** How many input positions a history fills (the mask token included). */
export function queryLength(adapter: Adapter, history: readonly unknown[]): number {
  const capacity = adapter.maskId === null ? adapter.seqLen : adapter.seqLen - 1;
  return Math.min(history.length, capacity) + (adapter.maskId === null ? 0 : 1);
}

/**
 * A copy of `proto` whose input is [batch, L]: every constant with a T-long axis keeps its last L
 * entries along it, and Gather indices equal to T − 1 (the last position) become L − 1. Returns
 * null when a constant to cut is stored in a form this does not read.
 */
export function shortenGraph(
  proto: onnx.ModelProto,
  adapter: Adapter,
  L: number,
): onnx.ModelProto | null {
  const T = adapter.seqLen;
  const model = cloneModel(proto);
  const graph = graphOf(model);
  const input = graph.input.find((v) => v.name === adapter.input);
  const dims = input?.type?.tensorType?.shape?.dim;
  if (!dims || dims.length !== 2) return null;
  dims[1] = onnx.TensorShapeProto.Dimension.create({ dimValue: L });
  // Declared intermediate shapes would still say T.
  graph.valueInfo = [];

  const gatherIndices = new Set(
    graph.node.filter((n) => n.opType === 'Gather').map((n) => n.input?.[1] ?? ''),
  );
  /** The tensor as the short graph needs it (the same object when no axis is T long). */
  const shorten = (t: onnx.ITensorProto): onnx.ITensorProto | null => {
    const shape = tensorDims(t);
    if (
      gatherIndices.has(t.name ?? '') &&
      shape.length <= 1 &&
      tensorValues(t).every((v) => v === T - 1)
    )
      return withElements(t, shape, (count) => new Float64Array(count).fill(L - 1));
    if (!shape.includes(T)) return t;
    return sliceLast(t, shape, T, L);
  };
  for (let i = 0; i < graph.initializer.length; i++) {
    const cut = shorten(graph.initializer[i]);
    if (!cut) return null;
    graph.initializer[i] = onnx.TensorProto.create(cut);
  }
  for (const node of graph.node) {
    if (node.opType !== 'Constant') continue;
    for (const attr of node.attribute ?? []) {
      if (!attr.t) continue;
      // Gather reads the node's output name, so the tensor is judged under that name.
      const named = onnx.TensorProto.create({ ...attr.t, name: node.output?.[0] ?? '' });
      const cut = shorten(named);
      if (!cut) return null;
      if (cut !== named) attr.t = onnx.TensorProto.create({ ...cut, name: attr.t.name });
    }
  }
  return model;
}

/** The element bytes of a tensor, or null for storage this module does not read. */
function elementBytes(t: onnx.ITensorProto, count: number): Uint8Array | null {
  const width = bytesPerElement(t.dataType ?? 0);
  if (t.rawData && t.rawData.length > 0) {
    return t.rawData.length >= count * width ? t.rawData.subarray(0, count * width) : null;
  }
  switch (t.dataType) {
    case DataType.FLOAT:
      return new Uint8Array(Float32Array.from(t.floatData ?? []).buffer);
    case DataType.INT64:
      return new Uint8Array(BigInt64Array.from(tensorValues(t), (v) => BigInt(v)).buffer);
    case DataType.INT32:
      return new Uint8Array(Int32Array.from(tensorValues(t)).buffer);
    case DataType.BOOL:
    case DataType.UINT8:
      return Uint8Array.from(tensorValues(t));
    default:
      return null;
  }
}

/** The tensor cut to its last L entries along every axis of length T (rawData storage). */
function sliceLast(
  t: onnx.ITensorProto,
  shape: number[],
  T: number,
  L: number,
): onnx.TensorProto | null {
  const count = shape.reduce((a, b) => a * b, 1);
  const bytes = elementBytes(t, count);
  if (!bytes || bytes.length !== count * bytesPerElement(t.dataType ?? 0)) return null;
  const width = bytesPerElement(t.dataType ?? 0);
  const outShape = shape.map((d) => (d === T ? L : d));
  const outCount = outShape.reduce((a, b) => a * b, 1);
  const out = new Uint8Array(outCount * width);
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const index = new Array<number>(shape.length).fill(0);
  for (let o = 0; o < outCount; o++) {
    let source = 0;
    for (let a = 0; a < shape.length; a++) {
      source += (shape[a] === T ? index[a] + T - L : index[a]) * strides[a];
    }
    out.set(bytes.subarray(source * width, (source + 1) * width), o * width);
    for (let a = shape.length - 1; a >= 0; a--) {
      if (++index[a] < outShape[a]) break;
      index[a] = 0;
    }
  }
  return onnx.TensorProto.create({
    name: t.name,
    dims: outShape,
    dataType: t.dataType,
    rawData: out,
  });
}

/** A small integer tensor (int64 or int32) with new values, same name, dims and type. */
function withElements(
  t: onnx.ITensorProto,
  shape: number[],
  values: (count: number) => Float64Array,
): onnx.TensorProto | null {
  const count = shape.reduce((a, b) => a * b, 1);
  const v = values(count);
  const raw =
    t.dataType === DataType.INT64
      ? new Uint8Array(BigInt64Array.from(v, (x) => BigInt(x)).buffer)
      : t.dataType === DataType.INT32
        ? new Uint8Array(Int32Array.from(v).buffer)
        : null;
  if (!raw) return null;
  return onnx.TensorProto.create({ name: t.name, dims: shape, dataType: t.dataType, rawData: raw });
}

/**
 * Seeded histories that fill a bucket of length L in every way that matters: one item, L items
 * (the mask token counted), and lengths between, drawn from the real items.
 */
export function bucketCheckRows(adapter: Adapter, L: number, rows = 12): number[][] {
  const rng = new Rng(L);
  const longest = adapter.maskId === null ? L : L - 1;
  const ids = adapter.itemIds;
  return Array.from({ length: rows }, (_, r) => {
    const length = r === 0 ? 1 : r === 1 ? longest : 1 + rng.int(longest);
    return Array.from({ length }, () => ids[rng.int(ids.length)]);
  });
}

/**
 * Whether two score tensors agree to float32 rounding of a reordered sum: a graph that reads
 * padded positions differs by orders of magnitude more (positions' scores move by ~1e-1).
 */
export function scoresAgree(full: Float32Array, short: Float32Array): boolean {
  if (full.length !== short.length) return false;
  let scale = 1;
  for (const v of full) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
  const tolerance = 1e-5 * scale;
  for (let i = 0; i < full.length; i++) {
    const a = full[i];
    const b = short[i];
    if (Number.isNaN(a) !== Number.isNaN(b)) return false;
    if (!Number.isNaN(a) && !(Math.abs(a - b) <= tolerance || a === b)) return false;
  }
  return true;
}
