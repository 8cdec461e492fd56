/**
 * Tiny [batch, T, N] recommenders built in code for the last-position rewrite's tests: a
 * right-padded one with a length input, one whose score output itself mixes positions, and one
 * whose scores are random (so a rewrite cannot reproduce them).
 */
import { makeAttr } from '../../src/core/onnx/attributes';
import { floatTensor, int64Tensor } from '../../src/core/onnx/graph';
import { onnx } from '../../src/core/onnx/model';
import { mulberry32 } from './helpers';
import { tinyModel, valueInfo } from './tinyModel';

const { DataType } = onnx.TensorProto;

export interface PositionModelOptions {
  items?: number;
  dim?: number;
  seqLen?: number;
  seed?: number;
  /**
   * How rightPaddedModel mixes positions: a CumSum (default), or a MatMul with a trainable
   * [T, T] lower-triangular matrix (differentiable, so training reaches the embeddings).
   */
  mixing?: 'cumsum' | 'matmul';
}

const node = (
  opType: string,
  input: string[],
  output: string,
  attrs: Record<string, number> = {},
): onnx.INodeProto => ({
  opType,
  input,
  output: [output],
  name: output,
  attribute: Object.entries(attrs).map(([k, v]) => makeAttr(k, v)),
});

function model(
  nodes: onnx.INodeProto[],
  initializer: onnx.TensorProto[],
  input: onnx.ValueInfoProto[],
  output: onnx.ValueInfoProto,
): onnx.ModelProto {
  return onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'recmark-test',
    opsetImport: [{ domain: '', version: 13 }],
    graph: { name: 'positions', node: nodes, initializer, input, output: [output] },
  });
}

function weights(options: PositionModelOptions) {
  const items = options.items ?? 30;
  const dim = options.dim ?? 8;
  const T = options.seqLen ?? 10;
  const rand = mulberry32(options.seed ?? 1);
  const values = (n: number) => Float32Array.from({ length: n }, () => rand() - 0.5);
  return {
    items,
    dim,
    T,
    W: items + 1,
    inits: [
      floatTensor('item_emb', [items + 1, dim], values((items + 1) * dim)),
      floatTensor('proj', [dim, items + 1], values(dim * (items + 1))),
      floatTensor('bias', [items + 1], values(items + 1)),
      floatTensor('scale', [dim], values(dim)),
    ],
  };
}

/**
 * Right padding with a length input: a running sum (or mean) over positions (it mixes them, so
 * the gather must come after it), zeroed past each row's length, then a position-wise head.
 */
export function rightPaddedModel(options: PositionModelOptions = {}): onnx.ModelProto {
  const { T, W, inits } = weights(options);
  const nodes = [
    node('Gather', ['item_emb', 'item_seq'], 'h', { axis: 0 }),
    options.mixing === 'matmul'
      ? node('MatMul', ['causal', 'h'], 'running')
      : node('CumSum', ['h', 'axis_1'], 'running'),
    node('Unsqueeze', ['item_seq_len', 'axes_1'], 'len_col'),
    node('Less', ['positions', 'len_col'], 'valid'),
    node('Cast', ['valid'], 'valid_f', { to: DataType.FLOAT }),
    node('Unsqueeze', ['valid_f', 'axes_2'], 'valid_3d'),
    node('Mul', ['running', 'valid_3d'], 'masked'),
    node('Relu', ['masked'], 'act'),
    node('Mul', ['act', 'scale'], 'scaled'),
    node('MatMul', ['scaled', 'proj'], 'logits'),
    node('Add', ['logits', 'bias'], 'scores'),
  ];
  inits.push(
    int64Tensor('axis_1', [], [1]),
    int64Tensor('axes_1', [1], [1]),
    int64Tensor('axes_2', [1], [2]),
    int64Tensor(
      'positions',
      [T],
      Array.from({ length: T }, (_, i) => i),
    ),
  );
  if (options.mixing === 'matmul') {
    const causal = Float32Array.from({ length: T * T }, (_, k) =>
      k % T <= Math.floor(k / T) ? 1 / (1 + Math.floor(k / T)) : 0,
    );
    inits.push(floatTensor('causal', [T, T], causal));
  }
  return model(
    nodes,
    inits,
    [
      valueInfo('item_seq', DataType.INT64, ['batch', T]),
      valueInfo('item_seq_len', DataType.INT64, ['batch']),
    ],
    valueInfo('scores', DataType.FLOAT, ['batch', T, W]),
  );
}

/** Scores whose last op mixes positions (a running sum over T): nothing to rewrite. */
export function mixingOutputModel(options: PositionModelOptions = {}): onnx.ModelProto {
  const { T, W, inits } = weights(options);
  inits.push(int64Tensor('axis_1', [], [1]));
  return model(
    [
      node('Gather', ['item_emb', 'item_seq'], 'h', { axis: 0 }),
      node('MatMul', ['h', 'proj'], 'logits'),
      node('CumSum', ['logits', 'axis_1'], 'scores'),
    ],
    inits,
    [valueInfo('item_seq', DataType.INT64, ['batch', T])],
    valueInfo('scores', DataType.FLOAT, ['batch', T, W]),
  );
}

/**
 * The tiny all-position model with dropout left in training mode after the head: its scores
 * depend on the tensor shape the random mask is drawn for, so no rewrite reproduces them.
 */
export function randomScoresModel(options: PositionModelOptions = {}): onnx.ModelProto {
  const proto = tinyModel({ ...options, allPositions: true, seqLen: options.seqLen ?? 10 });
  const graph = proto.graph as onnx.GraphProto;
  for (const n of graph.node)
    n.output = (n.output ?? []).map((o) => (o === 'scores' ? 'logits' : o));
  graph.node.push({
    opType: 'Dropout',
    input: ['logits', 'ratio', 'training'],
    output: ['scores'],
    name: 'dropout',
    attribute: [makeAttr('seed', 7)],
  } as onnx.NodeProto);
  graph.initializer.push(
    floatTensor('ratio', [], [0.5]),
    onnx.TensorProto.create({
      name: 'training',
      dims: [],
      dataType: DataType.BOOL,
      rawData: Uint8Array.of(1),
    }),
  );
  return proto;
}
