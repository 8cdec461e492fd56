/** Every gradient rule checked against central finite differences (see gradcheck.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RecMarkError } from '../../src/core/errors';
import { GRADIENTS } from '../../src/core/train/gradients';
import { gradCheck, node, type OpCase } from './gradcheck';

const f = (name: string, dims: number[], range?: [number, number]) => ({ name, dims, range });
const ints = (name: string, values: number[]) => ({
  name,
  dims: [values.length],
  type: 'int64' as const,
  values,
});

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
];

for (const c of CASES) {
  test(`gradient: ${c.label}`, async () => {
    const { worst, checked } = await gradCheck(c);
    assert.ok(checked > 0);
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
