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

/** Said in place of a chart whose numbers the report does not carry. */
export const UNAVAILABLE_TEXT =
  'This chart is not available for this report: it was saved by an earlier version of RecMark, which did not record the numbers the chart draws. Run the audit again to see it.';

/**
 * A figure's place in the layout when the report lacks the chart's numbers (a report saved before
 * core recorded them): the view says so rather than compute them itself.
 */
export function unavailableFigure(title: string, wide = false): HTMLElement {
  return el(
    'figure',
    { class: `rm-panel rm-figure rm-unavailable${wide ? ' rm-wide' : ''}` },
    el('figcaption', {}, el('span', { class: 'rm-figure-title' }, title)),
    el('p', { class: 'rm-note', role: 'note' }, UNAVAILABLE_TEXT),
  );
}
