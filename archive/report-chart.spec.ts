import { describe, expect, it } from 'vitest';
import { barChart, chartSvg, fitText, labelEvery, lineChart, niceScale, textWidth, type Shape } from './report-chart.ts';

type Of<K extends Shape['kind']> = Extract<Shape, { kind: K }>;
const shapesOf = <K extends Shape['kind']>(shapes: Shape[], kind: K) => shapes.filter((s): s is Of<K> => s.kind === kind);

describe('niceScale', () => {
  it.each([
    [37, { max: 40, step: 10 }],
    [4, { max: 4, step: 1 }],
    [1, { max: 1, step: 1 }],
    [0, { max: 1, step: 1 }],
    [1234, { max: 1500, step: 500 }],
    [9, { max: 10, step: 5 }],
  ])('ends a count scale of %d on a round number', (value, scale) => {
    expect(niceScale(value, 'count')).toEqual(scale);
  });

  it('always shows shares on 0–100 %', () => {
    expect(niceScale(0.3, 'share')).toEqual({ max: 1, step: 0.25 });
  });
});

describe('barChart', () => {
  // Plot: 760 wide less margins 48 + 12 = 700; 240 high less 34 + 34 = 172, from y 34 to 206.
  const chart = barChart({ title: '各单位证据数', kind: 'count', color: '#369', bars: [
    { label: '甲单位', value: 8 },
    { label: '乙单位', value: 2 },
    { label: '丙单位', value: 0 },
    { label: '丁单位', value: null },
  ] });
  const bars = shapesOf(chart.shapes, 'rect').filter((r) => r.role === 'bar');

  it('draws one bar per group with a value, its height in proportion to the scale', () => {
    // 8 on a 0–8 scale by 2: the full plot height; 2 a quarter of it; 0 a bar of no height.
    expect(bars).toHaveLength(3);
    expect(bars.map((b) => b.height)).toEqual([172, 43, 0]);
    expect(bars.map((b) => b.y + b.height)).toEqual([206, 206, 206]);
    // Four slots of 175: centres at 48 + 87.5, + 175 …; bars 40 wide.
    expect(bars.map((b) => b.x)).toEqual([48 + 87.5 - 20, 48 + 262.5 - 20, 48 + 437.5 - 20]);
    expect(bars.every((b) => b.width === 40)).toBe(true);
  });

  it('writes each value above its bar and a dash where a group has no figure', () => {
    const values = shapesOf(chart.shapes, 'text').filter((t) => t.role === 'value');
    expect(values.map((v) => [v.text, v.y])).toEqual([['8', 31], ['2', 160], ['0', 203], ['-', 203]]);
    expect(shapesOf(chart.shapes, 'text').filter((t) => t.role === 'tick').map((t) => t.text)).toEqual(['0', '2', '4', '6', '8']);
  });

  it('shows shares as percent on a fixed scale', () => {
    const rate = barChart({ title: 'r', kind: 'share', color: '#393', bars: [{ label: 'a', value: 0.75 }, { label: 'b', value: 1 }] });
    expect(shapesOf(rate.shapes, 'rect').map((b) => b.height)).toEqual([129, 172]);
    expect(shapesOf(rate.shapes, 'text').filter((t) => t.role === 'value').map((t) => t.text)).toEqual(['75.0%', '100.0%']);
    expect(shapesOf(rate.shapes, 'text').filter((t) => t.role === 'tick').map((t) => t.text)).toEqual(['0%', '25%', '50%', '75%', '100%']);
  });

  it('shortens a group name that does not fit its slot', () => {
    const many = barChart({ title: 't', kind: 'count', color: '#000', bars: Array.from({ length: 20 }, (_, i) => ({ label: `某市医疗保障局第${i}稽查支队`, value: i })) });
    const labels = shapesOf(many.shapes, 'text').filter((t) => t.role === 'label');
    expect(labels).toHaveLength(20);
    for (const label of labels) {
      expect(label.text.endsWith('…')).toBe(true);
      expect(textWidth(label.text, label.size)).toBeLessThanOrEqual(700 / 20);
    }
  });
});

describe('lineChart', () => {
  const chart = lineChart({
    title: '逐月',
    labels: ['2026-01', '2026-02', '2026-03', '2026-04'],
    series: [
      { name: '证据数', values: [10, 20, 0, 5], color: '#369' },
      { name: '超时', values: [1, 2, 0, 0], color: '#c33' },
    ],
  });

  it('puts one point per slice at the slot centres, on the shared scale', () => {
    const [items, late] = shapesOf(chart.shapes, 'polyline');
    // Scale 0–20 by 5; slots of 175.
    expect(items!.points).toEqual([
      [48 + 87.5, 34 + 172 - 86],
      [48 + 262.5, 34],
      [48 + 437.5, 206],
      [48 + 612.5, 34 + 172 - 43],
    ]);
    expect(late!.points.map(([, y]) => y)).toEqual([206 - 8.6, 206 - 17.2, 206, 206]);
    expect(shapesOf(chart.shapes, 'circle')).toHaveLength(8);
    expect(shapesOf(chart.shapes, 'text').filter((t) => t.role === 'legend').map((t) => t.text)).toEqual(['超时', '证据数']);
  });

  it('labels every slice when they fit, every n-th when they crowd', () => {
    expect(shapesOf(chart.shapes, 'text').filter((t) => t.role === 'label').map((t) => t.text)).toEqual(['2026-01', '2026-02', '2026-03', '2026-04']);
    const weeks = Array.from({ length: 60 }, (_, i) => `2026-${String(i).padStart(2, '0')}-01`);
    // A label is 10 × 0.6 × 9 = 54 pt (+ 4 apart), a slot 700 / 60 ≈ 11.7: every fifth.
    expect(labelEvery(weeks, 700 / 60, 9)).toBe(5);
    const crowded = lineChart({ title: 'w', labels: weeks, series: [{ name: 'n', values: weeks.map(() => 1), color: '#000' }] });
    expect(shapesOf(crowded.shapes, 'text').filter((t) => t.role === 'label')).toHaveLength(12);
  });
});

describe('chartSvg', () => {
  it('renders every shape as an SVG element, text escaped', () => {
    const chart = barChart({ title: 'A & <B>', kind: 'count', color: '#369', bars: [{ label: 'x"y', value: 3 }, { label: 'z', value: 1 }] });
    const svg = chartSvg(chart);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 760 240"')).toBe(true);
    const heights = [...svg.matchAll(/<rect class="bar" [^>]*height="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(heights).toEqual([172, 57.33]);
    expect(svg).toContain('>A &#38; &#60;B&#62;</text>');
    expect(svg).toContain('>x&#34;y</text>');
    expect(svg.match(/<(rect|line|polyline|circle|text)\b/g)).toHaveLength(chart.shapes.length);
  });
});

describe('fitText', () => {
  it('keeps what fits and cuts the rest with an ellipsis', () => {
    expect(fitText('004512', 10, 100)).toBe('004512');
    expect(fitText('稽查支队', 10, 25)).toBe('稽…');
    expect(fitText('稽查', 10, 5)).toBe('');
  });
});
