/**
 * The adapter: how to feed item sequences into a recommender export and read item scores out.
 * It is the one module that knows padding, mask tokens, special ids and the score layout
 * (DESIGN.md §2). Detection is static (graph structure only); a sidecar
 * `<model>.onnx.recmark.json` overrides any field.
 */
import { RecMarkError } from '../errors';
import { limits, raiseHint } from '../limits';
import { pickInputs, pickItemEmbedding } from './adapterInputs';
import { pickScoreOutput, scoreLayout } from './adapterOutput';
import { GraphIndex, tensorDims, type Dim } from './graph';
import { detectMaskId } from './maskToken';
import type { LoadedModel } from './model';
import type { Sidecar } from './sidecar';

export type Padding = 'left' | 'right';
export type FieldSource = 'detected' | 'sidecar' | 'default';

export interface Adapter {
  /** The item-id sequence input, int64 or int32 [batch, T]. */
  input: string;
  /**
   * The input's declared batch when the export fixed it (e.g. 1), else null: every run then
   * has exactly that many rows (feeds.ts pads a short batch). Absent in hand-built adapters.
   */
  fixedBatch?: number | null;
  inputType: 'int64' | 'int32';
  /** Optional [batch] input carrying the number of real items (RecBole-style exports). */
  lengthInput: string | null;
  /** The score output: [batch, W] at the last position, or [batch, T, W] for every position. */
  output: string;
  outputRank: 2 | 3;
  /** Number of score columns W: ids 0..W-1, including special ids. */
  scoreWidth: number;
  seqLen: number;
  padding: Padding;
  padId: number;
  /** BERT4Rec-style mask token appended after the history, or null. */
  maskId: number | null;
  /** Real item ids (score columns that are not pad or mask), ascending. */
  itemIds: Int32Array;
  numItems: number;
  /** The item-embedding initializer (input Gather, else output projection), or null. */
  itemEmbedding: string | null;
  sources: Record<
    'input' | 'output' | 'padding' | 'maskId' | 'seqLen' | 'numItems' | 'itemEmbedding',
    FieldSource
  >;
}

/**
 * The adapter of a model, from its graph alone, with every sidecar field taking precedence.
 * The steps run in this order, so the first problem found is the one reported.
 */
export function detectAdapter(model: LoadedModel, sidecar: Sidecar | null = null): Adapter {
  const g = new GraphIndex(model.proto.graph!);
  const sc = sidecar ?? {};
  const { input, inputType, inputShape, lengthInput } = pickInputs(g, sc);
  const embedding = pickItemEmbedding(g, sc, input);
  const embeddingRows = embedding ? tensorDims(g.initializers.get(embedding)!)[0] : null;
  const output = pickScoreOutput(g, sc, embeddingRows);
  const { outputRank, scoreWidth } = scoreLayout(g, output, embeddingRows);
  const padding: Padding = sc.padding ?? (lengthInput ? 'right' : 'left');
  const padId = sc.padId ?? 0;
  const { maskId, maskSource } = pickMaskId(g, sc, padId, embeddingRows, scoreWidth);
  const { seqLen, seqSource } = pickSeqLen(sc, input, inputShape);
  const ids = realItemIds(sc, output, scoreWidth, padId, maskId);

  const from = (key: keyof Sidecar, fallback: FieldSource = 'detected'): FieldSource =>
    sc[key] !== undefined ? 'sidecar' : fallback;
  return {
    input,
    fixedBatch: typeof inputShape?.[0] === 'number' ? inputShape[0] : null,
    inputType,
    lengthInput,
    output,
    outputRank,
    scoreWidth,
    seqLen,
    padding,
    padId,
    maskId,
    itemIds: Int32Array.from(ids),
    numItems: ids.length,
    itemEmbedding: embedding,
    sources: {
      input: from('input'),
      output: from('output'),
      padding: from('padding', lengthInput ? 'detected' : 'default'),
      maskId: maskSource,
      seqLen: seqSource,
      numItems: from('numItems'),
      itemEmbedding: from('itemEmbedding'),
    },
  };
}

/** The mask token: the sidecar's, else detected from the graph (maskToken.ts), never the pad id. */
function pickMaskId(
  g: GraphIndex,
  sc: Sidecar,
  padId: number,
  embeddingRows: number | null,
  scoreWidth: number,
): { maskId: number | null; maskSource: FieldSource } {
  let maskId: number | null;
  let maskSource: FieldSource;
  if (sc.maskId !== undefined) {
    maskId = sc.maskId;
    maskSource = 'sidecar';
  } else {
    maskId = detectMaskId(g, embeddingRows, scoreWidth);
    maskSource = maskId === null ? 'default' : 'detected';
  }
  if (maskId !== null && maskId === padId) {
    throw new RecMarkError(
      `maskId and padId are both ${padId}; set them apart in the sidecar.`,
      'sidecar-invalid',
    );
  }
  return { maskId, maskSource };
}

/** The sequence length: the sidecar's, else the input's declared T, else 50; within the limit. */
function pickSeqLen(
  sc: Sidecar,
  input: string,
  inputShape: Dim[] | null,
): { seqLen: number; seqSource: FieldSource } {
  let seqLen: number;
  let seqSource: FieldSource;
  if (sc.seqLen !== undefined) {
    seqLen = sc.seqLen;
    seqSource = 'sidecar';
  } else if (typeof inputShape?.[1] === 'number') {
    seqLen = inputShape[1];
    seqSource = 'detected';
  } else {
    seqLen = 50;
    seqSource = 'default';
  }
  const maxSeqLen = limits().seqLen;
  if (seqLen > maxSeqLen) {
    throw new RecMarkError(
      `Input "${input}" declares sequences of ${seqLen.toLocaleString('en-US')} items, above the ` +
        `${maxSeqLen.toLocaleString('en-US')} limit; ${raiseHint('seqLen')}, or set "seqLen" in the sidecar ` +
        'if the declared shape is wrong.',
      'sequence-too-long',
    );
  }
  return { seqLen, seqSource };
}

/** Real item ids: every score column that is not pad or mask (the first numItems of them). */
function realItemIds(
  sc: Sidecar,
  output: string,
  scoreWidth: number,
  padId: number,
  maskId: number | null,
): number[] {
  const special = new Set([padId, ...(maskId === null ? [] : [maskId])]);
  let ids: number[] = [];
  for (let id = 0; id < scoreWidth; id++) if (!special.has(id)) ids.push(id);
  if (sc.numItems !== undefined) {
    if (sc.numItems > ids.length) {
      throw new RecMarkError(
        `The sidecar says numItems = ${sc.numItems}, but output "${output}" scores only ${ids.length} real items.`,
        'sidecar-invalid',
      );
    }
    ids = ids.slice(0, sc.numItems);
  }
  if (ids.length === 0) {
    throw new RecMarkError(
      `Output "${output}" scores ${scoreWidth} ids and all are special (pad ${padId}, mask ${maskId}), so the ` +
        'model has no items; check "padId" and "maskId" in the sidecar.',
      'adapter-no-items',
    );
  }
  const maxId = Math.max(padId, maskId ?? 0);
  if (maxId >= 2 ** 31) throw new RecMarkError('Special ids must fit in int32.', 'sidecar-invalid');
  return ids;
}
