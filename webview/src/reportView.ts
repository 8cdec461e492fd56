/**
 * The audit report (DESIGN.md §4b), top to bottom: actions toolbar, verdict, evidence, robustness (after a
 * sweep), utility, model card, parameters and timings. One column, two on wide panels.
 * The same view renders in the report panel, under the model card of the inline `.onnx` view, and
 * in the HTML export.
 */
import { parameterLabel } from '../../src/core/report/labels';
import type { AuditReport, KeyCheck, ReportDetail, Verdict } from '../../src/core/report/report';
import type { WebviewAction } from '../../src/vscode/protocol';
import { aowHitsText, renderAowEvidence } from './aowEvidence';
import { bytes, dateTime, duration, int, num, percent, probability } from './format';
import { renderEndpoint } from './endpointView';
import { renderGrewEvidence } from './grewEvidence';
import { renderRobustness } from './robustnessView';
import { dataTable, keyValueTable } from './tables';
import { el } from './toolkit';
import { utilityTable, utilityUsersNote } from './utilityView';

export interface ReportViewOptions {
  /** Export / re-run buttons are shown only when there is someone to handle them. */
  onAction?(action: WebviewAction): void;
  /** Which of them to offer (default: all); a restored panel cannot re-run. */
  actions?: readonly WebviewAction[];
  /** Copy to the clipboard (the host does it in VS Code; the browser API in the export). */
  onCopy?(text: string): void;
  /** Rendered inside another view (the model card): no page title, headings one level down. */
  nested?: boolean;
}

const VERDICT_TEXT: Record<Verdict, { lead: string; word: string }> = {
  present: { lead: 'Watermark', word: 'PRESENT' },
  absent: { lead: 'Watermark', word: 'ABSENT' },
  inconclusive: { lead: 'Evidence', word: 'INCONCLUSIVE' },
};

const SCHEME_TEXT: Record<AuditReport['scheme'], string> = {
  grew: 'GREW (green/red item lists)',
  aow: 'AOW (out-of-distribution sequence)',
};

export function renderReport(report: AuditReport, options: ReportViewOptions = {}): HTMLElement {
  const level = options.nested ? 3 : 2;
  const heading = (text: string, id: string): HTMLElement => el(`h${level}`, { id }, text);
  const ids = uniqueIds();

  const root = el('article', { class: 'rm-report', 'aria-label': 'Watermark audit report' });
  if (!options.nested) {
    root.append(
      el(
        'header',
        { class: 'rm-header' },
        el('h1', {}, 'Watermark audit'),
        el(
          'p',
          { class: 'rm-subtitle' },
          el('span', { class: 'rm-file' }, report.model.fileName),
          el('span', { 'aria-hidden': 'true' }, ' · '),
          el('time', { datetime: report.createdAt }, dateTime(report.createdAt)),
        ),
      ),
    );
  }
  if (options.onAction) root.append(actionBar(options.onAction, options.actions));
  root.append(verdictBanner(report));
  if (report.keyChecks && report.keyChecks.length > 1) {
    root.append(keysCheckedPanel(report.keyChecks, report.correction, heading, ids('keys')));
  }

  const evidenceId = ids('evidence');
  const evidence = el(
    'section',
    { class: 'rm-section', 'aria-labelledby': evidenceId },
    heading('Evidence', evidenceId),
  );
  if (report.grew) evidence.append(renderGrewEvidence(report.grew, level + 1));
  else if (report.aow) evidence.append(renderAowEvidence(report.aow, level + 1));
  else
    evidence.append(
      el(
        'p',
        { class: 'rm-note' },
        `This ${report.scheme.toUpperCase()} report carries no chart data; the verdict above rests on the p-value alone.`,
      ),
    );
  // The supporting statistics, explained, close the evidence they support.
  const details = report.explanation?.details ?? [];
  if (details.length > 0) evidence.append(detailsPanel(details, level + 1, ids('details')));
  root.append(evidence);

  if (report.robustness) {
    const robustnessId = ids('robustness');
    root.append(
      el(
        'section',
        { class: 'rm-section', 'aria-labelledby': robustnessId },
        heading('Robustness', robustnessId),
        renderRobustness(report.robustness, report.alpha, level + 1),
      ),
    );
  }

  const panels = el('div', { class: 'rm-columns' });
  if (report.utility && report.utility.length > 0) {
    panels.append(
      panel(heading, ids('utility'), 'Utility', utilityTable(report), ...utilityUsersNote(report)),
    );
  }
  panels.append(
    report.endpoint
      ? panel(heading, ids('endpoint'), 'Endpoint', renderEndpoint(report.endpoint))
      : panel(heading, ids('model'), 'Model', modelTable(report, options.onCopy)),
    panel(heading, ids('parameters'), 'Parameters', parametersTable(report)),
    panel(heading, ids('timings'), 'Run', timingsTable(report)),
  );
  root.append(panels);

  return root;
}

function verdictBanner(report: AuditReport): HTMLElement {
  const text = VERDICT_TEXT[report.verdict];
  return el(
    'section',
    {
      class: `rm-banner rm-${report.verdict}`,
      role: 'status',
      'aria-label': `Verdict: ${text.lead} ${text.word.toLowerCase()}`,
    },
    verdictIcon(report.verdict),
    el(
      'div',
      { class: 'rm-banner-body' },
      el(
        'p',
        { class: 'rm-verdict' },
        el('span', { class: 'rm-verdict-lead' }, `${text.lead} `),
        el('strong', { class: 'rm-verdict-word' }, text.word),
      ),
      el(
        'p',
        { class: 'rm-banner-meta' },
        chip('Scheme', SCHEME_TEXT[report.scheme]),
        chip('p', report.pValueText),
        // Core states α as compared (corrected for several keys); older reports carry α alone.
        chip('α', report.explanation?.alphaText ?? probability(report.alpha)),
      ),
      ...(report.explanation?.pSentence
        ? [el('p', { class: 'rm-p-sentence' }, report.explanation.pSentence)]
        : []),
      el('p', { class: 'rm-sentence' }, ...withPowers(report.sentence)),
      ...(report.explanation?.decidedBy
        ? [el('p', { class: 'rm-decided-by' }, report.explanation.decidedBy)]
        : []),
    ),
    ...keyFigures(report),
  );
}

/** The few numbers behind the verdict, beside it. */
function keyFigures(report: AuditReport): HTMLElement[] {
  const figure = (label: string, value: string, note: string): HTMLElement =>
    el(
      'div',
      { class: 'rm-figure-stat' },
      el('dt', {}, label),
      el('dd', {}, el('span', { class: 'rm-figure-value' }, value), el('span', {}, note)),
    );
  // A report saved before core recorded the figures shows dashes, not numbers made up here.
  const g = report.grew;
  if (g) {
    const f = g.figures;
    return [
      el(
        'dl',
        { class: 'rm-key-figures' },
        figure(
          'Green rate',
          f ? percent(f.greenRate) : '—',
          f ? `expected ${percent(f.expectedGreenRate)}` : 'not in this report',
        ),
        figure(
          'Evidence',
          f ? `z = ${num(f.zDecision, 1)}` : '—',
          f ? (f.zDecisionNote ?? 'std. deviations from chance') : 'not in this report',
        ),
        figure('Probes', int(g.probes), `top-${g.topK} lists`),
      ),
    ];
  }
  const a = report.aow;
  if (a) {
    const k = a.ks[0] ?? 1;
    const f = a.figures;
    return [
      el(
        'dl',
        { class: 'rm-key-figures' },
        figure(
          `Recall@${k}`,
          aowHitsText(a, k),
          `steps ranked ${k === 1 ? 'first' : `in the top ${k}`}`,
        ),
        figure(
          'Best rank',
          f && f.bestRank !== null ? int(f.bestRank) : '—',
          `of ${int(a.numItems)} items`,
        ),
        figure('Fisher p', a.pFisherText, `all ${f ? f.steps : 'L − 1'} ranks combined`),
      ),
    ];
  }
  return [];
}

/**
 * Every key checked on this model, strongest evidence first; the evidence below is the first
 * key's. A key that could not be checked (another catalogue, say) says why.
 */
function keysCheckedPanel(
  checks: KeyCheck[],
  correction: AuditReport['correction'],
  heading: (text: string, id: string) => HTMLElement,
  id: string,
): HTMLElement {
  const rows = checks.map((c, i) => {
    const verdict = c.error
      ? el('span', { class: 'rm-key-verdict rm-key-error' }, 'NOT CHECKED')
      : el('span', { class: `rm-key-verdict rm-${c.verdict}` }, VERDICT_TEXT[c.verdict].word);
    const note = c.error
      ? el('span', { class: 'rm-key-error' }, c.error)
      : i === 0
        ? 'evidence shown below'
        : '';
    return [
      el('code', {}, c.keyId),
      c.scheme.toUpperCase(),
      verdict,
      c.error ? '—' : c.pValueText,
      note,
    ];
  });
  const section = panel(
    heading,
    id,
    'Keys checked',
    dataTable('Keys checked', ['Key id', 'Scheme', 'Verdict', 'p', 'Note'], rows, [
      false,
      false,
      false,
      true,
      false,
    ]),
    el(
      'p',
      { class: 'rm-note' },
      `${checks.length} keys were checked on this model, strongest evidence first. The verdict and the evidence are for the first key. ` +
        (correction
          ? `Each verdict is corrected for the ${correction.keys} keys tried: its p-value is compared with α / ${correction.keys} = ${probability(correction.alpha)} (Bonferroni), so trying more keys cannot make an unrelated model look watermarked.`
          : `Each p-value is for its own key: with ${checks.length} keys, the chance that some unrelated key looks significant is up to ${checks.length} times its p-value.`),
    ),
  );
  section.classList.add('rm-keys');
  return section;
}

/** The supporting statistics core explained: each value with one line saying what it means. */
function detailsPanel(details: ReportDetail[], level: number, id: string): HTMLElement {
  const rows = details.map((d) => [
    d.decides
      ? el('span', {}, d.label, el('strong', { class: 'rm-decides' }, ' (decides)'))
      : d.label,
    d.value,
    d.meaning,
  ]);
  return el(
    'section',
    { class: 'rm-panel rm-details', 'aria-labelledby': id },
    el(`h${level}`, { id }, 'Details'),
    dataTable('Details', ['Statistic', 'Value', 'What it means'], rows, [false, false, false]),
  );
}

/** "1 in 10^12" with a real superscript. */
function withPowers(text: string): (string | HTMLElement)[] {
  return text
    .split(/(10\^-?\d+)/)
    .filter((part) => part !== '')
    .map((part) => {
      const power = /^10\^(-?\d+)$/.exec(part);
      return power ? el('span', {}, '10', el('sup', {}, power[1])) : part;
    });
}

function chip(name: string, value: string): HTMLElement {
  return el(
    'span',
    { class: 'rm-chip' },
    // A clamped p ("< 1e-300") carries its own relation.
    el(
      'span',
      { class: 'rm-chip-name' },
      name === 'Scheme' ? '' : value.startsWith('<') ? `${name} ` : `${name} = `,
    ),
    value,
  );
}

/** Verdicts are told apart by shape and word as well as colour. */
function verdictIcon(verdict: Verdict): SVGElement {
  const NS = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', 'rm-banner-icon');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const paths: Record<Verdict, string[]> = {
    // A shield with a check mark.
    present: [
      'M12 2.5 4 5.5v6c0 5 3.4 9.1 8 10.5 4.6-1.4 8-5.5 8-10.5v-6z',
      'm8.2 12.2 2.6 2.6 5-5.4',
    ],
    // A circle with a horizontal bar.
    absent: ['M12 2.75a9.25 9.25 0 1 0 0 18.5 9.25 9.25 0 0 0 0-18.5z', 'M7.5 12h9'],
    // A triangle with an exclamation mark.
    inconclusive: ['M12 3 2.5 20h19z', 'M12 9.5v5', 'M12 17.2v.3'],
  };
  for (const d of paths[verdict]) {
    const path = document.createElementNS(NS, 'path');
    path.setAttribute('d', d);
    svg.append(path);
  }
  return svg;
}

function panel(
  heading: (text: string, id: string) => HTMLElement,
  id: string,
  title: string,
  ...content: HTMLElement[]
): HTMLElement {
  return el(
    'section',
    { class: 'rm-panel', 'aria-labelledby': id },
    heading(title, id),
    ...content,
  );
}

function modelTable(report: AuditReport, onCopy?: (text: string) => void): HTMLElement {
  const m = report.model;
  const hash = el('span', { class: 'rm-hash' }, el('code', {}, m.sha256));
  if (onCopy) hash.append(copyButton(m.sha256, 'Copy SHA-256', onCopy));
  return keyValueTable('Model', [
    ['File', `${m.fileName} (${bytes(m.bytes)})`],
    ['SHA-256', hash],
    ['Catalogue', `${int(m.numItems)} items`],
    ['Parameters', int(m.parameters)],
    ['ONNX opset', String(m.opset)],
    ['Input', el('code', {}, m.input)],
    [
      'Output',
      el(
        'span',
        {},
        el('code', {}, m.output),
        m.outputRank === 2 ? ' [batch, N]' : ' [batch, T, N]',
      ),
    ],
    ['Padding', `${m.padding}; mask token ${m.maskId === null ? 'none' : String(m.maskId)}`],
    ['Key id', el('code', {}, report.keyId)],
  ]);
}

function copyButton(text: string, label: string, onCopy: (text: string) => void): HTMLElement {
  const node = el(
    'button',
    { type: 'button', class: 'rm-button rm-small', 'aria-label': label },
    'Copy',
  );
  node.addEventListener('click', () => {
    onCopy(text);
    node.textContent = 'Copied';
    window.setTimeout(() => (node.textContent = 'Copy'), 1500);
  });
  return node;
}

function parametersTable(report: AuditReport): HTMLElement {
  const entries = Object.entries(report.parameters);
  if (entries.length === 0) return el('p', { class: 'rm-note' }, 'No parameters recorded.');
  return keyValueTable(
    'Parameters',
    entries.map(([key, value]) => [parameterLabel(key), el('code', {}, String(value))]),
  );
}

function timingsTable(report: AuditReport): HTMLElement {
  const total = report.timings.reduce((sum, t) => sum + t.ms, 0);
  const rows: [string, Node | string][] = [
    ['Created', el('time', { datetime: report.createdAt }, dateTime(report.createdAt))],
    ...report.timings.map((t): [string, string] => [t.step, duration(t.ms)]),
  ];
  if (report.timings.length > 0) rows.push(['Total', duration(total)]);
  const table = keyValueTable('Run', rows);
  table.classList.add('rm-timings');
  return table;
}

/** The report's actions, in a toolbar at the top (it stays in view while the report scrolls). */
function actionBar(
  onAction: (action: WebviewAction) => void,
  offered: readonly WebviewAction[] = ['exportHtml', 'exportJson', 'rerun'],
): HTMLElement {
  const action = (label: string, a: WebviewAction, primary = false): HTMLElement => {
    const node = el(
      'button',
      { type: 'button', class: primary ? 'rm-button rm-primary' : 'rm-button' },
      label,
    );
    node.addEventListener('click', () => onAction(a));
    return node;
  };
  const buttons: [string, WebviewAction, boolean][] = [
    ['Export HTML', 'exportHtml', true],
    ['Export JSON', 'exportJson', false],
    ['Re-run', 'rerun', false],
  ];
  return el(
    'div',
    { class: 'rm-actions', role: 'toolbar', 'aria-label': 'Report actions' },
    ...buttons.filter(([, a]) => offered.includes(a)).map(([label, a, p]) => action(label, a, p)),
  );
}

/** Element ids unique within the document, even with two reports on one page. */
let idCounter = 0;
function uniqueIds(): (name: string) => string {
  const prefix = `rm${++idCounter}`;
  return (name) => `${prefix}-${name}`;
}
