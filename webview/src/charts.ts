/**
 * Chart.js, tree-shaken to what the report draws (bars and lines on category, linear or
 * logarithmic axes), coloured from the theme at render time and never animated.
 */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LogarithmicScale,
  LineElement,
  PointElement,
  Tooltip,
  type ChartConfiguration,
  type ChartOptions,
  type Plugin,
  type Point,
} from 'chart.js';
import { el } from './toolkit';

Chart.register(
  BarController,
  BarElement,
  LineController,
  LineElement,
  PointElement,
  CategoryScale,
  LinearScale,
  LogarithmicScale,
  Legend,
  Tooltip,
);

export type ChartKind = 'bar' | 'line';
export type Datum = number | Point | null;
export type ReportChartConfig = ChartConfiguration<ChartKind, Datum[], string>;
export type ReportDatasets = ReportChartConfig['data']['datasets'];

/** Charts on screen, so a re-render (new report, theme change) can release them. */
const live = new Set<Chart<ChartKind, Datum[], string>>();

export function disposeCharts(): void {
  for (const chart of live) chart.destroy();
  live.clear();
}

export interface Palette {
  foreground: string;
  muted: string;
  grid: string;
  /** The suspect model: bars, the observed statistic. */
  suspect: string;
  /** Null keys (random re-partitions). */
  nullKeys: string;
  /** The expectation under H0 (Binomial, normal approximation, γ). */
  expected: string;
  /** Verdict colours, as the banner uses them (always paired with a word or a shape). */
  present: string;
  inconclusive: string;
  absent: string;
  fontFamily: string;
  fontSize: number;
}

/**
 * The theme's colours as chart.js needs them (concrete strings). media/recmark.css maps every
 * `--rm-*` variable onto a VS Code variable with a fallback for the standalone export; the
 * fallbacks here only matter if the stylesheet failed to load.
 */
export function palette(): Palette {
  const style = getComputedStyle(document.body);
  const read = (name: string, fallback: string): string =>
    style.getPropertyValue(name).trim() || fallback;
  const fontSize = Number.parseFloat(style.fontSize);
  return {
    foreground: read('--rm-chart-fg', '#4d5561'),
    muted: read('--rm-muted', '#6b7280'),
    grid: read('--rm-chart-lines', 'rgba(128, 128, 128, 0.3)'),
    suspect: opaque(read('--rm-chart-suspect', '#1f6feb')),
    nullKeys: opaque(read('--rm-chart-null', '#8b949e')),
    expected: opaque(read('--rm-chart-expected', '#d4731a')),
    present: opaque(read('--rm-present', '#1a7f37')),
    inconclusive: opaque(read('--rm-inconclusive', '#9a6700')),
    absent: opaque(read('--rm-absent', '#6b7280')),
    fontFamily: read('--rm-font', 'system-ui, sans-serif'),
    fontSize: Number.isFinite(fontSize) && fontSize > 0 ? Math.min(fontSize, 14) : 12,
  };
}

/** `color` with opacity `alpha`, whatever CSS colour syntax the theme used. */
export function withAlpha(color: string, alpha: number): string {
  const ctx = document.createElement('canvas').getContext('2d');
  if (!ctx) return color;
  ctx.fillStyle = '#000000';
  ctx.fillStyle = color;
  const normal = String(ctx.fillStyle);
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(normal);
  if (hex) {
    const [r, g, b] = hex.slice(1).map((h) => Number.parseInt(h, 16));
    return `rgba(${r}, ${g}, ${b}, ${alpha})`;
  }
  const rgba = /^rgba?\(([^,]+),([^,]+),([^,)]+)(?:,([^)]+))?\)$/.exec(normal);
  if (rgba) {
    const a = rgba[4] === undefined ? 1 : Number.parseFloat(rgba[4]);
    return `rgba(${rgba[1].trim()}, ${rgba[2].trim()}, ${rgba[3].trim()}, ${a * alpha})`;
  }
  return color;
}

/** Axis, legend and tooltip settings shared by every report chart. */
export function baseOptions(p: Palette): ChartOptions<ChartKind> {
  return {
    responsive: true,
    maintainAspectRatio: false,
    animation: false,
    interaction: { mode: 'index', intersect: false },
    color: p.foreground,
    font: { family: p.fontFamily, size: p.fontSize },
    plugins: {
      legend: {
        position: 'bottom',
        labels: {
          // Legend entries in dataset order (the suspect first), whatever the drawing order.
          sort: (a, b) => (a.datasetIndex ?? 0) - (b.datasetIndex ?? 0),
          // A dashed line in the chart is a dashed line in its legend entry.
          generateLabels: (chart) =>
            Chart.defaults.plugins.legend.labels.generateLabels(chart).map((item) => {
              const dataset = chart.data.datasets[item.datasetIndex ?? -1] as
                { borderDash?: number[] } | undefined;
              return dataset?.borderDash ? { ...item, lineDash: dataset.borderDash } : item;
            }),
          color: p.foreground,
          usePointStyle: true,
          pointStyleWidth: 24,
          boxHeight: 10,
          padding: 14,
        },
      },
      tooltip: { animation: false },
    },
  };
}

export function axisOptions(p: Palette, title: string) {
  return {
    title: { display: true, text: title, color: p.foreground },
    ticks: { color: p.muted, maxRotation: 0, autoSkipPadding: 6 },
    grid: { color: p.grid },
    border: { color: p.grid },
  };
}

export interface MarkerOptions {
  /** Dash pattern of the line (solid by default). */
  dash?: number[];
  /**
   * Where the label goes: beside the line at the top of the plot (default), or centred above
   * the plot area, which needs `layout.padding.top` of about a line of text.
   */
  label?: 'inside' | 'above';
}

/**
 * A labelled vertical marker (e.g. the observed statistic) drawn over the plot area: chart.js
 * core has no annotations, and this is the only one the report needs.
 */
export function verticalMarker(
  x: number,
  label: string,
  color: string,
  options: MarkerOptions = {},
): Plugin<ChartKind> {
  return {
    id: 'rmVerticalMarker',
    afterDatasetsDraw(chart) {
      const { ctx, chartArea, scales } = chart;
      const px = scales.x.getPixelForValue(x);
      if (px < chartArea.left - 1 || px > chartArea.right + 1) return;
      ctx.save();
      ctx.strokeStyle = color;
      ctx.lineWidth = 2.5;
      if (options.dash) ctx.setLineDash(options.dash);
      ctx.beginPath();
      ctx.moveTo(px, chartArea.top);
      ctx.lineTo(px, chartArea.bottom);
      ctx.stroke();
      const font = chart.options.font as { family?: string; size?: number } | undefined;
      ctx.font = `600 ${font?.size ?? 12}px ${font?.family ?? 'sans-serif'}`;
      ctx.fillStyle = color;
      if (options.label === 'above') {
        ctx.textBaseline = 'bottom';
        ctx.textAlign = 'center';
        ctx.fillText(label, px, chartArea.top - 3);
      } else {
        ctx.textBaseline = 'top';
        const width = ctx.measureText(label).width;
        const right = px + 6 + width <= chartArea.right;
        ctx.textAlign = right ? 'left' : 'right';
        ctx.fillText(label, right ? px + 6 : px - 6, chartArea.top + 4);
      }
      ctx.restore();
    },
  };
}

/**
 * A chart in a sized box. The canvas is an image to assistive technology, labelled with a
 * summary of what it shows; the numbers themselves are in the figure's data table.
 */
export function chartBox(summary: string, config: ReportChartConfig): HTMLElement {
  const canvas = el('canvas', { role: 'img', 'aria-label': summary }) as HTMLCanvasElement;
  canvas.textContent = summary;
  const box = el('div', { class: 'rm-chart' }, canvas);
  live.add(new Chart(canvas, config));
  return box;
}

/**
 * `color` at full opacity: themes that do not set charts.* fall back to translucent defaults
 * (charts.orange = #EA5C0055), which makes thin reference lines vanish.
 */
export function opaque(color: string): string {
  const ctx = document.createElement('canvas').getContext('2d');
  if (!ctx) return color;
  ctx.fillStyle = '#000000';
  ctx.fillStyle = color;
  const normal = String(ctx.fillStyle);
  const m = /^rgba\(([^,]+),([^,]+),([^,)]+),[^)]+\)$/.exec(normal);
  return m ? `rgb(${m[1].trim()}, ${m[2].trim()}, ${m[3].trim()})` : normal;
}
