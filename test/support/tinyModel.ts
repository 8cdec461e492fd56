/**
 * Builds tiny but real ONNX recommenders in code (embedding -> mean pool -> output projection), so
 * error cases can be made by editing a known-good graph.
 */
import { onnx } from '../../src/core/onnx/model';
import { mulberry32 } from './helpers';

export interface TinyOptions {
  items?: number; // real items; ids 1..items, 0 = pad
  dim?: number;
  seqLen?: number | string;
  inputName?: string;
  outputName?: string;
  inputType?: number;
  seed?: number;
  /** Scores at every position ([batch, T, N]) instead of a mean-pooled [batch, N]. */
  allPositions?: boolean;
}

const { DataType } = onnx.TensorProto;

export function floatTensor(name: string, dims: number[], values: Float32Array): onnx.TensorProto {
  return onnx.TensorProto.create({
    name,
    dims,
    dataType: DataType.FLOAT,
    rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
  });
}

export function valueInfo(
  name: string,
  elemType: number,
  dims: (number | string)[],
): onnx.ValueInfoProto {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType,
        shape: {
          dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })),
        },
      },
    },
  });
}

export function tinyModel(options: TinyOptions = {}): onnx.ModelProto {
  const items = options.items ?? 30;
  const dim = options.dim ?? 8;
  const input = options.inputName ?? 'item_seq';
  const output = options.outputName ?? 'scores';
  const rand = mulberry32(options.seed ?? 1);
  const emb = new Float32Array((items + 1) * dim).map(() => rand() - 0.5);
  const proj = new Float32Array(dim * (items + 1)).map(() => rand() - 0.5);
  const seqLen = options.seqLen ?? 10;
  const gather = onnx.NodeProto.create({
    opType: 'Gather',
    input: ['item_emb', input],
    output: ['h'],
    name: 'emb',
  });
  const head = (from: string) =>
    onnx.NodeProto.create({
      opType: 'MatMul',
      input: [from, 'proj'],
      output: [output],
      name: 'head',
    });
  const pooled = [
    gather,
    onnx.NodeProto.create({
      opType: 'ReduceMean',
      input: ['h'],
      output: ['pooled'],
      name: 'pool',
      attribute: [
        { name: 'axes', type: onnx.AttributeProto.AttributeType.INTS, ints: [1] },
        { name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 0 },
      ],
    }),
    head('pooled'),
  ];
  const nodes = options.allPositions ? [gather, head('h')] : pooled;
  return onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'recmark-test',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'tiny',
      node: nodes,
      initializer: [
        floatTensor('item_emb', [items + 1, dim], emb),
        floatTensor('proj', [dim, items + 1], proj),
      ],
      input: [valueInfo(input, options.inputType ?? DataType.INT64, ['batch', seqLen])],
      output: [
        valueInfo(
          output,
          DataType.FLOAT,
          options.allPositions ? ['batch', seqLen, items + 1] : ['batch', items + 1],
        ),
      ],
    },
  });
}
