import type { ReportGrouping, ReportRow, UnitFilter } from '../storage/report.repository.ts';
import { localDate, zonedLocalToUtc } from '../workers/transfer-deadline.ts';

/** A reporting period: [from, to) in UTC, with the name it was asked by. */
export interface ReportPeriod {
  label: string;
  from: Date;
  to: Date;
}

export class ReportPeriodError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReportPeriodError';
  }
}

/**
 * The period of `--quarter 2026Q4`, `--year 2026`, `--month 2026-11` or `--from/--to`, in the
 * bureau's time zone: the rules' quarters and years are local calendar ones, so a recording
 * made at 07:00 on 1 January in Beijing belongs to the new year.
 */
export function parsePeriod(spec: { quarter?: string; year?: string; month?: string; from?: string; to?: string }, timeZone: string): ReportPeriod {
  const given = [spec.quarter, spec.year, spec.month, spec.from ?? spec.to].filter((v) => v !== undefined);
  if (given.length !== 1) throw new ReportPeriodError('give exactly one of --quarter YYYYQn, --year YYYY, --month YYYY-MM, or --from/--to');
  const local = (y: number, m: number) => zonedLocalToUtc(`${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-01T00:00:00`, timeZone);
  if (spec.quarter !== undefined) {
    const q = /^(\d{4})-?Q([1-4])$/i.exec(spec.quarter.trim());
    if (!q) throw new ReportPeriodError(`not a quarter: ${spec.quarter} (expected e.g. 2026Q4)`);
    const year = Number(q[1]);
    const n = Number(q[2]);
    return { label: `${year}Q${n}`, from: local(year, 3 * n - 2), to: n === 4 ? local(year + 1, 1) : local(year, 3 * n + 1) };
  }
  if (spec.year !== undefined) {
    if (!/^\d{4}$/.test(spec.year.trim())) throw new ReportPeriodError(`not a year: ${spec.year}`);
    const year = Number(spec.year);
    return { label: String(year), from: local(year, 1), to: local(year + 1, 1) };
  }
  if (spec.month !== undefined) {
    const m = /^(\d{4})-(\d{2})$/.exec(spec.month.trim());
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 12) throw new ReportPeriodError(`not a month: ${spec.month} (expected e.g. 2026-11)`);
    const year = Number(m[1]);
    const month = Number(m[2]);
    return { label: spec.month.trim(), from: local(year, month), to: month === 12 ? local(year + 1, 1) : local(year, month + 1) };
  }
  if (!spec.from || !spec.to) throw new ReportPeriodError('--from and --to go together');
  const from = new Date(spec.from);
  const to = new Date(spec.to);
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) throw new ReportPeriodError(`not an ISO date: ${Number.isNaN(from.getTime()) ? spec.from : spec.to}`);
  if (to <= from) throw new ReportPeriodError('--to must be after --from');
  return { label: `${spec.from}/${spec.to}`, from, to };
}

export interface Report {
  period: ReportPeriod;
  by: ReportGrouping;
  rows: ReportRow[];
  total: ReportRow;
}

export interface ReportSource {
  statistics(period: { from: Date; to: Date }, by: ReportGrouping, units?: UnitFilter): Promise<ReportRow[]>;
  /** One row per slice, in the order given. */
  series(slices: ReadonlyArray<{ from: Date; to: Date }>, units?: UnitFilter): Promise<ReportRow[]>;
  groupNames(by: ReportGrouping, keys: readonly string[]): Promise<Map<string, string>>;
}

/** A period's figures month by month or week by week, for the line chart of a submission. */
export interface ReportSeries {
  unit: SliceUnit;
  points: Array<PeriodSlice & { row: ReportRow }>;
}

/** Quarterly and yearly enforcement-recording statistics: per group, and the bureau's total. */
export class ReportService {
  constructor(private readonly source: ReportSource) {}

  /** `units`: a report of these units only (the archive server's callers see only theirs). */
  async build(period: ReportPeriod, by: ReportGrouping, units?: UnitFilter): Promise<Report> {
    const rows = await this.source.statistics(period, by, units);
    return { period, by, rows, total: sumRows(rows) };
  }

  /** Names for the groups of a report, where the registries have them. */
  names(report: Report): Promise<Map<string, string>> {
    return this.source.groupNames(report.by, report.rows.flatMap((r) => (r.key === null ? [] : [r.key])));
  }

  async series(period: ReportPeriod, timeZone: string, units?: UnitFilter): Promise<ReportSeries> {
    const unit = sliceUnitOf(period);
    const slices = slicePeriod(period, unit, timeZone);
    const rows = await this.source.series(slices, units);
    return { unit, points: slices.map((slice, i) => ({ ...slice, row: rows[i] ?? emptyRow(String(i + 1)) })) };
  }
}

export type SliceUnit = 'month' | 'week';

/** A month or week of a period, cut to the period where it starts before or ends after it. */
export interface PeriodSlice {
  /** `2026-11` for a month, the local date of its first day (`2026-11-02`) for a week. */
  label: string;
  from: Date;
  to: Date;
}

const DAY_MS = 86_400_000;

/**
 * Weeks for a quarter or a month (a quarter's three months would make a line of three
 * points), months for anything longer than about a quarter, a year in particular.
 */
export function sliceUnitOf(period: { from: Date; to: Date }): SliceUnit {
  return period.to.getTime() - period.from.getTime() > 100 * DAY_MS ? 'month' : 'week';
}

/** The local calendar months, or Monday-to-Sunday weeks, that a period spans, in order. */
export function slicePeriod(period: { from: Date; to: Date }, unit: SliceUnit, timeZone: string): PeriodSlice[] {
  const slices: PeriodSlice[] = [];
  let day = localDate(period.from, timeZone);
  let from = period.from;
  while (from < period.to) {
    const next = unit === 'month' ? firstOfNextMonth(day) : nextMonday(day);
    const boundary = zonedLocalToUtc(`${next}T00:00:00`, timeZone);
    const to = boundary < period.to ? boundary : period.to;
    slices.push({ label: unit === 'month' ? day.slice(0, 7) : day, from, to });
    from = to;
    day = next;
  }
  return slices;
}

function firstOfNextMonth(ymd: string): string {
  const [y, m] = ymd.split('-').map(Number) as [number, number];
  return m === 12 ? `${String(y + 1).padStart(4, '0')}-01-01` : `${String(y).padStart(4, '0')}-${String(m + 1).padStart(2, '0')}-01`;
}

function nextMonday(ymd: string): string {
  const d = new Date(`${ymd}T00:00:00Z`);
  const toMonday = (8 - d.getUTCDay()) % 7 || 7;
  return new Date(d.getTime() + toMonday * DAY_MS).toISOString().slice(0, 10);
}

/** A row of zeros: the start of a sum, and a report of an empty period. */
export function emptyRow(key: string | null = null): ReportRow {
  return {
    key,
    items: 0,
    bytes: 0,
    durationSeconds: 0,
    durationUnknown: 0,
    onTime: 0,
    late: 0,
    deadlineUnknown: 0,
    complete: 0,
    missingCase: 0,
    missingCaptureTime: 0,
    missingPlace: 0,
    missingCollector: 0,
    missingSubject: 0,
    unregistered: 0,
    unplayable: 0,
  };
}

export function sumRows(rows: readonly ReportRow[]): ReportRow {
  const total = emptyRow();
  for (const row of rows) {
    for (const k of Object.keys(total) as Array<keyof ReportRow>) {
      if (k !== 'key') total[k] += row[k];
    }
  }
  return total;
}

/** Share of items that met the deadline among those with a verdict; null when none has one. */
export function onTimeRate(row: ReportRow): number | null {
  const judged = row.onTime + row.late;
  return judged === 0 ? null : row.onTime / judged;
}
