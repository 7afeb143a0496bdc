import { describe, expect, it } from 'vitest';
import { emptyRow, parsePeriod, slicePeriod, sumRows, type ReportSeries } from '../archive/report.service.ts';
import type { ReportRow } from '../storage/report.repository.ts';
import { parseCsv } from '../test/support/csv-reader.ts';
import { chartGroups, reportCsv, reportDocument } from './report-document.formatter.ts';
import { reportHtml } from './report-html.formatter.ts';

const row = (over: Partial<ReportRow>): ReportRow => ({ ...emptyRow(), ...over });
const period = parsePeriod({ quarter: '2026Q4' }, 'Asia/Shanghai');
const series = (rows: ReportRow[] = []): ReportSeries => ({
  unit: 'week',
  points: slicePeriod(period, 'week', 'Asia/Shanghai').map((s, i) => ({ ...s, row: rows[i] ?? emptyRow(String(i + 1)) })),
});
const ctx = { bureau: '某市医疗保障局', timeZone: 'Asia/Shanghai', generatedAt: new Date('2026-12-07T02:00:00Z'), locale: 'zh-CN' as const };

describe('chartGroups', () => {
  it('keeps every group up to the limit, else the largest, in the table order', () => {
    const rows = [row({ key: 'a', items: 1 }), row({ key: 'b', items: 9 }), row({ key: 'c', items: 5 }), row({ key: 'd', items: 7 })];
    expect(chartGroups(rows, 4).map((r) => r.key)).toEqual(['a', 'b', 'c', 'd']);
    expect(chartGroups(rows, 2).map((r) => r.key)).toEqual(['b', 'd']);
  });
});

describe('reportDocument', () => {
  const rows = [
    row({ key: '<b>甲</b>', items: 10, durationSeconds: 5400, onTime: 6, late: 2, deadlineUnknown: 2, complete: 9, missingPlace: 1 }),
    row({ key: null, items: 2, durationUnknown: 2, deadlineUnknown: 2, missingCollector: 2 }),
  ];
  const doc = reportDocument({ period, by: 'officer', rows, total: sumRows(rows) }, series([row({ items: 3, late: 1 })]), ctx);

  it('words the head in the chosen language with the local calendar days of the period', () => {
    expect(doc.period).toBe('统计期间：2026Q4（2026-10-01 至 2026-12-31）');
    expect(doc.grouping).toBe('统计口径：按采集人');
    expect(doc.generated).toBe('生成时间：2026-12-07 10:00:00 +08:00');
    const en = reportDocument({ period, by: 'unit', rows, total: sumRows(rows) }, series(), { ...ctx, locale: 'en' });
    expect([en.title, en.period, en.columns[3]!.header, en.total[0]!.text]).toEqual(['Enforcement audio and video recording statistics', 'Period: 2026Q4 (2026-10-01 to 2026-12-31)', 'on time (%)', 'total']);
  });

  it('gives each figure as a number for spreadsheets and as text for readers, no figure as null and a dash', () => {
    expect(doc.rows[0]!.map((c) => c.value)).toEqual(['<b>甲</b>', 10, 1.5, 75, 2, 9, 90, 0, 0, 1, 0, 0, 0, 0]);
    expect(doc.rows[0]!.map((c) => c.text)).toEqual(['<b>甲</b>', '10', '1.5', '75.0', '2', '9', '90.0', '0', '0', '1', '0', '0', '0', '0']);
    expect(doc.rows[1]![0]!.text).toBe('（无）');
    expect([doc.rows[1]![3]!.value, doc.rows[1]![3]!.text]).toEqual([null, '-']);
    expect(doc.total.map((c) => c.value)).toEqual(['合计', 12, 1.5, 75, 2, 9, 75, 0, 0, 1, 2, 0, 0, 0]);
  });

  it('charts items and on-time rate per group and the weeks of the quarter', () => {
    expect(doc.charts.map((c) => c.title)).toEqual(['各采集人证据数', '各采集人按时移交率', '逐周证据数与超时数（自周一起）']);
    expect(doc.charts[0]!.shapes.filter((s) => s.kind === 'rect')).toHaveLength(2);
    // The group without any deadline verdict gets no rate bar.
    expect(doc.charts[1]!.shapes.filter((s) => s.kind === 'rect')).toHaveLength(1);
    const lines = doc.charts[2]!.shapes.filter((s) => s.kind === 'polyline');
    expect(lines.map((l) => l.points.length)).toEqual([14, 14]);
    expect(doc.chartNote).toBeNull();
  });

  it('names the groups the registries know: key and name in the table, the name on the chart', () => {
    const withNames = reportDocument({ period, by: 'officer', rows, total: sumRows(rows) }, series(), { ...ctx, names: new Map([['<b>甲</b>', '张三']]) });
    expect(withNames.rows.map((r) => r[0]!.text)).toEqual(['<b>甲</b> 张三', '（无）']);
    const labels = withNames.charts[0]!.shapes.flatMap((s) => (s.kind === 'text' && s.role === 'label' ? [s.text] : []));
    expect(labels).toEqual(['张三', '（无）']);
  });

  it('says when the charts leave groups out', () => {
    const many = Array.from({ length: 25 }, (_, i) => row({ key: `P${i}`, items: i + 1 }));
    const big = reportDocument({ period, by: 'officer', rows: many, total: sumRows(many) }, series(), ctx);
    expect(big.rows).toHaveLength(25);
    expect(big.charts[0]!.shapes.filter((s) => s.kind === 'rect')).toHaveLength(20);
    expect(big.chartNote).toBe('图中只列证据数最多的 20 个分组，表中列全部 25 个');
  });

  it('has no table or charts for an empty period, only the notice', () => {
    const none = reportDocument({ period, by: 'unit', rows: [], total: sumRows([]) }, series(), ctx);
    expect([none.empty, none.charts]).toEqual(['该期间没有证据', []]);
    const html = reportHtml(none);
    expect(html).toContain('<p class="empty">该期间没有证据</p>');
    expect(html).not.toContain('<table');
    expect(parseCsv(reportCsv(none))).toEqual([none.columns.map((c) => c.header), ['合计', '0', '0', '', '0', '0', '', '0', '0', '0', '0', '0', '0', '0']]);
  });

  it('renders the CSV from the values and the HTML from the texts, escaped', () => {
    const csv = parseCsv(reportCsv(doc));
    expect(csv[1]).toEqual(['<b>甲</b>', '10', '1.5', '75', '2', '9', '90', '0', '0', '1', '0', '0', '0', '0']);
    expect(csv).toHaveLength(4);
    const html = reportHtml(doc);
    expect(html).toContain('<td>&#60;b&#62;甲&#60;/b&#62;</td><td class="num">10</td><td class="num">1.5</td>');
    expect(html).not.toContain('<b>甲');
    expect(html.match(/<svg /g)).toHaveLength(3);
    expect(html).toMatch(/<\/table>\n<p class="notes">期间按采集时间计/);
  });
});
