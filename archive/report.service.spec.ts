import { afterEach, describe, expect, it } from 'vitest';
import type { ReportRow } from '../storage/report.repository.ts';
import { setLocale } from '../daemon/i18n.ts';
import { formatReport } from '../daemon/report-text.formatter.ts';
import { emptyRow, onTimeRate, parsePeriod, ReportPeriodError, ReportService, slicePeriod, sliceUnitOf, sumRows, type ReportSource } from './report.service.ts';

const row = (over: Partial<ReportRow>): ReportRow => ({ ...emptyRow(), ...over });

describe('parsePeriod', () => {
  it('takes quarters, years and months as local calendar periods of the bureau', () => {
    expect(parsePeriod({ quarter: '2026Q4' }, 'Asia/Shanghai')).toEqual({ label: '2026Q4', from: new Date('2026-09-30T16:00:00Z'), to: new Date('2026-12-31T16:00:00Z') });
    expect(parsePeriod({ quarter: '2027-q1' }, 'Asia/Shanghai')).toEqual({ label: '2027Q1', from: new Date('2026-12-31T16:00:00Z'), to: new Date('2027-03-31T16:00:00Z') });
    expect(parsePeriod({ year: '2026' }, 'UTC')).toEqual({ label: '2026', from: new Date('2026-01-01T00:00:00Z'), to: new Date('2027-01-01T00:00:00Z') });
    expect(parsePeriod({ month: '2026-12' }, 'Asia/Shanghai')).toEqual({ label: '2026-12', from: new Date('2026-11-30T16:00:00Z'), to: new Date('2026-12-31T16:00:00Z') });
    expect(parsePeriod({ from: '2026-11-01T00:00:00Z', to: '2026-11-02T00:00:00Z' }, 'UTC').to).toEqual(new Date('2026-11-02T00:00:00Z'));
  });

  it.each([
    [{}, /exactly one/],
    [{ quarter: '2026Q4', year: '2026' }, /exactly one/],
    [{ quarter: '2026Q5' }, /not a quarter/],
    [{ year: '26' }, /not a year/],
    [{ month: '2026-13' }, /not a month/],
    [{ from: '2026-11-01' }, /go together/],
    [{ from: '2026-11-02', to: '2026-11-01' }, /after/],
    [{ from: 'yesterday', to: '2026-11-01' }, /not an ISO date: yesterday/],
  ])('refuses %j', (spec, message) => {
    expect(() => parsePeriod(spec, 'UTC')).toThrow(ReportPeriodError);
    expect(() => parsePeriod(spec, 'UTC')).toThrow(message);
  });
});

describe('ReportService', () => {
  afterEach(() => setLocale('zh-CN'));

  it('adds the groups up to the bureau total and rates deadlines over judged items only', async () => {
    const calls: unknown[] = [];
    const source: ReportSource = {
      async statistics(period, by) {
        calls.push([period.from.toISOString(), period.to.toISOString(), by]);
        return [
          row({ key: '004512', items: 10, durationSeconds: 7200, onTime: 8, late: 1, deadlineUnknown: 1, complete: 9, missingPlace: 1 }),
          row({ key: null, items: 2, durationUnknown: 2, late: 2, missingCollector: 2, unregistered: 2 }),
        ];
      },
      series: async () => [],
      groupNames: async () => new Map(),
    };
    const report = await new ReportService(source).build(parsePeriod({ quarter: '2026Q4' }, 'UTC'), 'officer');
    expect(calls).toEqual([['2026-10-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z', 'officer']]);
    expect(report.total).toMatchObject({ items: 12, durationSeconds: 7200, onTime: 8, late: 3, deadlineUnknown: 1, complete: 9, missingPlace: 1, missingCollector: 2, unregistered: 2 });
    expect(onTimeRate(report.total)).toBeCloseTo(8 / 11);
    expect(onTimeRate(row({ items: 3, deadlineUnknown: 3 }))).toBeNull();

    const lines = formatReport(report, 'UTC');
    expect(lines[0]).toBe('执法音像记录统计 2026Q4（按采集人）');
    expect(lines[1]!.split(/\s{2,}/)).toEqual(['分组', '证据数', '时长(时)', '按时率', '超时', '五要素齐全', '缺案号', '缺时间', '缺地点', '缺采集人', '缺证明对象', '未登记', '无法播放']);
    expect(lines[2]!.split(/\s{2,}/)).toEqual(['004512', '10', '2.0', '88.9%', '1', '9 (90.0%)', '0', '0', '1', '0', '0', '0', '0']);
    expect(lines[3]!.split(/\s{2,}/)).toEqual(['（无）', '2', '0.0', '0.0%', '2', '0 (0.0%)', '0', '0', '0', '2', '0', '2', '0']);
    expect(lines[5]!.split(/\s{2,}/)).toEqual(['合计', '12', '2.0', '72.7%', '3', '9 (75.0%)', '0', '0', '1', '2', '0', '2', '0']);
    expect(sumRows([]).items).toBe(0);
    setLocale('en');
    expect(formatReport({ ...report, rows: [], total: sumRows([]) }, 'UTC')).toEqual(['Enforcement recording statistics 2026Q4 (by officer)', 'No evidence in this period']);
  });
});

describe('the slices of the line chart', () => {
  it('cuts a year into its twelve local months and a quarter into Monday weeks', () => {
    const year = parsePeriod({ year: '2026' }, 'Asia/Shanghai');
    expect(sliceUnitOf(year)).toBe('month');
    const months = slicePeriod(year, 'month', 'Asia/Shanghai');
    expect(months.map((m) => m.label)).toEqual(['01', '02', '03', '04', '05', '06', '07', '08', '09', '10', '11', '12'].map((m) => `2026-${m}`));
    expect(months[1]).toEqual({ label: '2026-02', from: new Date('2026-01-31T16:00:00Z'), to: new Date('2026-02-28T16:00:00Z') });
    expect(months.at(-1)!.to).toEqual(year.to);

    const q4 = parsePeriod({ quarter: '2026Q4' }, 'Asia/Shanghai');
    expect(sliceUnitOf(q4)).toBe('week');
    const weeks = slicePeriod(q4, 'week', 'Asia/Shanghai');
    // 1 October 2026 is a Thursday: the first week is cut to Thursday to Sunday.
    expect(weeks[0]).toEqual({ label: '2026-10-01', from: new Date('2026-09-30T16:00:00Z'), to: new Date('2026-10-04T16:00:00Z') });
    expect(weeks[1]!.label).toBe('2026-10-05');
    expect(weeks.at(-1)).toEqual({ label: '2026-12-28', from: new Date('2026-12-27T16:00:00Z'), to: new Date('2026-12-31T16:00:00Z') });
    expect(weeks).toHaveLength(14);
    // Consecutive, no gap and no overlap.
    for (let i = 1; i < weeks.length; i++) expect(weeks[i]!.from).toEqual(weeks[i - 1]!.to);
  });

  it('starts and ends an ISO period where it was asked, mid-day included', () => {
    const period = parsePeriod({ from: '2026-11-04T06:00:00Z', to: '2026-11-10T00:00:00Z' }, 'UTC');
    expect(slicePeriod(period, 'week', 'UTC')).toEqual([
      { label: '2026-11-04', from: new Date('2026-11-04T06:00:00Z'), to: new Date('2026-11-09T00:00:00Z') },
      { label: '2026-11-09', from: new Date('2026-11-09T00:00:00Z'), to: new Date('2026-11-10T00:00:00Z') },
    ]);
  });

  it('gives every slice a row, zeros where the catalog had none', async () => {
    const source: ReportSource = {
      statistics: async () => [],
      series: async (slices) => slices.slice(0, 1).map(() => row({ key: '1', items: 4 })),
      groupNames: async () => new Map(),
    };
    const series = await new ReportService(source).series(parsePeriod({ month: '2026-11' }, 'UTC'), 'UTC');
    expect(series.unit).toBe('week');
    expect(series.points.map((p) => [p.label, p.row.items])).toEqual([
      ['2026-11-01', 4],
      ['2026-11-02', 0],
      ['2026-11-09', 0],
      ['2026-11-16', 0],
      ['2026-11-23', 0],
      ['2026-11-30', 0],
    ]);
  });
});
