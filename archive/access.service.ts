import { randomUUID } from 'node:crypto';
import type { EvidockConfig } from '../config/config.schema.ts';
import { moduleLogger } from '../config/logger.ts';
import type { AccessLogFilter, AccessLogRow, AccessRepository, AccessRequestRow } from '../storage/access.repository.ts';
import type { CatalogRepository, EvidenceRow, SearchFilter } from '../storage/catalog.repository.ts';
import type { CustodyEvent } from '../storage/custody-chain.ts';
import type { CustodyLedger } from '../storage/custody-ledger.service.ts';
import type { IdentityRepository } from '../storage/identity.repository.ts';
import type { Database } from '../storage/postgres.database.ts';
import { ACCESS_ACTIONS, can, decide, type AccessAction, type EvidenceAction, type RuleOverrides } from './access-policy.ts';
import { ITEM_ACTIONS, itemSeals, sealDigest, sealedForm } from './access-seal.ts';
import { ArchiveError, approvalRequired, forbidden, invalid, notFound } from './archive.errors.ts';
import { actorOf, inScope, relationOf, type Principal } from './principal.ts';

const log = moduleLogger('access');

/** What the caller's approved, unexpired access requests grant. */
export interface Grants {
  items: ReadonlyMap<string, { actions: ReadonlySet<AccessAction>; approvalId: string }>;
  cases: ReadonlyArray<{ caseNumber: string; unitIds: readonly string[]; actions: ReadonlySet<AccessAction>; approvalId: string }>;
}

/** Where a request came from, for the access log. */
export interface Caller {
  principal: Principal;
  ip: string | null;
  userAgent: string | null;
}

export interface Authorized {
  by: 'role' | 'approval';
  approvalId: string | null;
}

const SEAL_BATCH = 2000;

/**
 * Who may look at which item, the requests and approvals that widen that, and the access
 * log with its seals in the custody ledger. Every decision goes through access-policy.ts.
 */
export class AccessService {
  constructor(
    private readonly deps: {
      config: EvidockConfig;
      db: Database;
      access: AccessRepository;
      catalog: CatalogRepository;
      identity: IdentityRepository;
      ledger: CustodyLedger;
    },
  ) {}

  private get overrides(): RuleOverrides {
    return this.deps.config.access.rules as RuleOverrides;
  }

  async grants(p: Principal): Promise<Grants> {
    const items = new Map<string, { actions: Set<AccessAction>; approvalId: string }>();
    const cases: Array<{ caseNumber: string; unitIds: string[]; actions: Set<AccessAction>; approvalId: string }> = [];
    for (const r of await this.deps.access.approvalsOf(p.kind, p.id)) {
      const actions = new Set(r.actions.filter((a): a is AccessAction => (ACCESS_ACTIONS as readonly string[]).includes(a)));
      if (r.evidenceId) {
        const had = items.get(r.evidenceId);
        items.set(r.evidenceId, { actions: new Set([...(had?.actions ?? []), ...actions]), approvalId: r.id });
      } else if (r.caseNumber) cases.push({ caseNumber: r.caseNumber, unitIds: r.grantedUnitIds ?? [], actions, approvalId: r.id });
    }
    return { items, cases };
  }

  /** The actions approved on this item, and the approval that grants them. */
  approvedOn(grants: Grants, item: EvidenceRow): { actions: Set<AccessAction>; approvalId: string | null } {
    const actions = new Set<AccessAction>();
    let approvalId: string | null = null;
    const direct = grants.items.get(item.id);
    if (direct) {
      direct.actions.forEach((a) => actions.add(a));
      approvalId = direct.approvalId;
    }
    for (const c of grants.cases) {
      if (!item.caseNumbers.includes(c.caseNumber) || item.unitId === null || !c.unitIds.includes(item.unitId)) continue;
      c.actions.forEach((a) => actions.add(a));
      approvalId ??= c.approvalId;
    }
    return { actions, approvalId };
  }

  /** Throws 404 for what the caller may not know exists, 403 for what it may not do. */
  authorize(p: Principal, item: EvidenceRow, action: EvidenceAction, grants: Grants): Authorized {
    const approved = this.approvedOn(grants, item);
    const decision = decide(p.role, action, relationOf(p, item), approved.actions, this.overrides);
    switch (decision.outcome) {
      case 'allow':
        return { by: decision.by, approvalId: decision.by === 'approval' ? approved.approvalId : null };
      case 'hidden':
        throw notFound('evidence', item.id);
      case 'approval-required':
        throw approvalRequired(action);
      case 'deny':
        throw forbidden(actionZh[action]);
    }
  }

  /** What a search may return to the caller: the items it may view now. */
  scopeOf(p: Principal, grants: Grants): NonNullable<SearchFilter['scope']> {
    const unitView = decide(p.role, 'view', 'unit', new Set(), this.overrides).outcome === 'allow';
    const approvedViews = [...grants.items].filter(([, g]) => g.actions.has('view')).map(([id]) => id);
    return {
      unitIds: unitView ? [...p.scope] : [],
      unassigned: unitView && p.seesUnassigned,
      officerId: p.role === 'officer' ? p.officerId : null,
      ownOnly: !unitView,
      evidenceIds: approvedViews,
      cases: grants.cases.filter((c) => c.actions.has('view')).map((c) => ({ caseNumber: c.caseNumber, unitIds: c.unitIds })),
    };
  }

  // ---- the access log --------------------------------------------------------------

  /**
   * Writes one access record. Batched (the default): the record now, its seal in the custody
   * ledger within sealSeconds. Immediate: the item's ACCESSED event in the same transaction.
   */
  async record(
    caller: Caller,
    entry: { action: string; evidenceId?: string; evidenceIds?: readonly string[]; caseNumber?: string; purpose?: string | null; approvalId?: string | null },
  ): Promise<AccessLogRow> {
    const p = caller.principal;
    const record = {
      principalKind: p.kind,
      principalId: p.id,
      principalName: p.name,
      role: p.role,
      unitIds: p.unitIds,
      action: entry.action,
      evidenceId: entry.evidenceId ?? null,
      evidenceIds: entry.evidenceIds ?? null,
      caseNumber: entry.caseNumber ?? null,
      purpose: entry.purpose ?? null,
      approvalId: entry.approvalId ?? null,
      ip: caller.ip,
      userAgent: caller.userAgent?.slice(0, 512) ?? null,
    };
    if (this.deps.config.access.ledgerEvents === 'batched' || !entry.evidenceId || !ITEM_ACTIONS.has(entry.action)) {
      return this.deps.access.log(this.deps.db, record);
    }
    let event: CustodyEvent | null = null;
    const row = await this.deps.db.transaction(async (tx) => {
      const written = await this.deps.access.log(tx, record);
      const [seal] = itemSeals([written]);
      event = await this.deps.ledger.append(tx, {
        type: 'ACCESSED',
        actor: actorOf(p),
        evidenceId: written.evidenceId,
        details: { records: seal!.recordIds, actions: seal!.actions, principals: seal!.principals, digest: seal!.digest, sealed: 'immediate' },
      });
      await this.deps.access.markSealed(tx, [written.id], event.seq);
      return { ...written, sealedSeq: event.seq };
    });
    if (event) {
      await this.deps.ledger.mirror([event]);
      await this.deps.ledger.attach(row.sealedSeq, [sealedForm(row)]);
    }
    return row;
  }

  /**
   * Seals the records written since the last seal: one ACCESSED event per item looked at,
   * one ACCESS_LOG_SEALED for the batch. Any number of servers may run this; each record is
   * sealed once (SKIP LOCKED). Returns how many records it sealed.
   */
  async seal(): Promise<number> {
    const events: CustodyEvent[] = [];
    let batch: { seq: number; rows: AccessLogRow[] } | null = null;
    const count = await this.deps.db.transaction(async (tx) => {
      const rows = await this.deps.access.unsealed(tx, SEAL_BATCH);
      if (rows.length === 0) return 0;
      const actor = { kind: 'workstation' as const, id: this.deps.config.workstationId };
      for (const s of itemSeals(rows)) {
        events.push(
          await this.deps.ledger.append(tx, {
            type: 'ACCESSED',
            actor,
            evidenceId: s.evidenceId,
            details: { records: s.recordIds, actions: s.actions, principals: s.principals, digest: s.digest },
          }),
        );
      }
      const sealed = await this.deps.ledger.append(tx, {
        type: 'ACCESS_LOG_SEALED',
        actor,
        details: { first: rows[0]!.id, last: rows.at(-1)!.id, count: rows.length, digest: sealDigest(rows) },
      });
      events.push(sealed);
      batch = { seq: sealed.seq, rows };
      await this.deps.access.markSealed(
        tx,
        rows.map((r) => r.id),
        sealed.seq,
      );
      return rows.length;
    });
    if (events.length > 0) await this.deps.ledger.mirror(events);
    const sealedBatch = batch as { seq: number; rows: AccessLogRow[] } | null;
    if (sealedBatch) await this.deps.ledger.attach(sealedBatch.seq, sealedBatch.rows.map(sealedForm));
    return count;
  }

  /**
   * The sealed records the write-once bucket does not hold yet (an attachment deferred by an
   * unreachable MinIO), stored now. Run when a server starts. Returns how many seals it stored.
   */
  async attachPending(): Promise<number> {
    const attached = await this.deps.ledger.attachedSeqs();
    let n = 0;
    for (const event of await this.deps.ledger.eventsOfTypes(['ACCESS_LOG_SEALED', 'ACCESSED'])) {
      if (attached.has(event.seq) || (event.type === 'ACCESSED' && event.details.sealed !== 'immediate')) continue;
      const rows = await this.deps.access.sealedBy(event.seq);
      if (rows.length > 0 && (await this.deps.ledger.attach(event.seq, rows.map(sealedForm)))) n++;
    }
    return n;
  }

  async unsealedCount(): Promise<number> {
    return this.deps.access.unsealedCount();
  }

  /** The access log, as far as the caller's units reach. */
  async query(p: Principal, filter: Omit<AccessLogFilter, 'unitIds'>): Promise<AccessLogRow[]> {
    if (!can(p.role, 'access.log')) throw forbidden('查看访问日志');
    // A province-level auditor sees everything; others the records about their units' items
    // and the records of their units' people.
    const unitIds = p.seesUnassigned ? undefined : [...p.scope];
    return this.deps.access.query({ ...filter, ...(unitIds ? { unitIds } : {}) });
  }

  // ---- requests and approvals ------------------------------------------------------

  async request(caller: Caller, r: { evidenceId?: string; caseNumber?: string; actions: string[]; purpose: string }): Promise<AccessRequestRow> {
    const p = caller.principal;
    if (!can(p.role, 'access.request')) throw forbidden('提交调阅申请');
    const problems: string[] = [];
    if ((r.evidenceId === undefined) === (r.caseNumber === undefined)) problems.push('name either evidenceId or caseNumber');
    const actions = [...new Set(r.actions)];
    if (actions.length === 0) problems.push('actions: at least one of view, play, download, export');
    for (const a of actions) if (!(ACCESS_ACTIONS as readonly string[]).includes(a)) problems.push(`actions: ${a} is not one of view, play, download, export`);
    if (r.purpose.trim().length < 4) problems.push('purpose: say why (at least 4 characters)');
    if (problems.length > 0) throw invalid(problems);
    // The id is unguessable: a request names an item the caller was told of (a case file, a
    // colleague); that it exists is not a secret worth a 404 here, but nothing else is shown.
    if (r.evidenceId && !(await this.deps.catalog.getEvidence(r.evidenceId))) throw notFound('evidence', r.evidenceId);
    let event: CustodyEvent | null = null;
    const row = await this.deps.db.transaction(async (tx) => {
      const added = await this.deps.access.addRequest(tx, {
        id: randomUUID(),
        principalKind: p.kind,
        principalId: p.id,
        principalName: p.name,
        evidenceId: r.evidenceId ?? null,
        caseNumber: r.caseNumber ?? null,
        actions,
        purpose: r.purpose.trim(),
      });
      event = await this.deps.ledger.append(tx, {
        type: 'ACCESS_REQUESTED',
        actor: actorOf(p),
        evidenceId: added.evidenceId,
        details: { requestId: added.id, caseNumber: added.caseNumber, actions, purpose: added.purpose, by: p.name, createdAt: added.createdAt.toISOString() },
      });
      return added;
    });
    if (event) await this.deps.ledger.mirror([event]);
    log.info({ requestId: row.id, by: p.name, evidenceId: row.evidenceId, caseNumber: row.caseNumber }, 'access requested');
    return row;
  }

  /** A custodian of the item's (or one of the case's items') unit approves or refuses. */
  async decide(caller: Caller, id: string, d: { approve: boolean; reason: string; expiresAt?: Date }): Promise<AccessRequestRow> {
    const p = caller.principal;
    if (!can(p.role, 'access.decide')) throw forbidden('审批调阅申请');
    const problems: string[] = [];
    if (d.reason.trim().length < 2) problems.push('reason: required');
    const maxMs = this.deps.config.access.maxApprovalDays * 86_400_000;
    if (d.approve) {
      if (!d.expiresAt) problems.push('expiresAt: an approval needs an expiry');
      else if (d.expiresAt.getTime() <= Date.now()) problems.push('expiresAt: must be in the future');
      else if (d.expiresAt.getTime() > Date.now() + maxMs) problems.push(`expiresAt: at most ${this.deps.config.access.maxApprovalDays} days from now`);
    }
    if (problems.length > 0) throw invalid(problems);
    let event: CustodyEvent | null = null;
    const row = await this.deps.db.transaction(async (tx) => {
      const request = await this.deps.access.request(id, tx, true);
      if (!request || !(await this.concerns(p, request))) throw notFound('request', id);
      if (request.principalId === p.id) throw forbidden('审批自己的申请');
      if (request.state !== 'pending') throw new ArchiveError('REQUEST_DECIDED', 409, `request ${id} is already ${request.state}`, `该申请已处理（${stateZh[request.state]}）`);
      const decided = await this.deps.access.decide(tx, id, {
        state: d.approve ? 'approved' : 'refused',
        by: p.name,
        reason: d.reason.trim(),
        expiresAt: d.approve ? d.expiresAt! : null,
        grantedUnitIds: d.approve && request.caseNumber ? [...p.scope] : null,
      });
      event = await this.deps.ledger.append(tx, {
        type: d.approve ? 'ACCESS_APPROVED' : 'ACCESS_REFUSED',
        actor: actorOf(p),
        evidenceId: decided.evidenceId,
        details: {
          requestId: id,
          caseNumber: decided.caseNumber,
          requester: decided.principalName,
          actions: decided.actions,
          reason: decided.reason,
          expiresAt: decided.expiresAt?.toISOString() ?? null,
          by: p.name,
        },
      });
      return decided;
    });
    if (event) await this.deps.ledger.mirror([event]);
    log.info({ requestId: id, by: p.name, state: row.state }, 'access request decided');
    return row;
  }

  /** The caller's own requests, and for a custodian those waiting for its decision. */
  async requests(p: Principal): Promise<{ mine: AccessRequestRow[]; waiting: AccessRequestRow[] }> {
    const mine = await this.deps.access.requestsOf(p.kind, p.id, 200);
    const waiting = can(p.role, 'access.decide') ? (await this.deps.access.pendingFor([...p.scope], p.seesUnassigned, 200)).filter((r) => r.principalId !== p.id) : [];
    return { mine, waiting };
  }

  /** Approved requests whose time is up become ACCESS_EXPIRED. Returns how many. */
  async expireLapsed(): Promise<number> {
    const events: CustodyEvent[] = [];
    await this.deps.db.transaction(async (tx) => {
      for (const r of await this.deps.access.lapsedApprovals(tx, 500)) {
        await this.deps.access.expire(tx, r.id);
        events.push(
          await this.deps.ledger.append(tx, {
            type: 'ACCESS_EXPIRED',
            actor: { kind: 'workstation', id: this.deps.config.workstationId },
            evidenceId: r.evidenceId,
            details: { requestId: r.id, caseNumber: r.caseNumber, requester: r.principalName, expiresAt: r.expiresAt?.toISOString() ?? null },
          }),
        );
      }
    });
    if (events.length > 0) await this.deps.ledger.mirror(events);
    return events.length;
  }

  /** Whether a request is about something in the decider's units. */
  private async concerns(p: Principal, r: AccessRequestRow): Promise<boolean> {
    if (r.evidenceId) {
      const item = await this.deps.catalog.getEvidence(r.evidenceId);
      return item !== null && inScope(p, item.unitId);
    }
    const items = await this.deps.catalog.search({ caseNumber: r.caseNumber!, limit: 10000 });
    return items.some((i) => inScope(p, i.unitId));
  }
}

const actionZh: Record<EvidenceAction, string> = {
  view: '查看',
  play: '播放',
  download: '下载原件',
  export: '导出',
  tag: '修改信息',
  link: '关联案件',
  verify: '校验',
};

const stateZh = { pending: '待审批', approved: '已批准', refused: '已驳回', expired: '已过期' } as const;
