/**
 * The adapter: how to feed item sequences into a recommender export and read item scores out.
 * It is the one module that knows padding, mask tokens, special ids and the score layout
 * (DESIGN.md §2). Detection is static (graph structure only); a sidecar
 * `<model>.onnx.recmark.json` overrides any field.
 */
import { RecMarkError } from '../errors';
import { limits, raiseHint, SIDECAR_MAX_BYTES } from '../limits';
import { jsonFaultWhere, readInputFile } from '../util/files';
import { DataType, GraphIndex, tensorDims, tensorValues, type Dim } from './graph';
import type { LoadedModel } from './model';

export type Padding = 'left' | 'right';
export type FieldSource = 'detected' | 'sidecar' | 'default';

export interface Sidecar {
  input?: string;
  output?: string;
  padding?: Padding;
  padId?: number;
  maskId?: number | null;
  numItems?: number;
  seqLen?: number;
  itemEmbedding?: string | null;
  lengthInput?: string | null;
}

export interface Adapter {
  /** The item-id sequence input, int64 or int32 [batch, T]. */
  input: string;
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

export function sidecarPath(modelFile: string): string {
  return `${modelFile}.recmark.json`;
}

const SIDECAR_KEYS = new Set([
  'input',
  'output',
  'padding',
  'padId',
  'maskId',
  'numItems',
  'seqLen',
  'itemEmbedding',
  'lengthInput',
]);

/** Read and validate the sidecar next to a model; null when there is none. */
export async function readSidecar(modelFile: string): Promise<Sidecar | null> {
  const file = sidecarPath(modelFile);
  let text: string;
  try {
    const bytes = await readInputFile(file, {
      what: 'The sidecar',
      code: 'sidecar-invalid',
      maxBytes: SIDECAR_MAX_BYTES,
      tooLarge: () =>
        new RecMarkError(
          `${file} is larger than ${SIDECAR_MAX_BYTES} bytes, so it is not a RecMark sidecar; remove or fix it.`,
          'sidecar-invalid',
        ),
    });
    text = bytes.toString('utf8');
  } catch (err) {
    if (err instanceof RecMarkError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new RecMarkError(`Cannot read ${file}: ${(err as Error).message}`, 'sidecar-invalid');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new RecMarkError(
      `${file} is not valid JSON${jsonFaultWhere(err, text)}; fix or remove it.`,
      'sidecar-invalid',
    );
  }
  return validateSidecar(parsed, file);
}

export function validateSidecar(value: unknown, label = 'sidecar'): Sidecar {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RecMarkError(`${label} must hold a JSON object.`, 'sidecar-invalid');
  }
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!SIDECAR_KEYS.has(key)) {
      throw new RecMarkError(
        `${label}: unknown key "${key}"; allowed keys are ${[...SIDECAR_KEYS].join(', ')}.`,
        'sidecar-invalid',
      );
    }
  }
  const bad = (key: string, want: string): never => {
    throw new RecMarkError(`${label}: "${key}" must be ${want}.`, 'sidecar-invalid');
  };
  const isCount = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0;
  for (const key of ['input', 'output'] as const) {
    if (key in obj && typeof obj[key] !== 'string') bad(key, 'a string');
  }
  for (const key of ['itemEmbedding', 'lengthInput'] as const) {
    if (key in obj && obj[key] !== null && typeof obj[key] !== 'string')
      bad(key, 'a string or null');
  }
  if ('padding' in obj && obj.padding !== 'left' && obj.padding !== 'right')
    bad('padding', '"left" or "right"');
  if ('padId' in obj && !isCount(obj.padId)) bad('padId', 'a non-negative integer');
  if ('maskId' in obj && obj.maskId !== null && !isCount(obj.maskId))
    bad('maskId', 'a non-negative integer or null');
  if ('numItems' in obj && (!isCount(obj.numItems) || (obj.numItems as number) < 1))
    bad('numItems', 'a positive integer');
  if ('seqLen' in obj && (!isCount(obj.seqLen) || (obj.seqLen as number) < 1))
    bad('seqLen', 'a positive integer');
  return obj as Sidecar;
}

const isIntType = (t: number | null): boolean => t === DataType.INT64 || t === DataType.INT32;
const isFloatType = (t: number | null): boolean =>
  t === DataType.FLOAT ||
  t === DataType.FLOAT16 ||
  t === DataType.DOUBLE ||
  t === DataType.BFLOAT16;
const fmtShape = (s: Dim[] | null): string =>
  s ? `[${s.map((d) => d ?? '?').join(', ')}]` : '[?]';

function ambiguous(what: string, key: string, candidates: string[]): RecMarkError {
  return new RecMarkError(
    `Cannot tell which ${what}: candidates are ${candidates.map((c) => `"${c}"`).join(', ')}. ` +
      `Set "${key}" in the sidecar <model>.onnx.recmark.json.`,
    'adapter-ambiguous',
  );
}

export function detectAdapter(model: LoadedModel, sidecar: Sidecar | null = null): Adapter {
  const g = new GraphIndex(model.proto.graph!);
  const sc = sidecar ?? {};
  const inputs = g.runtimeInputs();
  const inputNames = inputs.map((v) => v.name!);

  // --- the item-sequence input and the optional length input ---
  const checkInput = (name: string, key: string): void => {
    if (!inputNames.includes(name)) {
      throw new RecMarkError(
        `The sidecar names ${key} "${name}", but the model has no such input; ` +
          `its inputs are ${inputNames.map((n) => `"${n}"`).join(', ')}.`,
        'sidecar-invalid',
      );
    }
  };
  let input: string;
  if (sc.input !== undefined) {
    checkInput(sc.input, 'input');
    input = sc.input;
  } else {
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
    input = seqInputs[0].name!;
  }
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

  let lengthInput: string | null;
  if (sc.lengthInput !== undefined) {
    if (sc.lengthInput !== null) checkInput(sc.lengthInput, 'lengthInput');
    lengthInput = sc.lengthInput;
  } else {
    const lengths = inputs.filter(
      (v) => v.name !== input && isIntType(g.elemType(v.name!)) && g.shape(v.name!)?.length === 1,
    );
    if (lengths.length > 1)
      throw ambiguous(
        'input takes sequence lengths',
        'lengthInput',
        lengths.map((v) => v.name!),
      );
    lengthInput = lengths[0]?.name ?? null;
  }
  const unfed = inputNames.filter((n) => n !== input && n !== lengthInput);
  if (unfed.length > 0) {
    throw new RecMarkError(
      `The model needs inputs RecMark cannot feed: ${unfed.map((n) => `"${n}" ${g.dataTypeLabel(n)}${fmtShape(g.shape(n))}`).join(', ')}. ` +
        'RecMark feeds one item-id sequence and optionally its length ("lengthInput" in the sidecar).',
      'adapter-unsupported-input',
    );
  }

  // --- the item-embedding table: the initializer the sequence input indexes into ---
  const embedding = sc.itemEmbedding !== undefined ? sc.itemEmbedding : findItemEmbedding(g, input);
  if (embedding !== null && !g.initializers.has(embedding)) {
    throw new RecMarkError(
      `The sidecar names itemEmbedding "${embedding}", but the model has no such initializer.`,
      'sidecar-invalid',
    );
  }
  const embeddingRows = embedding ? tensorDims(g.initializers.get(embedding)!)[0] : null;

  // --- the score output ---
  const outputs = g.outputs();
  let output: string;
  if (sc.output !== undefined) {
    if (!outputs.some((o) => o.name === sc.output)) {
      throw new RecMarkError(
        `The sidecar names output "${sc.output}", but the model has no such output; its outputs are ` +
          `${outputs.map((o) => `"${o.name}"`).join(', ')}.`,
        'sidecar-invalid',
      );
    }
    output = sc.output;
  } else {
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
    output = candidates[0].name!;
  }
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

  // --- special ids ---
  const padding: Padding = sc.padding ?? (lengthInput ? 'right' : 'left');
  const padId = sc.padId ?? 0;
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

  // --- sequence length ---
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

  // --- real item ids: every score column that is not pad or mask ---
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

  const from = (key: keyof Sidecar, fallback: FieldSource = 'detected'): FieldSource =>
    sc[key] !== undefined ? 'sidecar' : fallback;
  return {
    input,
    inputType: inputElem === DataType.INT32 ? 'int32' : 'int64',
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

/**
 * A mask token exists when the embedding table has one row more than the score columns (BERT4Rec
 * with an N+1 head), or when a transformer has no causal mask (bidirectional, BERT4Rec): then the
 * mask is the last embedding row. Causal models (SASRec) and RNNs have none.
 */
function detectMaskId(
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
