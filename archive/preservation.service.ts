import { randomUUID } from 'node:crypto';
import type { EvidockConfig } from '../config/config.schema.ts';
import { moduleLogger } from '../config/logger.ts';
import type { DocumentRow } from '../storage/case.repository.ts';
import type { DerivativeRow, EvidenceRow } from '../storage/catalog.repository.ts';
import type { Actor, CustodyEvent, CustodyEventInput } from '../storage/custody-chain.ts';
import type { BucketRole, StoredObject } from '../storage/object-store.ts';
import type { Queryable } from '../storage/postgres.database.ts';
import type { CaseLifecycleRow, PurgeRunRow, RetentionRepository, RetentionRow } from '../storage/retention.repository.ts';
import { ArchiveError, notFound } from './archive.errors.ts';
import { decideRetention, purgeRefusal, type PurgeRefusal, type RetentionDecision } from './retention-policy.ts';

const log = moduleLogger('preservation');

export interface PreservationDeps {
  config: Pick<EvidockConfig, 'retention'>;
  db: { transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> };
  catalog: { getEvidence(id: string, tx?: Queryable): Promise<EvidenceRow | null>; derivativesOf(id: string): Promise<DerivativeRow[]> };
  cases: { documentsOf(caseNumber: string): Promise<DocumentRow[]> };
  ledger: { append(tx: Queryable, input: CustodyEventInput): Promise<CustodyEvent>; mirror(events: readonly CustodyEvent[]): Promise<void>; eventsFor(f: { evidenceId: string }): Promise<CustodyEvent[]> };
  objects: {
    stat(bucket: BucketRole, key: string): Promise<StoredObject | null>;
    extendRetention(bucket: BucketRole, key: string, until: Date): Promise<Date>;
    setLegalHold(bucket: BucketRole, key: string, on: boolean): Promise<void>;
    legalHold(bucket: BucketRole, key: string): Promise<boolean>;
    remove(bucket: BucketRole, key: string, versionId?: string): Promise<void>;
  };
  repo: RetentionRepository;
  now?: () => Date;
}

export interface PurgeResult {
  runId: string;
  purged: string[];
  skipped: Array<{ evidenceId: string; why: PurgeRefusal }>;
  failed: Array<{ evidenceId: string; error: string }>;
}

const purgeState = (code: string, en: string, zh: string) => new ArchiveError(code, 409, en, zh);

/**
 * Keeps every record exactly as long as the rules say and not a day less: its class and
 * retain-until date (the object lock of its original, moved only later), legal holds of
 * items and whole cases, and the two-person purge of what has expired, each step a custody
 * event — the PURGED event before the bytes go, so nothing is deleted without its record.
 */
export class PreservationService {
  private readonly now: () => Date;

  constructor(private readonly deps: PreservationDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /** Decides and applies a record's retention after anything that may change it (recorded, linked, archived, held). */
  async apply(evidenceId: string, actor: Actor, cause: string): Promise<RetentionRow> {
    const { db, catalog, repo, objects, ledger } = this.deps;
    let event: CustodyEvent | null = null;
    const purged = await repo.tombstoneOf(evidenceId);
    if (purged) {
      const kept = await repo.get(evidenceId);
      if (kept) return kept;
    }
    const row = await db.transaction(async (tx) => {
      await tx.query('SELECT id FROM evidence WHERE id = $1 FOR UPDATE', [evidenceId]);
      const item = await catalog.getEvidence(evidenceId, tx);
      if (!item) throw notFound('evidence', evidenceId);
      const before = await repo.get(evidenceId, tx);
      const cases = await repo.cases(item.caseNumbers, tx);
      const decision = this.decide(item, before, cases);
      const stored = await objects.stat('originals', item.objectKey);
      if (!stored) throw new ArchiveError('ORIGINAL_MISSING', 409, `the original of ${evidenceId} is not in storage`, `证据 ${evidenceId} 的原件不在存储中`);
      // The lock on the object is what protects the record; the catalog mirrors it.
      const locked = await objects.extendRetention('originals', item.objectKey, decision.retainUntil);
      if ((await objects.legalHold('originals', item.objectKey)) !== decision.held) await objects.setLegalHold('originals', item.objectKey, decision.held);
      const after: RetentionRow = { evidenceId, class: decision.class, retainUntil: locked, legalHold: before?.legalHold ?? false, holdReason: before?.holdReason ?? null };
      await repo.upsert(tx, after);
      if (!before || before.class !== after.class || before.retainUntil.getTime() !== locked.getTime()) {
        event = await ledger.append(tx, {
          type: 'RETENTION_SET',
          actor,
          evidenceId,
          details: { class: after.class, retainUntil: locked.toISOString(), previous: before ? { class: before.class, retainUntil: before.retainUntil.toISOString() } : null, cause, held: decision.held },
        });
      }
      return after;
    });
    if (event) await ledger.mirror([event]);
    return row;
  }

  /** A case's documents follow its class: each document's object lock moves with it. */
  async applyDocuments(caseNumber: string): Promise<number> {
    const [facts] = await this.deps.repo.cases([caseNumber]);
    const decision = decideRetention({ capturedAt: this.now(), itemHold: false, current: null }, [facts!], this.rules(), this.now());
    let n = 0;
    for (const d of await this.deps.cases.documentsOf(caseNumber)) {
      const until = await this.deps.objects.extendRetention('originals', d.objectKey, decision.retainUntil);
      if (decision.held !== (await this.deps.objects.legalHold('originals', d.objectKey))) await this.deps.objects.setLegalHold('originals', d.objectKey, decision.held);
      await this.deps.db.transaction((tx) => this.deps.repo.setDocumentRetention(tx, d.id, until));
      n++;
    }
    return n;
  }

  /** Sets or releases the legal hold of one item; whether the object stays held also depends on its cases. */
  async holdItem(evidenceId: string, on: boolean, reason: string, by: string): Promise<RetentionRow> {
    const actor: Actor = { kind: 'user', id: by };
    const current = (await this.deps.repo.get(evidenceId)) ?? (await this.apply(evidenceId, actor, 'hold'));
    let event: CustodyEvent | null = null;
    await this.deps.db.transaction(async (tx) => {
      await this.deps.repo.upsert(tx, { ...current, legalHold: on, holdReason: on ? reason : null });
      event = await this.deps.ledger.append(tx, { type: on ? 'LEGAL_HOLD_SET' : 'LEGAL_HOLD_RELEASED', actor, evidenceId, details: { reason, scope: 'item' } });
    });
    if (event) await this.deps.ledger.mirror([event]);
    log.info({ evidenceId, on, by }, on ? 'legal hold set' : 'legal hold released');
    return this.apply(evidenceId, actor, on ? 'legal hold set' : 'legal hold released');
  }

  /** Holds every record of a case, and those linked to it later (their cases say so). */
  async holdCase(caseNumber: string, on: boolean, reason: string, by: string): Promise<string[]> {
    const actor: Actor = { kind: 'user', id: by };
    const ids = await this.deps.repo.evidenceOfCase(caseNumber);
    const events: CustodyEvent[] = [];
    await this.deps.db.transaction(async (tx) => {
      if (!(await this.deps.repo.lockCase(tx, caseNumber))) {
        if (ids.length === 0) throw notFound('case', caseNumber);
        await tx.query('INSERT INTO cases (case_number) VALUES ($1) ON CONFLICT DO NOTHING', [caseNumber]);
      }
      await this.deps.repo.updateCase(tx, caseNumber, { legalHold: on, holdReason: on ? reason : null });
      for (const evidenceId of ids) {
        events.push(await this.deps.ledger.append(tx, { type: on ? 'LEGAL_HOLD_SET' : 'LEGAL_HOLD_RELEASED', actor, evidenceId, details: { reason, scope: 'case', caseNumber } }));
      }
    });
    await this.deps.ledger.mirror(events);
    for (const id of ids) await this.apply(id, actor, on ? `case ${caseNumber} held` : `case ${caseNumber} released`);
    await this.applyDocuments(caseNumber);
    return ids;
  }

  /** One custodian proposes deleting what has expired; nothing is deleted until another approves. */
  async proposePurge(by: string, reason: string): Promise<PurgeRunRow> {
    const now = this.now();
    const candidates: string[] = [];
    for (const id of await this.deps.repo.expired(now, this.deps.config.retention.purgeBatch)) {
      if ((await this.refusal(id, now)) === null) candidates.push(id);
    }
    if (candidates.length === 0) throw new ArchiveError('NOTHING_TO_PURGE', 404, 'no record has expired and is free of holds', '没有保管期限届满且未冻结的记录');
    let event: CustodyEvent | null = null;
    const run = await this.deps.db.transaction(async (tx) => {
      const created = await this.deps.repo.createRun(tx, { id: randomUUID(), reason, proposedBy: by, evidenceIds: candidates });
      event = await this.deps.ledger.append(tx, { type: 'PURGE_PROPOSED', actor: { kind: 'user', id: by }, details: { runId: created.id, reason, count: candidates.length, evidenceIds: candidates } });
      return created;
    });
    if (event) await this.deps.ledger.mirror([event]);
    log.info({ runId: run.id, items: candidates.length, by }, 'purge proposed');
    return run;
  }

  async decidePurge(runId: string, by: string, approve: boolean, reason: string | null): Promise<PurgeRunRow> {
    let event: CustodyEvent | null = null;
    await this.deps.db.transaction(async (tx) => {
      const run = await this.deps.repo.run(runId, tx, true);
      if (!run) throw notFound('request', runId);
      if (run.status !== 'proposed') throw purgeState('PURGE_DECIDED', `purge run ${runId} is ${run.status}, not proposed`, `销毁批次 ${runId} 已处理（${run.status}）`);
      if (run.proposedBy === by) throw new ArchiveError('PURGE_SAME_PERSON', 403, 'a purge is approved by a custodian other than the one who proposed it', '销毁须由提出人以外的另一名证据管理员批准');
      await this.deps.repo.decideRun(tx, runId, approve ? 'approved' : 'refused', by);
      event = await this.deps.ledger.append(tx, { type: approve ? 'PURGE_APPROVED' : 'PURGE_REFUSED', actor: { kind: 'user', id: by }, details: { runId, count: run.evidenceIds.length, reason, proposedBy: run.proposedBy } });
    });
    if (event) await this.deps.ledger.mirror([event]);
    return (await this.deps.repo.run(runId))!;
  }

  /**
   * Deletes an approved run's records, each checked again at the moment of deletion (a hold,
   * a new case link or a longer date since the proposal keeps it). Resumable: an item whose
   * PURGED event is written but whose bytes remain is deleted on the next run.
   */
  async executePurge(runId: string, by: string): Promise<PurgeResult> {
    const run = await this.deps.repo.run(runId);
    if (!run) throw notFound('request', runId);
    if (run.status !== 'approved' && run.status !== 'done') throw purgeState('PURGE_NOT_APPROVED', `purge run ${runId} is ${run.status}: it needs a second custodian's approval`, `销毁批次 ${runId} 尚未经第二名证据管理员批准`);
    const actor: Actor = { kind: 'user', id: by };
    const result: PurgeResult = { runId, purged: [], skipped: [], failed: [] };
    for (const evidenceId of run.evidenceIds) {
      const rlog = log.child({ runId, evidenceId });
      if (await this.deps.repo.tombstoneOf(evidenceId)) continue;
      const item = (await this.deps.catalog.getEvidence(evidenceId))!;
      const recorded = (await this.deps.ledger.eventsFor({ evidenceId })).some((e) => e.type === 'PURGED' && e.details.runId === runId);
      if (!recorded) {
        const why = await this.refusal(evidenceId, this.now());
        if (why) {
          await this.record({ type: 'PURGE_SKIPPED', actor, evidenceId, details: { runId, why } });
          result.skipped.push({ evidenceId, why });
          rlog.warn({ why }, 'not purged');
          continue;
        }
        await this.record({ type: 'PURGED', actor, evidenceId, details: { runId, sha256: item.sha256, size: item.size, objectKey: item.objectKey, approvedBy: run.decidedBy, proposedBy: run.proposedBy } });
      }
      try {
        await this.removeAllVersions('originals', item.objectKey);
        for (const d of await this.deps.catalog.derivativesOf(evidenceId)) await this.removeAllVersions('derivatives', d.objectKey);
      } catch (error) {
        const message = (error as Error).message;
        await this.record({ type: 'PURGE_FAILED', actor, evidenceId, details: { runId, error: message } });
        result.failed.push({ evidenceId, error: message });
        rlog.error({ err: message }, 'purge refused by storage');
        continue;
      }
      await this.deps.db.transaction((tx) => this.deps.repo.tombstone(tx, { evidenceId, purgeRunId: runId, sha256: item.sha256, size: item.size, approvedBy: run.decidedBy ?? '' }));
      result.purged.push(evidenceId);
      rlog.info('purged');
    }
    await this.deps.repo.finishRun(runId);
    return result;
  }

  private async removeAllVersions(role: BucketRole, key: string): Promise<void> {
    // Versioned buckets: removing the current version makes the one before it current.
    for (let i = 0; i < 100; i++) {
      const stored = await this.deps.objects.stat(role, key);
      if (!stored) return;
      await this.deps.objects.remove(role, key, stored.versionId ?? undefined);
    }
    throw new Error(`${key} still has versions after 100 deletions`);
  }

  private async refusal(evidenceId: string, now: Date): Promise<PurgeRefusal | null> {
    const item = await this.deps.catalog.getEvidence(evidenceId);
    const row = await this.deps.repo.get(evidenceId);
    if (!item || !row) return 'not-expired';
    const cases = await this.deps.repo.cases(item.caseNumbers);
    const decision = this.decide(item, row, cases);
    // The storage server's own lock and hold count, not only the catalog's copy of them.
    const stored = await this.deps.objects.stat('originals', item.objectKey);
    const lockedUntil = stored?.retainUntil && stored.retainUntil > decision.retainUntil ? stored.retainUntil : decision.retainUntil;
    const held = decision.held || (stored ? await this.deps.objects.legalHold('originals', item.objectKey) : false);
    return purgeRefusal({ retainUntil: lockedUntil, held, purged: Boolean(await this.deps.repo.tombstoneOf(evidenceId)) }, cases, now);
  }

  private decide(item: EvidenceRow, row: RetentionRow | null, cases: readonly CaseLifecycleRow[]): RetentionDecision {
    return decideRetention({ capturedAt: item.captureStart ?? item.acquiredAt, itemHold: row?.legalHold ?? false, current: row?.retainUntil ?? null }, cases, this.rules(), this.now());
  }

  private rules() {
    return { unlinkedDays: this.deps.config.retention.unlinkedDays, caseDays: this.deps.config.retention.caseDays };
  }

  private async record(input: CustodyEventInput): Promise<void> {
    const event = await this.deps.db.transaction((tx) => this.deps.ledger.append(tx, input));
    await this.deps.ledger.mirror([event]);
  }
}
