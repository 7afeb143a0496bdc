/**
 * The charts of a submitted report as plain geometry: a list of shapes in a chart's own
 * coordinates (points, y down), computed once and then drawn twice, as SVG in the HTML page
 * and as vector calls in the PDF, so both show the same bars. No browser, no chart library.
 */

export type Shape =
  | { kind: 'rect'; role: 'bar' | 'swatch'; x: number; y: number; width: number; height: number; fill: string }
  | { kind: 'line'; role: 'axis' | 'grid'; x1: number; y1: number; x2: number; y2: number; stroke: string }
  | { kind: 'polyline'; points: Array<[x: number, y: number]>; stroke: string }
  | { kind: 'circle'; cx: number; cy: number; r: number; fill: string }
  | { kind: 'text'; role: 'title' | 'tick' | 'label' | 'value' | 'legend'; x: number; y: number; text: string; size: number; anchor: 'start' | 'middle' | 'end'; fill: string };

export interface Chart {
  title: string;
  width: number;
  height: number;
  shapes: Shape[];
}

export type ValueKind = 'count' | 'share';

export interface BarChartSpec {
  title: string;
  /** `value` null: no figure for this group (a rate without any judged item): no bar, a dash. */
  bars: ReadonlyArray<{ label: string; value: number | null }>;
  /** count: whole numbers on a nice scale; share: 0..1 shown as percent on a 0–100 % scale. */
  kind: ValueKind;
  color: string;
  width?: number;
  height?: number;
}

export interface LineChartSpec {
  title: string;
  labels: readonly string[];
  series: ReadonlyArray<{ name: string; values: readonly number[]; color: string }>;
  width?: number;
  height?: number;
}

const TEXT = '#222';
const MUTED = '#666';
const GRID = '#ddd';
const MARGIN = { top: 34, right: 12, bottom: 34, left: 48 };
const TITLE_SIZE = 12;
const SMALL = 9;

/** Where the data go inside a chart, and the y scale's top. */
export interface Plot {
  left: number;
  top: number;
  width: number;
  height: number;
  max: number;
  step: number;
}

/**
 * A scale that ends on a round number, in steps of 1, 2 or 5 × 10ⁿ, about four of them:
 * 0–37 becomes 0–40 by 10. Counts never step by less than one.
 */
export function niceScale(maxValue: number, kind: ValueKind): { max: number; step: number } {
  if (kind === 'share') return { max: 1, step: 0.25 };
  if (!(maxValue > 0)) return { max: 1, step: 1 };
  const rough = maxValue / 4;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = Math.max(1, [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= rough)!);
  return { max: Math.ceil(maxValue / step) * step, step };
}

function plotOf(width: number, height: number, maxValue: number, kind: ValueKind): Plot {
  return {
    left: MARGIN.left,
    top: MARGIN.top,
    width: width - MARGIN.left - MARGIN.right,
    height: height - MARGIN.top - MARGIN.bottom,
    ...niceScale(maxValue, kind),
  };
}

/** y of a value on the plot (y grows downwards). */
function yOf(plot: Plot, value: number): number {
  return plot.top + plot.height - (value / plot.max) * plot.height;
}

export function formatValue(value: number, kind: ValueKind, decimals = 1): string {
  return kind === 'share' ? `${(value * 100).toFixed(decimals)}%` : String(Math.round(value));
}

/** Title, horizontal grid lines with their tick labels, and the x axis. */
function frame(title: string, plot: Plot, kind: ValueKind): Shape[] {
  const shapes: Shape[] = [{ kind: 'text', role: 'title', x: plot.left, y: 16, text: title, size: TITLE_SIZE, anchor: 'start', fill: TEXT }];
  for (let v = 0; v <= plot.max + plot.step / 1e6; v += plot.step) {
    const y = yOf(plot, v);
    if (v > 0) shapes.push({ kind: 'line', role: 'grid', x1: plot.left, y1: y, x2: plot.left + plot.width, y2: y, stroke: GRID });
    shapes.push({ kind: 'text', role: 'tick', x: plot.left - 4, y: y + 3, text: formatValue(v, kind, 0), size: SMALL, anchor: 'end', fill: MUTED });
  }
  const base = plot.top + plot.height;
  shapes.push({ kind: 'line', role: 'axis', x1: plot.left, y1: base, x2: plot.left + plot.width, y2: base, stroke: MUTED });
  return shapes;
}

/**
 * Width of a text in points, roughly: CJK and full-width characters are one em, others about
 * 0.6 em. Only used to decide what to shorten or leave out, never to place text exactly.
 */
export function textWidth(text: string, size: number): number {
  let ems = 0;
  for (const ch of text) ems += /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/u.test(ch) ? 1 : 0.6;
  return ems * size;
}

/** The text, cut with an ellipsis to fit `width`. */
export function fitText(text: string, size: number, width: number): string {
  if (textWidth(text, size) <= width) return text;
  const chars = [...text];
  while (chars.length > 0 && textWidth(`${chars.join('')}…`, size) > width) chars.pop();
  return chars.length === 0 ? '' : `${chars.join('')}…`;
}

/** Every how many slots a label fits without running into the next one. */
export function labelEvery(labels: readonly string[], slot: number, size: number): number {
  const widest = Math.max(0, ...labels.map((l) => textWidth(l, size)));
  return Math.max(1, Math.ceil((widest + 4) / slot));
}

/** One vertical bar per group, its value above it, its name below (shortened to its slot). */
export function barChart(spec: BarChartSpec): Chart {
  const width = spec.width ?? 760;
  const height = spec.height ?? 240;
  const values = spec.bars.map((b) => b.value ?? 0);
  const plot = plotOf(width, height, Math.max(0, ...values), spec.kind);
  const shapes = frame(spec.title, plot, spec.kind);
  const slot = plot.width / Math.max(1, spec.bars.length);
  const barWidth = Math.min(slot * 0.6, 40);
  const base = plot.top + plot.height;
  spec.bars.forEach((bar, i) => {
    const center = plot.left + slot * (i + 0.5);
    if (bar.value !== null) {
      const top = yOf(plot, bar.value);
      shapes.push({ kind: 'rect', role: 'bar', x: center - barWidth / 2, y: top, width: barWidth, height: base - top, fill: spec.color });
    }
    const shown = bar.value === null ? '-' : formatValue(bar.value, spec.kind);
    shapes.push({ kind: 'text', role: 'value', x: center, y: (bar.value === null ? base : yOf(plot, bar.value)) - 3, text: shown, size: SMALL, anchor: 'middle', fill: TEXT });
    shapes.push({ kind: 'text', role: 'label', x: center, y: base + 12, text: fitText(bar.label, SMALL, slot - 2), size: SMALL, anchor: 'middle', fill: TEXT });
  });
  return { title: spec.title, width, height, shapes };
}

/** A line per series over the slices of the period, a dot on each point, a legend top right. */
export function lineChart(spec: LineChartSpec): Chart {
  const width = spec.width ?? 760;
  const height = spec.height ?? 240;
  const plot = plotOf(width, height, Math.max(0, ...spec.series.flatMap((s) => s.values)), 'count');
  const shapes = frame(spec.title, plot, 'count');
  const slot = plot.width / Math.max(1, spec.labels.length);
  const xOf = (i: number) => plot.left + slot * (i + 0.5);
  const every = labelEvery(spec.labels, slot, SMALL);
  spec.labels.forEach((label, i) => {
    if (i % every === 0) shapes.push({ kind: 'text', role: 'label', x: xOf(i), y: plot.top + plot.height + 12, text: label, size: SMALL, anchor: 'middle', fill: TEXT });
  });
  let legendRight = plot.left + plot.width;
  for (const series of [...spec.series].reverse()) {
    const textX = legendRight - textWidth(series.name, SMALL);
    shapes.push({ kind: 'rect', role: 'swatch', x: textX - 14, y: 9, width: 10, height: 8, fill: series.color });
    shapes.push({ kind: 'text', role: 'legend', x: textX, y: 16, text: series.name, size: SMALL, anchor: 'start', fill: TEXT });
    legendRight = textX - 24;
  }
  for (const series of spec.series) {
    const points = series.values.map((v, i): [number, number] => [xOf(i), yOf(plot, v)]);
    shapes.push({ kind: 'polyline', points, stroke: series.color });
    for (const [cx, cy] of points) shapes.push({ kind: 'circle', cx, cy, r: 2.5, fill: series.color });
  }
  return { title: spec.title, width, height, shapes };
}

const round = (n: number) => String(Math.round(n * 100) / 100);

/** Text safe inside SVG or HTML elements and quoted attributes. */
export function escapeMarkup(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The chart as an inline SVG element, sized in points so that it prints at the PDF's size. */
export function chartSvg(chart: Chart): string {
  const body = chart.shapes.map((s) => {
    switch (s.kind) {
      case 'rect':
        return `<rect class="${s.role}" x="${round(s.x)}" y="${round(s.y)}" width="${round(s.width)}" height="${round(s.height)}" fill="${s.fill}"/>`;
      case 'line':
        return `<line class="${s.role}" x1="${round(s.x1)}" y1="${round(s.y1)}" x2="${round(s.x2)}" y2="${round(s.y2)}" stroke="${s.stroke}" stroke-width="${s.role === 'axis' ? 1 : 0.5}"/>`;
      case 'polyline':
        return `<polyline points="${s.points.map(([x, y]) => `${round(x)},${round(y)}`).join(' ')}" fill="none" stroke="${s.stroke}" stroke-width="1.5"/>`;
      case 'circle':
        return `<circle cx="${round(s.cx)}" cy="${round(s.cy)}" r="${s.r}" fill="${s.fill}"/>`;
      case 'text':
        return `<text class="${s.role}" x="${round(s.x)}" y="${round(s.y)}" font-size="${s.size}" text-anchor="${s.anchor}" fill="${s.fill}"${s.role === 'title' ? ' font-weight="bold"' : ''}>${escapeMarkup(s.text)}</text>`;
    }
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${chart.width} ${chart.height}" width="${chart.width}pt" height="${chart.height}pt" role="img" aria-label="${escapeMarkup(chart.title)}" font-family="'Noto Sans CJK SC', 'Noto Sans SC', sans-serif">`,
    ...body,
    '</svg>',
  ].join('\n');
}
