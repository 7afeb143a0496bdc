import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { EvidockConfig } from '../config/config.schema.ts';
import { moduleLogger } from '../config/logger.ts';
import type { CatalogRepository } from '../storage/catalog.repository.ts';
import type { CustodyEvent, JsonValue } from '../storage/custody-chain.ts';
import type { CustodyLedger } from '../storage/custody-ledger.service.ts';
import type { ApiKeyRow, IdentityRepository, PrincipalKind, UnitRow, UserRow } from '../storage/identity.repository.ts';
import type { Database } from '../storage/postgres.database.ts';
import { ROLES, type Role } from './access-policy.ts';
import { ArchiveError, conflict, invalid, notFound } from './archive.errors.ts';
import { DECOY_HASH, hashPassword, passwordProblems, verifyPassword } from './password.ts';
import type { Principal } from './principal.ts';

const log = moduleLogger('identity');

/** Case systems use keys; people log in. */
const KEY_ROLES: readonly Role[] = ['case-system', 'auditor'];
const USER_ROLES: readonly Role[] = ['officer', 'custodian', 'supervisor', 'auditor', 'admin'];

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const UNIT_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]{1,63}$/;

export interface LoginResult {
  token: string;
  csrfToken: string;
  expiresAt: Date;
  principal: Principal;
}

export interface LoginContext {
  ip: string | null;
  userAgent: string | null;
}

/**
 * Units, users, API keys and logins. Every change to who may see evidence (a user or key
 * added, disabled, revoked, a unit added, a recorder registered) is an ADMINISTERED custody
 * event: the ledger is where an inspector looks for who could have looked.
 */
export class IdentityService {
  constructor(
    private readonly deps: {
      config: EvidockConfig;
      db: Database;
      identity: IdentityRepository;
      catalog: CatalogRepository;
      ledger: CustodyLedger;
    },
  ) {}

  private get server() {
    return this.deps.config.server;
  }

  // ---- units -----------------------------------------------------------------------

  async addUnit(unit: { id: string; name: string; parentId: string | null }, by: string): Promise<UnitRow> {
    const problems: string[] = [];
    if (!UNIT_ID.test(unit.id)) problems.push('unit id: letters, digits, . _ - (at most 64)');
    if (unit.name.trim().length === 0) problems.push('unit name is empty');
    if (unit.parentId && (await this.deps.identity.unitsById([unit.parentId])).length === 0) problems.push(`no parent unit ${unit.parentId}`);
    if (problems.length > 0) throw invalid(problems);
    return this.administer({ what: 'unit.add', target: unit.id, by, details: { name: unit.name, parentId: unit.parentId } }, async (tx) => {
      const row = await this.deps.identity.addUnit(tx, unit);
      if (!row) throw conflict('UNIT_EXISTS', `unit ${unit.id} exists`, `单位 ${unit.id} 已存在`);
      return row;
    });
  }

  units(): Promise<UnitRow[]> {
    return this.deps.identity.units();
  }

  // ---- users -----------------------------------------------------------------------

  async addUser(
    u: { name: string; role: string; unitIds: string[]; officerId?: string | null; displayName?: string | null; password: string },
    by: string,
  ): Promise<UserRow> {
    const problems: string[] = [];
    if (!USER_NAME.test(u.name)) problems.push('user name: letters, digits, . _ @ - (2 to 64)');
    if (!USER_ROLES.includes(u.role as Role)) problems.push(`role must be one of ${USER_ROLES.join(', ')} (case systems get API keys)`);
    if (u.role === 'officer' && !u.officerId) problems.push('an officer needs an officer number (--officer)');
    problems.push(...(await this.unitProblems(u.unitIds)));
    problems.push(...this.passwordPolicy(u.password, u.name));
    if (problems.length > 0) throw invalid(problems);
    const id = randomUUID();
    const passwordHash = await hashPassword(u.password);
    await this.administer({ what: 'user.add', target: u.name, by, details: { userId: id, displayName: u.displayName ?? null, role: u.role, unitIds: u.unitIds, officerId: u.officerId ?? null } }, async (tx) => {
      const added = await this.deps.identity.addUser(tx, { id, name: u.name, displayName: u.displayName ?? null, role: u.role, officerId: u.officerId ?? null, passwordHash });
      if (!added) throw conflict('USER_EXISTS', `user ${u.name} exists`, `用户 ${u.name} 已存在`);
      await this.deps.identity.setUnits(tx, 'user', id, u.unitIds);
    });
    return (await this.deps.identity.userById(id))!;
  }

  users(): Promise<UserRow[]> {
    return this.deps.identity.users();
  }

  async user(name: string): Promise<UserRow> {
    const user = await this.deps.identity.userByName(name);
    if (!user) throw notFound('user', name);
    return user;
  }

  async setDisabled(name: string, disabled: boolean, by: string): Promise<UserRow> {
    const user = await this.user(name);
    await this.administer({ what: disabled ? 'user.disable' : 'user.enable', target: name, by, details: {} }, async (tx) => {
      await this.deps.identity.setDisabled(tx, user.id, disabled);
      if (disabled) await this.deps.identity.endSessionsOf(tx, user.id);
    });
    return (await this.deps.identity.userById(user.id))!;
  }

  async updateUser(name: string, patch: { role?: string; unitIds?: string[]; officerId?: string | null }, by: string): Promise<UserRow> {
    const user = await this.user(name);
    const role = patch.role ?? user.role;
    const officerId = patch.officerId === undefined ? user.officerId : patch.officerId;
    const problems: string[] = [];
    if (!USER_ROLES.includes(role as Role)) problems.push(`role must be one of ${USER_ROLES.join(', ')}`);
    if (role === 'officer' && !officerId) problems.push('an officer needs an officer number');
    if (patch.unitIds) problems.push(...(await this.unitProblems(patch.unitIds)));
    if (problems.length > 0) throw invalid(problems);
    await this.administer({ what: 'user.change', target: name, by, details: { role, officerId, unitIds: patch.unitIds ?? user.unitIds } }, async (tx) => {
      await this.deps.identity.setRole(tx, user.id, role, officerId);
      if (patch.unitIds) await this.deps.identity.setUnits(tx, 'user', user.id, patch.unitIds);
      // Whatever the user could see before, a session opened then does not keep.
      await this.deps.identity.endSessionsOf(tx, user.id);
    });
    return (await this.deps.identity.userById(user.id))!;
  }

  /** An administrator sets a new password; the user must change it at the next login. */
  async resetPassword(name: string, password: string, by: string): Promise<void> {
    const user = await this.user(name);
    const problems = this.passwordPolicy(password, name);
    if (problems.length > 0) throw invalid(problems);
    const hash = await hashPassword(password);
    await this.administer({ what: 'user.password-reset', target: name, by, details: {} }, async (tx) => {
      await this.deps.identity.setPassword(tx, user.id, hash, true);
      await this.deps.identity.endSessionsOf(tx, user.id);
    });
  }

  /** The user changes its own password (required at first login). Other sessions end. */
  /** `keepSession`: the session cookie's token of the caller, which stays logged in. */
  async changePassword(principal: Principal, current: string, next: string, keepSession: string | null): Promise<void> {
    if (principal.kind !== 'user') throw new ArchiveError('NOT_A_USER', 400, 'API keys have no password', 'API 密钥没有密码');
    const user = (await this.deps.identity.userById(principal.id))!;
    if (!(await verifyPassword(current, user.passwordHash))) throw new ArchiveError('WRONG_PASSWORD', 403, 'the current password is wrong', '当前密码不正确');
    const problems = this.passwordPolicy(next, user.name);
    if (next === current) problems.push('the new password is the old one');
    if (problems.length > 0) throw invalid(problems);
    const hash = await hashPassword(next);
    await this.deps.db.transaction(async (tx) => {
      await this.deps.identity.setPassword(tx, user.id, hash, false);
      await this.deps.identity.endSessionsOf(tx, user.id, keepSession ? sha256(keepSession) : undefined);
    });
    log.info({ user: user.name }, 'password changed');
  }

  // ---- logins ----------------------------------------------------------------------

  /**
   * A login. Wrong passwords in a row lock the account for a while (every server sees the
   * same count); a name that does not exist costs the same hash as one that does, so timing
   * does not tell which names exist.
   */
  async login(name: string, password: string, at: LoginContext): Promise<LoginResult> {
    const { identity } = this.deps;
    const user = await identity.userByName(name);
    if (user?.lockedUntil && user.lockedUntil.getTime() <= Date.now()) await identity.clearExpiredLock(user.id);
    else if (user?.lockedUntil) throw locked(user.lockedUntil);
    const ok = await verifyPassword(password, user?.passwordHash ?? DECOY_HASH);
    if (!user || !ok || user.disabledAt) {
      if (user && !ok) {
        const after = await identity.loginFailed(user.id, this.server.loginMaxFailures, this.server.lockoutMinutes);
        log.warn({ user: name, ip: at.ip, failures: after.failedLogins }, 'wrong password');
        if (after.lockedUntil) throw locked(after.lockedUntil);
      }
      throw new ArchiveError('BAD_CREDENTIALS', 401, 'wrong user name or password', '用户名或密码错误');
    }
    await identity.loginSucceeded(user.id);
    const token = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(24).toString('base64url');
    const session = await identity.createSession({ tokenHash: sha256(token), userId: user.id, csrfToken, maxHours: this.server.sessionMaxHours, ip: at.ip, userAgent: at.userAgent });
    log.info({ user: name, ip: at.ip }, 'logged in');
    return { token, csrfToken, expiresAt: session.expiresAt, principal: await this.principalOfUser(user) };
  }

  /** The principal and CSRF token of a session cookie, if the session is still good. */
  async session(token: string): Promise<{ principal: Principal; csrfToken: string; tokenHash: string } | null> {
    const tokenHash = sha256(token);
    const session = await this.deps.identity.liveSession(tokenHash, this.server.sessionIdleMinutes);
    if (!session) return null;
    const user = await this.deps.identity.userById(session.userId);
    if (!user || user.disabledAt) return null;
    return { principal: await this.principalOfUser(user), csrfToken: session.csrfToken, tokenHash };
  }

  async logout(token: string): Promise<void> {
    await this.deps.identity.endSession(sha256(token));
  }

  // ---- API keys --------------------------------------------------------------------

  /** A key for a system; the secret is shown once, here, and kept only as its SHA-256. */
  async createKey(k: { name: string; role: string; unitIds: string[] }, by: string): Promise<{ id: string; key: string }> {
    const problems: string[] = [];
    if (k.name.trim().length === 0 || k.name.length > 128) problems.push('key name: 1 to 128 characters');
    if (!KEY_ROLES.includes(k.role as Role)) problems.push(`an API key's role must be one of ${KEY_ROLES.join(', ')}`);
    problems.push(...(await this.unitProblems(k.unitIds)));
    if (problems.length > 0) throw invalid(problems);
    const id = randomUUID();
    const secret = randomBytes(32).toString('base64url');
    // The SHA-256 of 256 random bits cannot be turned back into the key, so the ledger may
    // keep it: a catalog rebuilt by `evidock reindex` still accepts the keys systems hold.
    const secretHash = sha256(secret);
    await this.administer({ what: 'key.create', target: id, by, details: { name: k.name, role: k.role, unitIds: k.unitIds, secretHash } }, async (tx) => {
      await this.deps.identity.addKey(tx, { id, name: k.name, role: k.role, secretHash, createdBy: by });
      await this.deps.identity.setUnits(tx, 'key', id, k.unitIds);
    });
    return { id, key: `evk_${id.replaceAll('-', '')}_${secret}` };
  }

  keys(): Promise<ApiKeyRow[]> {
    return this.deps.identity.keys();
  }

  async revokeKey(id: string, by: string): Promise<void> {
    await this.administer({ what: 'key.revoke', target: id, by, details: {} }, async (tx) => {
      if (!(await this.deps.identity.revokeKey(tx, id))) throw notFound('key', id);
    });
  }

  /** The principal of an `Authorization: Bearer evk_…` key, if it is valid and not revoked. */
  async authenticateKey(bearer: string): Promise<Principal | null> {
    const m = /^evk_([0-9a-f]{32})_([A-Za-z0-9_-]{43})$/.exec(bearer);
    if (!m) return null;
    const hex = m[1]!;
    const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    const key = await this.deps.identity.keyById(id);
    const expected = Buffer.from(key?.secretHash ?? '0'.repeat(64), 'hex');
    const actual = Buffer.from(sha256(m[2]!), 'hex');
    if (!key || key.revokedAt || !timingSafeEqual(expected, actual)) return null;
    // Last use is kept to the minute: no round trip at all on most requests of a busy system.
    if (key.lastUsedAt === null || Date.now() - key.lastUsedAt.getTime() > 60_000) void this.deps.identity.touchKey(key.id).catch(() => undefined);
    return this.principal('key', key.id, key.name, key.role as Role, null, key.unitIds, false);
  }

  // ---- the recorder registry -------------------------------------------------------

  async registerRecorder(reg: { serial: string; officerId?: string; officerName?: string; unitId?: string }, by: string): Promise<void> {
    const problems: string[] = [];
    if (!/^[\x21-\x7e]{1,64}$/.test(reg.serial)) problems.push('serial: 1 to 64 printable ASCII characters');
    let unitName: string | undefined;
    if (reg.unitId) {
      const [unit] = await this.deps.identity.unitsById([reg.unitId]);
      if (!unit) problems.push(`no unit ${reg.unitId}`);
      unitName = unit?.name;
    }
    if (problems.length > 0) throw invalid(problems);
    await this.administer({ what: 'recorder.register', target: reg.serial, by, details: { officerId: reg.officerId ?? null, officerName: reg.officerName ?? null, unitId: reg.unitId ?? null, unitName: unitName ?? null } }, (tx) =>
      this.deps.catalog.register(tx, { ...reg, ...(unitName ? { unitName } : {}) }, by),
    );
  }

  async unregisterRecorder(serial: string, by: string): Promise<void> {
    await this.administer({ what: 'recorder.remove', target: serial, by, details: {} }, async (tx) => {
      if (!(await this.deps.catalog.unregister(tx, serial))) throw notFound('recorder', serial);
    });
  }

  // ---- helpers ---------------------------------------------------------------------

  async principalOfUser(user: UserRow): Promise<Principal> {
    return this.principal('user', user.id, user.name, user.role as Role, user.officerId, user.unitIds, user.mustChangePassword);
  }

  private async principal(kind: PrincipalKind, id: string, name: string, role: Role, officerId: string | null, unitIds: string[], mustChangePassword: boolean): Promise<Principal> {
    const subtree = await this.deps.identity.subtree(unitIds);
    return {
      kind,
      id,
      name,
      role: ROLES.includes(role) ? role : 'officer',
      officerId,
      unitIds,
      scope: new Set(subtree.map((u) => u.id)),
      seesUnassigned: subtree.some((u) => u.parentId === null && unitIds.includes(u.id)),
      mustChangePassword,
    };
  }

  private passwordPolicy(password: string, name: string): string[] {
    const text = {
      'too-short': `the password needs at least ${this.server.passwordMinLength} characters`,
      'too-long': 'the password is longer than 256 characters',
      'too-simple': 'the password must mix three of: lower case, upper case, digits, other characters',
      'contains-name': 'the password must not contain the user name',
    } as const;
    return passwordProblems(password, name, this.server.passwordMinLength).map((p) => text[p]);
  }

  private async unitProblems(unitIds: string[]): Promise<string[]> {
    if (unitIds.length === 0) return ['at least one unit (--unit)'];
    const known = new Set((await this.deps.identity.unitsById(unitIds)).map((u) => u.id));
    return unitIds.filter((u) => !known.has(u)).map((u) => `no unit ${u}`);
  }

  /** An administrative change and its ADMINISTERED custody event, in one transaction. */
  private async administer<T>(
    what: { what: string; target: string; by: string; details: { [k: string]: JsonValue } },
    work: (tx: Parameters<Parameters<Database['transaction']>[0]>[0]) => Promise<T>,
  ): Promise<T> {
    let event: CustodyEvent | null = null;
    const result = await this.deps.db.transaction(async (tx) => {
      const out = await work(tx);
      event = await this.deps.ledger.append(tx, {
        type: 'ADMINISTERED',
        actor: { kind: 'user', id: what.by },
        details: { what: what.what, target: what.target, ...what.details },
      });
      return out;
    });
    if (event) await this.deps.ledger.mirror([event]);
    log.info({ what: what.what, target: what.target, by: what.by }, 'administered');
    return result;
  }
}

function locked(until: Date): ArchiveError {
  const seconds = Math.max(1, Math.ceil((until.getTime() - Date.now()) / 1000));
  return new ArchiveError(
    'ACCOUNT_LOCKED',
    429,
    `too many wrong passwords: the account is locked until ${until.toISOString()}`,
    `密码错误次数过多，账户已锁定，请于 ${Math.ceil(seconds / 60)} 分钟后再试`,
    { retryAfterSeconds: seconds },
  );
}
