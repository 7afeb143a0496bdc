import type { EvidockConfig } from '../config/config.schema.ts';
import { moduleLogger } from '../config/logger.ts';
import type { Actor, CustodyEvent, CustodyEventInput } from '../storage/custody-chain.ts';
import type { BucketRole, PutFileOptions, UploadReceipt } from '../storage/object-store.ts';
import type { Queryable } from '../storage/postgres.database.ts';
import type { CaseLifecycleRow, RetentionRepository } from '../storage/retention.repository.ts';
import { ArchiveError, invalid, notFound } from './archive.errors.ts';
import { bagName } from './case-export.service.ts';
import { CASE_NUMBER } from './case-links.ts';
import type { PreservationService } from './preservation.service.ts';
import { archiveDaysLeft } from './retention-policy.ts';

const log = moduleLogger('case-lifecycle');

/** A case's bag, zipped on this host's disk, ready to be stored. */
export interface PackedCase {
  exportId: string;
  path: string;
  size: number;
  sha256: string;
  tagManifestSha256: string | null;
  remove(): Promise<void>;
}

export interface CaseLifecycleDeps {
  config: Pick<EvidockConfig, 'cases'>;
  db: { transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> };
  repo: RetentionRepository;
  ledger: { append(tx: Queryable, input: CustodyEventInput): Promise<CustodyEvent>; mirror(events: readonly CustodyEvent[]): Promise<void> };
  objects: {
    putFile(bucket: BucketRole, key: string, filePath: string, size: number, metadata: Record<string, string>, options?: PutFileOptions): Promise<UploadReceipt>;
    extendRetention(bucket: BucketRole, key: string, until: Date): Promise<Date>;
  };
  preservation: PreservationService;
  /** Builds the case's BagIt package (the export, with its EXPORTED events) as one zip. */
  pack(caseNumber: string, by: string, reason: string): Promise<PackedCase>;
  now?: () => Date;
}

export interface OverdueReport {
  archiveDays: number;
  cases: Array<{ caseNumber: string; endedAt: string; daysLeft: number; pastDue: boolean }>;
  missingFields: {
    graceDays: number;
    byOfficer: Array<{ officerId: string | null; items: number; oldest: string | null }>;
    /** Per unit: its custodians see to it. */
    byUnit: Array<{ unitId: string | null; items: number; oldest: string | null }>;
  };
}

/** Where the archived package of a case is kept, write-once beside the originals. */
export function archiveKey(caseNumber: string, exportId: string): string {
  return `case-archives/${bagName(caseNumber, exportId)}.zip`;
}

/**
 * A case's life: open → ended (the enforcement action's end date starts the 30 days) →
 * archived (its BagIt package stored write-once, `ARCHIVED`, and its records moved to the
 * case class, kept from that day). Marking a case major keeps its records permanently.
 */
export class CaseLifecycleService {
  private readonly now: () => Date;

  constructor(private readonly deps: CaseLifecycleDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  async end(caseNumber: string, endedAt: Date, by: string): Promise<CaseLifecycleRow> {
    checkNumber(caseNumber);
    if (Number.isNaN(endedAt.getTime()) || endedAt > this.now()) throw invalid(['the end date must be a valid date, not in the future']);
    await this.change(caseNumber, by, async (tx, c) => {
      if (c.state === 'archived') throw new ArchiveError('CASE_ARCHIVED', 409, `case ${caseNumber} is archived`, `案件 ${caseNumber} 已归档`);
      await this.deps.repo.updateCase(tx, caseNumber, { state: 'ended', endedAt });
      return { type: 'CASE_ENDED', details: { caseNumber, endedAt: endedAt.toISOString(), previous: c.endedAt?.toISOString() ?? null } };
    });
    return (await this.deps.repo.cases([caseNumber]))[0]!;
  }

  async markMajor(caseNumber: string, reason: string, by: string): Promise<string[]> {
    checkNumber(caseNumber);
    await this.change(caseNumber, by, async (tx) => {
      await this.deps.repo.updateCase(tx, caseNumber, { major: true });
      return { type: 'CASE_MARKED_MAJOR', details: { caseNumber, reason } };
    });
    return this.reapply(caseNumber, by, 'marked major');
  }

  /** Stores the case's package write-once and records ARCHIVED; its records then count from today. */
  async archive(caseNumber: string, by: string, reason: string): Promise<{ key: string; exportId: string; size: number; sha256: string; items: number }> {
    checkNumber(caseNumber);
    const [c] = await this.deps.repo.cases([caseNumber]);
    if (c!.state !== 'ended') {
      throw new ArchiveError(
        'CASE_NOT_ENDED',
        409,
        c!.state === 'archived' ? `case ${caseNumber} is already archived` : `case ${caseNumber} has not ended: record the end of its action first (evidock case end)`,
        c!.state === 'archived' ? `案件 ${caseNumber} 已归档` : `案件 ${caseNumber} 尚未结束：请先登记执法结束日期（evidock case end）`,
      );
    }
    const packed = await this.deps.pack(caseNumber, by, reason);
    const key = archiveKey(caseNumber, packed.exportId);
    try {
      await this.deps.objects.putFile('originals', key, packed.path, packed.size, { sha256: packed.sha256, 'case-number': encodeURIComponent(caseNumber) }, { expectSha256: packed.sha256 });
    } finally {
      await packed.remove();
    }
    const archivedAt = this.now();
    await this.change(caseNumber, by, async (tx, locked) => {
      if (locked.state !== 'ended') throw new ArchiveError('CASE_NOT_ENDED', 409, `case ${caseNumber} changed while it was archived`, `案件 ${caseNumber} 在归档期间被更改`);
      await this.deps.repo.updateCase(tx, caseNumber, { state: 'archived', archivedAt, archiveKey: key });
      return { type: 'ARCHIVED', details: { caseNumber, key, exportId: packed.exportId, sha256: packed.sha256, size: packed.size, tagManifestSha256: packed.tagManifestSha256, reason } };
    });
    const items = await this.reapply(caseNumber, by, 'case archived');
    // The package itself is kept as long as the records in it.
    const [after] = await this.deps.repo.cases([caseNumber]);
    const until = new Date(Math.max(archivedAt.getTime(), ...(await Promise.all(items.map(async (id) => (await this.deps.repo.get(id))?.retainUntil.getTime() ?? 0)))));
    if (after?.state === 'archived') await this.deps.objects.extendRetention('originals', key, until);
    log.info({ caseNumber, key, items: items.length, bytes: packed.size }, 'case archived');
    return { key, exportId: packed.exportId, size: packed.size, sha256: packed.sha256, items: items.length };
  }

  /** `units`: the missing-field counts of these units only (a custodian's scope); null: all. */
  async overdue(units: { ids: readonly string[]; unassigned: boolean } | null = null): Promise<OverdueReport> {
    const now = this.now();
    const days = this.deps.config.cases.archiveDays;
    const grace = this.deps.config.cases.missingFieldsGraceDays;
    const cases = (await this.deps.repo.endedNotArchived()).map((c) => {
      const left = archiveDaysLeft(c.endedAt!, now, days);
      return { caseNumber: c.caseNumber, endedAt: c.endedAt!.toISOString(), daysLeft: left, pastDue: left < 0 };
    });
    const missing = await this.deps.repo.missingFields(new Date(now.getTime() - grace * 86_400_000), units);
    const iso = (d: Date | null) => d?.toISOString() ?? null;
    return {
      archiveDays: days,
      cases,
      missingFields: {
        graceDays: grace,
        byOfficer: missing.byOfficer.map((r) => ({ officerId: r.key, items: r.items, oldest: iso(r.oldest) })),
        byUnit: missing.byUnit.map((r) => ({ unitId: r.key, items: r.items, oldest: iso(r.oldest) })),
      },
    };
  }

  private async reapply(caseNumber: string, by: string, cause: string): Promise<string[]> {
    const ids = await this.deps.repo.evidenceOfCase(caseNumber);
    const actor: Actor = { kind: 'user', id: by };
    for (const id of ids) await this.deps.preservation.apply(id, actor, `case ${caseNumber} ${cause}`);
    await this.deps.preservation.applyDocuments(caseNumber);
    return ids;
  }

  /** One change of a case's row with its custody event, the row created for a case known only from its items. */
  private async change(caseNumber: string, by: string, work: (tx: Queryable, c: CaseLifecycleRow) => Promise<Pick<CustodyEventInput, 'type' | 'details'>>): Promise<void> {
    const event = await this.deps.db.transaction(async (tx) => {
      let c = await this.deps.repo.lockCase(tx, caseNumber);
      if (!c) {
        if ((await this.deps.repo.evidenceOfCase(caseNumber, tx)).length === 0) throw notFound('case', caseNumber);
        await tx.query('INSERT INTO cases (case_number) VALUES ($1) ON CONFLICT DO NOTHING', [caseNumber]);
        c = (await this.deps.repo.lockCase(tx, caseNumber))!;
      }
      const input = await work(tx, c);
      return this.deps.ledger.append(tx, { ...input, actor: { kind: 'user', id: by } });
    });
    await this.deps.ledger.mirror([event]);
  }
}

function checkNumber(caseNumber: string): void {
  if (!CASE_NUMBER.test(caseNumber)) throw invalid([`not a case number: ${JSON.stringify(caseNumber)}`]);
}
