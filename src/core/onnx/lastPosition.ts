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
import { operandRoles, STREAM_RANK, type OperandRole, type RuleContext } from './positionwise';

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

function ruleContext(g: GraphIndex, proto: onnx.ModelProto): RuleContext {
  return {
    opset: defaultOpset(proto),
    constantInts: (name) => {
      const t = g.constant(name);
      return t ? Array.from(tensorValues(t)) : null;
    },
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
  const ctx = ruleContext(g, proto);
  const values = new Set<string>([adapter.output]);
  const seen = new Set<onnx.INodeProto>();
  const stack = [adapter.output];
  while (stack.length > 0) {
    const node = g.producer.get(stack.pop()!);
    if (!node || seen.has(node)) continue;
    seen.add(node);
    if (!operandRoles(node, ctx)) continue;
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
  const planner = new Planner(g, ruleContext(g, model), adapter, probe);
  const out = adapter.output;
  const root = g.producer.get(out);
  if (!root || !planner.isStream(out) || !planner.include(root)) return null;

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
  let nodes = 0;
  for (const node of originalNodes) {
    const roles = planner.roles(node);
    if (!roles) continue;
    const input = (node.input ?? []).map((name, i) => {
      if (!name) return name;
      const cloned = clones.get(name);
      if (cloned) return cloned;
      const role = roles[i];
      const positional = (role === 'data' || role === 'broadcast') && planner.carriesT(name);
      return positional ? gather(original(name), planner.shape(name)!.length) : original(name);
    });
    const output = (node.output ?? []).map((name) => {
      if (!name) return name;
      const cloned = fresh(name.replace(/^\/+/, ''));
      clones.set(name, cloned);
      return cloned;
    });
    added.push(
      onnx.NodeProto.create({ ...node, name: fresh(`node/${node.name || nodes}`), input, output }),
    );
    nodes++;
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
  return {
    proto: model,
    lastPositionInput: mode === 'right' ? LAST_POSITION_INPUT : null,
    nodes,
    gathers: gather.count(),
  };
}

/**
 * Decides, from the probed shapes, which nodes on the way back from the output run position by
 * position. A [batch, T, *] value whose producer is not position-wise is where the walk stops:
 * it is gathered there.
 */
class Planner {
  private readonly decided = new Map<onnx.INodeProto, OperandRole[] | null>();

  constructor(
    private readonly g: GraphIndex,
    private readonly ctx: RuleContext,
    private readonly adapter: Adapter,
    private readonly probe: ProbeShapes,
  ) {}

  shape(name: string): readonly number[] | null {
    return (
      staticShape(this.g, this.adapter, this.probe.batch, name) ??
      this.probe.shapes.get(name) ??
      null
    );
  }

  /** A per-row, per-position stream: [batch, T, features]. */
  isStream(name: string): boolean {
    const s = this.shape(name);
    return (
      s !== null &&
      s.length === STREAM_RANK &&
      s[0] === this.probe.batch &&
      s[1] === this.adapter.seqLen
    );
  }

  /** Whether a value, broadcast against a [batch, T, *] output, varies along T. */
  carriesT(name: string): boolean {
    const s = this.shape(name);
    return s !== null && s.length >= 2 && s[s.length - 2] === this.adapter.seqLen;
  }

  /** The roles of a node's inputs if the node is in the rewritten region, else null. */
  roles(node: onnx.INodeProto): OperandRole[] | null {
    return this.decided.get(node) ?? null;
  }

  /** Whether `node` (whose output is a stream) can run on the last position alone. */
  include(node: onnx.INodeProto): boolean {
    if (this.decided.has(node)) return this.decided.get(node) !== null;
    const roles = this.check(node);
    this.decided.set(node, roles);
    if (!roles) return false;
    (node.input ?? []).forEach((name, i) => {
      if (!name || roles[i] === 'weight' || roles[i] === 'param' || !this.isStream(name)) return;
      const producer = this.g.producer.get(name);
      // Not position-wise: the value is gathered where it is (always possible for a stream).
      if (producer) this.include(producer);
    });
    return true;
  }

  private check(node: onnx.INodeProto): OperandRole[] | null {
    const roles = operandRoles(node, this.ctx);
    if (!roles) return null;
    // Every output the probe saw must keep the stream layout (optional outputs may be absent).
    for (const name of node.output ?? []) {
      if (name && this.shape(name) !== null && !this.isStream(name)) return null;
    }
    const inputs = node.input ?? [];
    for (let i = 0; i < inputs.length; i++) {
      const name = inputs[i];
      if (!name) continue;
      const s = this.shape(name);
      if (s === null) return null;
      switch (roles[i]) {
        case 'data':
          if (!this.isStream(name)) return null;
          break;
        case 'broadcast':
          if (s.length > STREAM_RANK) return null;
          // A T-axis without the batch axis (e.g. [1, T, d] or [T, d] positions) is gathered
          // at T-1 when the position is fixed; a per-row position cannot gather it.
          if (this.carriesT(name) && !this.isStream(name) && this.adapter.padding === 'right')
            return null;
          break;
        case 'weight':
          if (s.length !== 2) return null;
          break;
        case 'param':
          if (s.length > 1) return null;
          break;
      }
    }
    return roles;
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
): ((name: string, rank: number) => string) & { count(): number } {
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
  const build = (name: string, rank: number): string => {
    const axis = rank - 2;
    const key = `${axis}:${name}`;
    const existing = done.get(key);
    if (existing) return existing;
    const output = fresh(`gathered/${name.replace(/^\/+/, '')}`);
    added.push(
      mode === 'left'
        ? {
            opType: 'Gather',
            input: [name, indexValue()],
            output: [output],
            name: fresh('gather'),
            attribute: [makeAttr('axis', axis)],
          }
        : {
            opType: 'GatherND',
            input: [name, indexValue()],
            output: [output],
            name: fresh('gather'),
            attribute: [makeAttr('batch_dims', 1)],
          },
    );
    done.set(key, output);
    return output;
  };
  return Object.assign(build, { count: () => done.size });
}
