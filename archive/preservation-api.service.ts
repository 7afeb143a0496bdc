import type { CatalogRepository, EvidenceRow } from '../storage/catalog.repository.ts';
import type { PurgeRunRow, RetentionRepository, RetentionRow } from '../storage/retention.repository.ts';
import { can, type Capability } from './access-policy.ts';
import type { Caller } from './access.service.ts';
import { ArchiveError, forbidden, notFound } from './archive.errors.ts';
import type { CaseLifecycleService, OverdueReport } from './case-lifecycle.service.ts';
import type { FixityService, FixityStatus } from './fixity.service.ts';
import type { PreservationService, PurgeResult } from './preservation.service.ts';
import { inScope, type Principal } from './principal.ts';

export interface PreservationApiDeps {
  fixity: Pick<FixityService, 'status'>;
  preservation: PreservationService;
  lifecycle: CaseLifecycleService;
  repo: RetentionRepository;
  catalog: Pick<CatalogRepository, 'getEvidence' | 'search'>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const outsideUnits = () =>
  new ArchiveError('RECORDS_OUTSIDE_UNITS', 403, 'some of these records belong to units outside yours: a custodian of a unit above yours can do this', '其中有记录属于您所在单位以外，请由上级单位的证据管理员办理');

/**
 * The archive server's door to preservation: the same services as the workstation's
 * commands, for a custodian of the records' units (names come from the login, not a flag),
 * and read-only views for supervisors and auditors.
 */
export class PreservationApi {
  constructor(private readonly deps: PreservationApiDeps) {}

  async retentionFor(caller: Caller, evidenceId: string): Promise<RetentionRow> {
    const item = await this.item(caller.principal, evidenceId, 'preserve.view');
    return (await this.deps.repo.get(item.id)) ?? this.deps.preservation.apply(item.id, { kind: 'system', id: 'archive-server' }, 'first look');
  }

  async holdItem(caller: Caller, evidenceId: string, on: boolean, reason: string): Promise<RetentionRow> {
    const item = await this.item(caller.principal, evidenceId, 'preserve');
    return this.deps.preservation.holdItem(item.id, on, reason, caller.principal.name);
  }

  async holdCase(caller: Caller, caseNumber: string, on: boolean, reason: string): Promise<string[]> {
    await this.wholeCase(caller.principal, caseNumber, 'preserve');
    return this.deps.preservation.holdCase(caseNumber, on, reason, caller.principal.name);
  }

  async endCase(caller: Caller, caseNumber: string, endedAt: Date): Promise<void> {
    await this.wholeCase(caller.principal, caseNumber, 'preserve');
    await this.deps.lifecycle.end(caseNumber, endedAt, caller.principal.name);
  }

  async archiveCase(caller: Caller, caseNumber: string, reason: string): Promise<{ key: string; exportId: string; size: number; sha256: string; items: number }> {
    await this.wholeCase(caller.principal, caseNumber, 'preserve');
    return this.deps.lifecycle.archive(caseNumber, caller.principal.name, reason);
  }

  async markMajor(caller: Caller, caseNumber: string, reason: string): Promise<string[]> {
    await this.wholeCase(caller.principal, caseNumber, 'preserve');
    return this.deps.lifecycle.markMajor(caseNumber, reason, caller.principal.name);
  }

  /** Cases past or near the 30 days, and records still missing fields, of the caller's units. */
  async overdue(caller: Caller): Promise<OverdueReport> {
    const p = caller.principal;
    if (!can(p.role, 'preserve.view')) throw forbidden('查看归档期限');
    const report = await this.deps.lifecycle.overdue({ ids: [...p.scope], unassigned: p.seesUnassigned });
    const visible = new Set<string>();
    for (const c of report.cases) {
      const row = (await this.deps.repo.cases([c.caseNumber]))[0];
      if (row && (await this.caseInScope(p, c.caseNumber))) visible.add(row.caseNumber);
    }
    return { ...report, cases: report.cases.filter((c) => visible.has(c.caseNumber)) };
  }

  /** The fixity cycle, and the failures among the caller's units (an alert the dashboard shows). */
  async fixity(caller: Caller): Promise<FixityStatus> {
    const p = caller.principal;
    if (!can(p.role, 'preserve.view')) throw forbidden('查看完整性检查');
    const status = await this.deps.fixity.status();
    const failures = [];
    for (const f of status.failures) {
      const item = await this.deps.catalog.getEvidence(f.evidenceId);
      if (item && inScope(p, item.unitId)) failures.push(f);
    }
    return { ...status, failures, oldestCheck: p.seesUnassigned ? status.oldestCheck : null };
  }

  async purges(caller: Caller): Promise<PurgeRunRow[]> {
    this.rootCustodian(caller.principal, 'preserve.view');
    return this.deps.repo.runs();
  }

  // A purge spans every unit: only a custodian scoped to the root proposes, approves or runs one.
  async proposePurge(caller: Caller, reason: string): Promise<PurgeRunRow> {
    this.rootCustodian(caller.principal, 'preserve');
    return this.deps.preservation.proposePurge(caller.principal.name, reason);
  }

  async decidePurge(caller: Caller, runId: string, approve: boolean, reason: string | null): Promise<PurgeRunRow> {
    this.rootCustodian(caller.principal, 'preserve');
    return this.deps.preservation.decidePurge(runId, caller.principal.name, approve, reason);
  }

  async runPurge(caller: Caller, runId: string): Promise<PurgeResult> {
    this.rootCustodian(caller.principal, 'preserve');
    return this.deps.preservation.executePurge(runId, caller.principal.name);
  }

  private rootCustodian(p: Principal, capability: Capability): void {
    if (!can(p.role, capability)) throw forbidden('办理到期销毁');
    if (!p.seesUnassigned) throw new ArchiveError('ROOT_SCOPE_REQUIRED', 403, 'purges cover every unit: only a custodian of the root unit handles them', '到期销毁涉及全部单位，须由最上级单位的证据管理员办理');
  }

  private async item(p: Principal, evidenceId: string, capability: Capability): Promise<EvidenceRow> {
    if (!can(p.role, capability)) throw forbidden('办理证据保管');
    const item = UUID.test(evidenceId) ? await this.deps.catalog.getEvidence(evidenceId) : null;
    // Outside the caller's units an item does not exist for it.
    if (!item || !inScope(p, item.unitId)) throw notFound('evidence', evidenceId);
    return item;
  }

  private async caseInScope(p: Principal, caseNumber: string): Promise<boolean> {
    const items = await this.deps.catalog.search({ caseNumber, limit: 10_000 });
    return items.length > 0 && items.every((i) => inScope(p, i.unitId));
  }

  private async wholeCase(p: Principal, caseNumber: string, capability: Capability): Promise<void> {
    if (!can(p.role, capability)) throw forbidden('办理案件归档');
    const items = await this.deps.catalog.search({ caseNumber, limit: 10_000 });
    if (items.length === 0 || !items.some((i) => inScope(p, i.unitId))) throw notFound('case', caseNumber);
    if (!items.every((i) => inScope(p, i.unitId))) throw outsideUnits();
  }
}
