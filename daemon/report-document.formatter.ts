import { barChart, lineChart, type Chart } from '../archive/report-chart.ts';
import { toCsv, type CsvCell } from '../archive/report-csv.ts';
import { onTimeRate, type Report, type ReportSeries } from '../archive/report.service.ts';
import type { ReportRow } from '../storage/report.repository.ts';
import { localDate } from '../workers/transfer-deadline.ts';
import { formatLocalTime, t, type Locale, type MessageKey } from './i18n.ts';

/**
 * A report as the bureau submits it, in one language, with every figure computed and worded
 * once: the CSV, the HTML page and the PDF are three renderings of this, so they cannot
 * disagree with each other.
 */
export interface ReportDocument {
  locale: Locale;
  bureau: string;
  title: string;
  /** "统计期间：2026Q4（2026-10-01 至 2026-12-31）" */
  period: string;
  grouping: string;
  generated: string;
  headings: { figures: string; charts: string };
  columns: ReportColumn[];
  rows: ReportCell[][];
  total: ReportCell[];
  charts: Chart[];
  /** Said under the charts when they leave groups out. */
  chartNote: string | null;
  notes: string[];
  /** Set (and no table or charts) when the period holds no evidence. */
  empty: string | null;
}

export interface ReportColumn {
  header: string;
  numeric: boolean;
}

/** `value` is what a spreadsheet gets (a bare number, or null for no figure), `text` what a reader sees. */
export interface ReportCell {
  text: string;
  value: CsvCell;
}

/** Beyond this many groups a bar chart is unreadable on A4: the charts show the largest. */
export const CHART_GROUPS = 20;

/** Two charts and their gap fit one A4 landscape page under the running head. */
const CHART_HEIGHT = 210;

const COLORS = { items: '#2f5d8a', onTime: '#2e7d5b', late: '#c0392b' };

const oneDecimal = (n: number) => Math.round(n * 10) / 10;
const percentOf = (share: number | null) => (share === null ? null : oneDecimal(share * 100));

const FIGURES: Array<[MessageKey, (r: ReportRow) => number | null, (v: number) => string]> = [
  ['report.col.items', (r) => r.items, String],
  ['report.col.hours', (r) => oneDecimal(r.durationSeconds / 3600), (v) => v.toFixed(1)],
  ['report.col.onTimePct', (r) => percentOf(onTimeRate(r)), (v) => v.toFixed(1)],
  ['report.col.late', (r) => r.late, String],
  ['report.col.complete', (r) => r.complete, String],
  ['report.col.completePct', (r) => percentOf(r.items ? r.complete / r.items : null), (v) => v.toFixed(1)],
  ['report.col.missingCase', (r) => r.missingCase, String],
  ['report.col.missingTime', (r) => r.missingCaptureTime, String],
  ['report.col.missingPlace', (r) => r.missingPlace, String],
  ['report.col.missingCollector', (r) => r.missingCollector, String],
  ['report.col.missingSubject', (r) => r.missingSubject, String],
  ['report.col.unregistered', (r) => r.unregistered, String],
  ['report.col.unplayable', (r) => r.unplayable, String],
];

function cells(label: string, row: ReportRow): ReportCell[] {
  return [
    { text: label, value: label },
    ...FIGURES.map(([, figure, show]): ReportCell => {
      const value = figure(row);
      return { text: value === null ? '-' : show(value), value };
    }),
  ];
}

/** The groups the charts show: the `limit` with the most items, kept in the table's order. */
export function chartGroups(rows: readonly ReportRow[], limit = CHART_GROUPS): ReportRow[] {
  if (rows.length <= limit) return [...rows];
  const kept = new Set([...rows].sort((a, b) => b.items - a.items).slice(0, limit));
  return rows.filter((r) => kept.has(r));
}

export interface DocumentContext {
  bureau: string;
  timeZone: string;
  generatedAt: Date;
  locale: Locale;
  /** Readable names of the groups by key (units, officers), where known. */
  names?: ReadonlyMap<string, string>;
}

export function reportDocument(report: Report, series: ReportSeries, ctx: DocumentContext): ReportDocument {
  const say = (key: MessageKey, params: Record<string, string | number> = {}) => t(key, params, ctx.locale);
  const by = say(`report.by.${report.by}` as MessageKey);
  const named = (r: ReportRow) => (r.key === null ? undefined : ctx.names?.get(r.key));
  // The table gives the key a system can match and the name a reader knows; a chart's narrow
  // slot only the name.
  const groupName = (r: ReportRow) => (r.key === null ? say('report.none') : named(r) ? `${r.key} ${named(r)}` : r.key);
  const chartName = (r: ReportRow) => named(r) ?? groupName(r);
  const shown = chartGroups(report.rows);
  const empty = report.total.items === 0;
  const charts = empty
    ? []
    : [
        barChart({ title: say('report.chart.items', { by }), kind: 'count', color: COLORS.items, height: CHART_HEIGHT, bars: shown.map((r) => ({ label: chartName(r), value: r.items })) }),
        barChart({ title: say('report.chart.onTime', { by }), kind: 'share', color: COLORS.onTime, height: CHART_HEIGHT, bars: shown.map((r) => ({ label: chartName(r), value: onTimeRate(r) })) }),
        lineChart({
          title: say(series.unit === 'month' ? 'report.chart.month' : 'report.chart.week'),
          height: CHART_HEIGHT,
          labels: series.points.map((p) => (series.unit === 'month' ? p.label : p.label.slice(5))),
          series: [
            { name: say('report.col.items'), values: series.points.map((p) => p.row.items), color: COLORS.items },
            { name: say('report.col.late'), values: series.points.map((p) => p.row.late), color: COLORS.late },
          ],
        }),
      ];
  return {
    locale: ctx.locale,
    bureau: ctx.bureau,
    title: say('report.doc.title'),
    period: say('report.doc.period', {
      label: report.period.label,
      from: localDate(report.period.from, ctx.timeZone),
      // The period ends before `to`: its last day is the one before.
      to: localDate(new Date(report.period.to.getTime() - 1), ctx.timeZone),
    }),
    grouping: say('report.doc.grouping', { by }),
    generated: say('report.doc.generated', { at: formatLocalTime(ctx.generatedAt, ctx.timeZone) }),
    headings: { figures: say('report.doc.figures'), charts: say('report.doc.charts') },
    columns: [{ header: say('report.col.group'), numeric: false }, ...FIGURES.map(([key]) => ({ header: say(key), numeric: true }))],
    rows: report.rows.map((r) => cells(groupName(r), r)),
    total: cells(say('report.total'), report.total),
    charts,
    chartNote: !empty && shown.length < report.rows.length ? say('report.doc.top', { n: shown.length, all: report.rows.length }) : null,
    notes: [say('report.notes', { zone: ctx.timeZone, unknown: report.total.durationUnknown })],
    empty: empty ? say('report.empty') : null,
  };
}

/** The figures table as a spreadsheet: header row, one row per group, the total row. */
export function reportCsv(doc: ReportDocument): string {
  return toCsv([doc.columns.map((c) => c.header), ...doc.rows.map((r) => r.map((c) => c.value)), doc.total.map((c) => c.value)]);
}
