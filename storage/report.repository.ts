import type { Queryable } from './postgres.database.ts';

/** What a statistics row is grouped by. The column names are fixed here, never taken from input. */
export type ReportGrouping = 'officer' | 'unit' | 'recorder';

const GROUP_COLUMN: Record<ReportGrouping, string> = {
  officer: 'officer_id',
  unit: 'unit_id',
  recorder: 'recorder_serial',
};

/** One group's figures over a period; `key` is null for items without an officer (or unit). */
export interface ReportRow {
  key: string | null;
  items: number;
  bytes: number;
  /** Seconds of footage whose duration the metadata job has read. */
  durationSeconds: number;
  /** Items whose duration is not known (yet): photos, unreadable files, metadata pending. */
  durationUnknown: number;
  onTime: number;
  late: number;
  /** Items without a deadline verdict (no capture time to count from). */
  deadlineUnknown: number;
  /** Items with all five required fields. */
  complete: number;
  missingCase: number;
  missingCaptureTime: number;
  missingPlace: number;
  missingCollector: number;
  missingSubject: number;
  unregistered: number;
  unplayable: number;
}

/** Only items of these units (with `unassigned`, also those no unit claims). */
export interface UnitFilter {
  ids: readonly string[];
  unassigned: boolean;
}

/** An item counts in the period of its capture time, or of its storage when that is unknown. */
const ITEM_TIME = 'coalesce(capture_start, recorded_at)';

/** `$3` the unit ids (null: every unit), `$4` whether items without a unit count too. */
const IN_UNITS = '($3::text[] IS NULL OR unit_id = ANY($3::text[]) OR ($4 AND unit_id IS NULL))';

/**
 * The figures of a group of items. `count` is what counts an item: `count(*)` over a plain
 * scan, `count(e.id)` over an outer join, where a slice without items still yields one row
 * of nulls that must count as nothing.
 */
function figures(count: string): string {
  return `${count} AS items,
              coalesce(sum(size), 0) AS bytes,
              coalesce(sum(duration_seconds), 0) AS duration_seconds,
              ${count} FILTER (WHERE duration_seconds IS NULL) AS duration_unknown,
              ${count} FILTER (WHERE transfer_late = false) AS on_time,
              ${count} FILTER (WHERE transfer_late = true) AS late,
              ${count} FILTER (WHERE transfer_late IS NULL) AS deadline_unknown,
              ${count} FILTER (WHERE cardinality(case_numbers) > 0 AND capture_start IS NOT NULL AND place IS NOT NULL
                                 AND officer_id IS NOT NULL AND subject IS NOT NULL) AS complete,
              ${count} FILTER (WHERE cardinality(case_numbers) = 0) AS missing_case,
              ${count} FILTER (WHERE capture_start IS NULL) AS missing_capture_time,
              ${count} FILTER (WHERE place IS NULL) AS missing_place,
              ${count} FILTER (WHERE officer_id IS NULL) AS missing_collector,
              ${count} FILTER (WHERE subject IS NULL) AS missing_subject,
              ${count} FILTER (WHERE 'unregistered' = ANY (flags)) AS unregistered,
              ${count} FILTER (WHERE media_status = 'unplayable') AS unplayable`;
}

function toRow(row: Record<string, unknown>): ReportRow {
  return {
    key: (row.key as string | null) ?? null,
    items: Number(row.items),
    bytes: Number(row.bytes),
    durationSeconds: Number(row.duration_seconds),
    durationUnknown: Number(row.duration_unknown),
    onTime: Number(row.on_time),
    late: Number(row.late),
    deadlineUnknown: Number(row.deadline_unknown),
    complete: Number(row.complete),
    missingCase: Number(row.missing_case),
    missingCaptureTime: Number(row.missing_capture_time),
    missingPlace: Number(row.missing_place),
    missingCollector: Number(row.missing_collector),
    missingSubject: Number(row.missing_subject),
    unregistered: Number(row.unregistered),
    unplayable: Number(row.unplayable),
  };
}

/**
 * The statistics the rules ask for each quarter and year (counts, hours, transfer-deadline
 * compliance, completeness of the five fields), straight from the catalog. An item counts in
 * the period of its capture time, or of its storage when the capture time is unknown.
 */
export class ReportRepository {
  constructor(private readonly db: Queryable) {}

  /** `units`: only items of these units (with `unassigned`, also those no unit claims); absent: all. */
  async statistics(period: { from: Date; to: Date }, by: ReportGrouping, units?: UnitFilter): Promise<ReportRow[]> {
    const column = GROUP_COLUMN[by];
    const r = await this.db.query(
      `SELECT ${column} AS key, ${figures('count(*)')}
         FROM evidence
        WHERE ${ITEM_TIME} >= $1 AND ${ITEM_TIME} < $2 AND ${IN_UNITS}
        GROUP BY ${column}
        ORDER BY ${column} NULLS LAST`,
      [period.from, period.to, units ? [...units.ids] : null, units?.unassigned ?? false],
    );
    return r.rows.map(toRow);
  }

  /**
   * What a reader calls the groups: a unit's name from the unit registry, an officer's from
   * the latest recording that names them. Recorders have only their serial.
   */
  async groupNames(by: ReportGrouping, keys: readonly string[]): Promise<Map<string, string>> {
    if (keys.length === 0 || by === 'recorder') return new Map();
    const r = await this.db.query(
      by === 'unit'
        ? 'SELECT id AS key, name FROM units WHERE id = ANY($1::text[])'
        : `SELECT officer_id AS key, (array_agg(officer_name ORDER BY recorded_at DESC))[1] AS name
             FROM evidence WHERE officer_id = ANY($1::text[]) AND officer_name IS NOT NULL GROUP BY officer_id`,
      [[...keys]],
    );
    return new Map(r.rows.map((row: Record<string, unknown>) => [row.key as string, row.name as string]));
  }

  /**
   * The same figures per consecutive slice of a period (its months or weeks), one row per
   * slice in order, `key` the slice's index; a slice without items is a row of zeros, so a
   * chart over them has no gaps.
   */
  async series(slices: ReadonlyArray<{ from: Date; to: Date }>, units?: UnitFilter): Promise<ReportRow[]> {
    if (slices.length === 0) return [];
    const r = await this.db.query(
      `SELECT s.i::text AS key, ${figures('count(e.id)')}
         FROM unnest($1::timestamptz[], $2::timestamptz[]) WITH ORDINALITY AS s(start, stop, i)
         LEFT JOIN evidence e ON ${ITEM_TIME} >= s.start AND ${ITEM_TIME} < s.stop AND ${IN_UNITS}
        GROUP BY s.i
        ORDER BY s.i`,
      [slices.map((s) => s.from), slices.map((s) => s.to), units ? [...units.ids] : null, units?.unassigned ?? false],
    );
    return r.rows.map(toRow);
  }
}
