import type { CatalogRepository, DerivativeRow, EvidenceRow, SearchFilter } from '../storage/catalog.repository.ts';
import type { CustodyEvent, JsonValue } from '../storage/custody-chain.ts';
import type { CustodyLedger } from '../storage/custody-ledger.service.ts';
import type { Database } from '../storage/postgres.database.ts';
import { FIELD_FLAGS } from '../workers/docking-link.ts';
import type { Actor } from '../storage/custody-chain.ts';
import { can, type EvidenceAction } from './access-policy.ts';
import type { AccessService, Authorized, Caller } from './access.service.ts';
import { ArchiveError, forbidden, invalid, notFound } from './archive.errors.ts';

export const MAY_ACTIONS = ['play', 'download', 'export', 'tag', 'link', 'verify'] as const satisfies readonly EvidenceAction[];
export type MayAction = (typeof MAY_ACTIONS)[number];
export type Permission = 'allow' | 'approval' | 'deny';
import { actorOf } from './principal.ts';
import type { WebhookService } from './webhook.service.ts';

export class EvidenceNotFoundError extends Error {
  constructor(readonly id: string, readonly ambiguous = false) {
    super(ambiguous ? `evidence id ${id} is ambiguous` : `no evidence ${id}`);
    this.name = 'EvidenceNotFoundError';
  }
}

export interface TagPatch {
  caseNumbers?: string[];
  subject?: string;
  place?: string;
  officerId?: string;
}


export interface EvidencePage {
  items: EvidenceRow[];
  next: string | null;
}

/** A cursor names the last item of a page (opaque to clients). */
export function encodeCursor(row: Pick<EvidenceRow, 'captureStart' | 'id'>): string {
  return Buffer.from(JSON.stringify([row.captureStart?.toISOString() ?? null, row.id])).toString('base64url');
}

export function decodeCursor(cursor: string): { captureStart: Date | null; id: string } | null {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown];
    if (typeof id !== 'string' || !/^[0-9a-f-]{36}$/.test(id)) return null;
    if (at === null) return { captureStart: null, id };
    const date = typeof at === 'string' ? new Date(at) : new Date(NaN);
    return Number.isNaN(date.getTime()) ? null : { captureStart: date, id };
  } catch {
    return null;
  }
}

/**
 * What custodians and case systems ask of the catalog: find, show, tag. The CLI (a trusted
 * workstation) calls search/show/tag; the archive server the `…For` forms, which decide by
 * the caller's role, units and approvals (AccessService) and write the access log.
 */
export class EvidenceService {
  constructor(
    private readonly db: Database,
    private readonly catalog: CatalogRepository,
    private readonly ledger: CustodyLedger,
    private readonly archive?: { access: AccessService; webhooks: WebhookService; retain?: (ids: readonly string[], actor: Actor, cause: string) => Promise<void> },
  ) {}

  private get access(): AccessService {
    if (!this.archive) throw new Error('EvidenceService built without the archive services');
    return this.archive.access;
  }

  /** One page of what the caller may view, newest capture first. */
  async searchFor(caller: Caller, filter: Omit<SearchFilter, 'scope' | 'after'>, cursor: string | null): Promise<EvidencePage> {
    if (!can(caller.principal.role, 'search')) throw forbidden('检索证据');
    const after = cursor === null ? undefined : decodeCursor(cursor);
    if (after === null) throw invalid(['cursor: not a cursor this server gave out']);
    const limit = Math.min(Math.max(filter.limit ?? 50, 1), 200);
    const grants = await this.access.grants(caller.principal);
    const rows = await this.catalog.search({ ...filter, scope: this.access.scopeOf(caller.principal, grants), ...(after ? { after } : {}), limit: limit + 1 });
    const items = rows.slice(0, limit);
    if (items.length > 0) await this.access.record(caller, { action: 'search', evidenceIds: items.map((i) => i.id) });
    return { items, next: rows.length > limit ? encodeCursor(items.at(-1)!) : null };
  }

  /** The item if the caller may do `action` to it; 404 if it may not know of it. */
  async authorizedItem(caller: Caller, id: string, action: EvidenceAction): Promise<{ item: EvidenceRow; authorized: Authorized }> {
    const item = /^[0-9a-f-]{36}$/i.test(id) ? await this.catalog.getEvidence(id.toLowerCase()) : null;
    if (!item) throw notFound('evidence', id);
    const authorized = this.access.authorize(caller.principal, item, action, await this.access.grants(caller.principal));
    return { item, authorized };
  }

  async showFor(caller: Caller, id: string, purpose: string | null): Promise<{ evidence: EvidenceRow; events: CustodyEvent[]; derivatives: DerivativeRow[]; may: Record<MayAction, Permission> }> {
    const item = /^[0-9a-f-]{36}$/i.test(id) ? await this.catalog.getEvidence(id.toLowerCase()) : null;
    if (!item) throw notFound('evidence', id);
    const grants = await this.access.grants(caller.principal);
    const authorized = this.access.authorize(caller.principal, item, 'view', grants);
    await this.access.record(caller, { action: 'view', evidenceId: item.id, purpose, approvalId: authorized.approvalId });
    // What else the caller may do to it, so that a page offers only what will work.
    const may = Object.fromEntries(
      MAY_ACTIONS.map((action) => {
        try {
          this.access.authorize(caller.principal, item, action, grants);
          return [action, 'allow'];
        } catch (error) {
          return [action, error instanceof ArchiveError && error.code === 'APPROVAL_REQUIRED' ? 'approval' : 'deny'];
        }
      }),
    ) as Record<MayAction, Permission>;
    return { ...(await this.show(item.id)), may };
  }

  async tagFor(caller: Caller, id: string, patch: TagPatch, reason: string): Promise<{ evidence: EvidenceRow; event: CustodyEvent }> {
    const problems: string[] = [];
    if (reason.trim().length < 2) problems.push('reason: say why the fields change');
    if (Object.values(patch).every((v) => v === undefined)) problems.push('nothing to change: give caseNumbers, subject, place or officerId');
    if (problems.length > 0) throw invalid(problems);
    const { item } = await this.authorizedItem(caller, id, 'tag');
    const by = caller.principal.name;
    return this.tag(item.id, patch, by, { actor: actorOf(caller.principal), reason: reason.trim() });
  }

  search(filter: SearchFilter): Promise<EvidenceRow[]> {
    return this.catalog.search(filter);
  }

  /** Accepts a full id or a unique prefix (custodians read ids off a screen). */
  async find(id: string): Promise<EvidenceRow> {
    const exact = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id) ? await this.catalog.getEvidence(id.toLowerCase()) : null;
    if (exact) return exact;
    const matches = await this.catalog.findEvidenceByPrefix(id);
    if (matches.length === 1) return matches[0]!;
    throw new EvidenceNotFoundError(id, matches.length > 1);
  }

  async show(id: string): Promise<{ evidence: EvidenceRow; events: CustodyEvent[]; derivatives: DerivativeRow[] }> {
    const evidence = await this.find(id);
    return {
      evidence,
      events: await this.ledger.eventsFor({ evidenceId: evidence.id }),
      derivatives: await this.catalog.derivativesOf(evidence.id),
    };
  }

  /** Tags change only through a TAGGED custody event that records before and after. */
  async tag(id: string, patch: TagPatch, by: string, how?: { actor: Actor; reason: string }): Promise<{ evidence: EvidenceRow; event: CustodyEvent }> {
    const target = await this.find(id);
    const deliveries: string[] = [];
    const event = await this.db.transaction(async (tx) => {
      const current = (await tx.query('SELECT id FROM evidence WHERE id = $1 FOR UPDATE', [target.id])).rows[0];
      if (!current) throw new EvidenceNotFoundError(id);
      const row = (await this.catalog.getEvidence(target.id, tx))!;
      const before: { [k: string]: JsonValue } = {};
      const after: { [k: string]: JsonValue } = {};
      let flags = row.flags;
      for (const key of Object.keys(patch) as Array<keyof TagPatch>) {
        const value = patch[key];
        if (value === undefined) continue;
        const existing = key === 'caseNumbers' ? row.caseNumbers : row[key];
        before[key] = existing as JsonValue;
        after[key] = value as JsonValue;
        const filled = Array.isArray(value) ? value.length > 0 : value.length > 0;
        if (filled) flags = flags.filter((f) => f !== FIELD_FLAGS[key]);
      }
      await this.catalog.updateEvidenceTags(tx, row.id, { ...patch, flags });
      if (this.archive) deliveries.push(...(await this.archive.webhooks.publish(tx, 'evidence.tagged', row.unitId, { evidenceId: row.id, before, after })));
      return this.ledger.append(tx, {
        type: 'TAGGED',
        actor: how?.actor ?? { kind: 'user', id: by },
        evidenceId: row.id,
        details: how ? { before, after, by, reason: how.reason, flags } : { before, after, by, flags },
      });
    });
    await this.ledger.mirror([event]);
    await this.archive?.webhooks.dispatch(deliveries);
    // A new case number can only lengthen how long the record is kept.
    if (patch.caseNumbers) await this.archive?.retain?.([target.id], event.actor, 'case numbers changed');
    return { evidence: (await this.catalog.getEvidence(target.id))!, event };
  }
}
