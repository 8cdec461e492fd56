/**
 * Adapter detection, output side: which output holds the item scores, its rank, and how many
 * score columns (ids) it has, within the item limit.
 */
import { RecMarkError } from '../errors';
import { limits, raiseHint } from '../limits';
import { ambiguous, fmtShape, isFloatType } from './adapterChecks';
import type { GraphIndex } from './graph';
import type { Sidecar } from './sidecar';

/** The float [batch, W] or [batch, T, W] output, unless the sidecar names it. */
export function pickScoreOutput(g: GraphIndex, sc: Sidecar, embeddingRows: number | null): string {
  const outputs = g.outputs();
  if (sc.output !== undefined) {
    if (!outputs.some((o) => o.name === sc.output)) {
      throw new RecMarkError(
        `The sidecar names output "${sc.output}", but the model has no such output; its outputs are ` +
          `${outputs.map((o) => `"${o.name}"`).join(', ')}.`,
        'sidecar-invalid',
      );
    }
    return sc.output;
  }
  let candidates = outputs.filter((o) => {
    const s = g.shape(o.name!);
    return isFloatType(g.elemType(o.name!)) && s !== null && (s.length === 2 || s.length === 3);
  });
  if (candidates.length > 1 && embeddingRows !== null) {
    // Prefer outputs as wide as the catalogue (a model may also return hidden states).
    const wide = candidates.filter((o) => {
      const w = g.shape(o.name!)!.at(-1);
      return typeof w === 'number' && Math.abs(w - embeddingRows) <= 2;
    });
    if (wide.length > 0) candidates = wide;
  }
  if (candidates.length === 0) {
    throw new RecMarkError(
      `No output holds item scores: expected a float [batch, N] or [batch, T, N] output, but the ` +
        `model's outputs are ${outputs.map((o) => `"${o.name}" ${fmtShape(g.shape(o.name!))}`).join(', ')}.`,
      'adapter-no-output',
    );
  }
  if (candidates.length > 1)
    throw ambiguous(
      'output holds the item scores',
      'output',
      candidates.map((o) => o.name!),
    );
  return candidates[0].name!;
}

/** The score output's rank and width W (its last dimension, else the embedding's rows). */
export function scoreLayout(
  g: GraphIndex,
  output: string,
  embeddingRows: number | null,
): { outputRank: 2 | 3; scoreWidth: number } {
  const outShape = g.shape(output);
  if (!outShape || (outShape.length !== 2 && outShape.length !== 3)) {
    throw new RecMarkError(
      `Output "${output}" has shape ${fmtShape(outShape)}; item scores must be [batch, N] or [batch, T, N].`,
      'adapter-no-output',
    );
  }
  const outputRank = outShape.length as 2 | 3;
  const declaredWidth = outShape.at(-1);
  let scoreWidth: number;
  if (typeof declaredWidth === 'number') scoreWidth = declaredWidth;
  else if (embeddingRows !== null) scoreWidth = embeddingRows;
  else {
    throw new RecMarkError(
      `Output "${output}" has a dynamic last dimension and no item embedding was found, so the ` +
        'catalogue size is unknown. Set "numItems" in the sidecar <model>.onnx.recmark.json.',
      'adapter-no-output',
    );
  }
  if (scoreWidth < 2) {
    throw new RecMarkError(
      `Output "${output}" scores ${scoreWidth} id(s), so the model has no items: a catalogue needs ` +
        'the padding id and at least one real item.',
      'adapter-no-items',
    );
  }
  const maxItems = limits().items;
  if (scoreWidth > maxItems) {
    throw new RecMarkError(
      `Output "${output}" declares ${scoreWidth.toLocaleString('en-US')} score columns, above the ` +
        `${maxItems.toLocaleString('en-US')}-item limit; ${raiseHint('items')}, or fix the ` +
        `declared shape (or "numItems" in the sidecar) if it is wrong.`,
      'catalogue-too-large',
    );
  }
  return { outputRank, scoreWidth };
}
