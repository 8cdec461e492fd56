/**
 * Every @vscode/webview-ui-toolkit use sits here: the toolkit is deprecated upstream, and this
 * seam is where @vscode-elements/elements (its maintained successor) would slot in.
 */
import {
  provideVSCodeDesignSystem,
  vsCodeButton,
  vsCodeDataGrid,
  vsCodeDataGridCell,
  vsCodeDataGridRow,
  vsCodeDivider,
} from '@vscode/webview-ui-toolkit';

provideVSCodeDesignSystem().register(
  vsCodeButton(),
  vsCodeDataGrid(),
  vsCodeDataGridCell(),
  vsCodeDataGridRow(),
  vsCodeDivider(),
);

type Child = Node | string;

export function el(
  tag: string,
  attrs: Record<string, string> = {},
  ...children: Child[]
): HTMLElement {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  // Text goes in as text nodes: model names come from untrusted files.
  for (const child of children)
    node.append(typeof child === 'string' ? document.createTextNode(child) : child);
  return node;
}

export function badge(text: string): HTMLElement {
  // A plain span: the toolkit's badge (and tag) template binds a style attribute, which a strict
  // style-src (no 'unsafe-inline') refuses on every render.
  return el('span', { class: 'badge' }, text);
}

export function tag(text: string): HTMLElement {
  return el('span', { class: 'tag' }, text);
}

export function divider(): HTMLElement {
  return el('vscode-divider', { role: 'separator' });
}

export function button(
  label: string,
  onClick: () => void,
  appearance: 'primary' | 'secondary' = 'secondary',
): HTMLElement {
  const node = el('vscode-button', { appearance }, label);
  node.addEventListener('click', onClick);
  return node;
}

/** A two- or three-column table with a header row, keyboard-navigable (the grid handles arrows). */
export function dataGrid(label: string, header: string[], rows: Child[][]): HTMLElement {
  const grid = el('vscode-data-grid', { 'aria-label': label, 'generate-header': 'none' });
  const headerRow = el('vscode-data-grid-row', { 'row-type': 'header' });
  header.forEach((title, i) =>
    headerRow.append(
      el(
        'vscode-data-grid-cell',
        { 'cell-type': 'columnheader', 'grid-column': String(i + 1) },
        title,
      ),
    ),
  );
  grid.append(headerRow);
  for (const row of rows) {
    const r = el('vscode-data-grid-row');
    row.forEach((cell, i) =>
      r.append(el('vscode-data-grid-cell', { 'grid-column': String(i + 1) }, cell)),
    );
    grid.append(r);
  }
  return grid;
}
