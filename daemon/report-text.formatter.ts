import type { ReportRow } from '../storage/report.repository.ts';
import { fitColumns, displayWidth, t, type MessageKey } from './i18n.ts';
import { onTimeRate, type Report } from '../archive/report.service.ts';

const COLUMNS: Array<[MessageKey, (r: ReportRow) => string]> = [
  ['report.col.items', (r) => String(r.items)],
  ['report.col.hours', (r) => (r.durationSeconds / 3600).toFixed(1)],
  ['report.col.onTime', (r) => percent(onTimeRate(r))],
  ['report.col.late', (r) => String(r.late)],
  ['report.col.complete', (r) => `${r.complete} (${percent(r.items ? r.complete / r.items : null)})`],
  ['report.col.missingCase', (r) => String(r.missingCase)],
  ['report.col.missingTime', (r) => String(r.missingCaptureTime)],
  ['report.col.missingPlace', (r) => String(r.missingPlace)],
  ['report.col.missingCollector', (r) => String(r.missingCollector)],
  ['report.col.missingSubject', (r) => String(r.missingSubject)],
  ['report.col.unregistered', (r) => String(r.unregistered)],
  ['report.col.unplayable', (r) => String(r.unplayable)],
];

/** `evidock report` as a table a custodian can paste into the quarterly submission. */
export function formatReport(report: Report, timeZone: string): string[] {
  const lines = [t('report.title', { period: report.period.label, by: t(`report.by.${report.by}` as MessageKey) })];
  if (report.total.items === 0) return [...lines, t('report.empty')];
  const header = [t('report.col.group'), ...COLUMNS.map(([key]) => t(key))];
  const body = [
    ...report.rows.map((r) => [r.key ?? t('report.none'), ...COLUMNS.map(([, cell]) => cell(r))]),
    [t('report.total'), ...COLUMNS.map(([, cell]) => cell(report.total))],
  ];
  const widths = header.map((h, i) => Math.max(displayWidth(h), ...body.map((row) => displayWidth(row[i]!))));
  const render = (row: string[]) => row.map((cell, i) => fitColumns(cell, widths[i]!)).join('  ').trimEnd();
  lines.push(render(header), ...body.slice(0, -1).map(render), widths.map((w) => '-'.repeat(w)).join('  '), render(body.at(-1)!));
  lines.push(t('report.notes', { zone: timeZone, unknown: report.total.durationUnknown }));
  return lines;
}

function percent(share: number | null): string {
  return share === null ? '-' : `${(share * 100).toFixed(1)}%`;
}
