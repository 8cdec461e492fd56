/**
 * Gradient checking for the rules in src/core/train/gradients.ts: build a one-op graph whose
 * float inputs are trainable, take loss = Σ y·R (R random, so dL/dy = R), differentiate it with
 * the autodiff walk, run the gradients in onnxruntime and compare them with central finite
 * differences of the same loss.
 */
import type { Tensor as OrtTensor } from 'onnxruntime-node';
import { floatTensor, int64Tensor } from '../../src/core/onnx/graph';
import { encodeModel, onnx } from '../../src/core/onnx/model';
import { loadOrt } from '../../src/core/onnx/ort';
import { buildTrainingGraph } from '../../src/core/train/autodiff';
import type { ValueShape } from '../../src/core/train/emitter';
import { probeShapes } from '../../src/core/train/shapes';
import { mulberry32 } from './helpers';

const { DataType } = onnx.TensorProto;
const AT = onnx.AttributeProto.AttributeType;

export interface CaseInput {
  name: string;
  dims: number[];
  /** Float inputs are trainable unless `fixed`; int64 inputs are constants. */
  type?: 'float' | 'int64' | 'int32' | 'bool';
  fixed?: boolean;
  values?: number[];
  /** Range for random float values. */
  range?: [number, number];
}

export interface OpCase {
  label: string;
  inputs: CaseInput[];
  nodes: onnx.INodeProto[];
  /** The value the loss reads (default "y"). */
  output?: string;
  opset?: number;
  /** A graph rewrite applied before differentiation (e.g. unrollRecurrent); shapes re-probed. */
  rewrite?: (proto: onnx.ModelProto, shapes: Map<string, ValueShape>) => onnx.ModelProto;
}

export function node(
  opType: string,
  input: string[],
  output: string[] = ['y'],
  attrs: Record<string, number | number[] | string> = {},
  floats: Record<string, number> = {},
): onnx.INodeProto {
  const attribute: onnx.IAttributeProto[] = Object.entries(attrs).map(([name, v]) =>
    typeof v === 'string'
      ? { name, type: AT.STRING, s: Buffer.from(v) }
      : Array.isArray(v)
        ? { name, type: AT.INTS, ints: v }
        : { name, type: AT.INT, i: v },
  );
  for (const [name, f] of Object.entries(floats)) attribute.push({ name, type: AT.FLOAT, f });
  return { opType, input, output, name: `${opType}_${output[0]}`, attribute };
}

function tensor(
  name: string,
  dims: number[],
  type: CaseInput['type'],
  values: number[],
): onnx.TensorProto {
  if (type === 'int64') return int64Tensor(name, dims, values);
  if (type === 'int32') {
    const data = Int32Array.from(values);
    return onnx.TensorProto.create({
      name,
      dims,
      dataType: DataType.INT32,
      rawData: new Uint8Array(data.buffer),
    });
  }
  if (type === 'bool') {
    return onnx.TensorProto.create({
      name,
      dims,
      dataType: DataType.BOOL,
      rawData: Uint8Array.from(values),
    });
  }
  return floatTensor(name, dims, values);
}

export interface GradCheckResult {
  worst: number;
  checked: number;
  analytic: Map<string, Float32Array>;
}

export async function gradCheck(c: OpCase, seed = 1): Promise<GradCheckResult> {
  const rand = mulberry32(seed);
  const { InferenceSession, Tensor } = await loadOrt();
  const values = new Map<string, number[]>();
  for (const i of c.inputs) {
    const size = i.dims.reduce((a, b) => a * b, 1);
    const [lo, hi] = i.range ?? [-1, 1];
    values.set(i.name, i.values ?? Array.from({ length: size }, () => lo + (hi - lo) * rand()));
  }
  const trainable = c.inputs
    .filter((i) => (i.type ?? 'float') === 'float' && !i.fixed)
    .map((i) => i.name);
  const y = c.output ?? 'y';
  const build = (extraNodes: onnx.INodeProto[], extraInit: onnx.TensorProto[], outputs: string[]) =>
    onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: c.opset ?? 16 }],
      graph: {
        name: c.label,
        node: [...c.nodes, ...extraNodes],
        initializer: [
          ...c.inputs.map((i) => tensor(i.name, i.dims, i.type, values.get(i.name)!)),
          ...extraInit,
        ],
        input: [],
        output: outputs.map((name) => onnx.ValueInfoProto.create({ name })),
      },
    });
  // The output's shape, then a random R of that shape and loss = ReduceSum(y · R).
  const yShape = (await probeShapes(build([], [], [y]), {})).get(y)!.dims;
  const r = Array.from({ length: yShape.reduce((a, b) => a * b, 1) }, () => rand() * 2 - 1);
  const forward = build(
    [node('Mul', [y, 'R'], ['yr']), node('ReduceSum', ['yr'], ['loss'], { keepdims: 0 })],
    [tensor('R', yShape, 'float', r)],
    ['loss'],
  );
  let shapes = await probeShapes(forward, {});
  let rewritten = forward;
  if (c.rewrite) {
    rewritten = c.rewrite(forward, shapes);
    shapes = await probeShapes(rewritten, {});
  }
  const training = buildTrainingGraph(rewritten, 'loss', trainable, shapes);
  const session = await InferenceSession.create(encodeModel(training.proto));
  const feedsFor = (override?: {
    name: string;
    index: number;
    delta: number;
  }): Record<string, OrtTensor> => {
    const feeds: Record<string, OrtTensor> = {};
    for (const name of trainable) {
      const data = Float32Array.from(values.get(name)!);
      if (override?.name === name) data[override.index] += override.delta;
      feeds[name] = new Tensor('float32', data, c.inputs.find((i) => i.name === name)!.dims);
    }
    return feeds;
  };
  try {
    const base = await session.run(feedsFor());
    const analytic = new Map<string, Float32Array>();
    let worst = 0;
    let checked = 0;
    const eps = 5e-3;
    for (const name of trainable) {
      const grad = base[training.gradients.get(name)!].data as Float32Array;
      analytic.set(name, grad);
      for (let k = 0; k < values.get(name)!.length; k++) {
        const plus = (await session.run(feedsFor({ name, index: k, delta: eps })))[training.loss]
          .data as Float32Array;
        const minus = (await session.run(feedsFor({ name, index: k, delta: -eps })))[training.loss]
          .data as Float32Array;
        const numeric = (plus[0] - minus[0]) / (2 * eps);
        const err = Math.abs(grad[k] - numeric) / (2e-3 + 2e-2 * Math.abs(numeric));
        worst = Math.max(worst, err);
        checked++;
      }
    }
    return { worst, checked, analytic };
  } finally {
    await session.release();
  }
}
