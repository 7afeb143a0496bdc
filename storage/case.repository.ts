import type { Queryable } from './postgres.database.ts';

/** Cases as the archive knows them: their dates, enforcement actions, suggested links and documents. */

export interface CaseRow {
  caseNumber: string;
  unitId: string | null;
  createdAt: Date;
  endedAt: Date | null;
  archivedAt: Date | null;
  /** Lifecycle and preservation (migration 007). */
  state: 'open' | 'ended' | 'archived';
  legalHold: boolean;
  major: boolean;
}

export interface ActionRow {
  id: string;
  caseNumber: string;
  officerIds: string[];
  startsAt: Date;
  endsAt: Date;
  subject: string | null;
  place: string | null;
  createdBy: string;
  createdAt: Date;
}

export type MatchState = 'suggested' | 'confirmed' | 'rejected';

export interface MatchRow {
  actionId: string;
  evidenceId: string;
  state: MatchState;
  decidedBy: string | null;
  decidedAt: Date | null;
  reason: string | null;
}

export interface DocumentRow {
  id: string;
  caseNumber: string;
  sha256: string;
  size: number;
  contentType: string;
  originalName: string;
  objectKey: string;
  objectEtag: string;
  unitId: string | null;
  uploadedBy: string;
  createdAt: Date;
}

const toCase = (r: Record<string, unknown>): CaseRow => ({
  caseNumber: r.case_number as string,
  unitId: (r.unit_id as string | null) ?? null,
  createdAt: r.created_at as Date,
  endedAt: (r.ended_at as Date | null) ?? null,
  archivedAt: (r.archived_at as Date | null) ?? null,
  state: (r.state as CaseRow['state'] | undefined) ?? 'open',
  legalHold: (r.legal_hold as boolean | undefined) ?? false,
  major: (r.major as boolean | undefined) ?? false,
});

const toAction = (r: Record<string, unknown>): ActionRow => ({
  id: r.id as string,
  caseNumber: r.case_number as string,
  officerIds: r.officer_ids as string[],
  startsAt: r.starts_at as Date,
  endsAt: r.ends_at as Date,
  subject: (r.subject as string | null) ?? null,
  place: (r.place as string | null) ?? null,
  createdBy: r.created_by as string,
  createdAt: r.created_at as Date,
});

const toMatch = (r: Record<string, unknown>): MatchRow => ({
  actionId: r.action_id as string,
  evidenceId: r.evidence_id as string,
  state: r.state as MatchState,
  decidedBy: (r.decided_by as string | null) ?? null,
  decidedAt: (r.decided_at as Date | null) ?? null,
  reason: (r.reason as string | null) ?? null,
});

const toDocument = (r: Record<string, unknown>): DocumentRow => ({
  id: r.id as string,
  caseNumber: r.case_number as string,
  sha256: r.sha256 as string,
  size: Number(r.size),
  contentType: r.content_type as string,
  originalName: r.original_name as string,
  objectKey: r.object_key as string,
  objectEtag: r.object_etag as string,
  unitId: (r.unit_id as string | null) ?? null,
  uploadedBy: r.uploaded_by as string,
  createdAt: r.created_at as Date,
});

export class CaseRepository {
  constructor(private readonly db: Queryable) {}

  /** The case row, created on first use. */
  async ensure(tx: Queryable, caseNumber: string, unitId: string | null): Promise<CaseRow> {
    await tx.query('INSERT INTO cases (case_number, unit_id) VALUES ($1, $2) ON CONFLICT (case_number) DO NOTHING', [caseNumber, unitId]);
    return toCase((await tx.query('SELECT * FROM cases WHERE case_number = $1', [caseNumber])).rows[0]!);
  }

  async get(caseNumber: string): Promise<CaseRow | null> {
    const r = await this.db.query('SELECT * FROM cases WHERE case_number = $1', [caseNumber]);
    return r.rows[0] ? toCase(r.rows[0]) : null;
  }

  async addAction(tx: Queryable, a: Omit<ActionRow, 'createdAt'>): Promise<ActionRow> {
    const r = await tx.query(
      `INSERT INTO case_actions (id, case_number, officer_ids, starts_at, ends_at, subject, place, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
      [a.id, a.caseNumber, a.officerIds, a.startsAt, a.endsAt, a.subject, a.place, a.createdBy],
    );
    return toAction(r.rows[0]!);
  }

  async actionsOf(caseNumber: string): Promise<ActionRow[]> {
    const r = await this.db.query('SELECT * FROM case_actions WHERE case_number = $1 ORDER BY starts_at, id', [caseNumber]);
    return r.rows.map(toAction);
  }

  async action(id: string, tx: Queryable = this.db): Promise<ActionRow | null> {
    const r = await tx.query('SELECT * FROM case_actions WHERE id = $1', [id]);
    return r.rows[0] ? toAction(r.rows[0]) : null;
  }

  /** Recordings by these officers overlapping the window (already widened by the margin). */
  async overlapping(tx: Queryable, officerIds: readonly string[], from: Date, to: Date): Promise<Array<{ id: string; unitId: string | null }>> {
    const r = await tx.query(
      `SELECT id, unit_id FROM evidence WHERE officer_id = ANY($1::text[])
         AND capture_start < $3 AND coalesce(capture_end, capture_start) > $2 ORDER BY capture_start`,
      [officerIds, from, to],
    );
    return r.rows.map((row) => ({ id: row.id as string, unitId: (row.unit_id as string | null) ?? null }));
  }

  /** Actions of this officer whose window (widened by the margin) overlaps the recording. */
  async actionsOverlapping(tx: Queryable, officerId: string, start: Date, end: Date, marginMinutes: number): Promise<ActionRow[]> {
    const r = await tx.query(
      `SELECT * FROM case_actions WHERE officer_ids @> ARRAY[$1::text]
         AND starts_at - make_interval(mins => $4) < $3 AND ends_at + make_interval(mins => $4) > $2`,
      [officerId, start, end, marginMinutes],
    );
    return r.rows.map(toAction);
  }

  /** A suggestion; false if this action already had one for the item. */
  async suggest(tx: Queryable, actionId: string, evidenceId: string): Promise<boolean> {
    const r = await tx.query('INSERT INTO action_matches (action_id, evidence_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [actionId, evidenceId]);
    return (r.rowCount ?? 0) > 0;
  }

  async matchesOf(caseNumber: string): Promise<MatchRow[]> {
    const r = await this.db.query(
      `SELECT m.* FROM action_matches m JOIN case_actions a ON a.id = m.action_id WHERE a.case_number = $1 ORDER BY m.created_at, m.evidence_id`,
      [caseNumber],
    );
    return r.rows.map(toMatch);
  }

  async lockMatch(tx: Queryable, actionId: string, evidenceId: string): Promise<MatchRow | null> {
    const r = await tx.query('SELECT * FROM action_matches WHERE action_id = $1 AND evidence_id = $2 FOR UPDATE', [actionId, evidenceId]);
    return r.rows[0] ? toMatch(r.rows[0]) : null;
  }

  async decideMatch(tx: Queryable, actionId: string, evidenceId: string, state: 'confirmed' | 'rejected', by: string, reason: string | null): Promise<void> {
    await tx.query('UPDATE action_matches SET state = $3, decided_by = $4, decided_at = now(), reason = $5 WHERE action_id = $1 AND evidence_id = $2', [
      actionId,
      evidenceId,
      state,
      by,
      reason,
    ]);
  }

  async addDocument(tx: Queryable, d: Omit<DocumentRow, 'createdAt'>): Promise<DocumentRow> {
    const r = await tx.query(
      `INSERT INTO documents (id, case_number, sha256, size, content_type, original_name, object_key, object_etag, unit_id, uploaded_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *`,
      [d.id, d.caseNumber, d.sha256, d.size, d.contentType, d.originalName, d.objectKey, d.objectEtag, d.unitId, d.uploadedBy],
    );
    return toDocument(r.rows[0]!);
  }

  async documentsOf(caseNumber: string): Promise<DocumentRow[]> {
    const r = await this.db.query('SELECT * FROM documents WHERE case_number = $1 ORDER BY created_at, id', [caseNumber]);
    return r.rows.map(toDocument);
  }

  async document(id: string): Promise<DocumentRow | null> {
    const r = await this.db.query('SELECT * FROM documents WHERE id = $1', [id]);
    return r.rows[0] ? toDocument(r.rows[0]) : null;
  }
}
