/**
 * The reverse walk: from the loss back over the forward nodes, each node's rule from the
 * gradients table emits the nodes for its inputs' gradients; a value used twice has its
 * gradients summed. Trainable initializers become graph inputs, and the training graph outputs
 * the loss and one gradient per trainable tensor — all run by onnxruntime.
 */
import { RecMarkError } from '../errors';
import { cloneModel, defaultOpset, graphOf, onnx } from '../onnx/model';
import { initializersToInputs } from '../onnx/graph';
import { Emitter, type ValueShape } from './emitter';
import { GRADIENTS, NON_DIFFERENTIABLE } from './gradients';
import type { ScoreGradient } from './losses';

export interface TrainingGraph {
  proto: onnx.ModelProto;
  loss: string;
  /** Gradient output name per trainable initializer. */
  gradients: Map<string, string>;
}

/** The training graph needs ScatterND/ScatterElements with reduction (opset 16). */
const MIN_TRAINING_OPSET = 16;

export function buildTrainingGraph(
  forward: onnx.ModelProto,
  loss: string,
  trainable: readonly string[],
  shapes: Map<string, ValueShape>,
  /** Start the walk at the scores with this closed-form gradient (the loss nodes are skipped). */
  scoreGradient?: ScoreGradient,
): TrainingGraph {
  const proto = cloneModel(forward);
  const graph = graphOf(proto);
  const e = new Emitter('grad', shapes);

  // Which values depend on a trainable tensor through differentiable ops.
  const requires = new Set(trainable);
  for (const node of graph.node) {
    if (NON_DIFFERENTIABLE.has(node.opType ?? '')) continue;
    if ((node.input ?? []).some((i) => requires.has(i)))
      for (const o of node.output ?? []) if (o) requires.add(o);
  }
  if (!requires.has(loss))
    throw new RecMarkError(
      'The loss does not depend on any trainable weight.',
      'train-unsupported',
    );

  const pending = new Map<string, string[]>(
    scoreGradient && requires.has(scoreGradient.value)
      ? [[scoreGradient.value, [scoreGradient.emit(e)]]]
      : [[loss, [e.constFloat([1], shapes.get(loss)?.dims ?? [])]]],
  );
  const summed = new Map<string, string>();
  const gradOf = (name: string): string | null => {
    const parts = pending.get(name);
    if (!parts || parts.length === 0) return null;
    if (!summed.has(name)) summed.set(name, parts.length === 1 ? parts[0] : e.one('Sum', parts));
    return summed.get(name)!;
  };

  for (let n = graph.node.length - 1; n >= 0; n--) {
    const node = graph.node[n];
    const dy = (node.output ?? []).map((o) => (o ? gradOf(o) : null));
    if (dy.every((g) => g === null)) continue;
    const needs = (node.input ?? []).map((i) => !!i && requires.has(i));
    if (!needs.some(Boolean)) continue;
    const rule = GRADIENTS[node.opType ?? ''];
    if (!rule) {
      throw new RecMarkError(
        `Cannot train through ${node.opType} node "${node.name}": RecMark has no gradient rule for ${node.opType}.`,
        'train-unsupported',
      );
    }
    const grads = rule(e, node, dy, needs);
    (node.input ?? []).forEach((input, i) => {
      const g = grads[i];
      if (!needs[i] || !g) return;
      if (summed.has(input))
        throw new Error(`internal: gradient of "${input}" used before it was complete`);
      pending.set(input, [...(pending.get(input) ?? []), g]);
    });
  }

  const gradients = new Map<string, string>();
  for (const name of trainable) {
    const dims = shapes.get(name)?.dims ?? [];
    const g = gradOf(name) ?? e.one('ConstantOfShape', [e.constInt64(dims)]);
    gradients.set(name, g);
  }
  initializersToInputs(graph, new Set(trainable));
  graph.initializer.push(...e.initializers);
  graph.node.push(...e.nodes);
  graph.output = [loss, ...gradients.values()].map((name) => onnx.ValueInfoProto.create({ name }));
  const opset = Math.max(defaultOpset(proto), MIN_TRAINING_OPSET);
  proto.opsetImport = proto.opsetImport.map((o) =>
    !o.domain || o.domain === 'ai.onnx'
      ? onnx.OperatorSetIdProto.create({ domain: o.domain, version: opset })
      : o,
  );
  return { proto, loss, gradients };
}
