/**
 * Structural checks on a decoded model, before anything trusts it: every value a node reads is
 * produced somewhere, the graph has no cycle, and every initializer holds exactly the bytes its
 * shape declares. onnxruntime would refuse most of these at load, but inspection never loads
 * the model, and adapter detection and GREW's clustering read shapes and tensors directly.
 */
import { onnx } from 'onnx-proto';
import { RecMarkError } from '../errors';

const { DataType } = onnx.TensorProto;

const count = (v: number | { toNumber(): number } | null | undefined): number =>
  v === null || v === undefined ? 0 : typeof v === 'number' ? v : v.toNumber();

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
    const dims = (t.dims ?? []).map(count);
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
