import { randomUUID } from 'node:crypto';
import type { EvidockConfig } from '../config/config.schema.ts';
import { moduleLogger } from '../config/logger.ts';
import type { CaseRepository, ActionRow, DocumentRow, MatchRow } from '../storage/case.repository.ts';
import type { CatalogRepository, EvidenceRow } from '../storage/catalog.repository.ts';
import type { Actor, CustodyEvent } from '../storage/custody-chain.ts';
import type { CustodyLedger } from '../storage/custody-ledger.service.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import type { Database, Queryable } from '../storage/postgres.database.ts';
import { UploadTooLargeError, type SpoolStore } from '../storage/spool.store.ts';
import { can, ruleOf } from './access-policy.ts';
import type { CaseExportResult, CaseExportService, ExportTarget } from './case-export.service.ts';
import type { AccessService, Caller } from './access.service.ts';
import { ArchiveError, conflict, forbidden, invalid, notFound } from './archive.errors.ts';
import { WatermarkError, WatermarkRecipientError } from './watermark-text.ts';
import { CASE_NUMBER, actionProblems, actionWindow, linkPatch, unlinkPatch } from './case-links.ts';
import { DOCUMENT_TYPES, SNIFF_BYTES, documentNameProblem, sniff } from './document-type.ts';
import { actorOf, inScope, type Principal } from './principal.ts';
import type { WebhookService } from './webhook.service.ts';

const log = moduleLogger('cases');

export interface CaseView {
  caseNumber: string;
  createdAt: Date | null;
  endedAt: Date | null;
  archivedAt: Date | null;
  state: 'open' | 'ended' | 'archived';
  legalHold: boolean;
  major: boolean;
  items: EvidenceRow[];
  documents: DocumentRow[];
  actions: Array<ActionRow & { matches: MatchRow[] }>;
}

export interface LinkResult {
  linked: string[];
  unchanged: string[];
}

/** The object key of a case document: content-addressed beside the originals. */
export function documentKey(sha256: string): string {
  return `documents/sha256/${sha256.slice(0, 2)}/${sha256}`;
}

/**
 * Cases: the footage and text records of one case kept together (the rules), linked by case
 * systems and custodians, suggested from registered enforcement actions.
 */
export class CaseService {
  constructor(
    private readonly deps: {
      config: EvidockConfig;
      db: Database;
      cases: CaseRepository;
      catalog: CatalogRepository;
      ledger: CustodyLedger;
      objects: ObjectStore;
      spool: SpoolStore;
      access: AccessService;
      webhooks: WebhookService;
      exports: CaseExportService;
      /** Applies retention to records whose cases changed (preservation.service.ts). */
      retain?: (ids: readonly string[], actor: Actor, cause: string) => Promise<void>;
      retainDocuments?: (caseNumber: string) => Promise<void>;
    },
  ) {}

  static checkCaseNumber(caseNumber: string): void {
    if (!CASE_NUMBER.test(caseNumber)) throw invalid([`case number ${JSON.stringify(caseNumber.slice(0, 64))}: letters, digits and 〔〕()[]【】._- (at most 128)`]);
  }

  /** Links items to a case; items already linked are left as they are (idempotent). */
  async link(caller: Caller, caseNumber: string, evidenceIds: readonly string[], reason: string | null): Promise<LinkResult> {
    CaseService.checkCaseNumber(caseNumber);
    const p = caller.principal;
    const items = await this.items(p, evidenceIds);
    const result: LinkResult = { linked: [], unchanged: [] };
    const events: CustodyEvent[] = [];
    const deliveries: string[] = [];
    await this.deps.db.transaction(async (tx) => {
      for (const item of items) {
        const row = (await lockEvidence(tx, this.deps.catalog, item.id))!;
        const patch = linkPatch(row, caseNumber);
        if (!patch) {
          result.unchanged.push(row.id);
          continue;
        }
        await this.deps.cases.ensure(tx, caseNumber, row.unitId);
        await this.deps.catalog.updateEvidenceTags(tx, row.id, patch);
        events.push(
          await this.deps.ledger.append(tx, {
            type: 'LINKED',
            actor: actorOf(p),
            evidenceId: row.id,
            details: { source: 'archive', by: p.name, reason, before: { caseNumbers: row.caseNumbers }, after: { caseNumbers: patch.caseNumbers }, flags: patch.flags },
          }),
        );
        deliveries.push(...(await this.deps.webhooks.publish(tx, 'evidence.linked', row.unitId, { evidenceId: row.id, caseNumber, caseNumbers: patch.caseNumbers })));
        result.linked.push(row.id);
      }
    });
    await this.deps.ledger.mirror(events);
    await this.deps.webhooks.dispatch(deliveries);
    if (result.linked.length > 0) await this.deps.retain?.(result.linked, actorOf(p), `linked to case ${caseNumber}`);
    if (result.linked.length > 0) log.info({ caseNumber, linked: result.linked.length, by: p.name }, 'items linked to case');
    return result;
  }

  async unlink(caller: Caller, caseNumber: string, evidenceIds: readonly string[], reason: string): Promise<{ unlinked: string[]; unchanged: string[] }> {
    CaseService.checkCaseNumber(caseNumber);
    if (reason.trim().length < 2) throw invalid(['reason: say why the item is taken off the case']);
    const p = caller.principal;
    const items = await this.items(p, evidenceIds);
    const out = { unlinked: [] as string[], unchanged: [] as string[] };
    const events: CustodyEvent[] = [];
    await this.deps.db.transaction(async (tx) => {
      for (const item of items) {
        const row = (await lockEvidence(tx, this.deps.catalog, item.id))!;
        const patch = unlinkPatch(row, caseNumber);
        if (!patch) {
          out.unchanged.push(row.id);
          continue;
        }
        await this.deps.catalog.updateEvidenceTags(tx, row.id, patch);
        events.push(
          await this.deps.ledger.append(tx, {
            type: 'UNLINKED',
            actor: actorOf(p),
            evidenceId: row.id,
            details: { caseNumber, by: p.name, reason: reason.trim(), before: { caseNumbers: row.caseNumbers }, after: { caseNumbers: patch.caseNumbers }, flags: patch.flags },
          }),
        );
        out.unlinked.push(row.id);
      }
    });
    await this.deps.ledger.mirror(events);
    return out;
  }

  /** The case as far as the caller may see it; 404 when it sees nothing of it. */
  async view(caller: Caller, caseNumber: string): Promise<CaseView> {
    CaseService.checkCaseNumber(caseNumber);
    const p = caller.principal;
    if (!can(p.role, 'case.view')) throw forbidden('查看案件');
    const grants = await this.deps.access.grants(p);
    const items = await this.deps.catalog.search({ caseNumber, scope: this.deps.access.scopeOf(p, grants), limit: 10000 });
    const row = await this.deps.cases.get(caseNumber);
    const documents = (await this.deps.cases.documentsOf(caseNumber)).filter((d) => inScope(p, d.unitId));
    const actions = row && (items.length > 0 || documents.length > 0 || inScope(p, row.unitId)) ? await this.deps.cases.actionsOf(caseNumber) : [];
    if (items.length === 0 && documents.length === 0 && actions.length === 0) throw notFound('case', caseNumber);
    const matches = await this.deps.cases.matchesOf(caseNumber);
    const visible = new Set(items.map((i) => i.id));
    await this.deps.access.record(caller, { action: 'case', caseNumber, evidenceIds: items.map((i) => i.id) });
    return {
      caseNumber,
      createdAt: row?.createdAt ?? null,
      endedAt: row?.endedAt ?? null,
      archivedAt: row?.archivedAt ?? null,
      state: row?.state ?? 'open',
      legalHold: row?.legalHold ?? false,
      major: row?.major ?? false,
      items,
      documents,
      actions: actions.map((a) => ({ ...a, matches: matches.filter((m) => m.actionId === a.id && visible.has(m.evidenceId)) })),
    };
  }

  /**
   * The case's evidence package for a caller of the archive server, written to `target`.
   * All of the case or nothing: a package that silently left out items the caller may not
   * export would look complete. Every item must be exportable by the caller (its units and
   * role, or an approval); each export is logged and is an EXPORTED event naming its approval.
   */
  async exportFor(caller: Caller, caseNumber: string, request: { reason: string; withProxies: boolean; watermark?: string | null }, target: ExportTarget): Promise<CaseExportResult> {
    CaseService.checkCaseNumber(caseNumber);
    const p = caller.principal;
    const grants = await this.deps.access.grants(p);
    const items = await this.deps.catalog.search({ caseNumber, limit: 10000 });
    const documents = await this.deps.cases.documentsOf(caseNumber);
    if (items.length === 0 && documents.filter((d) => inScope(p, d.unitId)).length === 0) throw notFound('case', caseNumber);
    const notExportable = () =>
      new ArchiveError('CASE_NOT_EXPORTABLE', 403, 'the case holds records outside your units: a custodian of a unit above yours can export it', '本案含有您所在单位以外的记录，请由上级单位的证据管理员导出');
    // The package holds the case's text records too: all of them, or the export is refused.
    if (documents.some((d) => !inScope(p, d.unitId))) throw notExportable();
    // No item to ask approval for: only a role that may export outright takes the documents.
    if (items.length === 0 && ruleOf(p.role, 'export', 'unit', this.deps.config.access.rules) !== 'allow') throw forbidden('导出证据包');
    const approvals = new Map<string, string | null>();
    for (const item of items) {
      try {
        approvals.set(item.id, this.deps.access.authorize(p, item, 'export', grants).approvalId);
      } catch (error) {
        // Not the item's id (it is outside what the caller may know of): what to do instead.
        if (error instanceof ArchiveError && error.status === 404) throw notExportable();
        throw error;
      }
    }
    const result = await this.deps.exports
      .export(
        { caseNumber, by: p.name, reason: request.reason, withProxies: request.withProxies, watermark: request.watermark ?? null, destination: `download by ${p.kind} ${p.name} from ${caller.ip ?? 'unknown address'}`, approvals },
        target,
      )
      .catch((error: unknown) => {
        if (error instanceof WatermarkRecipientError) throw invalid([error.message]);
        if (error instanceof WatermarkError) throw conflict('WATERMARK_FAILED', error.message, `无法生成水印副本：${error.message}`);
        throw error;
      });
    for (const item of items) await this.deps.access.record(caller, { action: 'export', evidenceId: item.id, caseNumber, purpose: request.reason, approvalId: approvals.get(item.id) ?? null });
    return result;
  }

  // ---- enforcement actions ---------------------------------------------------------

  /** Registers an action and suggests every recording of its officers in its window. */
  async registerAction(
    caller: Caller,
    caseNumber: string,
    a: { officerIds: string[]; startsAt: Date; endsAt: Date; subject?: string | null; place?: string | null },
  ): Promise<{ action: ActionRow; suggested: string[] }> {
    CaseService.checkCaseNumber(caseNumber);
    const p = caller.principal;
    if (!can(p.role, 'case.action')) throw forbidden('登记执法行为');
    const problems = actionProblems(a);
    if (p.role === 'officer' && p.officerId !== null && !a.officerIds.includes(p.officerId)) problems.push('officerIds: an officer registers actions it took part in');
    if (problems.length > 0) throw invalid(problems);
    const events: CustodyEvent[] = [];
    const deliveries: string[] = [];
    const suggested: string[] = [];
    const action = await this.deps.db.transaction(async (tx) => {
      await this.deps.cases.ensure(tx, caseNumber, p.unitIds[0] ?? null);
      const added = await this.deps.cases.addAction(tx, {
        id: randomUUID(),
        caseNumber,
        officerIds: [...new Set(a.officerIds)],
        startsAt: a.startsAt,
        endsAt: a.endsAt,
        subject: a.subject ?? null,
        place: a.place ?? null,
        createdBy: p.name,
      });
      events.push(
        await this.deps.ledger.append(tx, {
          type: 'ACTION_REGISTERED',
          actor: actorOf(p),
          details: {
            actionId: added.id,
            caseNumber,
            officerIds: added.officerIds,
            startsAt: added.startsAt.toISOString(),
            endsAt: added.endsAt.toISOString(),
            subject: added.subject,
            place: added.place,
            by: p.name,
            // The unit a new case row gets (cases.ensure): `evidock reindex` rebuilds it from this.
            caseUnitId: p.unitIds[0] ?? null,
            createdAt: added.createdAt.toISOString(),
          },
        }),
      );
      const w = actionWindow(added, this.deps.config.cases.actionMarginMinutes);
      for (const item of await this.deps.cases.overlapping(tx, added.officerIds, w.from, w.to)) {
        // Only what the caller's units hold: a case system does not learn of other units' footage.
        if (!inScope(p, item.unitId)) continue;
        if (await this.deps.cases.suggest(tx, added.id, item.id)) {
          suggested.push(item.id);
          deliveries.push(...(await this.deps.webhooks.publish(tx, 'action.matched', item.unitId, { actionId: added.id, caseNumber, evidenceId: item.id })));
        }
      }
      return added;
    });
    await this.deps.ledger.mirror(events);
    await this.deps.webhooks.dispatch(deliveries);
    return { action, suggested };
  }

  /**
   * A recording that arrives after its action was registered (docked days later) is suggested
   * when it is recorded: called in the record step's transaction.
   */
  async matchArrival(tx: Queryable, item: EvidenceRow): Promise<string[]> {
    if (!item.officerId || !item.captureStart) return [];
    const deliveries: string[] = [];
    const end = item.captureEnd ?? item.captureStart;
    for (const a of await this.deps.cases.actionsOverlapping(tx, item.officerId, item.captureStart, end, this.deps.config.cases.actionMarginMinutes)) {
      if (await this.deps.cases.suggest(tx, a.id, item.id)) {
        deliveries.push(...(await this.deps.webhooks.publish(tx, 'action.matched', item.unitId, { actionId: a.id, caseNumber: a.caseNumber, evidenceId: item.id })));
      }
    }
    return deliveries;
  }

  /** Confirming a suggestion links the item to the case; rejecting keeps the item as it is. */
  async decideMatch(caller: Caller, caseNumber: string, actionId: string, evidenceId: string, confirm: boolean, reason: string | null): Promise<MatchRow> {
    const p = caller.principal;
    if (!can(p.role, 'case.decide')) throw forbidden('确认关联');
    const action = await this.deps.cases.action(actionId);
    if (!action || action.caseNumber !== caseNumber) throw notFound('action', actionId);
    await this.items(p, [evidenceId]);
    const decided = await this.deps.db.transaction(async (tx) => {
      const match = await this.deps.cases.lockMatch(tx, actionId, evidenceId);
      if (!match) throw notFound('evidence', evidenceId);
      if (match.state !== 'suggested') throw new ArchiveError('MATCH_DECIDED', 409, `already ${match.state}`, `已处理（${match.state === 'confirmed' ? '已确认' : '已驳回'}）`);
      const state = confirm ? 'confirmed' : 'rejected';
      await this.deps.cases.decideMatch(tx, actionId, evidenceId, state, p.name, reason);
      // A person's decision, kept in the ledger like every other (and so rebuilt by reindex).
      return this.deps.ledger.append(tx, { type: 'MATCH_DECIDED', actor: actorOf(p), evidenceId, details: { caseNumber, actionId, state, by: p.name, reason } });
    });
    await this.deps.ledger.mirror([decided]);
    if (confirm) await this.link(caller, caseNumber, [evidenceId], reason ?? `action ${actionId}`);
    return (await this.deps.cases.matchesOf(caseNumber)).find((m) => m.actionId === actionId && m.evidenceId === evidenceId)!;
  }

  // ---- documents -------------------------------------------------------------------

  /**
   * A text record of the case, streamed to a private spool file while hashed, checked
   * against its declared type, stored write-once, catalogued and a DOCUMENT_ADDED event.
   * Nothing is catalogued unless the object is stored and its size verified.
   */
  async addDocument(caller: Caller, caseNumber: string, upload: { name: string; contentType: string; body: AsyncIterable<Buffer> }): Promise<DocumentRow> {
    CaseService.checkCaseNumber(caseNumber);
    const p = caller.principal;
    if (!can(p.role, 'case.document')) throw forbidden('上传案件文书');
    const nameProblem = documentNameProblem(upload.name);
    if (nameProblem) throw invalid([nameProblem]);
    const declared = upload.contentType.split(';')[0]!.trim().toLowerCase();
    if (!(declared in DOCUMENT_TYPES)) {
      throw new ArchiveError('UNSUPPORTED_TYPE', 415, `documents may be ${Object.keys(DOCUMENT_TYPES).join(', ')}`, '不支持的文件类型：请上传 PDF、OFD、图片、Word、Excel 或文本文件');
    }
    const maxBytes = this.deps.config.server.documentMaxMiB * 1024 * 1024;
    let received;
    try {
      received = await this.deps.spool.receive(upload.body, maxBytes, SNIFF_BYTES);
    } catch (error) {
      if (error instanceof UploadTooLargeError) {
        throw new ArchiveError('TOO_LARGE', 413, `documents may have at most ${this.deps.config.server.documentMaxMiB} MiB`, `文件超过 ${this.deps.config.server.documentMaxMiB} MiB 上限`);
      }
      throw new ArchiveError('UPLOAD_INTERRUPTED', 400, 'the upload was interrupted; nothing was stored', '上传中断，未保存任何内容');
    }
    try {
      const kind = sniff(declared, received.head);
      if (!kind.ok) {
        throw kind.problem === 'empty'
          ? invalid(['the file is empty'])
          : new ArchiveError('TYPE_MISMATCH', 415, `the file is not a ${declared}`, `文件内容与声明的类型（${DOCUMENT_TYPES[declared as keyof typeof DOCUMENT_TYPES].zh}）不符`);
      }
      const key = documentKey(received.sha256);
      let stored = await this.deps.objects.stat('originals', key);
      if (!stored) {
        await this.deps.objects.putFile('originals', key, received.path, received.size, { sha256: received.sha256 }, { expectSha256: received.sha256 });
        stored = await this.deps.objects.stat('originals', key);
      }
      if (!stored || stored.size !== received.size) throw new Error(`stored document ${key} does not hold the ${received.size} bytes uploaded`);
      let event: CustodyEvent | null = null;
      const doc = await this.deps.db.transaction(async (tx) => {
        await this.deps.cases.ensure(tx, caseNumber, p.unitIds[0] ?? null);
        const row = await this.deps.cases.addDocument(tx, {
          id: randomUUID(),
          caseNumber,
          sha256: received.sha256,
          size: received.size,
          contentType: kind.type,
          originalName: upload.name,
          objectKey: key,
          objectEtag: stored.etag,
          unitId: p.unitIds[0] ?? null,
          uploadedBy: p.name,
        });
        event = await this.deps.ledger.append(tx, {
          type: 'DOCUMENT_ADDED',
          actor: actorOf(p),
          details: { documentId: row.id, caseNumber, sha256: row.sha256, size: row.size, contentType: row.contentType, name: row.originalName, key, etag: stored.etag, by: p.name, unitId: row.unitId, createdAt: row.createdAt.toISOString() },
        });
        return row;
      });
      if (event) await this.deps.ledger.mirror([event]);
      // A text record is kept as long as the case's AV records.
      await this.deps.retainDocuments?.(caseNumber);
      log.info({ caseNumber, documentId: doc.id, bytes: doc.size, by: p.name }, 'case document stored');
      return doc;
    } finally {
      await this.deps.spool.discard(received.path);
    }
  }

  async document(caller: Caller, caseNumber: string, id: string): Promise<DocumentRow> {
    const p = caller.principal;
    const doc = await this.deps.cases.document(id);
    if (!doc || doc.caseNumber !== caseNumber || !inScope(p, doc.unitId) || !can(p.role, 'case.view')) throw notFound('document', id);
    await this.deps.access.record(caller, { action: 'document', caseNumber, purpose: doc.id });
    return doc;
  }

  /**
   * Items by id that the caller may link: 404 for any it may not know of (and no hint which),
   * 403 for any it sees but may not link; nothing changes unless every one may be.
   */
  private async items(p: Principal, ids: readonly string[]): Promise<EvidenceRow[]> {
    const problems = ids.length === 0 ? ['evidenceIds: at least one'] : ids.length > 1000 ? ['evidenceIds: at most 1000'] : [];
    if (problems.length > 0) throw invalid(problems);
    const out: EvidenceRow[] = [];
    const grants = await this.deps.access.grants(p);
    for (const id of new Set(ids)) {
      const item = /^[0-9a-f-]{36}$/i.test(id) ? await this.deps.catalog.getEvidence(id.toLowerCase()) : null;
      if (!item) throw notFound('evidence', id);
      this.deps.access.authorize(p, item, 'link', grants);
      out.push(item);
    }
    return out;
  }
}

async function lockEvidence(tx: Queryable, catalog: CatalogRepository, id: string): Promise<EvidenceRow | null> {
  await tx.query('SELECT id FROM evidence WHERE id = $1 FOR UPDATE', [id]);
  return catalog.getEvidence(id, tx);
}
