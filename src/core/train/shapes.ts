/**
 * The shape probe: run the forward graph once at the training batch shape with every
 * intermediate exposed as an output, and record each value's static shape and type (and the
 * values of small integer tensors, which gradient rules need: Reshape targets, Slice bounds).
 */
import { GraphIndex, tensorDims, tensorValues } from '../onnx/graph';
import { cloneModel, encodeModel, graphOf, onnx } from '../onnx/model';
import { createSession, runSession, type OrtFeeds } from '../onnx/ort';
import type { ValueShape } from './emitter';

const { DataType } = onnx.TensorProto;
const ORT_TYPES: Record<string, number> = {
  float32: DataType.FLOAT,
  float64: DataType.DOUBLE,
  int64: DataType.INT64,
  int32: DataType.INT32,
  bool: DataType.BOOL,
  uint8: DataType.UINT8,
  int8: DataType.INT8,
  float16: DataType.FLOAT16,
};
const SMALL = 64;

export async function probeShapes(
  proto: onnx.ModelProto,
  feeds: OrtFeeds,
): Promise<Map<string, ValueShape>> {
  const probe = cloneModel(proto);
  const graph = graphOf(probe);
  const shapes = new Map<string, ValueShape>();
  const index = new GraphIndex(graph);
  for (const [name, t] of index.initializers) {
    const dims = tensorDims(t);
    const size = dims.reduce((a, b) => a * b, 1);
    const isInt = t.dataType === DataType.INT64 || t.dataType === DataType.INT32;
    shapes.set(name, {
      dims,
      elemType: t.dataType ?? DataType.FLOAT,
      values: isInt && size <= SMALL ? Array.from(tensorValues(t)) : undefined,
    });
  }
  const outputs = new Set(graph.output.map((o) => o.name));
  for (const node of graph.node) {
    for (const o of node.output ?? []) {
      if (o && !outputs.has(o)) {
        graph.output.push(onnx.ValueInfoProto.create({ name: o }));
        outputs.add(o);
      }
    }
  }
  // No graph optimisation: fused kernels must not swallow the intermediates we ask for.
  const session = await createSession(encodeModel(probe), { optimize: false });
  try {
    const result = await runSession(session, feeds);
    for (const [name, t] of Object.entries({ ...feeds, ...result })) {
      const elemType = ORT_TYPES[t.type] ?? DataType.UNDEFINED;
      const isInt = t.type === 'int64' || t.type === 'int32';
      shapes.set(name, {
        dims: [...t.dims],
        elemType,
        values:
          isInt && t.size <= SMALL
            ? Array.from(t.data as ArrayLike<number | bigint>, Number)
            : undefined,
      });
    }
  } finally {
    await session.release();
  }
  return shapes;
}
