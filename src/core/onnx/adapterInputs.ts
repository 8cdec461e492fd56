/**
 * Adapter detection, input side: which input takes the item sequence, which (optional) one its
 * length, that nothing else needs feeding, and the item-embedding table the sequence indexes into.
 */
import { RecMarkError } from '../errors';
import { ambiguous, fmtShape, isIntType } from './adapterChecks';
import { DataType, tensorDims, type Dim, type GraphIndex } from './graph';
import type { Sidecar } from './sidecar';

export interface ModelInputs {
  input: string;
  inputType: 'int64' | 'int32';
  /** The sequence input's declared shape, when known. */
  inputShape: Dim[] | null;
  lengthInput: string | null;
}

/** The sequence input and the length input, refusing any input RecMark cannot feed. */
export function pickInputs(g: GraphIndex, sc: Sidecar): ModelInputs {
  const inputNames = g.runtimeInputs().map((v) => v.name!);
  const input = pickSequenceInput(g, sc, inputNames);
  const inputElem = g.elemType(input);
  if (!isIntType(inputElem)) {
    throw new RecMarkError(
      `Input "${input}" is ${g.dataTypeLabel(input)}, but item ids must be int64 or int32.`,
      'adapter-no-input',
    );
  }
  const inputShape = g.shape(input);
  if (inputShape && inputShape.length !== 2) {
    throw new RecMarkError(
      `Input "${input}" has shape ${fmtShape(inputShape)}; an item sequence must be [batch, T].`,
      'adapter-no-input',
    );
  }
  const lengthInput = pickLengthInput(g, sc, inputNames, input);
  const unfed = inputNames.filter((n) => n !== input && n !== lengthInput);
  if (unfed.length > 0) {
    throw new RecMarkError(
      `The model needs inputs RecMark cannot feed: ${unfed.map((n) => `"${n}" ${g.dataTypeLabel(n)}${fmtShape(g.shape(n))}`).join(', ')}. ` +
        'RecMark feeds one item-id sequence and optionally its length ("lengthInput" in the sidecar).',
      'adapter-unsupported-input',
    );
  }
  return {
    input,
    inputType: inputElem === DataType.INT32 ? 'int32' : 'int64',
    inputShape,
    lengthInput,
  };
}

function checkSidecarInput(inputNames: string[], name: string, key: string): void {
  if (!inputNames.includes(name)) {
    throw new RecMarkError(
      `The sidecar names ${key} "${name}", but the model has no such input; ` +
        `its inputs are ${inputNames.map((n) => `"${n}"`).join(', ')}.`,
      'sidecar-invalid',
    );
  }
}

/** The one int [batch, T] input, unless the sidecar names it. */
function pickSequenceInput(g: GraphIndex, sc: Sidecar, inputNames: string[]): string {
  if (sc.input !== undefined) {
    checkSidecarInput(inputNames, sc.input, 'input');
    return sc.input;
  }
  const inputs = g.runtimeInputs();
  const seqInputs = inputs.filter(
    (v) => isIntType(g.elemType(v.name!)) && g.shape(v.name!)?.length === 2,
  );
  if (seqInputs.length === 0) {
    const described = inputs.map(
      (v) => `"${v.name}" ${g.dataTypeLabel(v.name!)}${fmtShape(g.shape(v.name!))}`,
    );
    throw new RecMarkError(
      `No input takes item-id sequences: a recommender needs an int64 or int32 [batch, T] input, ` +
        `but the model's inputs are ${described.join(', ')}. If one of them is the sequence, set ` +
        `"input" in the sidecar <model>.onnx.recmark.json.`,
      'adapter-no-input',
    );
  }
  if (seqInputs.length > 1)
    throw ambiguous(
      'input takes the item sequence',
      'input',
      seqInputs.map((v) => v.name!),
    );
  return seqInputs[0].name!;
}

/** The one other int [batch] input (RecBole-style sequence lengths), or null. */
function pickLengthInput(
  g: GraphIndex,
  sc: Sidecar,
  inputNames: string[],
  input: string,
): string | null {
  if (sc.lengthInput !== undefined) {
    if (sc.lengthInput !== null) checkSidecarInput(inputNames, sc.lengthInput, 'lengthInput');
    return sc.lengthInput;
  }
  const lengths = g
    .runtimeInputs()
    .filter(
      (v) => v.name !== input && isIntType(g.elemType(v.name!)) && g.shape(v.name!)?.length === 1,
    );
  if (lengths.length > 1)
    throw ambiguous(
      'input takes sequence lengths',
      'lengthInput',
      lengths.map((v) => v.name!),
    );
  return lengths[0]?.name ?? null;
}

/** The item-embedding initializer (the sidecar's, else detected), or null. */
export function pickItemEmbedding(g: GraphIndex, sc: Sidecar, input: string): string | null {
  const embedding = sc.itemEmbedding !== undefined ? sc.itemEmbedding : findItemEmbedding(g, input);
  if (embedding !== null && !g.initializers.has(embedding)) {
    throw new RecMarkError(
      `The sidecar names itemEmbedding "${embedding}", but the model has no such initializer.`,
      'sidecar-invalid',
    );
  }
  return embedding;
}

/**
 * The item-embedding table is the initializer a Gather looks item ids up in. If no Gather reads
 * the input directly, fall back to the output projection: a float [W, d] or [d, W] initializer
 * feeding the MatMul/Gemm that produces the scores.
 */
function findItemEmbedding(g: GraphIndex, input: string): string | null {
  const seen = new Set<string>();
  const frontier = [input];
  while (frontier.length > 0) {
    const value = frontier.pop()!;
    if (seen.has(value)) continue;
    seen.add(value);
    for (const node of g.consumers.get(value) ?? []) {
      if (node.opType === 'Gather' && node.input?.[1] === value) {
        const data = g.source(node.input[0]);
        const init = g.initializers.get(data);
        if (init && init.dataType === DataType.FLOAT && tensorDims(init).length === 2) return data;
      }
      // Follow index-preserving reshapes and casts, not arithmetic.
      if (
        ['Cast', 'Identity', 'Unsqueeze', 'Reshape', 'Flatten', 'Squeeze'].includes(
          node.opType ?? '',
        )
      ) {
        for (const out of node.output ?? []) frontier.push(out);
      }
    }
  }
  return null;
}
