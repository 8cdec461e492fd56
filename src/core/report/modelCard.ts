/** The model card: what a checkpoint is, as shown by `recmark inspect` and the inline view. */
import * as path from 'node:path';
import type { Adapter, FieldSource } from '../onnx/adapter';
import { DataType, tensorDims, tensorSize } from '../onnx/graph';
import { toNumber } from '../onnx/int64';
import { defaultOpset, type LoadedModel } from '../onnx/model';
import { openModel, type OpenedModel } from '../onnx/open';
import { sha256File } from '../util/files';
import { servedGrewHead } from '../watermark/grewGraph';
import { formatBytes } from '../util/format';
import { safeText } from '../util/terminalSafe';

export interface ModelCard {
  file: string;
  fileName: string;
  bytes: number;
  sha256: string;
  producer: string;
  irVersion: number;
  opset: number;
  parameters: number;
  input: string;
  inputType: 'int64' | 'int32';
  lengthInput: string | null;
  output: string;
  outputRank: 2 | 3;
  /** The input's and output's shapes as shown, e.g. "[batch, 50]", or "[1, 50]" for a static export. */
  inputShape: string;
  outputShape: string;
  /** Real items: score columns minus pad and mask. */
  numItems: number;
  scoreWidth: number;
  seqLen: number;
  padding: 'left' | 'right';
  padId: number;
  maskId: number | null;
  itemEmbedding: string | null;
  embeddingDim: number | null;
  /** Where each adapter field came from, so a user knows what to override. */
  sources: Record<string, FieldSource>;
  sidecar: string | null;
  externalFiles: string[];
  operators: Record<string, number>;
  /**
   * RecMark's served GREW head (embedded with --mode serve): nodes after the score output that
   * anyone holding the file can remove. Null when the file has none.
   */
  servedHead: { nodes: number; note: string } | null;
}

const FLOAT_TYPES = new Set<number>([
  DataType.FLOAT,
  DataType.FLOAT16,
  DataType.DOUBLE,
  DataType.BFLOAT16,
]);

/** Load a model, detect its adapter and describe it. */
export async function inspectModel(
  file: string,
): Promise<{ card: ModelCard; model: LoadedModel; adapter: Adapter }> {
  const opened = await openModel(file);
  return { card: await modelCard(opened), model: opened.model, adapter: opened.adapter };
}

/** The card of an opened model (hashing its file). */
export async function modelCard({ model, adapter, sidecar }: OpenedModel): Promise<ModelCard> {
  const card = describeModel(model, adapter, await sha256File(model.file));
  card.sidecar = sidecar ? path.basename(sidecar) : null;
  return card;
}

export function describeModel(model: LoadedModel, adapter: Adapter, sha256: string): ModelCard {
  const graph = model.proto.graph!;
  let parameters = 0;
  for (const t of graph.initializer ?? [])
    if (FLOAT_TYPES.has(t.dataType ?? 0)) parameters += tensorSize(t);
  const operators: Record<string, number> = {};
  for (const node of graph.node ?? []) {
    const op = node.domain ? `${node.domain}.${node.opType}` : (node.opType ?? '?');
    operators[op] = (operators[op] ?? 0) + 1;
  }
  const embedding = adapter.itemEmbedding
    ? (graph.initializer ?? []).find((t) => t.name === adapter.itemEmbedding)
    : undefined;
  return {
    file: model.file,
    fileName: path.basename(model.file),
    bytes: model.fileBytes,
    sha256,
    producer: [model.proto.producerName, model.proto.producerVersion].filter(Boolean).join(' '),
    irVersion: toNumber(model.proto.irVersion),
    opset: defaultOpset(model.proto),
    parameters,
    input: adapter.input,
    inputType: adapter.inputType,
    lengthInput: adapter.lengthInput,
    output: adapter.output,
    outputRank: adapter.outputRank,
    ...shapes(adapter),
    numItems: adapter.numItems,
    scoreWidth: adapter.scoreWidth,
    seqLen: adapter.seqLen,
    padding: adapter.padding,
    padId: adapter.padId,
    maskId: adapter.maskId,
    itemEmbedding: adapter.itemEmbedding,
    embeddingDim: embedding ? (tensorDims(embedding)[1] ?? null) : null,
    sources: { ...adapter.sources },
    sidecar: null,
    externalFiles: model.externalFiles,
    operators,
    servedHead: servedHeadNote(servedGrewHead(model.proto)),
  };
}

/** Shapes as a reader checks them against the export: a fixed batch shows as its number. */
function shapes(adapter: Adapter): { inputShape: string; outputShape: string } {
  const batch = adapter.fixedBatch ? String(adapter.fixedBatch) : 'batch';
  const score = adapter.outputRank === 2 ? 'N' : 'T, N';
  return { inputShape: `[${batch}, ${adapter.seqLen}]`, outputShape: `[${batch}, ${score}]` };
}

/** What a served GREW head is, in one line (the terminal and the model view say the same). */
function servedHeadNote(head: { nodes: number } | null): ModelCard['servedHead'] {
  if (!head) return null;
  const note =
    `RecMark GREW served head: ${head.nodes} nodes after the score output. It watermarks what ` +
    'this model serves, but anyone holding the file can remove it.';
  return { ...head, note };
}

/** Plain-text rendering for the terminal. */
export function formatModelCard(card: ModelCard): string {
  const src = (key: string): string =>
    card.sources[key] && card.sources[key] !== 'detected' ? ` (${card.sources[key]})` : '';
  const rows: [string, string][] = [
    ['File', `${card.fileName} (${formatBytes(card.bytes)})`],
    ['SHA-256', card.sha256],
    ['Producer', `${card.producer || 'unknown'}, IR ${card.irVersion}, opset ${card.opset}`],
    ['Parameters', card.parameters.toLocaleString('en-US')],
    ['Input', `${card.input} ${card.inputType}${card.inputShape}${src('input')}`],
    ['Length input', card.lengthInput ?? 'none'],
    ['Output', `${card.output} ${card.outputShape} over ${card.scoreWidth} ids${src('output')}`],
    ['Items', `${card.numItems.toLocaleString('en-US')} real items${src('numItems')}`],
    ['Padding', `${card.padding}, pad id ${card.padId}${src('padding')}`],
    ['Mask token', `${card.maskId ?? 'none'}${src('maskId')}`],
    ['Sequence length', `${card.seqLen}${src('seqLen')}`],
    [
      'Item embedding',
      card.itemEmbedding
        ? `${card.itemEmbedding} (dim ${card.embeddingDim})${src('itemEmbedding')}`
        : 'not found',
    ],
    ['Sidecar', card.sidecar ?? 'none'],
  ];
  if (card.externalFiles.length > 0) rows.push(['External data', card.externalFiles.join(', ')]);
  if (card.servedHead) rows.push(['Watermark head', card.servedHead.note]);
  const width = Math.max(...rows.map(([k]) => k.length));
  // Values come from the file (names, producer): one row each, whatever newlines they hold.
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${safeText(v)}`).join('\n');
}
