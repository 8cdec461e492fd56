/** Whether a model has a mask token (BERT4Rec) and which id it is, from graph structure alone. */
import { tensorDims, tensorValues, type GraphIndex } from './graph';

/**
 * A mask token exists when the embedding table has one row more than the score columns (BERT4Rec
 * with an N+1 head), or when a transformer has no causal mask (bidirectional, BERT4Rec): then the
 * mask is the last embedding row. Causal models (SASRec) and RNNs have none.
 */
export function detectMaskId(
  g: GraphIndex,
  embeddingRows: number | null,
  scoreWidth: number,
): number | null {
  if (embeddingRows === null) return null;
  if (embeddingRows === scoreWidth + 1) return embeddingRows - 1;
  if (embeddingRows !== scoreWidth) return null;
  const recurrent = g.nodesOfType('GRU', 'LSTM', 'RNN', 'Scan', 'Loop').length > 0;
  const attention = g.nodesOfType('Softmax').length > 0 && g.nodesOfType('MatMul').length > 2;
  if (recurrent || !attention || hasCausalMask(g)) return null;
  return embeddingRows - 1;
}

/**
 * Causal masks appear in three shapes in real exports: a Trilu node (torch.tril/triu at opset 14+),
 * a constant triangular matrix (folded at export), or positions compared with themselves
 * (`arange(T)[:, None] >= arange(T)[None, :]`): a comparison whose two sides share a Range.
 */
function hasCausalMask(g: GraphIndex): boolean {
  if (g.nodesOfType('Trilu').length > 0) return true;
  for (const cmp of g.nodesOfType('Less', 'LessOrEqual', 'Greater', 'GreaterOrEqual')) {
    const [a, b] = cmp.input ?? [];
    if (!a || !b) continue;
    const shared = [...rangeAncestors(g, a)].filter((r) => rangeAncestors(g, b).has(r));
    if (shared.length > 0) return true;
  }
  const candidates: string[] = [...g.initializers.keys()];
  for (const node of g.nodesOfType('Constant'))
    if (node.output?.[0]) candidates.push(node.output[0]);
  for (const name of candidates) {
    const t = g.constant(name);
    if (!t) continue;
    const dims = tensorDims(t).filter((d) => d !== 1);
    if (dims.length !== 2 || dims[0] !== dims[1] || dims[0] < 2 || dims[0] > 4096) continue;
    if (isTriangular(tensorValues(t), dims[0])) return true;
  }
  return false;
}

/** Range nodes (or folded constant aranges) a value is built from, a few hops up. */
function rangeAncestors(g: GraphIndex, value: string, depth = 8): Set<string> {
  const found = new Set<string>();
  const walk = (name: string, left: number): void => {
    const node = g.producer.get(name);
    const c = g.constant(name);
    if (c) {
      // A folded arange: one axis longer than 1 (e.g. [1, T] or [T, 1]) holding 0, 1, 2, ...
      const long = tensorDims(c).filter((d) => d > 1);
      if (long.length === 1 && long[0] <= 4096) {
        const v = tensorValues(c);
        if (v.every((x, i) => x === v[0] + i)) found.add(`arange:${v[0]}:${v.length}`);
      }
      return;
    }
    if (!node) return;
    if (node.opType === 'Range') {
      found.add(node.name || name);
      return;
    }
    if (left === 0) return;
    for (const input of node.input ?? []) if (input) walk(input, left - 1);
  };
  walk(value, depth);
  return found;
}

/** Strictly one-sided: everything above (or below) the diagonal equals one value, the rest another. */
function isTriangular(v: Float64Array, n: number): boolean {
  const upper = v[1];
  const lower = v[n];
  if (upper === lower) return false;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      if (v[i * n + j] !== (j > i ? upper : lower)) return false;
    }
  }
  return true;
}
