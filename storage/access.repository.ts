import type { Queryable } from './postgres.database.ts';

/** Access requests (调阅/复制申请) and the access log: who asked, who decided, who looked. */

export type RequestState = 'pending' | 'approved' | 'refused' | 'expired';

export interface AccessRequestRow {
  id: string;
  principalKind: 'user' | 'key';
  principalId: string;
  principalName: string;
  evidenceId: string | null;
  caseNumber: string | null;
  actions: string[];
  purpose: string;
  state: RequestState;
  decidedBy: string | null;
  decidedAt: Date | null;
  reason: string | null;
  expiresAt: Date | null;
  grantedUnitIds: string[] | null;
  createdAt: Date;
}

/** Who looked: a user, an API key, or the recipient of a share link (the share's id). */
export type AccessorKind = 'user' | 'key' | 'share';

export interface AccessRecord {
  principalKind: AccessorKind;
  principalId: string;
  principalName: string;
  role: string;
  unitIds: readonly string[];
  action: string;
  evidenceId?: string | null;
  evidenceIds?: readonly string[] | null;
  caseNumber?: string | null;
  purpose?: string | null;
  approvalId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
}

export interface AccessLogRow extends Required<Omit<AccessRecord, 'unitIds' | 'evidenceIds'>> {
  id: number;
  at: Date;
  unitIds: string[];
  evidenceIds: string[] | null;
  sealedSeq: number | null;
}

export interface AccessLogFilter {
  evidenceId?: string;
  principalName?: string;
  from?: Date;
  to?: Date;
  action?: string;
  /** Only records about items in these units (with unassigned ones when `unassigned`). */
  unitIds?: readonly string[];
  afterId?: number;
  limit: number;
}

const toRequest = (r: Record<string, unknown>): AccessRequestRow => ({
  id: r.id as string,
  principalKind: r.principal_kind as 'user' | 'key',
  principalId: r.principal_id as string,
  principalName: r.principal_name as string,
  evidenceId: (r.evidence_id as string | null) ?? null,
  caseNumber: (r.case_number as string | null) ?? null,
  actions: r.actions as string[],
  purpose: r.purpose as string,
  state: r.state as RequestState,
  decidedBy: (r.decided_by as string | null) ?? null,
  decidedAt: (r.decided_at as Date | null) ?? null,
  reason: (r.reason as string | null) ?? null,
  expiresAt: (r.expires_at as Date | null) ?? null,
  grantedUnitIds: (r.granted_unit_ids as string[] | null) ?? null,
  createdAt: r.created_at as Date,
});

export const toAccessLog = (r: Record<string, unknown>): AccessLogRow => ({
  id: Number(r.id),
  at: r.at as Date,
  principalKind: r.principal_kind as AccessorKind,
  principalId: r.principal_id as string,
  principalName: r.principal_name as string,
  role: r.role as string,
  unitIds: r.unit_ids as string[],
  action: r.action as string,
  evidenceId: (r.evidence_id as string | null) ?? null,
  evidenceIds: (r.evidence_ids as string[] | null) ?? null,
  caseNumber: (r.case_number as string | null) ?? null,
  purpose: (r.purpose as string | null) ?? null,
  approvalId: (r.approval_id as string | null) ?? null,
  ip: (r.ip as string | null) ?? null,
  userAgent: (r.user_agent as string | null) ?? null,
  sealedSeq: r.sealed_seq === null || r.sealed_seq === undefined ? null : Number(r.sealed_seq),
});

export class AccessRepository {
  constructor(private readonly db: Queryable) {}

  async addRequest(tx: Queryable, r: Pick<AccessRequestRow, 'id' | 'principalKind' | 'principalId' | 'principalName' | 'evidenceId' | 'caseNumber' | 'actions' | 'purpose'>): Promise<AccessRequestRow> {
    const row = await tx.query(
      `INSERT INTO access_requests (id, principal_kind, principal_id, principal_name, evidence_id, case_number, actions, purpose)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
      [r.id, r.principalKind, r.principalId, r.principalName, r.evidenceId, r.caseNumber, r.actions, r.purpose],
    );
    return toRequest(row.rows[0]!);
  }

  async request(id: string, tx: Queryable = this.db, lock = false): Promise<AccessRequestRow | null> {
    const r = await tx.query(`SELECT * FROM access_requests WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [id]);
    return r.rows[0] ? toRequest(r.rows[0]) : null;
  }

  async decide(tx: Queryable, id: string, d: { state: 'approved' | 'refused'; by: string; reason: string; expiresAt: Date | null; grantedUnitIds: string[] | null }): Promise<AccessRequestRow> {
    const r = await tx.query(
      `UPDATE access_requests SET state = $2, decided_by = $3, decided_at = now(), reason = $4, expires_at = $5, granted_unit_ids = $6 WHERE id = $1 RETURNING *`,
      [id, d.state, d.by, d.reason, d.expiresAt, d.grantedUnitIds],
    );
    return toRequest(r.rows[0]!);
  }

  /** The caller's own requests, newest first. */
  async requestsOf(kind: string, principalId: string, limit: number): Promise<AccessRequestRow[]> {
    const r = await this.db.query(`SELECT * FROM access_requests WHERE principal_kind = $1 AND principal_id = $2 ORDER BY created_at DESC LIMIT $3`, [kind, principalId, limit]);
    return r.rows.map(toRequest);
  }

  /**
   * Pending requests about items in these units, or about cases with items there (what a
   * custodian of those units decides on).
   */
  async pendingFor(unitIds: readonly string[], unassigned: boolean, limit: number): Promise<AccessRequestRow[]> {
    const r = await this.db.query(
      `SELECT q.* FROM access_requests q WHERE q.state = 'pending' AND (
         EXISTS (SELECT 1 FROM evidence e WHERE e.id = q.evidence_id AND (e.unit_id = ANY($1::text[]) OR ($2 AND e.unit_id IS NULL)))
         OR EXISTS (SELECT 1 FROM evidence e WHERE q.case_number IS NOT NULL AND e.case_numbers @> ARRAY[q.case_number] AND (e.unit_id = ANY($1::text[]) OR ($2 AND e.unit_id IS NULL))))
       ORDER BY q.created_at LIMIT $3`,
      [unitIds, unassigned, limit],
    );
    return r.rows.map(toRequest);
  }

  /** Approved, unexpired requests of a caller: what it may see beyond its role. */
  async approvalsOf(kind: string, principalId: string): Promise<AccessRequestRow[]> {
    const r = await this.db.query(
      `SELECT * FROM access_requests WHERE principal_kind = $1 AND principal_id = $2 AND state = 'approved' AND expires_at > now()`,
      [kind, principalId],
    );
    return r.rows.map(toRequest);
  }

  /** Approved requests whose time is up (locked: one server records each expiry). */
  async lapsedApprovals(tx: Queryable, limit: number): Promise<AccessRequestRow[]> {
    const r = await tx.query(`SELECT * FROM access_requests WHERE state = 'approved' AND expires_at <= now() ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED`, [limit]);
    return r.rows.map(toRequest);
  }

  async expire(tx: Queryable, id: string): Promise<void> {
    await tx.query(`UPDATE access_requests SET state = 'expired' WHERE id = $1`, [id]);
  }

  // ---- the access log --------------------------------------------------------------

  async log(tx: Queryable, a: AccessRecord): Promise<AccessLogRow> {
    const r = await tx.query(
      `INSERT INTO access_log (principal_kind, principal_id, principal_name, role, unit_ids, action, evidence_id, evidence_ids, case_number, purpose, approval_id, ip, user_agent)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING *`,
      [
        a.principalKind, a.principalId, a.principalName, a.role, a.unitIds, a.action, a.evidenceId ?? null, a.evidenceIds ?? null,
        a.caseNumber ?? null, a.purpose ?? null, a.approvalId ?? null, a.ip ?? null, a.userAgent ?? null,
      ],
    );
    return toAccessLog(r.rows[0]!);
  }

  async query(f: AccessLogFilter): Promise<AccessLogRow[]> {
    const where: string[] = [];
    const values: unknown[] = [];
    const add = (clause: (n: number) => string, v: unknown) => {
      values.push(v);
      where.push(clause(values.length));
    };
    if (f.evidenceId) add((n) => `(evidence_id = $${n} OR evidence_ids @> ARRAY[$${n}::uuid])`, f.evidenceId);
    if (f.principalName) add((n) => `principal_name = $${n}`, f.principalName);
    if (f.from) add((n) => `at >= $${n}`, f.from);
    if (f.to) add((n) => `at < $${n}`, f.to);
    if (f.action) add((n) => `action = $${n}`, f.action);
    if (f.afterId) add((n) => `id < $${n}`, f.afterId);
    if (f.unitIds) {
      add(
        (n) => `(unit_ids && $${n}::text[] OR EXISTS (SELECT 1 FROM evidence e WHERE e.unit_id = ANY($${n}::text[]) AND (e.id = access_log.evidence_id OR e.id = ANY(access_log.evidence_ids))))`,
        f.unitIds,
      );
    }
    values.push(f.limit);
    const r = await this.db.query(`SELECT * FROM access_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${values.length}`, values);
    return r.rows.map(toAccessLog);
  }

  /** Records not yet sealed into the ledger, oldest first, locked so one sealer takes each. */
  async unsealed(tx: Queryable, limit: number): Promise<AccessLogRow[]> {
    const r = await tx.query(`SELECT * FROM access_log WHERE sealed_seq IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`, [limit]);
    return r.rows.map(toAccessLog);
  }

  async unsealedCount(): Promise<number> {
    const r = await this.db.query<{ n: string }>('SELECT count(*) AS n FROM access_log WHERE sealed_seq IS NULL');
    return Number(r.rows[0]!.n);
  }

  async markSealed(tx: Queryable, ids: readonly number[], seq: number): Promise<void> {
    await tx.query('UPDATE access_log SET sealed_seq = $2 WHERE id = ANY($1::bigint[])', [ids, seq]);
  }

  async sealedBy(seq: number): Promise<AccessLogRow[]> {
    const r = await this.db.query('SELECT * FROM access_log WHERE sealed_seq = $1 ORDER BY id', [seq]);
    return r.rows.map(toAccessLog);
  }
}
