/**
 * Robustness (DESIGN.md §4b.3, §6): after a sweep, one row per simulated attack with the verdict
 * of the audit of the attacked copy. The host ran the attacks and the verifications, and core
 * derived the counts, the evidence −log10 p of each row and the α line (report/figures.ts); what
 * happens here is presentation: the bars against the α line, and the table. A saved report
 * without those figures shows the table and a note instead of the summary and the chart.
 *
 * A row whose attack could not run (`error`) has no verdict: its verdict, p-value and metric are
 * placeholders and are never shown.
 */
import type { Plugin } from 'chart.js';
import type {
  RobustnessFigures,
  RobustnessRow,
  RobustnessSection,
  Verdict,
} from '../../src/core/report/report';
import {
  axisOptions,
  baseOptions,
  chartBox,
  palette,
  verticalMarker,
  withAlpha,
  type ChartKind,
  type Palette,
  type ReportDatasets,
} from './charts';
import { duration, num, pClause, percentSmall, probability, signed } from './format';
import { unavailableFigure } from './figure';
import { dataTable } from './tables';
import { el } from './toolkit';

/** The evidence axis never runs past this (p below 1e-20 is overwhelming either way). */
const AXIS_CAP = 20;

type RowState = Verdict | 'notRun';

const STATE_TEXT: Record<RowState, { word: string; glyph: string; legend: string }> = {
  present: { word: 'PRESENT', glyph: '✓', legend: 'Survived (PRESENT)' },
  inconclusive: { word: 'INCONCLUSIVE', glyph: '?', legend: 'Weakened (INCONCLUSIVE)' },
  absent: { word: 'ABSENT', glyph: '✗', legend: 'Not detected (ABSENT)' },
  notRun: { word: 'NOT RUN', glyph: '—', legend: 'Not run' },
};

/** Verdicts in legend order, strongest first; each has its own fill, not only its own colour. */
const VERDICTS: Verdict[] = ['present', 'inconclusive', 'absent'];
const FILL: Record<Verdict, number> = { present: 0.85, inconclusive: 0.4, absent: 0.12 };

const state = (r: RobustnessRow): RowState => (r.error !== undefined ? 'notRun' : r.verdict);

let idCounter = 0;

/**
 * The summary line, the chart and the table. `alpha` is the report's: every attacked copy was
 * verified at it. `level` is the heading level of the table's panel.
 */
export function renderRobustness(
  section: RobustnessSection,
  alpha: number,
  level = 3,
): HTMLElement {
  const rows = section.rows;
  const f = section.figures;
  const root = el('div', { class: 'rm-robustness' });
  if (rows.length === 0) {
    root.append(
      el('p', { class: 'rm-robust-summary' }, 'The robustness sweep recorded no attacks.'),
    );
    return root;
  }
  if (f) root.append(summaryLine(rows.length, f, alpha));
  const p = palette();
  root.append(
    el(
      'div',
      { class: 'rm-grid' },
      f ? evidenceFigure(rows, f, alpha, p) : unavailableFigure('Evidence after each attack', true),
      attacksPanel(section, alpha, level),
    ),
  );
  return root;
}

/** "The watermark survived 6 of 8 attacks at α = 1e-4; 1 more could not run." */
function summaryLine(attacks: number, f: RobustnessFigures, alpha: number): HTMLElement {
  const line = el('p', { class: 'rm-robust-summary' });
  if (f.ran === 0) {
    line.append(`No attack could run (${attacks} tried); the table below says why for each.`);
    return line;
  }
  line.append(
    'The watermark survived ',
    el('strong', {}, `${f.survived} of ${f.ran}`),
    ` attack${f.ran === 1 ? '' : 's'} at α = ${probability(alpha)}`,
    f.notRun > 0 ? `; ${f.notRun} more could not run.` : '.',
  );
  return line;
}

function evidenceFigure(
  rows: RobustnessRow[],
  f: RobustnessFigures,
  alpha: number,
  p: Palette,
): HTMLElement {
  // −log10 p of a row that ran (0 for one that did not, which has no bar).
  const byRow = new Map(rows.map((r, i) => [r, f.evidence[i] ?? 0]));
  const evidence = (r: RobustnessRow): number => byRow.get(r) ?? 0;
  const threshold = f.alphaEvidence;
  const cap = Math.max(AXIS_CAP, Math.ceil(threshold * 1.5));
  const ran = rows.filter((r) => r.error === undefined);
  const strongest = Math.max(0, ...ran.map(evidence));
  const capped = strongest > cap;
  // Room past the α line even when every bar is short of it, so "short of it" is visible.
  const axisMax = capped
    ? cap
    : Math.min(
        cap,
        Math.max(Math.ceil(strongest * 1.1), Math.ceil(threshold * 1.5), threshold + 1),
      );
  const drawn = (r: RobustnessRow): number => Math.min(evidence(r), axisMax);
  const isCapped = (r: RobustnessRow): boolean => r.error === undefined && evidence(r) > axisMax;
  const labels = rows.map((r) => r.label);

  const datasets: ReportDatasets = VERDICTS.filter((v) => ran.some((r) => r.verdict === v)).map(
    (v) => ({
      type: 'bar' as const,
      label: STATE_TEXT[v].legend,
      data: rows.map((r) => (state(r) === v ? drawn(r) : null)),
      backgroundColor: withAlpha(p[v], FILL[v]),
      borderColor: p[v],
      borderWidth: 1.5,
      // One bar per row: the verdict datasets share the row instead of sitting side by side.
      grouped: false,
      barPercentage: 0.75,
      categoryPercentage: 0.9,
      pointStyle: 'rect',
    }),
  );
  // A legend entry for the α line (drawn by the marker plugin); no data of its own.
  datasets.push({
    type: 'line',
    label: `α = ${probability(alpha)}: bars past this line survived`,
    data: [],
    borderColor: p.expected,
    backgroundColor: p.expected,
    borderDash: [6, 4],
    borderWidth: 2,
    pointRadius: 0,
    pointStyle: 'line',
  });

  const summary =
    `Evidence −log10 p after each of ${rows.length} attacks, against the α line at ${num(threshold, 1)} ` +
    `(α = ${probability(alpha)}; bars past it mean the watermark survived): ` +
    rows
      .map((r) =>
        r.error !== undefined
          ? `${r.label}: not run`
          : `${r.label}: ${num(evidence(r), 1)}${isCapped(r) ? ` (beyond the axis at ${axisMax})` : ''}, ${STATE_TEXT[r.verdict].word}`,
      )
      .join('; ') +
    '.';

  const font = `600 ${p.fontSize}px ${p.fontFamily}`;
  const labelWidth = Math.max(...rows.map((r) => textWidth(rowLabel(r), font)));
  const base = baseOptions(p);
  const chart = chartBox(summary, {
    type: 'bar',
    data: { labels, datasets },
    options: {
      ...base,
      indexAxis: 'y',
      interaction: { mode: 'index', axis: 'y', intersect: false },
      // Top: the α label above the plot. Right: the verdict words past the longest bar.
      layout: { padding: { top: p.fontSize + 8, right: labelWidth + ARROW + 12 } },
      scales: {
        x: {
          ...axisOptions(p, 'Evidence −log10 p (higher = stronger)'),
          type: 'linear',
          min: 0,
          max: axisMax,
          ticks: {
            color: p.muted,
            callback: (v) => (capped && Number(v) === axisMax ? `≥ ${axisMax}` : num(Number(v), 0)),
          },
        },
        y: {
          ...axisOptions(p, ''),
          title: { display: false },
          grid: { display: false },
          ticks: {
            color: p.foreground,
            autoSkip: false,
            // At most about a third of the chart's width, in lines broken at spaces.
            callback(v) {
              const width = Math.max(90, this.chart.width * 0.3);
              return wrap(labels[Number(v)] ?? '', width, `${p.fontSize}px ${p.fontFamily}`);
            },
          },
        },
      },
      plugins: {
        ...base.plugins,
        tooltip: {
          animation: false,
          filter: (item) => item.raw !== null && item.raw !== undefined,
          callbacks: {
            title: (items) => labels[items[0]?.dataIndex ?? 0] ?? '',
            label: (item) => {
              const r = rows[item.dataIndex];
              return `${STATE_TEXT[state(r)].word}: ${pClause(r.pValueText)} (−log10 p = ${num(evidence(r), 1)}${isCapped(r) ? ', beyond the axis' : ''})`;
            },
          },
        },
      },
    },
    plugins: [
      verticalMarker(threshold, 'α', p.expected, { dash: [6, 4], label: 'above' }),
      barLabels(rows, evidence, isCapped, p, font),
    ],
  });
  // One band per attack (media/recmark.css sizes it: more room for wrapped labels when narrow).
  chart.classList.add('rm-robust-chart');
  chart.style.setProperty('--rm-rows', String(rows.length));

  return el(
    'figure',
    { class: 'rm-panel rm-figure rm-wide' },
    el(
      'figcaption',
      {},
      el('span', { class: 'rm-figure-title' }, 'Evidence after each attack'),
      el(
        'span',
        { class: 'rm-figure-text' },
        `Each bar is the strength of the watermark evidence, −log10 p, in the attacked copy of the model. A bar past the dashed α line (at ${num(threshold, 1)}) means the watermark survived that attack: the audit of the copy still says PRESENT. A bar short of it means this attack removed the watermark at α = ${probability(alpha)}; a clean model's bar stays near 0.` +
          (capped
            ? ` Bars ending in an arrow run past the axis (p below 1e-${axisMax}); the table has their p-values.`
            : '') +
          (f.notRun > 0 ? ' Attacks that could not run have no bar and read NOT RUN.' : ''),
      ),
    ),
    chart,
  );
}

/** Width of the arrow that marks a bar cut off at the axis. */
const ARROW = 9;

const rowLabel = (r: RobustnessRow): string =>
  `${STATE_TEXT[state(r)].glyph} ${STATE_TEXT[state(r)].word}`;

/**
 * The verdict word (and its glyph) at the end of each bar, an arrow past the end of a bar cut
 * off at the axis, and "NOT RUN" where an attack has no bar: the verdict never rests on colour.
 */
function barLabels(
  rows: RobustnessRow[],
  evidence: (r: RobustnessRow) => number,
  isCapped: (r: RobustnessRow) => boolean,
  p: Palette,
  font: string,
): Plugin<ChartKind> {
  return {
    id: 'rmBarLabels',
    afterDatasetsDraw(chart) {
      const { ctx, chartArea, scales } = chart;
      ctx.save();
      ctx.textBaseline = 'middle';
      ctx.textAlign = 'left';
      rows.forEach((r, i) => {
        const y = scales.y.getPixelForValue(i);
        if (r.error !== undefined) {
          ctx.font = `italic ${font.replace(/^600 /, '')}`;
          ctx.fillStyle = p.muted;
          ctx.fillText(rowLabel(r), chartArea.left + 6, y);
          return;
        }
        const x = scales.x.getPixelForValue(Math.min(evidence(r), scales.x.max));
        let end = x + 5;
        if (isCapped(r)) {
          const half = Math.min(8, Math.max(4, (scales.y.height / rows.length) * 0.3));
          ctx.fillStyle = p[r.verdict];
          ctx.beginPath();
          ctx.moveTo(x + 1, y - half);
          ctx.lineTo(x + 1 + ARROW, y);
          ctx.lineTo(x + 1, y + half);
          ctx.closePath();
          ctx.fill();
          end = x + ARROW + 5;
        }
        ctx.font = r.verdict === 'present' ? font : font.replace(/^600 /, '');
        ctx.fillStyle = p.foreground;
        ctx.fillText(rowLabel(r), end, y);
      });
      ctx.restore();
    },
  };
}

function attacksPanel(section: RobustnessSection, alpha: number, level: number): HTMLElement {
  const titleId = `rm-robust-${++idCounter}`;
  const rows = section.rows;
  const ran = rows.filter((r) => r.error === undefined);
  const names = [...new Set(ran.flatMap((r) => (r.metric ? [r.metric.name] : [])))];
  const oneMetric = names.length === 1 ? names[0] : undefined;
  const showNdcg = section.ndcg !== undefined || rows.some((r) => r.ndcg !== undefined);

  const header = [
    'Attack',
    'Setting',
    'Verdict',
    'p',
    oneMetric ?? 'Metric',
    'Top-10 overlap',
    ...(showNdcg
      ? [section.ndcg !== undefined ? `NDCG@10 (watermarked ${ndcgText(section.ndcg)})` : 'NDCG@10']
      : []),
    'Time',
  ];
  const ndcgChange = (i: number): number | null => section.figures?.ndcgChange[i] ?? null;
  const body = rows.map((r, i) => {
    const notRun = r.error !== undefined;
    const m = r.metric;
    const metric =
      notRun || !m
        ? '—'
        : oneMetric
          ? metricText(m.name, m.value)
          : `${m.name} ${metricText(m.name, m.value)}`;
    return [
      r.label,
      notRun ? el('span', { class: 'rm-key-error' }, r.error ?? '') : settingCell(r),
      verdictTag(r),
      notRun ? '—' : r.pValueText,
      metric,
      !notRun && r.fidelity !== undefined ? percentSmall(r.fidelity) : '—',
      ...(showNdcg ? [notRun || r.ndcg === undefined ? '—' : ndcgCell(r.ndcg, ndcgChange(i))] : []),
      duration(r.ms),
    ];
  });
  const table = dataTable('Robustness: one row per attack', header, body, [
    false,
    false,
    false,
    true,
    true,
    true,
    ...(showNdcg ? [true] : []),
    true,
  ]);
  table.classList.add('rm-robust-table');

  const notes = [
    `PRESENT: the audit of the attacked copy finds the watermark, p < α = ${probability(alpha)}, as for the model itself; INCONCLUSIVE: p below ${probability(0.01)} but not below α; ABSENT: no more evidence than an unrelated model would show.`,
    ...names.map(metricNote).filter((n) => n !== ''),
    'Top-10 overlap: the share of the watermarked model’s top-10 recommendations the attacked copy keeps (how much of the model a thief walks away with).',
  ];
  if (showNdcg) {
    notes.push(
      section.ndcg !== undefined
        ? `NDCG@10 (leave-one-out on the data) of the watermarked model itself: ${ndcgText(section.ndcg)}; the change in brackets is relative to it.`
        : 'NDCG@10: leave-one-out on the data.',
    );
  }
  return el(
    'section',
    { class: 'rm-panel rm-wide', 'aria-labelledby': titleId },
    el(`h${level}`, { id: titleId }, 'Attacks'),
    el('div', { class: 'rm-scroll' }, table),
    ...notes.map((n) => el('p', { class: 'rm-note' }, n)),
  );
}

/** The setting, and under it the row's note when it has one (e.g. a serve head stripped). */
function settingCell(r: RobustnessRow): HTMLElement | string {
  if (!r.note) return r.setting;
  return el('span', {}, r.setting, el('span', { class: 'rm-row-note' }, r.note));
}

function verdictTag(r: RobustnessRow): HTMLElement {
  const s = state(r);
  return el(
    'span',
    { class: `rm-key-verdict rm-${s === 'notRun' ? 'not-run' : s}` },
    el('span', { class: 'rm-glyph', 'aria-hidden': 'true' }, STATE_TEXT[s].glyph),
    ` ${STATE_TEXT[s].word}`,
  );
}

/** AOW's Recall@10 as a share of the watermark steps; GREW's z_w with one decimal. */
function metricText(name: string, value: number): string {
  if (/^(recall|hit|precision)/i.test(name)) return percentSmall(value);
  if (/^z/i.test(name)) return num(value, 1);
  return num(value, 3);
}

function metricNote(name: string): string {
  if (/^recall@/i.test(name))
    return `${name}: the share of the watermark steps whose next item the attacked copy ranks within its top ${name.split('@')[1]}; near 100% for a watermarked model, near 0% for a clean one.`;
  if (name === 'z_w')
    return 'z_w: the popularity-aware z of green-item bias in the attacked copy; about 0 for a clean model.';
  return '';
}

const ndcgText = (x: number): string => x.toFixed(4);

/** The attacked copy's NDCG@10 and, when the report has it, its change from the model's. */
function ndcgCell(value: number, change: number | null): HTMLElement | string {
  if (change === null) return ndcgText(value);
  return el(
    'span',
    {},
    `${ndcgText(value)} `,
    el('span', { class: change < -0.01 ? 'rm-worse' : 'rm-same' }, `(${signed(change * 100, 1)}%)`),
  );
}

/** A category label as lines at most `width` pixels wide (in `font`), broken at spaces. */
function wrap(text: string, width: number, font: string): string | string[] {
  if (textWidth(text, font) <= width) return text;
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    const longer = line ? `${line} ${word}` : word;
    if (line && textWidth(longer, font) > width) {
      lines.push(line);
      line = word;
    } else line = longer;
  }
  if (line) lines.push(line);
  return lines;
}

let measure: CanvasRenderingContext2D | null | undefined;
function textWidth(text: string, font: string): number {
  measure ??= document.createElement('canvas').getContext('2d');
  if (!measure) return text.length * 7;
  measure.font = font;
  return measure.measureText(text).width;
}
