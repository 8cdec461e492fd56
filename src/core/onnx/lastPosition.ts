/**
 * Score only the last position of a [batch, T, N] export. Such a model runs its item head (and
 * whatever follows the last position-mixing op) at every one of T positions although RecMark
 * reads one. This module rewrites the graph in memory (never the user's file) so the output is
 * [batch, N]: a Gather of the last real position is moved as far upstream as is sound, through
 * ops that treat each position on its own (positionwise.ts), and the nodes below it are cloned
 * to run on that one position. Left padding (BERT-style mask included: it sits at T-1) gathers
 * position T-1; right padding gathers each row's last real position from an input RecMark feeds
 * (`LAST_POSITION_INPUT`). Which values carry the batch and T axes is read off a probe run of
 * the original graph (lastPositionSession.ts), not guessed: exports rarely declare
 * intermediate shapes.
 */
import type { Adapter } from './adapter';
import { makeAttr } from './attributes';
import {
  DataType,
  GraphIndex,
  int64Tensor,
  pruneDeadNodes,
  tensorDims,
  tensorValues,
} from './graph';
import { defaultOpset, graphOf, onnx } from './model';
import { mayWorkPerPosition, positionOperands, type RuleContext } from './positionwise';

/** The int64 [batch] input a right-padded rewrite reads each row's last real position from. */
export const LAST_POSITION_INPUT = 'recmark_last_position';
const PREFIX = 'recmark_last';

/** Concrete shapes of the probed values, from one run of the original at `batch` rows. */
export interface ProbeShapes {
  batch: number;
  shapes: ReadonlyMap<string, readonly number[]>;
}

export interface LastPositionRewrite {
  proto: onnx.ModelProto;
  /** The extra input to feed (row-wise last positions), or null when the position is fixed. */
  lastPositionInput: string | null;
  /** Nodes now run on one position, and values gathered to get there. */
  nodes: number;
  gathers: number;
}

function ruleContext(
  g: GraphIndex,
  proto: onnx.ModelProto,
  rank: (name: string) => number | null,
): RuleContext {
  return {
    opset: defaultOpset(proto),
    constantInts: (name) => {
      const t = g.constant(name);
      return t ? Array.from(tensorValues(t)) : null;
    },
    rank,
  };
}

/** A shape known without running the graph: initializers, Constant nodes, the fed inputs. */
function staticShape(
  g: GraphIndex,
  adapter: Adapter,
  batch: number,
  name: string,
): number[] | null {
  const constant = g.constant(name);
  if (constant) return tensorDims(constant);
  if (name === adapter.input) return [batch, adapter.seqLen];
  if (name === adapter.lengthInput) return [batch];
  return null;
}

/**
 * The values a probe run must report the shapes of: inputs and outputs of every node on the way
 * back from the score output whose op type could be position-wise (the rewrite decides with
 * shapes which of them really are).
 */
export function probeValues(proto: onnx.ModelProto, adapter: Adapter): string[] {
  const g = new GraphIndex(graphOf(proto));
  const values = new Set<string>([adapter.output]);
  const seen = new Set<onnx.INodeProto>();
  const stack = [adapter.output];
  while (stack.length > 0) {
    const node = g.producer.get(stack.pop()!);
    if (!node || seen.has(node)) continue;
    seen.add(node);
    if (!mayWorkPerPosition(node)) continue;
    for (const name of [...(node.input ?? []), ...(node.output ?? [])]) {
      if (!name || values.has(name) || staticShape(g, adapter, 1, name)) continue;
      values.add(name);
      stack.push(name);
    }
  }
  return [...values];
}

/**
 * The rewritten model (a new proto; `proto` is left as it was), or null when the score output's
 * producer is not position-wise (gathering the output itself would save nothing) or the opset
 * lacks what a right-padded gather needs (GatherND with batch_dims, opset 12).
 */
export function rewriteLastPosition(
  proto: onnx.ModelProto,
  adapter: Adapter,
  probe: ProbeShapes,
): LastPositionRewrite | null {
  const T = adapter.seqLen;
  const mode = adapter.padding;
  if (T < 2 || (mode === 'right' && defaultOpset(proto) < 12)) return null;
  const model = onnx.ModelProto.create({ ...proto, graph: onnx.GraphProto.create(graphOf(proto)) });
  const graph = graphOf(model);
  graph.node = [...graph.node];
  graph.initializer = [...graph.initializer];
  graph.input = [...graph.input];
  const g = new GraphIndex(graph);
  const planner = new Planner(g, model, adapter, probe);
  const out = adapter.output;
  const root = g.producer.get(out);
  if (!root || !planner.gatherable(out, 1) || !planner.include(root, 1)) return null;

  const taken = new Set([
    ...graph.node.flatMap((n) => [...(n.output ?? []), ...(n.input ?? [])]),
    ...graph.initializer.map((t) => t.name),
    ...graph.input.map((v) => v.name),
  ]);
  let counter = 0;
  const fresh = (label: string): string => {
    let name = `${PREFIX}/${label}`;
    while (taken.has(name)) name = `${PREFIX}/${label}_${counter++}`;
    taken.add(name);
    return name;
  };
  // The original output keeps being computed by the untouched nodes under another name (and is
  // pruned if nothing else reads it); the output name now belongs to the one-position result.
  const outAll = fresh('all_positions');
  const original = (name: string): string => (name === out ? outAll : name);
  const originalNodes = graph.node;
  graph.node = originalNodes.map((n) =>
    onnx.NodeProto.create({
      ...n,
      input: (n.input ?? []).map(original),
      output: (n.output ?? []).map(original),
    }),
  );

  const added: onnx.INodeProto[] = [];
  const gather = gatherBuilder(graph, added, fresh, mode, T);
  const clones = new Map<string, string>();
  const cloneNames = new Set<string>();
  for (const node of originalNodes) {
    const plan = planner.plan(node);
    if (!plan) continue;
    const input = (node.input ?? []).map((name, i) => {
      const how = plan.inputs[i];
      if (!name || how === 'as-is') return original(name);
      return how === 'clone' ? clones.get(name)! : gather(original(name), how.gather);
    });
    const output = (node.output ?? []).map((name) => {
      if (!name) return name;
      const cloned = fresh(name.replace(/^\/+/, ''));
      clones.set(name, cloned);
      return cloned;
    });
    const name = fresh(`node/${node.name || cloneNames.size}`);
    cloneNames.add(name);
    added.push(onnx.NodeProto.create({ ...node, name, input, output }));
  }
  // [batch, 1, N] -> [batch, N]: the layout of a last-position export.
  added.push({
    opType: 'Flatten',
    input: [clones.get(out)!],
    output: [out],
    name: fresh('flatten'),
    attribute: [makeAttr('axis', 1)],
  });
  graph.node.push(...(added as onnx.NodeProto[]));

  const declared = (graph.output ?? []).find((o) => o.name === out);
  const dims = declared?.type?.tensorType?.shape?.dim ?? [];
  graph.output = [
    onnx.ValueInfoProto.create({
      name: out,
      type: {
        tensorType: {
          elemType: declared?.type?.tensorType?.elemType ?? DataType.FLOAT,
          shape: { dim: [dims[0] ?? { dimParam: 'batch' }, { dimValue: adapter.scoreWidth }] },
        },
      },
    }),
  ];
  pruneDeadNodes(graph);
  // Counted after pruning: a node tried and left out by its consumer leaves a dead clone.
  const kept = graph.node.filter((n) => cloneNames.has(n.name ?? ''));
  return {
    proto: model,
    lastPositionInput: mode === 'right' ? LAST_POSITION_INPUT : null,
    nodes: kept.length,
    gathers: graph.node.filter((n) => gather.names.has(n.name ?? '')).length,
  };
}

/** How a node of the rewritten region gets one input. */
type InputPlan = 'as-is' | 'clone' | { gather: number };

interface NodePlan {
  /** The output's position axis. */
  axis: number;
  inputs: InputPlan[];
}

/**
 * Decides, from the probed shapes, which nodes on the way back from the output can run on the
 * last position alone, following the position axis through them (it moves under Transpose).
 * Where the walk stops, the value is gathered.
 */
class Planner {
  private readonly plans = new Map<onnx.INodeProto, NodePlan | null>();
  private readonly ctx: RuleContext;

  constructor(
    private readonly g: GraphIndex,
    proto: onnx.ModelProto,
    private readonly adapter: Adapter,
    private readonly probe: ProbeShapes,
  ) {
    this.ctx = ruleContext(g, proto, (name) => this.shape(name)?.length ?? null);
  }

  shape(name: string): readonly number[] | null {
    return (
      staticShape(this.g, this.adapter, this.probe.batch, name) ??
      this.probe.shapes.get(name) ??
      null
    );
  }

  /** Whether the value has the T positions at `axis`. */
  private positional(name: string, axis: number): boolean {
    const s = this.shape(name);
    return s !== null && s.length > axis && s[axis] === this.adapter.seqLen;
  }

  /** Whether the value's last position can be gathered at `axis` (per row: [batch, T, ...]). */
  gatherable(name: string, axis: number): boolean {
    if (!this.positional(name, axis)) return false;
    return (
      this.adapter.padding === 'left' || (axis === 1 && this.shape(name)![0] === this.probe.batch)
    );
  }

  /** The node's plan if it runs on the last position in the rewrite, else null. */
  plan(node: onnx.INodeProto): NodePlan | null {
    return this.plans.get(node) ?? null;
  }

  /** Whether `node` can produce its last position (at `axis`) from last positions alone. */
  include(node: onnx.INodeProto, axis: number): boolean {
    if (this.plans.has(node)) return this.plans.get(node)?.axis === axis;
    this.plans.set(node, null);
    const plan = this.check(node, axis);
    this.plans.set(node, plan);
    return plan !== null;
  }

  /** An input's route: the producer's clone, else a gather where it is. */
  private route(name: string, axis: number): InputPlan | null {
    const producer = this.g.producer.get(name);
    if (producer && this.include(producer, axis)) return 'clone';
    return this.gatherable(name, axis) ? { gather: axis } : null;
  }

  private check(node: onnx.INodeProto, axis: number): NodePlan | null {
    // A per-row gather (right padding) only reads [batch, T, ...] layouts.
    if (this.adapter.padding === 'right' && axis !== 1) return null;
    const outputs = (node.output ?? []).filter((o) => o && this.shape(o) !== null);
    if (outputs.length === 0 || !outputs.every((o) => this.positional(o, axis))) return null;
    const rank = this.shape(outputs[0])!.length;
    const operands = positionOperands(node, this.ctx, axis, rank);
    if (!operands) return null;
    const inputs: InputPlan[] = [];
    const names = node.input ?? [];
    for (let i = 0; i < names.length; i++) {
      const name = names[i];
      const s = name ? this.shape(name) : [];
      if (s === null) return null;
      const operand = operands[i];
      let how: InputPlan | null = 'as-is';
      if (!name || operand.role === 'whole') how = 'as-is';
      else if (operand.role === 'param') how = s.length <= 1 ? 'as-is' : null;
      else if (operand.role === 'data') how = this.route(name, operand.axis);
      else {
        // Broadcast: the operand's axis under the output's position axis, if it has one.
        const at = axis - (rank - s.length);
        if (s.length > rank) how = null;
        else if (at >= 0 && s[at] !== 1)
          how = this.positional(name, at) ? this.route(name, at) : null;
      }
      if (how === null) return null;
      inputs.push(how);
    }
    return { axis, inputs };
  }
}

/**
 * Builds (once per value and axis) the node that keeps only the last real position: Gather at
 * T-1 with a one-element index (the axis stays, size 1, so every attribute downstream still
 * holds), or for right padding GatherND with batch_dims = 1 at each row's fed position.
 */
function gatherBuilder(
  graph: onnx.GraphProto,
  added: onnx.INodeProto[],
  fresh: (label: string) => string,
  mode: Adapter['padding'],
  T: number,
): ((name: string, axis: number) => string) & { names: Set<string> } {
  const done = new Map<string, string>();
  let index: string | null = null;
  const indexValue = (): string => {
    if (index) return index;
    if (mode === 'left') {
      index = fresh('index');
      graph.initializer.push(int64Tensor(index, [1], [T - 1]));
    } else {
      const shape = fresh('index_shape');
      graph.initializer.push(int64Tensor(shape, [3], [-1, 1, 1]));
      graph.input.push(
        onnx.ValueInfoProto.create({
          name: LAST_POSITION_INPUT,
          type: {
            tensorType: { elemType: DataType.INT64, shape: { dim: [{ dimParam: 'batch' }] } },
          },
        }),
      );
      index = fresh('index');
      added.push({
        opType: 'Reshape',
        input: [LAST_POSITION_INPUT, shape],
        output: [index],
        name: fresh('index_reshape'),
      });
    }
    return index;
  };
  const names = new Set<string>();
  const build = (name: string, axis: number): string => {
    const key = `${axis}:${name}`;
    const existing = done.get(key);
    if (existing) return existing;
    const output = fresh(`gathered/${name.replace(/^\/+/, '')}`);
    const nodeName = fresh('gather');
    names.add(nodeName);
    added.push(
      mode === 'left'
        ? {
            opType: 'Gather',
            input: [name, indexValue()],
            output: [output],
            name: nodeName,
            attribute: [makeAttr('axis', axis)],
          }
        : {
            opType: 'GatherND',
            input: [name, indexValue()],
            output: [output],
            name: nodeName,
            attribute: [makeAttr('batch_dims', 1)],
          },
    );
    done.set(key, output);
    return output;
  };
  return Object.assign(build, { names });
}
