/**
 * Builds new ONNX nodes for the training graph: unique names, constants, attributes and
 * static shapes from the shape probe. Gradient rules and loss heads only talk to this.
 */
import { makeAttr, type AttrValue } from '../onnx/attributes';
import { floatTensor, int64Tensor } from '../onnx/graph';
import { onnx } from '../onnx/model';

export interface ValueShape {
  dims: number[];
  elemType: number;
  /** Values of small integer tensors (shapes, axes, bounds), as the probe saw them. */
  values?: number[];
}

const { DataType } = onnx.TensorProto;
export class Emitter {
  readonly nodes: onnx.NodeProto[] = [];
  readonly initializers: onnx.TensorProto[] = [];
  private counter = 0;

  constructor(
    private readonly prefix: string,
    private readonly shapes: Map<string, ValueShape>,
  ) {}

  fresh(hint: string): string {
    return `${this.prefix}/${hint}_${this.counter++}`;
  }

  /** Emit one node; returns its output names. Float attributes must be passed in `floats`. */
  node(
    opType: string,
    inputs: string[],
    attrs: Record<string, AttrValue> = {},
    outputs = 1,
    floats: Record<string, number> = {},
  ): string[] {
    const outs = Array.from({ length: outputs }, () => this.fresh(opType.toLowerCase()));
    this.nodes.push(
      onnx.NodeProto.create({
        opType,
        input: inputs,
        output: outs,
        name: outs[0],
        attribute: [
          ...Object.entries(attrs).map(([k, v]) => makeAttr(k, v)),
          ...Object.entries(floats).map(([k, v]) => makeAttr(k, v, true)),
        ],
      }),
    );
    return outs;
  }

  one(
    opType: string,
    inputs: string[],
    attrs: Record<string, AttrValue> = {},
    floats: Record<string, number> = {},
  ): string {
    return this.node(opType, inputs, attrs, 1, floats)[0];
  }

  constFloat(values: ArrayLike<number>, dims: number[] = []): string {
    const name = this.fresh('const_f');
    this.initializers.push(floatTensor(name, dims, values));
    return name;
  }

  constInt64(values: ArrayLike<number>, dims: number[] = [values.length]): string {
    const name = this.fresh('const_i');
    this.initializers.push(int64Tensor(name, dims, values));
    return name;
  }

  shape(name: string): number[] {
    const s = this.shapes.get(name);
    if (!s) throw new Error(`No probed shape for "${name}"`);
    return s.dims;
  }

  values(name: string): number[] | null {
    return this.shapes.get(name)?.values ?? null;
  }

  elemType(name: string): number {
    return this.shapes.get(name)?.elemType ?? DataType.FLOAT;
  }

  /** Record the shape of a value this emitter made, for rules that read it back. */
  setShape(name: string, dims: number[], elemType: number = DataType.FLOAT): void {
    this.shapes.set(name, { dims, elemType });
  }

  // ---- small composite helpers shared by many rules ----

  /** A float tensor of zeros with static `dims`. */
  zeros(dims: number[]): string {
    return this.one('ConstantOfShape', [this.constInt64(dims)]);
  }

  /** `x` as int64 (index tensors may be int32). */
  int64(x: string): string {
    return this.elemType(x) === DataType.INT64 ? x : this.one('Cast', [x], { to: DataType.INT64 });
  }

  /** Sum a broadcast gradient back down to `target`'s shape (numpy broadcasting rules). */
  unbroadcast(grad: string, gradDims: number[], targetDims: number[]): string {
    if (gradDims.length === targetDims.length && gradDims.every((d, i) => d === targetDims[i]))
      return grad;
    const offset = gradDims.length - targetDims.length;
    const axes: number[] = [];
    for (let i = 0; i < gradDims.length; i++) {
      const t = i < offset ? 1 : targetDims[i - offset];
      if (i < offset || (t === 1 && gradDims[i] !== 1)) axes.push(i);
    }
    let out = grad;
    if (axes.length > 0)
      out = this.one('ReduceSum', [grad, this.constInt64(axes)], { keepdims: 1 });
    return this.one('Reshape', [out, this.constInt64(targetDims)]);
  }
}
