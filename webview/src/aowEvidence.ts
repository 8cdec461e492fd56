/**
 * AOW evidence (DESIGN.md §3): how well the suspect continues prefixes of the watermark
 * sequence. Core computed every number drawn here (report/figures.ts: hits at each K, ranks as
 * shares of the catalogue, the random median); a saved report without them shows a note instead.
 *
 * The sequence itself is the secret of an AOW key, so nothing here shows an item id: steps are
 * named by position (w1…w5), never by item.
 */
import type { Plugin } from 'chart.js';
import type { AowEvidence, AowFigures } from '../../src/core/report/report';
import {
  axisOptions,
  baseOptions,
  chartBox,
  palette,
  withAlpha,
  type ChartKind,
  type Palette,
  type ReportDatasets,
} from './charts';
import { int, num, percentSmall } from './format';
import { dataTable, keyValueTable } from './tables';
import { figure, unavailableFigure } from './figure';
import { el } from './toolkit';

let statsCounter = 0;

/** The charts, the step table and the statistics; `level` is the heading level of the panels. */
export function renderAowEvidence(a: AowEvidence, level = 3): HTMLElement {
  const p = palette();
  const f = a.figures;
  return el(
    'div',
    { class: 'rm-grid' },
    f ? recallFigure(a, f, p) : unavailableFigure('Extraction recall at K'),
    f ? rankFigure(a, f, p) : unavailableFigure('Rank of each watermark step'),
    statsPanel(a, f, level),
  );
}

/** "3/4": targets within the top K of the steps, or a dash when the report lacks the count. */
export function aowHitsText(a: AowEvidence, k: number): string {
  const f = a.figures;
  const hits = f?.hits[String(k)];
  return f && hits !== undefined ? `${hits}/${f.steps}` : '—';
}

function recallFigure(a: AowEvidence, f: AowFigures, p: Palette): HTMLElement {
  const steps = f.steps;
  const hits = (k: number): number => f.hits[String(k)] ?? 0;
  const labels = a.ks.map(String);
  const recall = a.ks.map((k) => a.recall[String(k)] ?? 0);
  const chance = a.ks.map((k) => a.chance[String(k)] ?? Number.NaN);
  const chanceRange =
    chance.length > 1
      ? `${percentSmall(chance[0])} at K = ${a.ks[0]} to ${percentSmall(chance.at(-1)!)} at K = ${a.ks.at(-1)}`
      : percentSmall(chance[0] ?? 0);
  const summary =
    `Recall at K of the suspect over ${steps} watermark steps: ` +
    a.ks.map((k, i) => `K = ${k}: ${percentSmall(recall[i])} (${hits(k)} of ${steps})`).join('; ') +
    `. Chance (K / ${int(a.numItems)}): ${chanceRange}.`;

  const datasets: ReportDatasets = [
    {
      type: 'bar',
      label: 'Suspect model',
      data: recall,
      backgroundColor: withAlpha(p.suspect, 0.8),
      borderColor: p.suspect,
      borderWidth: 1,
      pointStyle: 'rect',
      order: 2,
    },
    {
      // Chance is a few hundredths of a percent at small K: diamond markers drawn over the
      // baseline (unclipped) keep it visible, and the legend and the table carry its values.
      type: 'line',
      label: `Chance K/N (${chance.length > 1 ? `${percentSmall(chance[0])}–${percentSmall(chance.at(-1)!)}` : percentSmall(chance[0] ?? 0)})`,
      data: chance,
      borderColor: p.expected,
      backgroundColor: p.expected,
      borderDash: [6, 4],
      borderWidth: 2,
      pointRadius: 5,
      pointHoverRadius: 6,
      pointStyle: 'rectRot',
      clip: false,
      order: 1,
    },
  ];
  const chart = chartBox(summary, {
    type: 'bar',
    data: { labels, datasets },
    options: {
      ...baseOptions(p),
      layout: { padding: { bottom: 4 } },
      scales: {
        x: axisOptions(p, 'K (the target must rank within the top K)'),
        y: {
          ...axisOptions(p, 'Recall@K (share of steps)'),
          min: 0,
          max: 1,
          ticks: {
            color: p.muted,
            // Few steps: one gridline per hit (0/4, 1/4, …), so bar tops land on lines.
            stepSize: steps > 0 && steps <= 10 ? 1 / steps : undefined,
            callback: (v) => percentSmall(Number(v)),
          },
        },
      },
      plugins: {
        ...baseOptions(p).plugins,
        tooltip: {
          animation: false,
          callbacks: {
            title: (items) => `K = ${items[0]?.label ?? ''}`,
            label: (item) => {
              const k = a.ks[item.dataIndex];
              return item.datasetIndex === 0
                ? `Suspect: ${percentSmall(Number(item.raw))} (${hits(k)} of ${steps} steps)`
                : `Chance: ${percentSmall(Number(item.raw))}`;
            },
          },
        },
      },
    },
  });

  const rows = a.ks.map((k, i) => [
    String(k),
    percentSmall(recall[i]),
    `${hits(k)}/${steps}`,
    percentSmall(chance[i]),
  ]);
  // Open by default: at small K the chance level is too close to zero to read off the chart.
  return figure(
    'Extraction recall at K',
    `The share of the ${steps} watermark steps whose next item the suspect ranks within its top K of ${int(a.numItems)} items. A watermarked model recalls nearly every step already at K = 1; a clean model stays near the chance line (K/N, a few hundredths of a percent at small K).`,
    chart,
    dataTable('Extraction recall at K', ['K', 'Recall@K', 'Hits', 'Chance K/N'], rows, [
      true,
      true,
      true,
      true,
    ]),
    true,
  );
}

function rankFigure(a: AowEvidence, f: AowFigures, p: Palette): HTMLElement {
  const n = Math.max(1, a.numItems);
  const labels = a.ranks.map((_, i) => String(i + 1));
  const median = f.randomMedianRank;
  const summary =
    `Rank of each watermark step's target among ${int(n)} items (1 = first): ` +
    a.ranks.map((r, i) => `step ${i + 1}: ${int(r)}`).join(', ') +
    `. A random ranking puts a target at rank ${int(median)} on average.`;

  // Core words each rank ("top 0.027%", "bottom 2.3%"); older reports carry only the share.
  const position = (i: number): string =>
    f.rankPositions?.[i] ??
    `${a.censored?.[i] ? 'below top' : 'top'} ${percentSmall(f.rankShares[i] ?? Number.NaN)}`;
  const decades: number[] = [];
  for (let v = 1; v < n; v *= 10) decades.push(v);
  const ticks = [...decades, n];

  const chart = chartBox(summary, {
    type: 'line',
    data: {
      labels,
      datasets: [
        {
          type: 'line',
          label: 'Rank of the target',
          data: a.ranks,
          borderColor: p.suspect,
          backgroundColor: p.suspect,
          borderWidth: 2,
          pointRadius: 5,
          pointHoverRadius: 6,
          pointStyle: 'circle',
          clip: false,
          order: 1,
        },
        {
          type: 'line',
          label: `Random ranking (median ${int(median)})`,
          data: labels.map(() => median),
          borderColor: p.expected,
          backgroundColor: p.expected,
          borderDash: [6, 4],
          borderWidth: 2,
          pointRadius: 0,
          pointHitRadius: 0,
          pointStyle: 'line',
          order: 2,
        },
      ],
    },
    options: {
      ...baseOptions(p),
      layout: { padding: { top: 6, bottom: 6 } },
      scales: {
        x: axisOptions(p, 'Step i (prefix of i items → item i + 1)'),
        y: {
          ...axisOptions(p, 'Rank (log scale)'),
          type: 'logarithmic',
          reverse: true,
          min: 1,
          max: n,
          afterBuildTicks: (scale) => {
            scale.ticks = ticks.map((value) => ({ value }));
          },
          ticks: { color: p.muted, callback: (v) => int(Number(v)) },
        },
      },
      plugins: {
        ...baseOptions(p).plugins,
        tooltip: {
          animation: false,
          filter: (item) => item.datasetIndex === 0,
          callbacks: {
            title: (items) => `Step ${items[0]?.label ?? ''}`,
            label: (item) =>
              `Rank ${int(Number(item.raw))} of ${int(n)} (${position(item.dataIndex)})`,
          },
        },
      },
    },
    plugins: [topBand(p)],
  });

  const mark = (hit: boolean): HTMLElement =>
    el(
      'span',
      { class: hit ? 'rm-hit' : 'rm-miss', role: 'img', 'aria-label': hit ? 'hit' : 'miss' },
      hit ? '✓' : '—',
    );
  // On a catalogue of 10 items or fewer every target is in the top 10: the column says nothing.
  const top10 = n > 10;
  // An endpoint that returns only its top m says "beyond m" for a target it did not list.
  const censored = (i: number): boolean => a.censored?.[i] ?? false;
  const rows = a.ranks.map((r, i) => [
    String(i + 1),
    i === 0 ? 'w1 (1 item)' : `w1…w${i + 1} (${i + 1} items)`,
    censored(i) ? `> ${int(r - 1)} of ${int(n)}` : `${int(r)} of ${int(n)}`,
    position(i),
    mark(f.rankedFirst[i] ?? false),
    ...(top10 ? [mark(f.rankedTop10[i] ?? false)] : []),
  ]);
  const table = dataTable(
    'Rank of each watermark step',
    ['Step', 'Prefix', 'Rank', 'Percentile', 'Top 1', ...(top10 ? ['Top 10'] : [])],
    rows,
    [true, false, true, true, false, false],
  );
  table.classList.add('rm-steps');
  return figure(
    'Rank of each watermark step',
    `Step i asks the suspect to continue the first i items of the watermark sequence; the rank is where it puts item i + 1 among ${int(n)} items. A watermarked model ranks every target first (the points sit on the top line); a clean model's ranks scatter around the random median, far down the list.`,
    chart,
    table,
    true,
  );
}

/** A faint band across rank 1 to 10, so "ranked near the top" has a place on the chart. */
function topBand(p: Palette): Plugin<ChartKind> {
  return {
    id: 'rmTopBand',
    beforeDatasetsDraw(chart) {
      const { ctx, chartArea, scales } = chart;
      const y1 = scales.y.getPixelForValue(1);
      const y10 = scales.y.getPixelForValue(10);
      if (!Number.isFinite(y1) || !Number.isFinite(y10)) return;
      ctx.save();
      ctx.fillStyle = withAlpha(p.suspect, 0.08);
      ctx.fillRect(
        chartArea.left,
        Math.min(y1, y10),
        chartArea.right - chartArea.left,
        Math.abs(y10 - y1),
      );
      ctx.restore();
    },
  };
}

function statsPanel(a: AowEvidence, f: AowFigures | undefined, level: number): HTMLElement {
  const titleId = `rm-aow-stats-${++statsCounter}`;
  // An older report lacks the count: the notes then name it by its definition.
  const steps = f ? String(f.steps) : 'L − 1';
  const perK = dataTable(
    'Tests at each K',
    ['K', 'Hits', 'Chance', 'Binomial p', 'NDCG@K'],
    a.ks.map((k) => {
      const key = String(k);
      return [
        String(k),
        aowHitsText(a, k),
        percentSmall(a.chance[key] ?? Number.NaN),
        a.pBinomialText[key] ?? '—',
        num(a.ndcg[key] ?? 0, 3),
      ];
    }),
    [true, true, true, true, true],
  );
  const combined = keyValueTable('Combined test', [
    [
      'Fisher X',
      num(a.fisherStatistic, 1) +
        (f ? `  (χ² with ${f.fisherDegreesOfFreedom} degrees of freedom under no watermark)` : ''),
    ],
    ['Fisher p', a.pFisherText],
    ['Queries', `${steps} prefixes; ranks among ${int(a.numItems)} items`],
    ['Watermark length L', String(a.length)],
  ]);
  // Full width, the per-K tests beside the combined test (stacked on narrow panels).
  return el(
    'section',
    { class: 'rm-panel rm-stats rm-wide', 'aria-labelledby': titleId },
    el(`h${level}`, { id: titleId }, 'Test statistics'),
    el(
      'div',
      { class: 'rm-stats-columns' },
      el(
        'div',
        {},
        perK,
        el(
          'p',
          { class: 'rm-note' },
          `Binomial p: the chance that a model ranking the targets at random gets at least this many of the ${steps} steps within its top K, P(Binomial(${steps}, K/${int(a.numItems)}) ≥ hits).`,
        ),
      ),
      el('div', {}, combined, el('p', { class: 'rm-note' }, a.combination)),
    ),
  );
}
