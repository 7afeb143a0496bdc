import { afterEach, describe, expect, it } from 'vitest';
import type { ReportRow } from '../storage/report.repository.ts';
import { setLocale } from '../daemon/i18n.ts';
import { formatReport } from '../daemon/report-text.formatter.ts';
import { emptyRow, onTimeRate, parsePeriod, ReportPeriodError, ReportService, sumRows, type ReportSource } from './report.service.ts';

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
