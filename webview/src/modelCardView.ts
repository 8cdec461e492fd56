/** Renders a ModelCard (computed by the host) as the inline model view. */
import type { ModelCard } from '../../src/core/report/modelCard';
import { badge, button, dataGrid, divider, el, tag } from './toolkit';

const number = (n: number): string => n.toLocaleString('en-US');

function bytes(n: number): string {
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 ** 2).toFixed(1)} MB`;
}

export function renderModelCard(card: ModelCard, copy: (text: string) => void): HTMLElement {
  const source = (key: string): string => card.sources[key] ?? 'detected';
  const adapterRows: string[][] = [
    ['Sequence input', `${card.input}  ${card.inputType}${card.inputShape}`, source('input')],
    ['Length input', card.lengthInput ?? '—', card.lengthInput ? 'detected' : '—'],
    ['Score output', `${card.output}  ${card.outputShape}`, source('output')],
    [
      'Real items',
      `${number(card.numItems)} of ${number(card.scoreWidth)} ids`,
      source('numItems'),
    ],
    ['Sequence length', String(card.seqLen), source('seqLen')],
    ['Padding', `${card.padding}, pad id ${card.padId}`, source('padding')],
    ['Mask token', card.maskId === null ? 'none' : String(card.maskId), source('maskId')],
    [
      'Item embedding',
      card.itemEmbedding ? `${card.itemEmbedding} (dim ${card.embeddingDim ?? '?'})` : 'not found',
      source('itemEmbedding'),
    ],
  ];
  const modelRows: string[][] = [
    ['File', `${card.fileName} (${bytes(card.bytes)})`],
    ['Producer', card.producer || 'unknown'],
    ['ONNX', `IR ${card.irVersion}, opset ${card.opset}`],
    ['Parameters', number(card.parameters)],
    ['Sidecar', card.sidecar ?? 'none (all fields detected or defaulted)'],
  ];
  if (card.externalFiles.length > 0)
    modelRows.push(['External data', card.externalFiles.join(', ')]);
  if (card.servedHead) modelRows.push(['Watermark head', card.servedHead.note]);

  const operators = el('div', { class: 'tags', 'aria-label': 'Operators in the graph' });
  for (const [op, count] of Object.entries(card.operators).sort((a, b) => b[1] - a[1])) {
    operators.append(tag(`${op} × ${count}`));
  }

  return el(
    'article',
    { class: 'card' },
    el(
      'header',
      { class: 'card-header' },
      el('h1', {}, card.fileName),
      el(
        'div',
        { class: 'badges' },
        badge(`${number(card.numItems)} items`),
        badge(`opset ${card.opset}`),
        badge(card.outputRank === 2 ? 'last-position scores' : 'all-position scores'),
        ...(card.servedHead ? [badge('GREW served head')] : []),
      ),
    ),
    el(
      'p',
      { class: 'hash' },
      el('span', { class: 'muted' }, 'SHA-256 '),
      el('code', {}, card.sha256),
      ' ',
      button('Copy', () => copy(card.sha256)),
    ),
    divider(),
    el(
      'div',
      { class: 'columns' },
      el(
        'section',
        {},
        el('h2', {}, 'Adapter'),
        dataGrid('Adapter', ['Field', 'Value', 'Source'], adapterRows),
      ),
      el(
        'section',
        {},
        el('h2', {}, 'Checkpoint'),
        dataGrid('Checkpoint', ['Field', 'Value'], modelRows),
      ),
    ),
    el('section', {}, el('h2', {}, 'Operators'), operators),
    el(
      'p',
      { class: 'muted' },
      'Fields marked "default" were not found in the graph. To override any of them, put a ',
      el('code', {}, `${card.fileName}.recmark.json`),
      ' sidecar next to the model (keys: input, output, padding, padId, maskId, numItems, seqLen, itemEmbedding).',
    ),
  );
}

export function renderError(
  message: string,
  fix?: string,
  title = 'This model cannot be read',
): HTMLElement {
  const view = el(
    'article',
    { class: 'card error', role: 'alert' },
    el('h1', {}, title),
    el('p', {}, message),
  );
  if (fix) view.append(el('p', { class: 'muted' }, fix));
  return view;
}
