import type { Queryable } from './postgres.database.ts';

/**
 * Units, people (users), systems (API keys) and login sessions: who may use the archive
 * server, and where in the bureau they belong.
 */

export interface UnitRow {
  id: string;
  name: string;
  parentId: string | null;
  /** '/root/…/id/': this unit and its ancestors. */
  path: string;
  createdAt: Date;
}

export type PrincipalKind = 'user' | 'key';

export interface UserRow {
  id: string;
  name: string;
  displayName: string | null;
  role: string;
  officerId: string | null;
  passwordHash: string;
  mustChangePassword: boolean;
  disabledAt: Date | null;
  failedLogins: number;
  lockedUntil: Date | null;
  createdAt: Date;
  unitIds: string[];
}

export interface ApiKeyRow {
  id: string;
  name: string;
  role: string;
  secretHash: string;
  createdBy: string;
  createdAt: Date;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
  unitIds: string[];
}

export interface WebSessionRow {
  tokenHash: string;
  userId: string;
  csrfToken: string;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
  endedAt: Date | null;
}

const toUnit = (r: Record<string, unknown>): UnitRow => ({
  id: r.id as string,
  name: r.name as string,
  parentId: (r.parent_id as string | null) ?? null,
  path: r.path as string,
  createdAt: r.created_at as Date,
});

const toUser = (r: Record<string, unknown>): UserRow => ({
  id: r.id as string,
  name: r.name as string,
  displayName: (r.display_name as string | null) ?? null,
  role: r.role as string,
  officerId: (r.officer_id as string | null) ?? null,
  passwordHash: r.password_hash as string,
  mustChangePassword: r.must_change_password as boolean,
  disabledAt: (r.disabled_at as Date | null) ?? null,
  failedLogins: Number(r.failed_logins),
  lockedUntil: (r.locked_until as Date | null) ?? null,
  createdAt: r.created_at as Date,
  unitIds: (r.unit_ids as string[] | null) ?? [],
});

const toKey = (r: Record<string, unknown>): ApiKeyRow => ({
  id: r.id as string,
  name: r.name as string,
  role: r.role as string,
  secretHash: r.secret_hash as string,
  createdBy: r.created_by as string,
  createdAt: r.created_at as Date,
  revokedAt: (r.revoked_at as Date | null) ?? null,
  lastUsedAt: (r.last_used_at as Date | null) ?? null,
  unitIds: (r.unit_ids as string[] | null) ?? [],
});

const UNITS_OF = (kind: PrincipalKind, alias: string) =>
  `(SELECT coalesce(array_agg(unit_id ORDER BY unit_id), '{}') FROM principal_units pu WHERE pu.principal_kind = '${kind}' AND pu.principal_id = ${alias}.id) AS unit_ids`;

export class IdentityRepository {
  constructor(private readonly db: Queryable) {}

  // ---- units -----------------------------------------------------------------------

  /** Adds a unit under its parent; null when the id is taken. */
  async addUnit(tx: Queryable, unit: { id: string; name: string; parentId: string | null }): Promise<UnitRow | null> {
    const r = await tx.query(
      `INSERT INTO units (id, name, parent_id, path)
       SELECT $1, $2, $3, coalesce((SELECT path FROM units WHERE id = $3), '/') || $1 || '/'
       ON CONFLICT (id) DO NOTHING RETURNING *`,
      [unit.id, unit.name, unit.parentId],
    );
    return r.rows[0] ? toUnit(r.rows[0]) : null;
  }

  async units(): Promise<UnitRow[]> {
    return (await this.db.query('SELECT * FROM units ORDER BY path')).rows.map(toUnit);
  }

  async unitsById(ids: readonly string[]): Promise<UnitRow[]> {
    return (await this.db.query('SELECT * FROM units WHERE id = ANY($1::text[]) ORDER BY path', [ids])).rows.map(toUnit);
  }

  /** These units and every unit below them. */
  async subtree(ids: readonly string[]): Promise<UnitRow[]> {
    const r = await this.db.query(
      `SELECT u.* FROM units u WHERE EXISTS (SELECT 1 FROM units s WHERE s.id = ANY($1::text[]) AND u.path LIKE s.path || '%') ORDER BY u.path`,
      [ids],
    );
    return r.rows.map(toUnit);
  }

  // ---- principals' units -----------------------------------------------------------

  async setUnits(tx: Queryable, kind: PrincipalKind, id: string, unitIds: readonly string[]): Promise<void> {
    await tx.query('DELETE FROM principal_units WHERE principal_kind = $1 AND principal_id = $2', [kind, id]);
    for (const unit of unitIds) await tx.query('INSERT INTO principal_units (principal_kind, principal_id, unit_id) VALUES ($1, $2, $3)', [kind, id, unit]);
  }

  // ---- users -----------------------------------------------------------------------

  async addUser(
    tx: Queryable,
    u: { id: string; name: string; displayName: string | null; role: string; officerId: string | null; passwordHash: string },
  ): Promise<boolean> {
    const r = await tx.query(
      `INSERT INTO users (id, name, display_name, role, officer_id, password_hash) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING`,
      [u.id, u.name, u.displayName, u.role, u.officerId, u.passwordHash],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async userByName(name: string): Promise<UserRow | null> {
    const r = await this.db.query(`SELECT u.*, ${UNITS_OF('user', 'u')} FROM users u WHERE u.name = $1`, [name]);
    return r.rows[0] ? toUser(r.rows[0]) : null;
  }

  async userById(id: string, tx: Queryable = this.db): Promise<UserRow | null> {
    const r = await tx.query(`SELECT u.*, ${UNITS_OF('user', 'u')} FROM users u WHERE u.id = $1`, [id]);
    return r.rows[0] ? toUser(r.rows[0]) : null;
  }

  async users(): Promise<UserRow[]> {
    return (await this.db.query(`SELECT u.*, ${UNITS_OF('user', 'u')} FROM users u ORDER BY u.name`)).rows.map(toUser);
  }

  async setPassword(tx: Queryable, id: string, passwordHash: string, mustChange: boolean): Promise<void> {
    await tx.query(
      `UPDATE users SET password_hash = $2, must_change_password = $3, password_changed_at = now(), failed_logins = 0, locked_until = NULL WHERE id = $1`,
      [id, passwordHash, mustChange],
    );
  }

  async setDisabled(tx: Queryable, id: string, disabled: boolean): Promise<void> {
    await tx.query(`UPDATE users SET disabled_at = CASE WHEN $2 THEN coalesce(disabled_at, now()) ELSE NULL END WHERE id = $1`, [id, disabled]);
  }

  async setRole(tx: Queryable, id: string, role: string, officerId: string | null): Promise<void> {
    await tx.query('UPDATE users SET role = $2, officer_id = $3 WHERE id = $1', [id, role, officerId]);
  }

  /**
   * A wrong password: counts it, and locks the account once `maxFailures` come in a row.
   * Atomic, so servers checking logins at once cannot each let one more guess through.
   */
  async loginFailed(id: string, maxFailures: number, lockMinutes: number): Promise<{ failedLogins: number; lockedUntil: Date | null }> {
    const r = await this.db.query<{ failed_logins: number; locked_until: Date | null }>(
      `UPDATE users SET failed_logins = failed_logins + 1,
         locked_until = CASE WHEN failed_logins + 1 >= $2 THEN now() + make_interval(mins => $3) ELSE locked_until END
       WHERE id = $1 RETURNING failed_logins, locked_until`,
      [id, maxFailures, lockMinutes],
    );
    return { failedLogins: Number(r.rows[0]?.failed_logins ?? 0), lockedUntil: r.rows[0]?.locked_until ?? null };
  }

  async loginSucceeded(id: string): Promise<void> {
    await this.db.query('UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1', [id]);
  }

  /** A lock that has run out starts the count again. */
  async clearExpiredLock(id: string): Promise<void> {
    await this.db.query('UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1 AND locked_until IS NOT NULL AND locked_until <= now()', [id]);
  }

  // ---- API keys --------------------------------------------------------------------

  async addKey(tx: Queryable, k: { id: string; name: string; role: string; secretHash: string; createdBy: string }): Promise<void> {
    await tx.query('INSERT INTO api_keys (id, name, role, secret_hash, created_by) VALUES ($1, $2, $3, $4, $5)', [k.id, k.name, k.role, k.secretHash, k.createdBy]);
  }

  async keyById(id: string): Promise<ApiKeyRow | null> {
    const r = await this.db.query(`SELECT k.*, ${UNITS_OF('key', 'k')} FROM api_keys k WHERE k.id = $1`, [id]);
    return r.rows[0] ? toKey(r.rows[0]) : null;
  }

  async keys(): Promise<ApiKeyRow[]> {
    return (await this.db.query(`SELECT k.*, ${UNITS_OF('key', 'k')} FROM api_keys k ORDER BY k.created_at`)).rows.map(toKey);
  }

  async revokeKey(tx: Queryable, id: string): Promise<boolean> {
    const r = await tx.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL', [id]);
    return (r.rowCount ?? 0) > 0;
  }

  /** At most once a minute per key: a busy case system does not write a row per request. */
  async touchKey(id: string): Promise<void> {
    await this.db.query(`UPDATE api_keys SET last_used_at = now() WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`, [id]);
  }

  // ---- login sessions --------------------------------------------------------------

  async createSession(s: { tokenHash: string; userId: string; csrfToken: string; maxHours: number; ip: string | null; userAgent: string | null }): Promise<WebSessionRow> {
    const r = await this.db.query(
      `INSERT INTO web_sessions (token_hash, user_id, csrf_token, expires_at, ip, user_agent)
       VALUES ($1, $2, $3, now() + make_interval(hours => $4), $5, $6) RETURNING *`,
      [s.tokenHash, s.userId, s.csrfToken, s.maxHours, s.ip, s.userAgent],
    );
    return toSession(r.rows[0]!);
  }

  /**
   * The session of a cookie, if it is still good: not ended, not past its absolute end, and
   * used within `idleMinutes`. Touches it (sliding the idle window).
   */
  async liveSession(tokenHash: string, idleMinutes: number): Promise<WebSessionRow | null> {
    const r = await this.db.query(
      `UPDATE web_sessions SET last_seen_at = now()
        WHERE token_hash = $1 AND ended_at IS NULL AND expires_at > now() AND last_seen_at > now() - make_interval(mins => $2)
        RETURNING *`,
      [tokenHash, idleMinutes],
    );
    return r.rows[0] ? toSession(r.rows[0]) : null;
  }

  async endSession(tokenHash: string): Promise<void> {
    await this.db.query('UPDATE web_sessions SET ended_at = now() WHERE token_hash = $1 AND ended_at IS NULL', [tokenHash]);
  }

  async endSessionsOf(tx: Queryable, userId: string, except?: string): Promise<void> {
    await tx.query('UPDATE web_sessions SET ended_at = now() WHERE user_id = $1 AND ended_at IS NULL AND token_hash IS DISTINCT FROM $2', [userId, except ?? null]);
  }
}

function toSession(r: Record<string, unknown>): WebSessionRow {
  return {
    tokenHash: r.token_hash as string,
    userId: r.user_id as string,
    csrfToken: r.csrf_token as string,
    createdAt: r.created_at as Date,
    lastSeenAt: r.last_seen_at as Date,
    expiresAt: r.expires_at as Date,
    endedAt: (r.ended_at as Date | null) ?? null,
  };
}
