/**
 * GREW evidence (DESIGN.md §4): the three charts and the statistics behind the verdict. Core
 * computed every number drawn here (report/figures.ts: the histograms, the Binomial(k, γ) and
 * normal reference curves, the counts); a saved report without them shows a note instead.
 */
import type { GrewEvidence, GrewFigures } from '../../src/core/report/report';
import {
  axisOptions,
  baseOptions,
  chartBox,
  palette,
  verticalMarker,
  withAlpha,
  type Palette,
  type ReportDatasets,
} from './charts';
import { int, num, pClause, percent, probability } from './format';
import { figure, unavailableFigure } from './figure';
import { el } from './toolkit';
import { dataTable, keyValueTable } from './tables';

let statsCounter = 0;

/** The charts and the statistics table; `level` is the heading level of the table's title. */
export function renderGrewEvidence(g: GrewEvidence, level = 3): HTMLElement {
  const p = palette();
  const f = g.figures;
  return el(
    'div',
    { class: 'rm-grid' },
    f ? greenFractionFigure(g, f, p) : unavailableFigure('Green items per probe'),
    rankFigure(g, f, p),
    f ? nullFigure(g, f, p) : unavailableFigure('Null distribution of green hits'),
    statsPanel(g, f, level),
  );
}

function greenFractionFigure(g: GrewEvidence, f: GrewFigures, p: Palette): HTMLElement {
  const k = g.topK;
  const perProbe = f.greenPerProbe;
  const suspect = perProbe.suspect;
  const nullShares = perProbe.nullKeys;
  const expected = perProbe.binomial;
  const labels = Array.from({ length: k + 1 }, (_, i) => String(i));
  const summary =
    `Histogram of green items per top-${k} list over ${int(g.probes)} probes. ` +
    `Suspect: ${num(perProbe.suspectMean, 1)} of ${k} green on average (${percent(perProbe.suspectMeanShare)}); ` +
    `expected without the watermark: ${num(perProbe.expectedMean, 1)} (${percent(g.gamma, 0)})` +
    (perProbe.nullKeysMean !== null ? `; null keys: ${num(perProbe.nullKeysMean, 1)}.` : '.');

  const datasets: ReportDatasets = [
    {
      type: 'bar',
      label: 'Suspect model',
      data: suspect,
      backgroundColor: withAlpha(p.suspect, 0.8),
      borderColor: p.suspect,
      borderWidth: 1,
      pointStyle: 'rect',
      order: 2,
    },
  ];
  if (nullShares) {
    datasets.push({
      type: 'bar',
      label: 'Null keys',
      data: nullShares,
      backgroundColor: withAlpha(p.nullKeys, 0.45),
      borderColor: p.nullKeys,
      borderWidth: 1,
      pointStyle: 'rect',
      order: 3,
    });
  }
  datasets.push({
    type: 'line',
    label: `Binomial(${k}, ${g.gamma})`,
    data: expected,
    borderColor: p.expected,
    backgroundColor: p.expected,
    borderDash: [6, 4],
    borderWidth: 2,
    pointRadius: 0,
    pointStyle: 'line',
    tension: 0.3,
    order: 1,
  });

  const fractionTip = (i: number): string => `${i}/${k} green (${percent(i / k, 0)})`;
  const chart = chartBox(summary, {
    type: 'bar',
    data: { labels, datasets },
    options: {
      ...baseOptions(p),
      scales: {
        x: { ...axisOptions(p, `Green items in a probe's top-${k} list`) },
        y: {
          ...axisOptions(p, 'Share of probes'),
          beginAtZero: true,
          ticks: { color: p.muted, callback: (v) => percent(Number(v), 0) },
        },
      },
      plugins: {
        ...baseOptions(p).plugins,
        tooltip: {
          animation: false,
          callbacks: {
            title: (items) => fractionTip(items[0]?.dataIndex ?? 0),
            label: (item) => `${item.dataset.label}: ${percent(Number(item.raw), 1)}`,
          },
        },
      },
    },
  });

  const rows = labels.map((label, i) => [
    `${label}/${k}`,
    percent(suspect[i], 1),
    percent(expected[i], 1),
    nullShares ? percent(nullShares[i], 1) : '—',
  ]);
  return figure(
    'Green items per probe',
    `How many of each probe's top-${k} items are green. A watermarked model's bars sit to the right of the Binomial(${k}, ${g.gamma}) curve and of the null keys; a clean model's bars sit on top of both.`,
    chart,
    dataTable('Green items per probe', ['Green', 'Suspect', `Binomial`, 'Null keys'], rows, [
      false,
      true,
      true,
      true,
    ]),
  );
}

/** Draws the measured rates as they are; only the count above γ needs the figures. */
function rankFigure(g: GrewEvidence, f: GrewFigures | undefined, p: Palette): HTMLElement {
  const k = g.greenRateByRank.length;
  const labels = Array.from({ length: k }, (_, i) => String(i + 1));
  const rates = g.greenRateByRank;
  const summary =
    `Green rate by rank position 1 to ${k}: ${percent(rates[0] ?? 0, 0)} at rank 1, ` +
    `${percent(rates[k - 1] ?? 0, 0)} at rank ${k}` +
    (f
      ? `; ${f.ranksAboveGamma} of ${k} positions above γ = ${percent(g.gamma, 0)}.`
      : `; γ = ${percent(g.gamma, 0)}.`);
  const chart = chartBox(summary, {
    type: 'bar',
    data: {
      labels,
      datasets: [
        {
          type: 'bar',
          label: 'Suspect model',
          data: rates,
          backgroundColor: withAlpha(p.suspect, 0.8),
          borderColor: p.suspect,
          borderWidth: 1,
          pointStyle: 'rect',
          order: 2,
        },
        {
          type: 'line',
          label: `γ = ${g.gamma} (no watermark)`,
          data: labels.map(() => g.gamma),
          borderColor: p.expected,
          backgroundColor: p.expected,
          borderDash: [6, 4],
          borderWidth: 2,
          pointRadius: 0,
          pointHitRadius: 0,
          pointStyle: 'line',
          order: 1,
        },
      ],
    },
    options: {
      ...baseOptions(p),
      scales: {
        x: axisOptions(p, 'Rank position in the top-k list'),
        y: {
          ...axisOptions(p, 'Green share of probes'),
          min: 0,
          // Zero-based, with headroom above the tallest bar (or γ) rather than always 100%.
          max: Math.min(1, Math.ceil(Math.max(g.gamma, ...rates) * 12) / 10),
          ticks: { color: p.muted, callback: (v) => percent(Number(v), 0) },
        },
      },
      plugins: {
        ...baseOptions(p).plugins,
        tooltip: {
          animation: false,
          callbacks: {
            title: (items) => `Rank ${items[0]?.label ?? ''}`,
            label: (item) => `${item.dataset.label}: ${percent(Number(item.raw), 1)}`,
          },
        },
      },
    },
  });
  return figure(
    'Green rate by rank',
    `The share of probes whose item at each rank is green. A watermarked model stays above the γ line, most clearly at the ranks the bias can reorder; a clean model scatters around it.`,
    chart,
    dataTable(
      'Green rate by rank',
      ['Rank', 'Green rate'],
      labels.map((label, i) => [label, percent(rates[i], 1)]),
      [false, true],
    ),
  );
}

function nullFigure(g: GrewEvidence, f: GrewFigures, p: Palette): HTMLElement {
  const { bins, range, normalCurve: curve } = f.nullHits;
  // The bar width on the x axis (the bins are equally wide).
  const width = bins.length > 0 ? bins[0].to - bins[0].from : 1;
  const M = g.nullGreenHits.length;
  const summary =
    (range
      ? `Histogram of green hits G under ${M} random keys: mean ${int(f.nullHits.mean)}, ` +
        `range ${int(range[0])} to ${int(range[1])}. `
      : 'No null keys were run. ') +
    `Expected under no watermark: ${int(g.expectedHits)} ± ${int(g.sdHits)}. ` +
    `Observed G = ${int(g.greenHits)} (z_null = ${num(g.zNull)}); ` +
    `${f.nullKeysReached} of ${M} null keys reached it.`;

  const datasets: ReportDatasets = [
    {
      type: 'line',
      label: `Observed G = ${int(g.greenHits)}`,
      data: [],
      borderColor: p.suspect,
      backgroundColor: p.suspect,
      borderWidth: 2.5,
      pointRadius: 0,
      pointStyle: 'line',
      order: 1,
    },
    {
      type: 'bar',
      label: `Null keys (${M})`,
      data: bins.map((b) => ({ x: (b.from + b.to) / 2, y: b.count })),
      backgroundColor: withAlpha(p.nullKeys, 0.55),
      borderColor: p.nullKeys,
      borderWidth: 1,
      barPercentage: 1,
      categoryPercentage: 1,
      pointStyle: 'rect',
      order: 3,
    },
    {
      type: 'line',
      label: `Expected: ${int(g.expectedHits)} ± ${int(g.sdHits)}`,
      data: curve,
      borderColor: p.expected,
      backgroundColor: p.expected,
      borderDash: [6, 4],
      borderWidth: 2,
      pointRadius: 0,
      pointHitRadius: 0,
      pointStyle: 'line',
      order: 2,
    },
  ];
  const chart = chartBox(summary, {
    type: 'bar',
    data: { datasets },
    options: {
      ...baseOptions(p),
      interaction: { mode: 'nearest', intersect: false, axis: 'x' },
      scales: {
        x: {
          ...axisOptions(p, `Green hits G among ${int(g.trials)} top-${g.topK} slots`),
          type: 'linear',
          suggestedMin: Math.min(g.greenHits, bins[0]?.from ?? g.greenHits) - width,
          suggestedMax: Math.max(g.greenHits, bins.at(-1)?.to ?? g.greenHits) + width,
          ticks: { color: p.muted, maxRotation: 0, callback: (v) => int(Number(v)) },
        },
        y: {
          ...axisOptions(p, 'Null keys'),
          beginAtZero: true,
          ticks: { color: p.muted, precision: 0 },
        },
      },
      plugins: {
        ...baseOptions(p).plugins,
        tooltip: {
          animation: false,
          filter: (item) => item.datasetIndex === 1,
          callbacks: {
            title: (items) => {
              const bin = bins[items[0]?.dataIndex ?? 0];
              return bin ? `G in [${int(bin.from)}, ${int(bin.to)})` : '';
            },
            label: (item) => `${(item.raw as { y: number }).y} null keys`,
          },
        },
      },
    },
    plugins: [verticalMarker(g.greenHits, `G = ${int(g.greenHits)}`, p.suspect)],
  });
  return figure(
    'Null distribution of green hits',
    `G for ${M} random keys re-partitioning the same clusters. A watermarked model's G (the solid line) lies far to the right of the grey bars; a clean model's G falls among them.`,
    chart,
    dataTable(
      'Null distribution of green hits',
      ['G from', 'G to', 'Null keys'],
      bins.map((b) => [int(b.from), int(b.to), String(b.count)]),
      [true, true, true],
    ),
  );
}

function statsPanel(g: GrewEvidence, f: GrewFigures | undefined, level: number): HTMLElement {
  const titleId = `rm-stats-${++statsCounter}`;
  const mark = (which: 'z' | 'zNull'): string => (f?.decidedBy === which ? ' (decides)' : '');
  return el(
    'section',
    { class: 'rm-panel rm-stats', 'aria-labelledby': titleId },
    el(`h${level}`, { id: titleId }, 'Test statistics'),
    keyValueTable('Test statistics', [
      ['Popularity-aware z (z_w)', `${num(g.z)}${mark('z')}`],
      ['Null-key z (z_null)', `${num(g.zNull)}${mark('zNull')}`],
      [
        'Classic z (KGW)',
        `${num(g.zClassic)}  (${pClause(g.pClassicText ?? probability(g.pClassic))})`,
      ],
      [
        'Empirical p',
        probability(g.pEmpirical) +
          (f ? `  (${f.nullKeysReached} of ${int(g.nullKeys)} null keys ≥ G)` : ''),
      ],
      [
        'Green hits G / T',
        `${int(g.greenHits)} / ${int(g.trials)}` + (f ? `  (${percent(f.greenRate)})` : ''),
      ],
      ['Expected G ± sd', `${int(g.expectedHits)} ± ${int(g.sdHits)}  (γ = ${g.gamma})`],
      ['Probes × top-k', `${int(g.probes)} × ${g.topK}`],
      ['Distinct items', int(g.distinctItems)],
      ['Probe source', g.probeSource === 'data' ? 'interaction data' : 'sampled from the suspect'],
    ]),
    el(
      'p',
      { class: 'rm-note' },
      'The verdict uses the more conservative of z_w and z_null. Classic z treats every top-k slot as independent and overstates the evidence when popular items repeat across probes.',
    ),
  );
}
