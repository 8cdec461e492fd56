/** A captioned chart with its data table underneath: how every evidence chart is presented. */
import { el } from './toolkit';

export function figure(
  title: string,
  explanation: string,
  chart: HTMLElement,
  table: HTMLElement,
  tableOpen = false,
): HTMLElement {
  const details = el('details', { class: 'rm-data' }, el('summary', {}, 'Data table'), table);
  if (tableOpen) details.setAttribute('open', '');
  return el(
    'figure',
    { class: 'rm-panel rm-figure' },
    el(
      'figcaption',
      {},
      el('span', { class: 'rm-figure-title' }, title),
      el('span', { class: 'rm-figure-text' }, explanation),
    ),
    chart,
    details,
  );
}
