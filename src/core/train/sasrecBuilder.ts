/**
 * A SASRec graph built in code (DESIGN.md §5, issue 4 item 4), matching make_fixtures.py's
 * SASRec: tied item embedding (N(0, 1/d), pad row zero) scaled by sqrt(d) plus learned
 * positions, padded positions zeroed, pre-LN blocks (causal self-attention with key-padding mask,
 * ReLU feed-forward 4×d, residuals), a final LayerNormalization and scores = h · Eᵀ.
 * Input `item_seq` int64 [batch, maxLen], left-padded with 0; output `scores` float
 * [batch, numItems + 1] at the last position (or [batch, maxLen, numItems + 1] with
 * output: 'all', used for all-position training; both share initializer names, so weights
 * trained on one can be written into the other). Only ops with gradient rules are on the
 * weight path; the mask is built from Equal/Not/And/Or (non-differentiable) and applied by Where.
 * The model extraction attack trains a surrogate on this graph; the from-scratch training used
 * by tests and benches is test/support/scratch.ts.
 */
import { makeAttr } from '../onnx/attributes';
import { DataType, floatTensor, int64Tensor } from '../onnx/graph';
import { onnx } from '../onnx/model';
import { Rng } from '../util/random';

export interface SasrecOptions {
  numItems: number;
  hidden?: number;
  blocks?: number;
  heads?: number;
  maxLen?: number;
  seed?: number;
  /** 'last' (default): scores at the last position [B, W]; 'all': [B, T, W]. */
  output?: 'last' | 'all';
}

export const SASREC_DEFAULTS = { hidden: 64, blocks: 2, heads: 1, maxLen: 50, seed: 1 };

type Attr = number | number[] | string;

/** PyTorch-like random init from a seeded mulberry32 stream. */
class Init {
  constructor(private readonly rng: Rng) {}

  normal(n: number, std: number): Float32Array {
    return this.rng.normals(n, std);
  }

  uniform(n: number, bound: number): Float32Array {
    return Float32Array.from({ length: n }, () => (2 * this.rng.next() - 1) * bound);
  }
}

export function buildSasrec(options: SasrecOptions): onnx.ModelProto {
  const N = options.numItems;
  const d = options.hidden ?? SASREC_DEFAULTS.hidden;
  const blocks = options.blocks ?? SASREC_DEFAULTS.blocks;
  const H = options.heads ?? SASREC_DEFAULTS.heads;
  const T = options.maxLen ?? SASREC_DEFAULTS.maxLen;
  const output = options.output ?? 'last';
  if (!Number.isSafeInteger(N) || N < 1) throw new Error(`numItems must be ≥ 1, got ${N}`);
  if (!Number.isSafeInteger(d) || d < 1 || d % H !== 0)
    throw new Error(`hidden (${d}) must be a positive multiple of heads (${H})`);
  if (!Number.isSafeInteger(T) || T < 1) throw new Error(`maxLen must be ≥ 1, got ${T}`);
  const dk = d / H;
  const init = new Init(new Rng(options.seed ?? SASREC_DEFAULTS.seed));

  const nodes: onnx.INodeProto[] = [];
  const inits: onnx.TensorProto[] = [];
  let counter = 0;
  const node = (
    opType: string,
    inputs: string[],
    attrs: Record<string, Attr> = {},
    name?: string,
  ): string => {
    const out = name ?? `${opType.toLowerCase()}_${counter++}`;
    nodes.push({
      opType,
      input: inputs,
      output: [out],
      name: `n_${out}`,
      attribute: Object.entries(attrs).map(([k, v]) => makeAttr(k, v)),
    });
    return out;
  };
  const weight = (name: string, dims: number[], values: Float32Array): string => {
    inits.push(floatTensor(name, dims, values));
    return name;
  };
  const constF = (name: string, dims: number[], values: ArrayLike<number>): string => {
    inits.push(floatTensor(name, dims, values));
    return name;
  };
  const constI = (name: string, dims: number[], values: ArrayLike<number>): string => {
    inits.push(int64Tensor(name, dims, values));
    return name;
  };
  const boolConst = (name: string, dims: number[], values: ArrayLike<boolean>): string => {
    inits.push(
      onnx.TensorProto.create({
        name,
        dims,
        dataType: DataType.BOOL,
        rawData: Uint8Array.from(Array.from(values, (v) => (v ? 1 : 0))),
      }),
    );
    return name;
  };
  /** nn.Linear(in, out): weights stored [in, out] for MatMul, U(±1/sqrt(in)) like PyTorch. */
  const linear = (prefix: string, x: string, nIn: number, nOut: number): string => {
    const bound = 1 / Math.sqrt(nIn);
    const w = weight(`${prefix}.weight`, [nIn, nOut], init.uniform(nIn * nOut, bound));
    const b = weight(`${prefix}.bias`, [nOut], init.uniform(nOut, bound));
    return node('Add', [node('MatMul', [x, w]), b]);
  };
  const layerNorm = (prefix: string, x: string): string => {
    const g = weight(`${prefix}.weight`, [d], new Float32Array(d).fill(1));
    const b = weight(`${prefix}.bias`, [d], new Float32Array(d));
    return node('LayerNormalization', [x, g, b], { axis: -1, epsilon: 1e-5 });
  };

  // Embeddings: item table N(0, 1/d) with a zero pad row; positions N(0, 1) like nn.Embedding.
  const emb = init.normal((N + 1) * d, d ** -0.5);
  emb.fill(0, 0, d);
  const E = weight('item_emb.weight', [N + 1, d], emb);
  const P = weight('pos_emb.weight', [T, d], init.normal(T * d, 1));
  const seq = 'item_seq';
  const items = node('Gather', [E, seq], { axis: 0 });
  let x = node('Add', [node('Mul', [items, constF('emb_scale', [], [Math.sqrt(d)])]), P]);

  // Masks: real[b, j] = seq != 0; allowed[b, i, j] = (real[b, j] ∧ j ≤ i) ∨ i = j.
  const real = node('Not', [node('Equal', [seq, constI('pad_id', [], [0])])]);
  const realF = node('Cast', [real], { to: DataType.FLOAT });
  x = node('Mul', [x, node('Unsqueeze', [realF, constI('axis_2', [1], [2])])]);
  const causal = boolConst(
    'causal_mask',
    [T, T],
    Array.from({ length: T * T }, (_, k) => k % T <= Math.floor(k / T)),
  );
  const diag = boolConst(
    'diag_mask',
    [T, T],
    Array.from({ length: T * T }, (_, k) => k % T === Math.floor(k / T)),
  );
  const keys = node('Unsqueeze', [real, constI('axis_1', [1], [1])]); // [B, 1, T]
  const allowed = node('Or', [node('And', [keys, causal]), diag]); // [B, T, T]
  const allowed4 = node('Unsqueeze', [allowed, constI('axis_1b', [1], [1])]); // [B, 1, T, T]
  const negInf = constF('mask_value', [], [-1e9]);
  const headShape = constI('head_shape', [4], [0, 0, H, dk]);
  const mergeShape = constI('merge_shape', [3], [0, 0, d]);
  const attScale = constF('att_scale', [], [1 / Math.sqrt(dk)]);

  for (let b = 0; b < blocks; b++) {
    const p = `blocks.${b}`;
    const h = layerNorm(`${p}.ln1`, x);
    const split = (name: string, perm: number[]): string =>
      node('Transpose', [node('Reshape', [linear(`${p}.attn.${name}`, h, d, d), headShape])], {
        perm,
      });
    const q = split('q', [0, 2, 1, 3]); // [B, H, T, dk]
    const k = split('k', [0, 2, 3, 1]); // [B, H, dk, T]
    const v = split('v', [0, 2, 1, 3]);
    const logits = node('Mul', [node('MatMul', [q, k]), attScale]);
    const att = node('Softmax', [node('Where', [allowed4, logits, negInf])], { axis: -1 });
    const ctx = node('Reshape', [
      node('Transpose', [node('MatMul', [att, v])], { perm: [0, 2, 1, 3] }),
      mergeShape,
    ]);
    x = node('Add', [x, linear(`${p}.attn.out`, ctx, d, d)]);
    const f = layerNorm(`${p}.ln2`, x);
    const hidden = node('Relu', [linear(`${p}.ff.0`, f, d, 4 * d)]);
    x = node('Add', [x, linear(`${p}.ff.3`, hidden, 4 * d, d)]);
  }
  let hLast = layerNorm('ln', x);
  if (output === 'last') {
    hLast = node('Gather', [hLast, constI('last_position', [], [T - 1])], { axis: 1 }); // [B, d]
  }
  node('MatMul', [hLast, node('Transpose', [E], { perm: [1, 0] })], {}, 'scores');

  const W = N + 1;
  const info = (
    name: string,
    elemType: number,
    dims: (number | string)[],
  ): onnx.IValueInfoProto => ({
    name,
    type: {
      tensorType: {
        elemType,
        shape: {
          dim: dims.map((dim) => (typeof dim === 'number' ? { dimValue: dim } : { dimParam: dim })),
        },
      },
    },
  });
  return onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'recmark-sasrec-builder',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'sasrec',
      node: nodes,
      initializer: inits,
      input: [info(seq, DataType.INT64, ['batch', T])],
      output: [info('scores', DataType.FLOAT, output === 'last' ? ['batch', W] : ['batch', T, W])],
    },
  });
}
