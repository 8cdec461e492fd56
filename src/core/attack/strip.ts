/**
 * Stripping post-processing (DESIGN.md §6: "deleting anything that is not part of the
 * architecture"), done the way a thief reading the graph in Netron would. A recommender's network
 * ends in its scoring layer: the last MatMul or Gemm whose output has the score output's shape,
 * with its bias Add (a learned vector) if it has one. Whatever runs after it — a temperature, a
 * mask, a popularity re-weighting, RecMark's own GREW serve-mode head — is separable when the
 * score output is a function of the scoring layer's output, constants and the model's inputs
 * alone: delete those nodes and wire the output to the scoring layer. The result has the same
 * input and output names and shapes (checked by running both), so it is a drop-in replacement.
 *
 * For a GREW model embedded in serve mode this removes the watermark with the head; the result
 * says so. A model whose output is its scoring layer has nothing to strip and is written back as
 * it was. Post-processing that also reads inner values of the network is not separable this way
 * and is refused with the name of that value.
 */
import { RecMarkError } from '../errors';
import type { Adapter } from '../onnx/adapter';
import { DataType, GraphIndex, pruneDeadNodes, tensorFloat32 } from '../onnx/graph';
import { cloneModel, encodeModel, graphOf, onnx } from '../onnx/model';
import { createSession, loadOrt, runSession, type OrtFeeds } from '../onnx/ort';
import { modelFeeds } from '../onnx/session';
import { probeShapes } from '../train/shapes';
import { Rng } from '../util/random';
import { GREW_RAW_SCORES, isGrewServeName } from '../watermark/grewGraph';
import { copyAttack, type CopyAttackOptions, type CopyAttackResult } from './copyAttack';
import { valueReason } from '../train/weights';

export interface StripDetail {
  /** The value now wired to the score output (the scoring layer's), or null when nothing was cut. */
  cutAt: string | null;
  removed: {
    nodes: number;
    /** Removed nodes by op type, most frequent first. */
    opTypes: Record<string, number>;
    /** Initializers only the removed nodes used. */
    initializers: number;
  };
  /** The removed nodes included RecMark's GREW serve-mode head: its watermark went with them. */
  grewServeHead: boolean;
  /** One sentence for people: what was removed and what it means. */
  note: string;
}

export type StripResult = CopyAttackResult & StripDetail;

/**
 * A copy of the model whose output is `cut` (renamed to `output`), with everything only the old
 * output needed removed. `cut` must have the output's shape.
 */
export function cutAt(proto: onnx.ModelProto, cut: string, output: string): onnx.ModelProto {
  const copy = cloneModel(proto);
  const graph = graphOf(copy);
  graph.node = graph.node.filter((n) => !(n.output ?? []).includes(output));
  if (graph.output.some((o) => o.name === cut)) {
    // The cut value is itself an output: keep its name and copy it to the score output.
    graph.node.push(
      onnx.NodeProto.create({ opType: 'Identity', input: [cut], output: [output], name: output }),
    );
  } else {
    const rename = (v: string): string => (v === cut ? output : v);
    for (const node of graph.node) {
      node.output = (node.output ?? []).map(rename);
      node.input = (node.input ?? []).map(rename);
    }
  }
  pruneDeadNodes(graph);
  return copy;
}

/**
 * The victim's network without the GREW serve-mode head RecMark appends (and any head stacked on
 * it), found by its names; the proto unchanged (a copy) when there is none. Used where only
 * RecMark's own post-processing must go (extraction's surrogate); `stripPostProcessing` finds
 * any post-processing by the graph's structure.
 */
export function stripScoreCalibration(proto: onnx.ModelProto, output: string): onnx.ModelProto {
  const index = new GraphIndex(graphOf(proto));
  if (!index.producer.has(GREW_RAW_SCORES)) return cloneModel(proto);
  return cutAt(proto, GREW_RAW_SCORES, output);
}

/** Nodes needed to compute `value` (its producer and everything upstream). */
function upstream(index: GraphIndex, value: string): Set<onnx.INodeProto> {
  const nodes = new Set<onnx.INodeProto>();
  const stack = [value];
  while (stack.length > 0) {
    const node = index.producer.get(stack.pop()!);
    if (!node || nodes.has(node)) continue;
    nodes.add(node);
    for (const i of node.input ?? []) if (i) stack.push(i);
  }
  return nodes;
}

/** A bias Add's other input: a constant float tensor whose values look learned. */
function isLearnedBias(index: GraphIndex, value: string | undefined): boolean {
  const c = value ? index.constant(value) : null;
  return !!c && c.dataType === DataType.FLOAT && valueReason(tensorFloat32(c)) === null;
}

export interface PostProcessing {
  /** The scoring layer's output, or null when the graph has no MatMul/Gemm of the output's shape. */
  cut: string | null;
  /** The nodes after it, in graph order (empty when the output is the scoring layer's). */
  nodes: onnx.INodeProto[];
}

/**
 * Find the scoring layer and the post-processing after it (see the file comment). Shapes come
 * from one run of the model on two short histories.
 */
export async function findPostProcessing(
  proto: onnx.ModelProto,
  adapter: Adapter,
): Promise<PostProcessing> {
  const graph = graphOf(proto);
  const index = new GraphIndex(graph);
  const output = adapter.output;
  const shapes = await probeShapes(proto, await probeFeeds(proto, adapter));
  const outDims = shapes.get(output)?.dims ?? [];
  const sameShape = (v: string): boolean => {
    const d = shapes.get(v)?.dims;
    return !!d && d.length === outDims.length && d.every((x, i) => x === outDims[i]);
  };
  const needed = upstream(index, output);
  let cut: string | null = null;
  for (const node of graph.node) {
    if (!needed.has(node) || !['MatMul', 'Gemm'].includes(node.opType ?? '')) continue;
    let v = node.output?.[0] ?? '';
    if (!sameShape(v)) continue;
    // Its bias: the one consumer is an Add of a learned constant vector (nn.Linear's bias).
    const consumers = index.consumers.get(v) ?? [];
    const add = consumers.length === 1 && consumers[0].opType === 'Add' ? consumers[0] : null;
    if (
      add &&
      isLearnedBias(
        index,
        add.input?.find((i) => i !== v),
      ) &&
      sameShape(add.output![0])
    )
      v = add.output![0];
    cut = v;
  }
  if (cut === null || cut === output) return { cut, nodes: [] };
  const network = upstream(index, cut);
  const nodes = graph.node.filter((n) => needed.has(n) && !network.has(n));
  const produced = new Set(nodes.flatMap((n) => n.output ?? []));
  const inputs = new Set(index.runtimeInputs().map((v) => v.name));
  for (const node of nodes) {
    for (const i of node.input ?? []) {
      if (!i || i === cut || produced.has(i) || inputs.has(i) || index.constant(i)) continue;
      throw new RecMarkError(
        `The nodes after the scoring layer ("${cut}") also read "${i}", an inner value of the ` +
          'network, so they are not separable post-processing; RecMark does not strip this graph.',
        'model-unsupported',
      );
    }
  }
  return { cut, nodes };
}

/**
 * Short histories of real items as the model's input tensors: two (so a batch axis shows as 2,
 * unlike broadcast constants), or as many as a static batch axis declares.
 */
async function probeFeeds(proto: onnx.ModelProto, adapter: Adapter): Promise<OrtFeeds> {
  await loadOrt();
  const declared = new GraphIndex(graphOf(proto)).shape(adapter.input)?.[0];
  const batch = typeof declared === 'number' && declared > 0 ? declared : 2;
  const rng = new Rng(7);
  const ids = adapter.itemIds;
  const rows = Array.from({ length: batch }, (_, b) =>
    Array.from({ length: 3 + b }, () => ids[rng.int(ids.length)]),
  );
  return modelFeeds(adapter, rows).feeds;
}

/** Remove the post-processing after the scoring layer; the proto and what was removed. */
export async function stripPostProcessing(
  proto: onnx.ModelProto,
  adapter: Adapter,
): Promise<{ proto: onnx.ModelProto; detail: StripDetail }> {
  const found = await findPostProcessing(proto, adapter);
  if (found.nodes.length === 0) {
    const note =
      found.cut === null
        ? 'No MatMul or Gemm produces values of the score output’s shape, so there is no scoring layer to cut back to; nothing was removed.'
        : 'The score output is the scoring layer’s own output: there is no post-processing to remove; the model is unchanged.';
    return {
      proto: cloneModel(proto),
      detail: {
        cutAt: null,
        removed: { nodes: 0, opTypes: {}, initializers: 0 },
        grewServeHead: false,
        note,
      },
    };
  }
  const stripped = cutAt(proto, found.cut!, adapter.output);
  const kept = new Set(graphOf(stripped).initializer.map((t) => t.name));
  const initializers = graphOf(proto).initializer.filter((t) => !kept.has(t.name)).length;
  const counts = new Map<string, number>();
  for (const n of found.nodes) counts.set(n.opType ?? '?', (counts.get(n.opType ?? '?') ?? 0) + 1);
  const opTypes = Object.fromEntries(
    [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)),
  );
  const grewServeHead = found.nodes.some(
    (n) => isGrewServeName(n.name) || (n.output ?? []).some(isGrewServeName),
  );
  await checkSameOutput(proto, stripped, adapter);
  const what = `${found.nodes.length} node${found.nodes.length === 1 ? '' : 's'} after the scoring layer ("${found.cut}")`;
  const note = grewServeHead
    ? `Removed ${what}, among them RecMark's GREW serve-mode head: the watermark is gone with it. Serve mode protects a model behind an API; embed into the weights to protect a file.`
    : `Removed ${what}; the network itself is unchanged.`;
  return {
    proto: stripped,
    detail: {
      cutAt: found.cut,
      removed: { nodes: found.nodes.length, opTypes, initializers },
      grewServeHead,
      note,
    },
  };
}

/** The stripped model runs and gives scores of the original's shape (a drop-in replacement). */
async function checkSameOutput(
  original: onnx.ModelProto,
  stripped: onnx.ModelProto,
  adapter: Adapter,
): Promise<void> {
  const feeds = await probeFeeds(original, adapter);
  const dims = async (p: onnx.ModelProto): Promise<readonly number[]> => {
    const session = await createSession(encodeModel(p), { quiet: true });
    try {
      return (await runSession(session, feeds, [adapter.output]))[adapter.output].dims;
    } finally {
      await session.release();
    }
  };
  const [a, b] = [await dims(original), await dims(stripped)];
  if (a.length !== b.length || a.some((d, i) => d !== b[i]))
    throw new Error(
      `internal: stripping changed the output shape [${a.join(', ')}] → [${b.join(', ')}]`,
    );
}

/** Strip the post-processing of a copy of the model, measured before and after. */
export async function stripAttack(options: CopyAttackOptions): Promise<StripResult> {
  const r = await copyAttack(
    options,
    'the stripped model',
    async ({ model, adapter, progress }) => {
      progress({ message: 'Looking for post-processing after the scoring layer' });
      return stripPostProcessing(model.proto, adapter);
    },
  );
  const { detail, ...rest } = r;
  return { ...rest, ...detail };
}
