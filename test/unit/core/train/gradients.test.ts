/** Every gradient rule checked against central finite differences (see gradcheck.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RecMarkError } from '../../../../src/core/errors';
import { detectAdapter } from '../../../../src/core/onnx/adapter';
import { DataType, tensorDims, tensorValues } from '../../../../src/core/onnx/graph';
import { encodeModel, graphOf, onnx } from '../../../../src/core/onnx/model';
import { loadOrt } from '../../../../src/core/onnx/ort';
import { GRADIENTS } from '../../../../src/core/train/gradients';
import { inlineStaticIf, unrollRecurrent } from '../../../../src/core/train/rewrite';
import { probeShapes } from '../../../../src/core/train/shapes';
import { appendGrewBias, GREW_RAW_SCORES } from '../../../../src/core/watermark/grewGraph';
import { gradCheck, node, type CaseInput, type OpCase } from '../../../support/gradcheck';
import { mulberry32 } from '../../../support/helpers';
import { tinyModel } from '../../../support/tinyModel';

const f = (name: string, dims: number[], range?: [number, number]) => ({ name, dims, range });
const ints = (name: string, values: number[]) => ({
  name,
  dims: [values.length],
  type: 'int64' as const,
  values,
});

const idx = (
  name: string,
  dims: number[],
  values: number[],
  type: 'int64' | 'int32' = 'int64',
) => ({
  name,
  dims,
  type,
  values,
});
const fixed = (name: string, dims: number[]) => ({ name, dims, fixed: true });

/** A float input whose entries are a shuffled grid 0.1 apart (no two within a finite-difference step). */
function spaced(name: string, dims: number[], seed: number) {
  const n = dims.reduce((a, b) => a * b, 1);
  const rand = mulberry32(seed);
  const grid = Array.from({ length: n }, (_, i) => (i - n / 2) * 0.1);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [grid[i], grid[j]] = [grid[j], grid[i]];
  }
  return { name, dims, values: grid };
}

export const CASES: OpCase[] = [
  { label: 'Identity', inputs: [f('a', [2, 3])], nodes: [node('Identity', ['a'])] },
  {
    label: 'Add with broadcasting',
    inputs: [f('a', [2, 3, 4]), f('b', [3, 1])],
    nodes: [node('Add', ['a', 'b'])],
  },
  {
    label: 'Sub with broadcasting',
    inputs: [f('a', [4]), f('b', [2, 4])],
    nodes: [node('Sub', ['a', 'b'])],
  },
  {
    label: 'Mul with broadcasting',
    inputs: [f('a', [2, 1, 3]), f('b', [4, 3])],
    nodes: [node('Mul', ['a', 'b'])],
  },
  {
    label: 'Div',
    inputs: [f('a', [2, 3]), f('b', [2, 3], [0.5, 2])],
    nodes: [node('Div', ['a', 'b'])],
  },
  { label: 'Neg', inputs: [f('a', [5])], nodes: [node('Neg', ['a'])] },
  {
    label: 'MatMul 2-D',
    inputs: [f('a', [3, 4]), f('b', [4, 2])],
    nodes: [node('MatMul', ['a', 'b'])],
  },
  {
    label: 'MatMul batched × matrix',
    inputs: [f('a', [2, 3, 4]), f('b', [4, 2])],
    nodes: [node('MatMul', ['a', 'b'])],
  },
  {
    label: 'MatMul batched × batched',
    inputs: [f('a', [2, 1, 3, 4]), f('b', [3, 4, 2])],
    nodes: [node('MatMul', ['a', 'b'])],
  },
  {
    label: 'MatMul matrix × vector',
    inputs: [f('a', [3, 4]), f('b', [4])],
    nodes: [node('MatMul', ['a', 'b'])],
  },
  {
    label: 'MatMul vector × matrix',
    inputs: [f('a', [4]), f('b', [4, 3])],
    nodes: [node('MatMul', ['a', 'b'])],
  },
  ...[
    [0, 0],
    [1, 0],
    [0, 1],
    [1, 1],
  ].map(([transA, transB]) => ({
    label: `Gemm transA=${transA} transB=${transB}`,
    inputs: [f('a', transA ? [4, 3] : [3, 4]), f('b', transB ? [2, 4] : [4, 2]), f('c', [2])],
    nodes: [node('Gemm', ['a', 'b', 'c'], ['y'], { transA, transB }, { alpha: 0.7, beta: 1.3 })],
  })),
  {
    label: 'Relu',
    inputs: [{ name: 'a', dims: [6], values: [-1.5, -0.4, 0.3, 0.8, -0.9, 1.2] }],
    nodes: [node('Relu', ['a'])],
  },
  { label: 'Tanh', inputs: [f('a', [2, 3])], nodes: [node('Tanh', ['a'])] },
  { label: 'Sigmoid', inputs: [f('a', [2, 3])], nodes: [node('Sigmoid', ['a'])] },
  { label: 'Exp', inputs: [f('a', [2, 3])], nodes: [node('Exp', ['a'])] },
  { label: 'Log', inputs: [f('a', [2, 3], [0.5, 2])], nodes: [node('Log', ['a'])] },
  { label: 'Sqrt', inputs: [f('a', [2, 3], [0.5, 2])], nodes: [node('Sqrt', ['a'])] },
  { label: 'Reciprocal', inputs: [f('a', [2, 3], [0.5, 2])], nodes: [node('Reciprocal', ['a'])] },
  { label: 'Erf', inputs: [f('a', [2, 3])], nodes: [node('Erf', ['a'])] },
  {
    label: 'Pow with a constant exponent',
    inputs: [f('a', [2, 3], [0.5, 2]), { name: 'p', dims: [], values: [2.5], fixed: true }],
    nodes: [node('Pow', ['a', 'p'])],
  },
  {
    label: 'Softmax last axis',
    inputs: [f('a', [2, 5])],
    nodes: [node('Softmax', ['a'], ['y'], { axis: -1 })],
  },
  {
    label: 'Softmax middle axis',
    inputs: [f('a', [2, 3, 4])],
    nodes: [node('Softmax', ['a'], ['y'], { axis: 1 })],
  },
  {
    label: 'LogSoftmax',
    inputs: [f('a', [3, 4])],
    nodes: [node('LogSoftmax', ['a'], ['y'], { axis: -1 })],
  },
  {
    label: 'ReduceMean keepdims',
    inputs: [f('a', [2, 3, 4])],
    nodes: [node('ReduceMean', ['a'], ['y'], { axes: [-1] })],
  },
  {
    label: 'ReduceMean two axes, no keepdims',
    inputs: [f('a', [2, 3, 4])],
    nodes: [node('ReduceMean', ['a'], ['y'], { axes: [0, 2], keepdims: 0 })],
  },
  {
    label: 'ReduceSum with axes input',
    inputs: [f('a', [2, 3, 4]), ints('axes', [1])],
    nodes: [node('ReduceSum', ['a', 'axes'], ['y'], { keepdims: 0 })],
  },
  {
    label: 'ReduceSum over everything',
    inputs: [f('a', [2, 3])],
    nodes: [node('ReduceSum', ['a'], ['y'], { keepdims: 1 })],
  },
  {
    label: 'Transpose',
    inputs: [f('a', [2, 3, 4])],
    nodes: [node('Transpose', ['a'], ['y'], { perm: [2, 0, 1] })],
  },
  {
    label: 'Reshape',
    inputs: [f('a', [2, 6]), ints('shape', [3, -1])],
    nodes: [node('Reshape', ['a', 'shape'])],
  },
  {
    label: 'Flatten',
    inputs: [f('a', [2, 3, 2])],
    nodes: [node('Flatten', ['a'], ['y'], { axis: 1 })],
  },
  {
    label: 'Squeeze',
    inputs: [f('a', [2, 1, 3]), ints('axes', [1])],
    nodes: [node('Squeeze', ['a', 'axes'])],
  },
  {
    label: 'Unsqueeze',
    inputs: [f('a', [2, 3]), ints('axes', [0, 3])],
    nodes: [node('Unsqueeze', ['a', 'axes'])],
  },
  {
    label: 'Expand',
    inputs: [f('a', [3, 1]), ints('shape', [2, 3, 4])],
    nodes: [node('Expand', ['a', 'shape'])],
  },
  {
    label: 'Where',
    inputs: [
      { name: 'c', dims: [2, 3], type: 'bool', values: [1, 0, 1, 0, 0, 1] },
      f('a', [2, 3]),
      f('b', [3]),
    ],
    nodes: [node('Where', ['c', 'a', 'b'])],
  },
  {
    label: 'Cast float to float',
    inputs: [f('a', [2, 2])],
    nodes: [node('Cast', ['a'], ['y'], { to: 1 })],
  },
  {
    label: 'a value used twice sums its gradients',
    inputs: [f('a', [2, 3])],
    nodes: [node('Mul', ['a', 'a'], ['sq']), node('Add', ['sq', 'a'])],
  },
  {
    label: 'Gather axis 0 (embedding), 2-D int64 ids with repeats and a negative id',
    inputs: [f('e', [5, 3]), idx('ids', [2, 3], [1, 4, 1, 0, -1, 1])],
    nodes: [node('Gather', ['e', 'ids'])],
  },
  {
    label: 'Gather axis 0, int32 ids',
    inputs: [f('e', [4, 2, 2]), idx('ids', [3], [3, 3, 0], 'int32')],
    nodes: [node('Gather', ['e', 'ids'])],
  },
  {
    label: 'Gather axis 1, scalar index -1 (h[:, -1])',
    inputs: [f('h', [2, 4, 3]), idx('i', [], [-1])],
    nodes: [node('Gather', ['h', 'i'], ['y'], { axis: 1 })],
  },
  {
    label: 'Gather axis 1, vector index',
    inputs: [f('h', [2, 4, 3]), idx('i', [3], [2, 0, 2])],
    nodes: [node('Gather', ['h', 'i'], ['y'], { axis: 1 })],
  },
  {
    label: 'Gather axis -1, matrix index',
    inputs: [f('h', [2, 3, 4]), idx('i', [2, 2], [0, 3, 3, 1])],
    nodes: [node('Gather', ['h', 'i'], ['y'], { axis: -1 })],
  },
  {
    label: 'GatherElements axis 1 with repeats',
    inputs: [f('a', [2, 4, 3]), idx('i', [2, 2, 3], [0, 1, 3, 3, 3, -1, 2, 2, 0, 1, 0, 1])],
    nodes: [node('GatherElements', ['a', 'i'], ['y'], { axis: 1 })],
  },
  {
    label: 'GatherElements axis 0, int32',
    inputs: [f('a', [3, 2]), idx('i', [2, 2], [2, 0, 2, 2], 'int32')],
    nodes: [node('GatherElements', ['a', 'i'], ['y'], { axis: 0 })],
  },
  {
    label: 'Concat axis 1, three inputs',
    inputs: [f('a', [2, 1, 3]), f('b', [2, 3, 3]), f('c', [2, 2, 3])],
    nodes: [node('Concat', ['a', 'b', 'c'], ['y'], { axis: 1 })],
  },
  {
    label: 'Concat axis -1 with a fixed input',
    inputs: [f('a', [2, 2]), fixed('b', [2, 3])],
    nodes: [node('Concat', ['a', 'b'], ['y'], { axis: -1 })],
  },
  {
    label: 'Split with a split input, both outputs used',
    inputs: [f('a', [2, 5]), ints('split', [2, 3]), ints('ax', [1])],
    nodes: [
      node('Split', ['a', 'split'], ['p', 'q'], { axis: 1 }),
      node('ReduceSum', ['q', 'ax'], ['qs'], { keepdims: 1 }),
      node('Mul', ['p', 'qs']),
    ],
  },
  {
    label: 'Split into equal parts, one output unused',
    inputs: [f('a', [6, 2])],
    nodes: [node('Split', ['a'], ['p', 'q', 'r'], { axis: 0 }), node('Mul', ['p', 'r'])],
  },
  {
    label: 'Slice step 1, negative start, two axes',
    inputs: [f('a', [3, 5, 2]), ints('st', [-4, 1]), ints('en', [1000, 3]), ints('ax', [1, 0])],
    nodes: [node('Slice', ['a', 'st', 'en', 'ax'])],
  },
  {
    label: 'Slice step 2 and step -1',
    inputs: [
      f('a', [4, 6]),
      ints('st', [1, -1]),
      ints('en', [6, -1000]),
      ints('ax', [1, 0]),
      ints('sp', [2, -1]),
    ],
    nodes: [node('Slice', ['a', 'st', 'en', 'ax', 'sp'])],
  },
  {
    label: 'Slice without axes',
    inputs: [f('a', [4, 3]), ints('st', [1]), ints('en', [3])],
    nodes: [node('Slice', ['a', 'st', 'en'])],
  },
  {
    label: 'LayerNormalization last axis',
    inputs: [f('x', [2, 3, 4]), f('s', [4]), f('b', [4])],
    nodes: [node('LayerNormalization', ['x', 's', 'b'], ['y'], { axis: -1 }, { epsilon: 1e-5 })],
    opset: 17,
  },
  {
    label: 'LayerNormalization axis 1, no bias, epsilon 1e-2',
    inputs: [f('x', [2, 3, 4]), f('s', [3, 4])],
    nodes: [node('LayerNormalization', ['x', 's'], ['y'], { axis: 1 }, { epsilon: 1e-2 })],
    opset: 17,
  },
  {
    label: 'Trilu lower',
    inputs: [f('a', [2, 3, 3])],
    nodes: [node('Trilu', ['a'], ['y'], { upper: 0 })],
  },
  {
    label: 'Trilu upper with k',
    inputs: [f('a', [3, 4]), idx('k', [], [1])],
    nodes: [node('Trilu', ['a', 'k'], ['y'], { upper: 1 })],
  },
  {
    label: 'Sum of three with broadcasting',
    inputs: [f('a', [2, 3]), f('b', [3]), f('c', [2, 1])],
    nodes: [node('Sum', ['a', 'b', 'c'])],
  },
  {
    label: 'Max with broadcasting',
    inputs: [f('a', [2, 3]), f('b', [3])],
    nodes: [node('Max', ['a', 'b'])],
  },
  {
    label: 'Min of three',
    inputs: [f('a', [4]), f('b', [4]), f('c', [4])],
    nodes: [node('Min', ['a', 'b', 'c'])],
  },
  {
    label: 'Max with ties (split evenly, as central differences see it)',
    inputs: [
      { name: 'a', dims: [3], values: [0.5, -0.25, 1] },
      { name: 'b', dims: [3], values: [0.5, 0.75, 1] },
    ],
    nodes: [node('Max', ['a', 'b'])],
  },
  { label: 'Softplus', inputs: [f('a', [2, 3], [-3, 3])], nodes: [node('Softplus', ['a'])] },
  {
    label: 'LeakyRelu',
    inputs: [{ name: 'a', dims: [6], values: [-1.5, -0.4, 0.3, 0.8, -0.9, 1.2] }],
    nodes: [node('LeakyRelu', ['a'], ['y'], {}, { alpha: 0.2 })],
  },
  {
    label: 'Gelu exact (opset 20)',
    inputs: [f('a', [2, 4], [-3, 3])],
    nodes: [node('Gelu', ['a'])],
    opset: 20,
  },
  {
    label: 'Gelu tanh (opset 20)',
    inputs: [f('a', [2, 4], [-3, 3])],
    nodes: [node('Gelu', ['a'], ['y'], { approximate: 'tanh' })],
    opset: 20,
  },
  // TopK's inputs are a shuffled grid 0.1 apart, so the ±5e-3 steps of the finite differences
  // never change which entries are selected (at a tie the selection, and the gradient, jump).
  {
    label: 'TopK largest, last axis, sorted',
    inputs: [spaced('a', [2, 6], 3), ints('k', [3])],
    nodes: [node('TopK', ['a', 'k'], ['y', 'i'], { axis: -1 })],
  },
  {
    label: 'TopK smallest, axis 0, unsorted',
    inputs: [spaced('a', [5, 3], 4), ints('k', [2])],
    nodes: [node('TopK', ['a', 'k'], ['y', 'i'], { axis: 0, largest: 0, sorted: 0 })],
  },
  {
    label: 'TopK values scaled by their (non-differentiable) indices',
    inputs: [spaced('a', [3, 4], 5), ints('k', [2])],
    nodes: [
      node('TopK', ['a', 'k'], ['v', 'i'], { axis: 1 }),
      node('Cast', ['i'], ['fi'], { to: 1 }),
      node('Mul', ['v', 'fi']),
    ],
  },
  {
    label: 'Conv 1-D with bias and pads',
    inputs: [f('x', [2, 3, 7]), f('w', [4, 3, 3]), f('b', [4])],
    nodes: [node('Conv', ['x', 'w', 'b'], ['y'], { pads: [1, 2] })],
  },
  {
    label: 'Conv 1-D dilation 2, no bias',
    inputs: [f('x', [2, 2, 8]), f('w', [3, 2, 3])],
    nodes: [node('Conv', ['x', 'w'], ['y'], { dilations: [2], pads: [2, 0], kernel_shape: [3] })],
  },
  {
    label: 'Conv 2-D with asymmetric pads',
    inputs: [f('x', [1, 2, 5, 4]), f('w', [3, 2, 2, 3]), f('b', [3])],
    nodes: [node('Conv', ['x', 'w', 'b'], ['y'], { pads: [1, 0, 0, 1] })],
  },
];

for (const c of CASES) {
  test(`gradient: ${c.label}`, async () => {
    const { worst, checked } = await gradCheck(c);
    assert.ok(checked > 0);
    assert.ok(worst <= 1, `worst error ${worst.toFixed(2)}× the tolerance`);
  });
}

// The GREW serve-mode head (grewGraph.ts) as a whole, so fine-tuning and AOW embedding can train
// a model RecMark wrote in serve mode: every op it uses on the score path has a rule (TopK,
// Slice, LogSoftmax, Exp, MatMul, Sqrt, Min, Mul, Add, Sub; the comparisons carry none). Raw
// scores on a 0.1 grid keep the top-Kc set, the protected head and the cap fixed under the
// finite-difference steps.
for (const protectHead of [0, 3]) {
  test(`gradient: the GREW serve head, protected head ${protectHead}`, async () => {
    const items = 20;
    const proto = tinyModel({ items, seqLen: 4, seed: 2 });
    const adapter = detectAdapter({ proto, file: 'tiny.onnx', fileBytes: 0, externalFiles: [] });
    const rand = mulberry32(9);
    const green = new Uint8Array(items + 1).map((_, id) => (id > 0 && rand() < 0.5 ? 1 : 0));
    const marked = graphOf(appendGrewBias(proto, adapter, { green, delta: 1, kc: 8, protectHead }));
    const isHead = (name: string | null | undefined) =>
      (name ?? '').startsWith('score_calibration/');
    const nodes = marked.node.slice(graphOf(proto).node.length); // the appended head
    const constants: CaseInput[] = marked.initializer
      .filter((t) => isHead(t.name))
      .map((t) => ({
        name: t.name ?? '',
        dims: tensorDims(t),
        type: t.dataType === DataType.INT64 ? 'int64' : 'float',
        fixed: true,
        values: Array.from(tensorValues(t)),
      }));
    const ops = new Set(nodes.map((n) => n.opType));
    for (const op of [
      'TopK',
      'Slice',
      'LogSoftmax',
      'Sqrt',
      'MatMul',
      ...(protectHead ? ['Min'] : []),
    ])
      assert.ok(ops.has(op), `the head uses ${op}`);
    const { worst, checked } = await gradCheck({
      label: 'GREW head',
      inputs: [spaced(GREW_RAW_SCORES, [2, items + 1], 6), ...constants],
      nodes,
      output: adapter.output,
    });
    assert.equal(checked, 2 * (items + 1));
    assert.ok(worst <= 1, `worst error ${worst.toFixed(2)}× the tolerance`);
  });
}

test('an op without a rule on the gradient path is named in the error', async () => {
  assert.equal(GRADIENTS.HardSwish, undefined);
  await assert.rejects(
    gradCheck({ label: 'no rule', inputs: [f('a', [3])], nodes: [node('HardSwish', ['a'])] }),
    (err: unknown) =>
      err instanceof RecMarkError && /HardSwish node "HardSwish_y"/.test(err.message),
  );
});

test('unsupported Conv attributes are named in the error', async () => {
  await assert.rejects(
    gradCheck({
      label: 'strided conv',
      inputs: [f('x', [1, 1, 6]), f('w', [1, 1, 2])],
      nodes: [node('Conv', ['x', 'w'], ['y'], { strides: [2] })],
    }),
    (err: unknown) =>
      err instanceof RecMarkError &&
      err.code === 'train-unsupported' &&
      /Conv node "Conv_y": strides/.test(err.message),
  );
});

// ---- GRU, unrolled into primitives by rewrite.ts (hidden 3, input 2, seq 4, batch 2) ----

const gruInputs = (bias: boolean, h0: boolean) => [
  f('x', [4, 2, 2]),
  f('w', [1, 9, 2]),
  f('r', [1, 9, 3]),
  ...(bias ? [f('b', [1, 18])] : []),
  ...(h0 ? [f('h0', [1, 2, 3])] : []),
];
const gruNode = (lbr: number, bias: boolean, h0: boolean, outputs: string[], lens = '') =>
  node('GRU', ['x', 'w', 'r', bias ? 'b' : '', lens, h0 ? 'h0' : ''], outputs, {
    hidden_size: 3,
    linear_before_reset: lbr,
  });

const GRU_CASES: OpCase[] = [
  {
    label: 'GRU (unrolled) linear_before_reset=1, bias, initial_h, output Y',
    inputs: gruInputs(true, true),
    nodes: [gruNode(1, true, true, ['y', 'yh'])],
    rewrite: unrollRecurrent,
  },
  {
    label: 'GRU (unrolled) linear_before_reset=1, no bias, output Y_h',
    inputs: gruInputs(false, false),
    nodes: [gruNode(1, false, false, ['ys', 'y'])],
    rewrite: unrollRecurrent,
  },
  {
    label: 'GRU (unrolled) linear_before_reset=0, bias, Y and Y_h both used',
    inputs: gruInputs(true, true),
    nodes: [gruNode(0, true, true, ['ys', 'yh']), node('Add', ['ys', 'yh'])],
    rewrite: unrollRecurrent,
  },
];

for (const c of GRU_CASES) {
  test(`gradient: ${c.label}`, async () => {
    const { worst, checked } = await gradCheck(c);
    assert.ok(checked > 0);
    assert.ok(worst <= 1, `worst error ${worst.toFixed(2)}× the tolerance`);
  });
}

/** Run a small model whose inputs are all initializers; returns its outputs. */
async function runAll(proto: onnx.ModelProto): Promise<Record<string, Float32Array>> {
  const { InferenceSession } = await loadOrt();
  const session = await InferenceSession.create(encodeModel(proto));
  try {
    const result = await session.run({});
    return Object.fromEntries(Object.entries(result).map(([k, v]) => [k, v.data as Float32Array]));
  } finally {
    await session.release();
  }
}

function gruModel(c: { lbr: number; bias: boolean; h0: boolean; lens: boolean }, seed: number) {
  const rand = mulberry32(seed);
  const tensor = (name: string, dims: number[]): onnx.TensorProto => {
    const n = dims.reduce((a, b) => a * b, 1);
    const data = Float32Array.from({ length: n }, () => rand() * 2 - 1);
    return onnx.TensorProto.create({
      name,
      dims,
      dataType: onnx.TensorProto.DataType.FLOAT,
      rawData: new Uint8Array(data.buffer),
    });
  };
  const [S, B, I, H] = [5, 3, 4, 6];
  const lens = new Int32Array(B).fill(S);
  const initializer = [
    tensor('x', [S, B, I]),
    tensor('w', [1, 3 * H, I]),
    tensor('r', [1, 3 * H, H]),
    ...(c.bias ? [tensor('b', [1, 6 * H])] : []),
    ...(c.h0 ? [tensor('h0', [1, B, H])] : []),
    ...(c.lens
      ? [
          onnx.TensorProto.create({
            name: 'lens',
            dims: [B],
            dataType: onnx.TensorProto.DataType.INT32,
            rawData: new Uint8Array(lens.buffer),
          }),
        ]
      : []),
  ];
  const gru = node(
    'GRU',
    ['x', 'w', 'r', c.bias ? 'b' : '', c.lens ? 'lens' : '', c.h0 ? 'h0' : ''],
    ['y', 'yh'],
    { hidden_size: H, linear_before_reset: c.lbr },
  );
  return onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 15 }],
    graph: {
      name: 'gru',
      node: [gru],
      initializer,
      input: [],
      output: ['y', 'yh'].map((name) => onnx.ValueInfoProto.create({ name })),
    },
  });
}

for (const c of [
  { lbr: 1, bias: true, h0: true, lens: false },
  { lbr: 1, bias: false, h0: false, lens: true },
  { lbr: 0, bias: true, h0: false, lens: false },
  { lbr: 0, bias: false, h0: true, lens: true },
]) {
  test(`unrolled GRU matches ORT's GRU: ${JSON.stringify(c)}`, async () => {
    const model = gruModel(c, 7);
    const shapes = await probeShapes(model, {});
    const unrolled = unrollRecurrent(model, shapes);
    assert.ok(!graphOf(unrolled).node.some((n) => n.opType === 'GRU'));
    const [want, got] = [await runAll(model), await runAll(unrolled)];
    for (const name of ['y', 'yh']) {
      assert.equal(got[name].length, want[name].length);
      const worst = want[name].reduce((m, v, i) => Math.max(m, Math.abs(v - got[name][i])), 0);
      assert.ok(worst < 1e-5, `${name}: max |Δ| ${worst}`);
    }
  });
}

test('GRU attributes the unrolling does not cover are named in the error', async () => {
  const model = gruModel({ lbr: 1, bias: true, h0: false, lens: false }, 3);
  const gru = graphOf(model).node[0];
  gru.attribute = [
    ...(gru.attribute ?? []),
    onnx.AttributeProto.create({
      name: 'direction',
      type: onnx.AttributeProto.AttributeType.STRING,
      s: Buffer.from('bidirectional'),
    }),
  ];
  assert.throws(
    () => unrollRecurrent(model, new Map()),
    (err: unknown) =>
      err instanceof RecMarkError &&
      err.code === 'train-unsupported' &&
      /GRU node "GRU_y": only forward/.test(err.message),
  );
});

// ---- If: inlined when its condition depends only on shapes ----

function ifNode(cond: string): onnx.INodeProto {
  const AT = onnx.AttributeProto.AttributeType;
  const floatOut = (name: string) =>
    onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: 1 } } });
  const branch = (name: string, body: onnx.INodeProto, output: string): onnx.IAttributeProto => ({
    name,
    type: AT.GRAPH,
    g: { name, node: [body], output: [floatOut(output)] },
  });
  return {
    opType: 'If',
    name: 'If_y',
    input: [cond],
    output: ['y'],
    attribute: [
      branch('then_branch', node('Mul', ['a', 'a'], ['then_y']), 'then_y'),
      branch('else_branch', node('Neg', ['a'], ['else_y']), 'else_y'),
    ],
  };
}

test('gradient: If on a shape-only condition (inlined)', async () => {
  const { worst, checked } = await gradCheck({
    label: 'If on shapes',
    inputs: [f('a', [2, 3]), idx('zero', [], [0]), idx('two', [], [2])],
    nodes: [
      node('Shape', ['a'], ['s']),
      node('Gather', ['s', 'zero'], ['d0']),
      node('Equal', ['d0', 'two'], ['c']),
      ifNode('c'),
    ],
    rewrite: inlineStaticIf,
  });
  assert.ok(checked > 0);
  assert.ok(worst <= 1, `worst error ${worst.toFixed(2)}× the tolerance`);
});

test('an If on data values is refused by name', () => {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 16 }],
    graph: {
      name: 'if on data',
      node: [
        node('ReduceSum', ['a'], ['s'], { keepdims: 0 }),
        node('Greater', ['s', 'zero'], ['c']),
        ifNode('c'),
      ],
      input: [
        onnx.ValueInfoProto.create({ name: 'a' }),
        onnx.ValueInfoProto.create({ name: 'zero' }),
      ],
      output: [onnx.ValueInfoProto.create({ name: 'y' })],
    },
  });
  assert.throws(
    () => inlineStaticIf(model, new Map()),
    (err: unknown) =>
      err instanceof RecMarkError &&
      err.code === 'train-unsupported' &&
      /If node "If_y": its condition depends on data/.test(err.message),
  );
});
