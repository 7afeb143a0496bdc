import type { Database, Queryable } from './postgres.database.ts';

export const RETENTION_CLASSES = ['unlinked', 'case', 'major-case'] as const;
export type RetentionClass = (typeof RETENTION_CLASSES)[number];

/** What a case's state says of its records' retention. */
export interface CaseRetentionFacts {
  caseNumber: string;
  state: 'open' | 'ended' | 'archived';
  archivedAt: Date | null;
  major: boolean;
  legalHold: boolean;
}

export interface RetentionRow {
  evidenceId: string;
  class: RetentionClass;
  retainUntil: Date;
  legalHold: boolean;
  holdReason: string | null;
}

export interface PurgeRunRow {
  id: string;
  status: 'proposed' | 'approved' | 'refused' | 'done';
  reason: string;
  proposedBy: string;
  proposedAt: Date;
  decidedBy: string | null;
  decidedAt: Date | null;
  finishedAt: Date | null;
  evidenceIds: string[];
}

export interface MissingFieldsRow {
  /** The officer's number or the unit's id (null: none recorded). */
  key: string | null;
  items: number;
  oldest: Date | null;
}

export interface TombstoneRow {
  evidenceId: string;
  purgeRunId: string;
  sha256: string;
  size: number;
  approvedBy: string;
  purgedAt: Date;
}

const toRetention = (r: Record<string, unknown>): RetentionRow => ({
  evidenceId: r.evidence_id as string,
  class: r.class as RetentionClass,
  retainUntil: r.retain_until as Date,
  legalHold: r.legal_hold as boolean,
  holdReason: (r.hold_reason as string | null) ?? null,
});

const toRun = (r: Record<string, unknown>): PurgeRunRow => ({
  id: r.id as string,
  status: r.status as PurgeRunRow['status'],
  reason: r.reason as string,
  proposedBy: r.proposed_by as string,
  proposedAt: r.proposed_at as Date,
  decidedBy: (r.decided_by as string | null) ?? null,
  decidedAt: (r.decided_at as Date | null) ?? null,
  finishedAt: (r.finished_at as Date | null) ?? null,
  evidenceIds: r.evidence_ids as string[],
});

const toFacts = (r: Record<string, unknown>): CaseRetentionFacts & { endedAt: Date | null; archiveKey: string | null; holdReason: string | null } => ({
  caseNumber: r.case_number as string,
  state: r.state as CaseRetentionFacts['state'],
  archivedAt: (r.archived_at as Date | null) ?? null,
  endedAt: (r.ended_at as Date | null) ?? null,
  major: r.major as boolean,
  legalHold: r.legal_hold as boolean,
  holdReason: (r.hold_reason as string | null) ?? null,
  archiveKey: (r.archive_key as string | null) ?? null,
});

export type CaseLifecycleRow = ReturnType<typeof toFacts>;

/** Retention, holds, purge runs, tombstones and the case lifecycle (migration 007). */
export class RetentionRepository {
  constructor(private readonly db: Database) {}

  async get(evidenceId: string, tx: Queryable = this.db): Promise<RetentionRow | null> {
    const r = await tx.query('SELECT * FROM evidence_retention WHERE evidence_id = $1', [evidenceId]);
    return r.rows[0] ? toRetention(r.rows[0]) : null;
  }

  async upsert(tx: Queryable, row: RetentionRow): Promise<void> {
    await tx.query(
      `INSERT INTO evidence_retention (evidence_id, class, retain_until, legal_hold, hold_reason, updated_at)
       VALUES ($1, $2, $3, $4, $5, now())
       ON CONFLICT (evidence_id) DO UPDATE SET class = $2, retain_until = GREATEST(evidence_retention.retain_until, $3),
         legal_hold = $4, hold_reason = $5, updated_at = now()`,
      [row.evidenceId, row.class, row.retainUntil, row.legalHold, row.holdReason],
    );
  }

  /** The cases named, as far as the catalog has a row for them (a case number only on items is an open case). */
  async cases(caseNumbers: readonly string[], tx: Queryable = this.db): Promise<CaseLifecycleRow[]> {
    if (caseNumbers.length === 0) return [];
    const r = await tx.query('SELECT * FROM cases WHERE case_number = ANY($1::text[])', [caseNumbers]);
    const known = new Map(r.rows.map((row) => [row.case_number as string, toFacts(row)]));
    return caseNumbers.map(
      (n) => known.get(n) ?? { caseNumber: n, state: 'open' as const, archivedAt: null, endedAt: null, major: false, legalHold: false, holdReason: null, archiveKey: null },
    );
  }

  async lockCase(tx: Queryable, caseNumber: string): Promise<CaseLifecycleRow | null> {
    const r = await tx.query('SELECT * FROM cases WHERE case_number = $1 FOR UPDATE', [caseNumber]);
    return r.rows[0] ? toFacts(r.rows[0]) : null;
  }

  async updateCase(
    tx: Queryable,
    caseNumber: string,
    patch: Partial<{ state: CaseRetentionFacts['state']; endedAt: Date; archivedAt: Date; archiveKey: string; major: boolean; legalHold: boolean; holdReason: string | null }>,
  ): Promise<void> {
    const columns: Record<string, string> = { state: 'state', endedAt: 'ended_at', archivedAt: 'archived_at', archiveKey: 'archive_key', major: 'major', legalHold: 'legal_hold', holdReason: 'hold_reason' };
    const sets: string[] = [];
    const values: unknown[] = [caseNumber];
    for (const [k, v] of Object.entries(patch)) {
      values.push(v);
      sets.push(`${columns[k]} = $${values.length}`);
    }
    if (sets.length > 0) await tx.query(`UPDATE cases SET ${sets.join(', ')} WHERE case_number = $1`, values);
  }

  /** Records whose retention ran out and that nothing holds, oldest first. */
  async expired(now: Date, limit: number): Promise<string[]> {
    const r = await this.db.query<{ evidence_id: string }>(
      `SELECT r.evidence_id FROM evidence_retention r
        WHERE r.retain_until < $1 AND NOT r.legal_hold
          AND NOT EXISTS (SELECT 1 FROM evidence_tombstones t WHERE t.evidence_id = r.evidence_id)
        ORDER BY r.retain_until, r.evidence_id LIMIT $2`,
      [now, limit],
    );
    return r.rows.map((row) => row.evidence_id);
  }

  async evidenceOfCase(caseNumber: string, tx: Queryable = this.db): Promise<string[]> {
    const r = await tx.query<{ id: string }>('SELECT id FROM evidence WHERE $1 = ANY(case_numbers) ORDER BY id', [caseNumber]);
    return r.rows.map((row) => row.id);
  }

  async setDocumentRetention(tx: Queryable, documentId: string, until: Date): Promise<void> {
    await tx.query('UPDATE documents SET retain_until = GREATEST(retain_until, $2) WHERE id = $1', [documentId, until]);
  }

  async createRun(tx: Queryable, run: Pick<PurgeRunRow, 'id' | 'reason' | 'proposedBy' | 'evidenceIds'>): Promise<PurgeRunRow> {
    const r = await tx.query(`INSERT INTO purge_runs (id, status, reason, proposed_by, evidence_ids) VALUES ($1, 'proposed', $2, $3, $4) RETURNING *`, [
      run.id,
      run.reason,
      run.proposedBy,
      run.evidenceIds,
    ]);
    return toRun(r.rows[0]!);
  }

  async run(id: string, tx: Queryable = this.db, lock = false): Promise<PurgeRunRow | null> {
    const r = await tx.query(`SELECT * FROM purge_runs WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [id]);
    return r.rows[0] ? toRun(r.rows[0]) : null;
  }

  async runs(): Promise<PurgeRunRow[]> {
    return (await this.db.query('SELECT * FROM purge_runs ORDER BY proposed_at DESC, id')).rows.map(toRun);
  }

  async decideRun(tx: Queryable, id: string, status: 'approved' | 'refused', by: string): Promise<void> {
    await tx.query('UPDATE purge_runs SET status = $2, decided_by = $3, decided_at = now() WHERE id = $1', [id, status, by]);
  }

  async finishRun(id: string): Promise<void> {
    await this.db.query(`UPDATE purge_runs SET status = 'done', finished_at = now() WHERE id = $1`, [id]);
  }

  async tombstone(tx: Queryable, t: Omit<TombstoneRow, 'purgedAt'>): Promise<void> {
    await tx.query(
      `INSERT INTO evidence_tombstones (evidence_id, purge_run_id, sha256, size, approved_by) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (evidence_id) DO NOTHING`,
      [t.evidenceId, t.purgeRunId, t.sha256, t.size, t.approvedBy],
    );
    await tx.query(`UPDATE evidence SET flags = array_append(flags, 'purged') WHERE id = $1 AND NOT ('purged' = ANY(flags))`, [t.evidenceId]);
  }

  async tombstoneOf(evidenceId: string): Promise<TombstoneRow | null> {
    const r = await this.db.query('SELECT * FROM evidence_tombstones WHERE evidence_id = $1', [evidenceId]);
    const row = r.rows[0];
    return row
      ? { evidenceId: row.evidence_id, purgeRunId: row.purge_run_id, sha256: row.sha256, size: Number(row.size), approvedBy: row.approved_by, purgedAt: row.purged_at }
      : null;
  }

  /** Ended, not archived: the 30-day rule's worklist. */
  async endedNotArchived(): Promise<CaseLifecycleRow[]> {
    return (await this.db.query(`SELECT * FROM cases WHERE state = 'ended' ORDER BY ended_at, case_number`)).rows.map(toFacts);
  }

  /** Records still missing a required field `graceDays` after capture, counted per officer. */
  /**
   * Records captured before `before` still missing one of the five fields, counted per
   * officer (who must supply it) and per unit (whose custodians must see it done). `units`:
   * only records of these units (and of none when `unassigned`); null: the whole archive.
   */
  async missingFields(before: Date, units: { ids: readonly string[]; unassigned: boolean } | null): Promise<{ byOfficer: MissingFieldsRow[]; byUnit: MissingFieldsRow[] }> {
    const grouped = async (column: 'officer_id' | 'unit_id') => {
      const r = await this.db.query<{ key: string | null; items: string; oldest: Date | null }>(
        `SELECT ${column} AS key, count(*) AS items, min(coalesce(capture_start, acquired_at)) AS oldest FROM evidence
          WHERE coalesce(capture_start, acquired_at) < $1 AND NOT ('purged' = ANY(flags))
            AND (cardinality(case_numbers) = 0 OR subject IS NULL OR place IS NULL OR officer_id IS NULL OR capture_start IS NULL)
            AND ($2::boolean OR unit_id = ANY($3::text[]) OR (unit_id IS NULL AND $4::boolean))
          GROUP BY ${column} ORDER BY count(*) DESC, ${column} NULLS LAST`,
        [before, units === null, units?.ids ?? [], units?.unassigned ?? false],
      );
      return r.rows.map((row) => ({ key: row.key, items: Number(row.items), oldest: row.oldest }));
    };
    return { byOfficer: await grouped('officer_id'), byUnit: await grouped('unit_id') };
  }
}
