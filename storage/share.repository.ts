import type { Queryable } from './postgres.database.ts';

/** Share links and what each one hands its recipient (009-sharing.sql). */

export type ShareMode = 'view' | 'download';

export interface ShareItemRow {
  evidenceId: string;
  position: number;
  /** The original's SHA-256. */
  sha256: string;
  /** `watermarked-proxy`, `proxy`, or the redacted render's kind. */
  copyKind: string;
  copyKey: string;
  copySha256: string;
  copySize: number;
  contentType: string;
  watermarkLines: string[] | null;
}

export interface ShareRow {
  id: string;
  tokenSha256: string;
  recipient: string;
  caseNumber: string | null;
  mode: ShareMode;
  watermark: boolean;
  approvalId: string | null;
  authorizedBy: 'approval' | 'role';
  purpose: string | null;
  createdBy: string;
  unitIds: string[];
  createdAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
  revokedBy: string | null;
  revokeReason: string | null;
  items: ShareItemRow[];
}

const toShare = (r: Record<string, unknown>, items: ShareItemRow[]): ShareRow => ({
  id: r.id as string,
  tokenSha256: r.token_sha256 as string,
  recipient: r.recipient as string,
  caseNumber: (r.case_number as string | null) ?? null,
  mode: r.mode as ShareMode,
  watermark: r.watermark as boolean,
  approvalId: (r.approval_id as string | null) ?? null,
  authorizedBy: r.authorized_by as 'approval' | 'role',
  purpose: (r.purpose as string | null) ?? null,
  createdBy: r.created_by as string,
  unitIds: r.unit_ids as string[],
  createdAt: r.created_at as Date,
  expiresAt: r.expires_at as Date,
  revokedAt: (r.revoked_at as Date | null) ?? null,
  revokedBy: (r.revoked_by as string | null) ?? null,
  revokeReason: (r.revoke_reason as string | null) ?? null,
  items,
});

const toItem = (r: Record<string, unknown>): ShareItemRow => ({
  evidenceId: r.evidence_id as string,
  position: Number(r.position),
  sha256: r.sha256 as string,
  copyKind: r.copy_kind as string,
  copyKey: r.copy_key as string,
  copySha256: r.copy_sha256 as string,
  copySize: Number(r.copy_size),
  contentType: r.content_type as string,
  watermarkLines: (r.watermark_lines as string[] | null) ?? null,
});

export class ShareRepository {
  constructor(private readonly db: Queryable) {}

  async insert(tx: Queryable, s: Omit<ShareRow, 'revokedAt' | 'revokedBy' | 'revokeReason'>): Promise<void> {
    await tx.query(
      `INSERT INTO shares (id, token_sha256, recipient, case_number, mode, watermark, approval_id, authorized_by, purpose, created_by, unit_ids, created_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
      [s.id, s.tokenSha256, s.recipient, s.caseNumber, s.mode, s.watermark, s.approvalId, s.authorizedBy, s.purpose, s.createdBy, s.unitIds, s.createdAt, s.expiresAt],
    );
    for (const i of s.items) {
      await tx.query(
        `INSERT INTO share_items (share_id, position, evidence_id, sha256, copy_kind, copy_key, copy_sha256, copy_size, content_type, watermark_lines)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [s.id, i.position, i.evidenceId, i.sha256, i.copyKind, i.copyKey, i.copySha256, i.copySize, i.contentType, i.watermarkLines],
      );
    }
  }

  async byId(id: string, tx: Queryable = this.db, lock = false): Promise<ShareRow | null> {
    const r = await tx.query(`SELECT * FROM shares WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [id]);
    return r.rows[0] ? toShare(r.rows[0], await this.itemsOf(id, tx)) : null;
  }

  async byTokenHash(tokenSha256: string): Promise<ShareRow | null> {
    const r = await this.db.query('SELECT * FROM shares WHERE token_sha256 = $1', [tokenSha256]);
    return r.rows[0] ? toShare(r.rows[0], await this.itemsOf(r.rows[0].id as string, this.db)) : null;
  }

  /** Whether a token hash names a share (the public routes' rate limit counts only those that do not). */
  async tokenKnown(tokenSha256: string): Promise<boolean> {
    const r = await this.db.query('SELECT 1 FROM shares WHERE token_sha256 = $1', [tokenSha256]);
    return (r.rowCount ?? 0) > 0;
  }

  /** Shares made by people of these units (every unit when null), newest first. */
  async list(f: { unitIds: readonly string[] | null; caseNumber?: string; evidenceId?: string; limit: number }): Promise<ShareRow[]> {
    const where: string[] = [];
    const values: unknown[] = [];
    const add = (clause: (n: number) => string, v: unknown) => {
      values.push(v);
      where.push(clause(values.length));
    };
    if (f.unitIds) add((n) => `unit_ids && $${n}::text[]`, f.unitIds);
    if (f.caseNumber) add((n) => `case_number = $${n}`, f.caseNumber);
    if (f.evidenceId) add((n) => `EXISTS (SELECT 1 FROM share_items i WHERE i.share_id = shares.id AND i.evidence_id = $${n})`, f.evidenceId);
    values.push(f.limit);
    const r = await this.db.query(`SELECT * FROM shares ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC LIMIT $${values.length}`, values);
    const out: ShareRow[] = [];
    for (const row of r.rows) out.push(toShare(row, await this.itemsOf(row.id as string, this.db)));
    return out;
  }

  async revoke(tx: Queryable, id: string, r: { at: Date; by: string; reason: string }): Promise<void> {
    await tx.query('UPDATE shares SET revoked_at = $2, revoked_by = $3, revoke_reason = $4 WHERE id = $1', [id, r.at, r.by, r.reason]);
  }

  private async itemsOf(shareId: string, tx: Queryable): Promise<ShareItemRow[]> {
    const r = await tx.query('SELECT * FROM share_items WHERE share_id = $1 ORDER BY position', [shareId]);
    return r.rows.map(toItem);
  }
}
