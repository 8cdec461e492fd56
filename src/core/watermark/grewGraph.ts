/**
 * GREW embedding as graph surgery: nodes appended after the score output apply decision-aligned
 * masking and confidence-aware scaling (DESIGN.md §4), so the watermarked file is a drop-in
 * replacement with the same input and output names and shapes.
 *
 *   s' = s + δ · u · σ · green · [s ≥ kth best real score]
 *   u  = H(softmax(top-Kc)) / ln Kc,  σ = std(top-Kc)
 *
 * Head protection (our addition, `protectHead` = m > 0): the m best items keep their scores and
 * order, and a boosted item is capped just below the m-th score. What a user sees first (the
 * top m) is untouched; the evidence lives in ranks m+1..k of the top-k lists, where green items
 * from the rest of the competitive set move in. With m = 0 this is exactly the formula above.
 *
 * Means and sums over the Kc axis use MatMul with a constant vector, which behaves the same at
 * every opset (ReduceSum/ReduceMean moved their axes from attribute to input across opsets).
 */
import { RecMarkError } from '../errors';
import type { Adapter } from '../onnx/adapter';
import { makeAttr } from '../onnx/attributes';
import { floatTensor, int64Tensor } from '../onnx/graph';
import { cloneModel, defaultOpset, graphOf, onnx } from '../onnx/model';

export interface GrewGraphParams {
  green: Uint8Array;
  delta: number;
  kc: number;
  /** Leave the m best items untouched (0 = bias the whole competitive set). */
  protectHead: number;
}

/** Every node and initializer of the head is named `score_calibration/...`. */
export const GREW_SERVE_PREFIX = 'score_calibration';
const PREFIX = GREW_SERVE_PREFIX;
/** What GREW embedding renames the model's original score output to. */
export const GREW_RAW_SCORES = `${PREFIX}/raw_scores`;

/** Whether a node or initializer name belongs to a serve-mode head (the first or a stacked one). */
export function isGrewServeName(name: string | null | undefined): boolean {
  return /^score_calibration(_\d+)?\//.test(name ?? '');
}

/**
 * The head's prefix: `score_calibration`, or `score_calibration_2`, `_3`, ... when the model
 * already carries a head (a watermark embedded over a serve-mode watermark), so no name is
 * defined twice.
 */
function freePrefix(graph: onnx.IGraphProto): string {
  const taken = new Set<string>();
  for (const name of [
    ...(graph.node ?? []).flatMap((node) => [node.name ?? '', ...(node.output ?? [])]),
    ...(graph.initializer ?? []).map((t) => t.name ?? ''),
  ]) {
    const match = /^(score_calibration(?:_\d+)?)\//.exec(name);
    if (match) taken.add(match[1]);
  }
  for (let i = 1; ; i++) {
    const prefix = i === 1 ? PREFIX : `${PREFIX}_${i}`;
    if (!taken.has(prefix)) return prefix;
  }
}
const { DataType } = onnx.TensorProto;

const floatInit = floatTensor;
const int64Init = (name: string, values: number[]) => int64Tensor(name, [values.length], values);

/**
 * RecMark's served GREW head in a model, if any: the nodes `appendGrewBias` added (found by
 * their names, so a head someone renamed is not found — this tells an owner what a file is,
 * it is not a detector of tampering).
 */
export function servedGrewHead(proto: onnx.IModelProto): { nodes: number } | null {
  // Every node of the head reads a value or constant under the prefix; the model's own last
  // node (whose output was renamed to the raw scores) reads none.
  const nodes = (proto.graph?.node ?? []).filter((n) =>
    (n.input ?? []).some(isGrewServeName),
  ).length;
  return nodes > 0 ? { nodes } : null;
}

/** A copy of the model with the GREW bias appended after the adapter's score output. */
export function appendGrewBias(
  proto: onnx.ModelProto,
  adapter: Adapter,
  params: GrewGraphParams,
): onnx.ModelProto {
  const opset = defaultOpset(proto);
  if (opset < 13) {
    throw new RecMarkError(
      `The model uses opset ${opset}; GREW embedding needs opset 13 or later. Re-export at opset 13-17.`,
      'model-unsupported',
    );
  }
  const W = adapter.scoreWidth;
  if (params.green.length !== W)
    throw new RecMarkError('The green set does not match the model catalogue.', 'key-mismatch');
  if (!(
    Number.isSafeInteger(params.protectHead) &&
    params.protectHead >= 0 &&
    params.protectHead < params.kc
  )) {
    throw new RecMarkError(
      `protectHead must be an integer from 0 to kc - 1 (${params.kc - 1}).`,
      'usage',
    );
  }
  if (!(params.kc >= 2 && params.kc <= adapter.numItems)) {
    throw new RecMarkError(
      `kc must be between 2 and the number of items (${adapter.numItems}).`,
      'usage',
    );
  }
  const model = cloneModel(proto);
  const graph = graphOf(model);
  const out = adapter.output;
  const prefix = freePrefix(graph);
  const n = (name: string): string => `${prefix}/${name}`;
  const raw = n('raw_scores');
  for (const node of graph.node) {
    node.output = (node.output ?? []).map((o) => (o === out ? raw : o));
    node.input = (node.input ?? []).map((i) => (i === out ? raw : i));
  }

  // Pad, mask and other non-items can never enter the competitive set.
  const special = new Float32Array(W).fill(-1e9);
  for (const id of adapter.itemIds) special[id] = 0;
  const kc = params.kc;
  graph.initializer.push(
    floatInit(n('not_item_penalty'), [W], special),
    floatInit(n('green'), [W], params.green),
    int64Init(n('kc'), [kc]),
    int64Init(n('kth_start'), [kc - 1]),
    int64Init(n('kth_end'), [kc]),
    int64Init(n('head_start'), [Math.max(0, params.protectHead - 1)]),
    int64Init(n('head_end'), [Math.max(1, params.protectHead)]),
    floatInit(n('cap_margin'), [], [1e-4]),
    int64Init(n('last_axis'), [-1]),
    floatInit(n('mean_vec'), [kc, 1], new Float32Array(kc).fill(1 / kc)),
    floatInit(n('inv_ln_kc'), [], [1 / Math.log(kc)]),
    floatInit(n('minus_one'), [], [-1]),
    floatInit(n('delta'), [], [params.delta]),
    floatInit(n('kc_f'), [], [kc]),
  );
  const node = (
    opType: string,
    inputs: string[],
    output: string,
    attrs: onnx.IAttributeProto[] = [],
  ): onnx.NodeProto =>
    onnx.NodeProto.create({
      opType,
      input: inputs,
      output: [output],
      // The last node writes the model's own output name; its node name stays in the head's
      // namespace, so a second head never repeats it.
      name: output === out ? n('output') : output,
      attribute: attrs,
    });
  const axis = makeAttr('axis', -1);
  graph.node.push(
    // Decision-aligned masking: only the top-Kc real items may move.
    node('Add', [raw, n('not_item_penalty')], n('selectable')),
    onnx.NodeProto.create({
      opType: 'TopK',
      input: [n('selectable'), n('kc')],
      output: [n('top_values'), n('top_indices')],
      name: n('top'),
      attribute: [axis],
    }),
    node('Slice', [n('top_values'), n('kth_start'), n('kth_end'), n('last_axis')], n('kth_value')),
    node('GreaterOrEqual', [n('selectable'), n('kth_value')], n('in_top')),
    // Confidence: normalised entropy of the softmax over the competitive set.
    node('LogSoftmax', [n('top_values')], n('log_p'), [axis]),
    node('Exp', [n('log_p')], n('p')),
    node('Mul', [n('p'), n('log_p')], n('p_log_p')),
    node('MatMul', [n('p_log_p'), n('mean_vec')], n('mean_p_log_p')),
    node('Mul', [n('mean_p_log_p'), n('kc_f')], n('sum_p_log_p')),
    node('Mul', [n('sum_p_log_p'), n('minus_one')], n('entropy')),
    node('Mul', [n('entropy'), n('inv_ln_kc')], n('confidence')),
    // Scale: standard deviation of the competitive scores.
    node('MatMul', [n('top_values'), n('mean_vec')], n('top_mean')),
    node('Sub', [n('top_values'), n('top_mean')], n('centered')),
    node('Mul', [n('centered'), n('centered')], n('squared')),
    node('MatMul', [n('squared'), n('mean_vec')], n('variance')),
    node('Sqrt', [n('variance')], n('sigma')),
    node('Mul', [n('confidence'), n('sigma')], n('u_sigma')),
    node('Mul', [n('u_sigma'), n('delta')], n('bias')),
  );
  if (params.protectHead === 0) {
    graph.node.push(
      // Cast here, not above: with a protected head the float mask would be a dead node.
      node('Cast', [n('in_top')], n('in_top_f'), [makeAttr('to', DataType.FLOAT)]),
      node('Mul', [n('in_top_f'), n('green')], n('green_in_top')),
      node('Mul', [n('green_in_top'), n('bias')], n('shift')),
      node('Add', [raw, n('shift')], out),
    );
  } else {
    graph.node.push(
      // The head: items scoring at least the m-th best real score keep their place.
      node(
        'Slice',
        [n('top_values'), n('head_start'), n('head_end'), n('last_axis')],
        n('head_value'),
      ),
      node('GreaterOrEqual', [n('selectable'), n('head_value')], n('in_head')),
      node('Not', [n('in_head')], n('below_head')),
      node('And', [n('in_top'), n('below_head')], n('eligible')),
      node('Cast', [n('eligible')], n('eligible_f'), [makeAttr('to', DataType.FLOAT)]),
      node('Mul', [n('eligible_f'), n('green')], n('boost_mask')),
      // Boosted scores stop just below the head (a margin of 1e-4 σ) so ties never enter it.
      node('Mul', [n('sigma'), n('cap_margin')], n('margin')),
      node('Sub', [n('head_value'), n('margin')], n('cap')),
      node('Add', [raw, n('bias')], n('boosted_all')),
      node('Min', [n('boosted_all'), n('cap')], n('boosted')),
      node('Sub', [n('boosted'), raw], n('gain')),
      node('Mul', [n('gain'), n('boost_mask')], n('shift')),
      node('Add', [raw, n('shift')], out),
    );
  }
  return model;
}
