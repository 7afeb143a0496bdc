import type { RedactionSpec } from '../archive/redaction-project.ts';
import type { Database, Queryable } from './postgres.database.ts';

/**
 * Redaction projects and their versions (migration 008). Versions are only ever inserted (the
 * database refuses an update or delete); the service writes each one in the transaction of
 * the REDACTION_SAVED event that holds it in full.
 */

export interface RedactionProjectRow {
  id: string;
  evidenceId: string;
  createdBy: string;
  createdAt: Date;
}

export interface RedactionVersionRow {
  projectId: string;
  evidenceId: string;
  version: number;
  spec: RedactionSpec;
  author: string;
  note: string | null;
  savedAt: Date;
  eventSeq: number;
}

/** A rendered copy, as its derivative row says (kind `redacted:<project>:v<version>`). */
export interface RedactionRenderRow {
  projectId: string;
  version: number;
  kind: string;
  objectKey: string;
  sha256: string;
  size: number;
  contentType: string;
  createdAt: Date;
}

/** The derivative kind of the copy rendered from one version: each version its own kind, so each is listed and verified. */
export function renderKind(projectId: string, version: number): string {
  return `redacted:${projectId}:v${version}`;
}

const KIND = /^redacted:([0-9a-f-]{36}):v([0-9]+)$/;

/** The project and version a derivative kind names, or null for any other kind. */
export function parseRenderKind(kind: string): { projectId: string; version: number } | null {
  const m = KIND.exec(kind);
  return m ? { projectId: m[1]!, version: Number(m[2]) } : null;
}

const toVersion = (r: Record<string, unknown>): RedactionVersionRow => ({
  projectId: r.project_id as string,
  evidenceId: r.evidence_id as string,
  version: r.version as number,
  spec: r.spec as RedactionSpec,
  author: r.author as string,
  note: (r.note as string | null) ?? null,
  savedAt: r.saved_at as Date,
  eventSeq: Number(r.event_seq),
});

export class RedactionRepository {
  constructor(private readonly db: Database) {}

  /** The project, locked until the transaction ends: saves of one project take their numbers one at a time. */
  async lockProject(tx: Queryable, projectId: string): Promise<RedactionProjectRow | null> {
    const r = await tx.query('SELECT * FROM redaction_projects WHERE id = $1 FOR UPDATE', [projectId]);
    const row = r.rows[0];
    return row ? { id: row.id, evidenceId: row.evidence_id, createdBy: row.created_by, createdAt: row.created_at } : null;
  }

  async insertProject(tx: Queryable, p: RedactionProjectRow): Promise<void> {
    await tx.query('INSERT INTO redaction_projects (id, evidence_id, created_by, created_at) VALUES ($1, $2, $3, $4)', [p.id, p.evidenceId, p.createdBy, p.createdAt]);
  }

  async versionNumbers(tx: Queryable, projectId: string): Promise<number[]> {
    const r = await tx.query<{ version: number }>('SELECT version FROM redaction_versions WHERE project_id = $1 ORDER BY version', [projectId]);
    return r.rows.map((row) => row.version);
  }

  async insertVersion(tx: Queryable, v: Omit<RedactionVersionRow, 'evidenceId'>): Promise<void> {
    await tx.query(
      'INSERT INTO redaction_versions (project_id, version, spec, author, note, saved_at, event_seq) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [v.projectId, v.version, JSON.stringify(v.spec), v.author, v.note, v.savedAt, v.eventSeq],
    );
  }

  /** One version, or the newest of the project when `version` is null. */
  async version(projectId: string, version: number | null, tx: Queryable = this.db): Promise<RedactionVersionRow | null> {
    const r = await tx.query(
      `SELECT v.*, p.evidence_id FROM redaction_versions v JOIN redaction_projects p ON p.id = v.project_id
        WHERE v.project_id = $1 AND ($2::int IS NULL OR v.version = $2) ORDER BY v.version DESC LIMIT 1`,
      [projectId, version],
    );
    return r.rows[0] ? toVersion(r.rows[0]) : null;
  }

  async projectsOf(evidenceId: string): Promise<Array<RedactionProjectRow & { versions: RedactionVersionRow[] }>> {
    const projects = await this.db.query('SELECT * FROM redaction_projects WHERE evidence_id = $1 ORDER BY created_at, id', [evidenceId]);
    const versions = await this.db.query(
      `SELECT v.*, p.evidence_id FROM redaction_versions v JOIN redaction_projects p ON p.id = v.project_id
        WHERE p.evidence_id = $1 ORDER BY v.project_id, v.version`,
      [evidenceId],
    );
    const byProject = new Map<string, RedactionVersionRow[]>();
    for (const row of versions.rows.map(toVersion)) byProject.set(row.projectId, [...(byProject.get(row.projectId) ?? []), row]);
    return projects.rows.map((p) => ({ id: p.id, evidenceId: p.evidence_id, createdBy: p.created_by, createdAt: p.created_at, versions: byProject.get(p.id) ?? [] }));
  }

  /** The copies rendered of the item's projects, newest first. */
  async rendersOf(evidenceId: string): Promise<RedactionRenderRow[]> {
    const r = await this.db.query(
      `SELECT kind, object_key, sha256, size, content_type, created_at FROM derivatives
        WHERE evidence_id = $1 AND kind LIKE 'redacted:%' ORDER BY created_at DESC, id`,
      [evidenceId],
    );
    const out: RedactionRenderRow[] = [];
    for (const row of r.rows) {
      const named = parseRenderKind(row.kind as string);
      if (!named) continue;
      out.push({ ...named, kind: row.kind, objectKey: row.object_key, sha256: row.sha256, size: Number(row.size), contentType: row.content_type, createdAt: row.created_at });
    }
    return out;
  }
}
