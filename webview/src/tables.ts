/**
 * Plain semantic tables for the report: they print, they work in the standalone export, and
 * screen readers announce their headers.
 */
import { el } from './toolkit';

type Cell = Node | string;

/** Column headers on top; `numeric[i]` right-aligns column i with tabular figures. */
export function dataTable(
  label: string,
  header: string[],
  rows: Cell[][],
  numeric: boolean[] = [],
): HTMLElement {
  const align = (i: number): Record<string, string> => (numeric[i] ? { class: 'rm-num' } : {});
  return el(
    'table',
    { class: 'rm-table', 'aria-label': label },
    el(
      'thead',
      {},
      el('tr', {}, ...header.map((h, i) => el('th', { scope: 'col', ...align(i) }, h))),
    ),
    el(
      'tbody',
      {},
      ...rows.map((row) => el('tr', {}, ...row.map((cell, i) => el('td', align(i), cell)))),
    ),
  );
}

/** Field names in the first column (as row headers), values in the second. */
export function keyValueTable(label: string, rows: [string, Cell][]): HTMLElement {
  return el(
    'table',
    { class: 'rm-table rm-kv', 'aria-label': label },
    el(
      'tbody',
      {},
      ...rows.map(([key, value]) =>
        el('tr', {}, el('th', { scope: 'row' }, key), el('td', {}, value)),
      ),
    ),
  );
}
