import type { EvidockConfig } from '../config/config.schema.ts';
import { moduleLogger } from '../config/logger.ts';
import type { CatalogRepository } from '../storage/catalog.repository.ts';
import type { CustodyEvent, CustodyEventInput, JsonValue } from '../storage/custody-chain.ts';
import type { CustodyLedger } from '../storage/custody-ledger.service.ts';
import type { FixityClaim, FixityCycleRow, FixityItemRow, FixityProgress, FixityRepository, FixityResult } from '../storage/fixity.repository.ts';
import type { Database, Queryable } from '../storage/postgres.database.ts';
import { JobStatus, type SchedulerJobPayload } from '../workers/job.types.ts';
import type { VerifyService } from './verify.service.ts';
import type { WebhookService } from './webhook.service.ts';

const log = moduleLogger('fixity');
const MiB = 1024 * 1024;
const DAY_MS = 24 * 3600_000;
/** The one job scheduler of the fixity queue. */
export const FIXITY_SCHEDULER = 'fixity-cycle';
/** Ledger problems named in a custody event and the cycle row; the rest are counted. */
const PROBLEMS_KEPT = 100;

// ---------------------------------------------------------------------------------------
// Decisions (pure, unit-tested in fixity.service.spec.ts)

export type CycleDecision = { kind: 'work'; cycle: FixityCycleRow } | { kind: 'start'; dueAt: Date } | { kind: 'wait'; until: Date };

/**
 * What a tick does about cycles: work on the open one; else start the next once the last
 * one started `cycleDays` ago (a cycle that ran late is followed at once); else wait. No
 * cycle starts over an empty catalog: a fresh install's first items would otherwise wait a
 * whole cycle for their first check.
 */
export function decideCycle(open: FixityCycleRow | null, last: FixityCycleRow | null, now: Date, cycleDays: number, catalogEmpty = false): CycleDecision {
  if (open) return { kind: 'work', cycle: open };
  if (catalogEmpty) return { kind: 'wait', until: now };
  const dueAt = new Date(now.getTime() + cycleDays * DAY_MS);
  if (!last) return { kind: 'start', dueAt };
  const next = new Date(last.startedAt.getTime() + cycleDays * DAY_MS);
  return now.getTime() >= next.getTime() ? { kind: 'start', dueAt } : { kind: 'wait', until: next };
}

/** The claimed items one batch reads: in order, as many as fit `maxBytes`, at least one. */
export function fitBatch(claims: readonly FixityClaim[], maxBytes: number): FixityClaim[] {
  const batch: FixityClaim[] = [];
  let bytes = 0;
  for (const c of claims) {
    if (batch.length > 0 && bytes + c.size > maxBytes) break;
    batch.push(c);
    bytes += c.size;
  }
  return batch;
}

export interface ThrottleWindow {
  startMs: number;
  bytes: number;
}

/**
 * A byte-rate budget: after `n` more bytes, how long to wait so that the bytes of the
 * window stay within `bytesPerSecond`. A window that fell more than a second behind its
 * budget (the reader was idle) starts again, so idle time is not spent later as a burst.
 * `bytesPerSecond` 0 is unthrottled.
 */
export function throttleStep(window: ThrottleWindow | null, n: number, nowMs: number, bytesPerSecond: number): { window: ThrottleWindow | null; waitMs: number } {
  if (bytesPerSecond <= 0) return { window: null, waitMs: 0 };
  let w = window ?? { startMs: nowMs, bytes: 0 };
  const budgetMs = (w.bytes * 1000) / bytesPerSecond;
  if (nowMs - w.startMs - budgetMs > 1000) w = { startMs: nowMs, bytes: 0 };
  const next = { startMs: w.startMs, bytes: w.bytes + n };
  const waitMs = Math.max(0, (next.bytes * 1000) / bytesPerSecond - (nowMs - next.startMs));
  return { window: next, waitMs };
}

/** When the open cycle ends at the rate it has gone so far (null before any bytes are read). */
export function expectedEnd(cycle: Pick<FixityCycleRow, 'startedAt' | 'totalBytes' | 'totalItems'>, progress: FixityProgress, now: Date): Date | null {
  if (progress.remainingItems === 0) return now;
  const elapsed = now.getTime() - cycle.startedAt.getTime();
  // Items of unknown weight (empty files) still take a read each: count them by item.
  const done = cycle.totalBytes > 0 ? progress.checkedBytes / cycle.totalBytes : progress.checkedItems / Math.max(1, cycle.totalItems);
  if (done <= 0) return null;
  return new Date(cycle.startedAt.getTime() + elapsed / Math.min(1, done));
}

/** The one signed event of a batch: every item it checked, with the hash its stored bytes had. */
export function batchEventDetails(cycleId: number, results: readonly FixityResult[], bytes: number): { [key: string]: JsonValue } {
  return {
    cycle: cycleId,
    count: results.length,
    failed: results.filter((r) => !r.ok).length,
    bytes,
    items: results.map((r) => ({ evidenceId: r.evidenceId, sha256: r.sha256, ok: r.ok })),
  };
}

// ---------------------------------------------------------------------------------------

type CheckedItem = FixityResult & { missing: boolean };

/** The process is stopping: the batch ends at the item it was reading, which is not recorded. */
export class FixityStoppedError extends Error {
  constructor() {
    super('fixity check stopped: this process is stopping');
    this.name = 'FixityStoppedError';
  }
}

export interface FixityStatus {
  cycle: {
    id: number;
    startedAt: string;
    dueAt: string;
    items: { checked: number; total: number };
    bytes: { checked: number; total: number };
    failed: number;
    expectedEndAt: string | null;
    overdue: boolean;
  } | null;
  lastCompleted: {
    id: number;
    startedAt: string;
    finishedAt: string;
    items: number;
    ledger: { ok: boolean; events: number; problems: JsonValue[] };
  } | null;
  nextCycleAt: string | null;
  oldestCheck: { evidenceId: string; at: string } | null;
  neverChecked: number;
  failures: Array<{ evidenceId: string; at: string | null; cycle: number; problems: string[]; batchSeq: number | null }>;
}

export interface FixityDeps {
  config: EvidockConfig;
  db: Pick<Database, 'transaction'>;
  fixity: FixityRepository;
  catalog: Pick<CatalogRepository, 'getEvidence'>;
  verify: Pick<VerifyService, 'checkItem' | 'auditLedger' | 'orphans'>;
  ledger: Pick<CustodyLedger, 'append' | 'mirror' | 'mirrorPending'>;
  webhooks: Pick<WebhookService, 'publish' | 'dispatch'>;
  now?: () => Date;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/**
 * Scheduled fixity: each tick of the job scheduler claims batches of items not yet checked
 * in the open cycle (several hosts share a cycle through row locks), re-hashes their stored
 * originals at a bounded byte rate, and commits each batch as one signed custody event with
 * the per-item results. A failure is an error log, a FIXITY_FAILED event on the item and a
 * webhook. When a cycle's last item is done, the ledger and its write-once mirror are
 * checked and the cycle is closed.
 */
export class FixityService {
  private throttle: ThrottleWindow | null = null;

  constructor(private readonly deps: FixityDeps) {}

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  private get settings(): EvidockConfig['fixity'] {
    return this.deps.config.fixity;
  }

  private get actor(): CustodyEventInput['actor'] {
    return { kind: 'workstation', id: this.deps.config.workstationId };
  }

  async handleFixity(payload: SchedulerJobPayload, stopping: AbortSignal): Promise<JobStatus> {
    const jlog = log.child({ scheduler: payload.scheduler });
    for (;;) {
      if (stopping.aborted) return JobStatus.Stopped;
      const cycle = await this.currentCycle();
      if (!cycle) return JobStatus.Skipped;
      const batch = await this.runBatch(cycle, stopping);
      if (batch.stopped) {
        jlog.info({ cycle: cycle.id, checked: batch.checked }, 'fixity stopped part-way: this process is stopping; the cycle resumes with the next worker');
        return JobStatus.Stopped;
      }
      if (batch.checked > 0) continue;
      // Nothing left to claim: other workers hold the rest, or the cycle is done.
      if (!(await this.finishIfDone(cycle.id))) return JobStatus.Success;
    }
  }

  /** The open cycle, started first when one is due. */
  private async currentCycle(): Promise<FixityCycleRow | null> {
    const open = await this.deps.fixity.openCycle();
    if (open) return open;
    return this.deps.fixity.cycleTransaction(async (tx) => {
      const { fixity } = this.deps;
      const decision = decideCycle(await fixity.openCycle(tx), await fixity.lastCycle(tx), this.now(), this.settings.cycleDays, await fixity.catalogEmpty(tx));
      if (decision.kind === 'work') return decision.cycle;
      if (decision.kind === 'wait') return null;
      const cycle = await this.deps.fixity.startCycle(tx, decision.dueAt);
      log.info({ cycle: cycle.id, items: cycle.totalItems, bytes: cycle.totalBytes, dueAt: cycle.dueAt.toISOString() }, 'fixity cycle started');
      return cycle;
    });
  }

  private async pace(n: number, stopping: AbortSignal): Promise<void> {
    if (stopping.aborted) throw new FixityStoppedError();
    const step = throttleStep(this.throttle, n, this.now().getTime(), this.settings.bytesPerSecond);
    this.throttle = step.window;
    if (step.waitMs < 1) return;
    try {
      await (this.deps.sleep ?? sleepFor)(step.waitMs, stopping);
    } catch (error) {
      if (stopping.aborted) throw new FixityStoppedError();
      throw error;
    }
  }

  /** One batch in one transaction: claim, check, record, sign. */
  private async runBatch(cycle: FixityCycleRow, stopping: AbortSignal): Promise<{ checked: number; stopped: boolean }> {
    const { fixity, verify, ledger, webhooks } = this.deps;
    let stopped = false;
    const committed = await this.deps.db.transaction(async (tx) => {
      const claims = fitBatch(await fixity.claim(tx, cycle.id, this.settings.batchMaxItems), this.settings.batchMaxMiB * MiB);
      const results: CheckedItem[] = [];
      let bytes = 0;
      for (const claim of claims) {
        if (stopping.aborted) {
          stopped = true;
          break;
        }
        try {
          const check = await verify.checkItem(claim.evidenceId, { rehash: true, pace: (n) => this.pace(n, stopping) });
          results.push({ evidenceId: check.evidenceId, ok: check.ok, sha256: check.storedSha256, problems: check.problems, missing: check.missing });
          bytes += check.bytesRead;
        } catch (error) {
          if (error instanceof FixityStoppedError) {
            stopped = true;
            break;
          }
          // The object store's definite answer about this one object (not an outage): a
          // failed check of it, so that one bad object cannot hold up the cycle forever.
          if ((error as Error).name !== 'ObjectStoreRequestError') throw error;
          log.warn({ evidenceId: claim.evidenceId, cycle: cycle.id, err: (error as Error).message }, 'stored original could not be read back');
          results.push({ evidenceId: claim.evidenceId, ok: false, sha256: null, problems: [`stored original could not be read back: ${(error as Error).message}`], missing: false });
        }
      }
      if (results.length === 0) return null;
      const batch = await ledger.append(tx, { type: 'FIXITY_BATCH_CHECKED', actor: this.actor, details: batchEventDetails(cycle.id, results, bytes) });
      await fixity.record(tx, cycle.id, batch.seq, results);
      const events: CustodyEvent[] = [batch];
      const deliveries: string[] = [];
      for (const failed of results.filter((r) => !r.ok)) {
        const alert = await this.alert(tx, cycle.id, batch.seq, failed);
        events.push(alert.event);
        deliveries.push(...alert.deliveries);
      }
      return { events, deliveries, results, bytes };
    });
    if (!committed) return { checked: 0, stopped };
    // The alert's log line once it is recorded: a batch rolled back is checked again.
    for (const failed of committed.results.filter((r) => !r.ok)) {
      const event = committed.events.find((e) => e.type === 'FIXITY_FAILED' && e.evidenceId === failed.evidenceId);
      log.error(
        { evidenceId: failed.evidenceId, cycle: cycle.id, seq: event?.seq, problems: failed.problems },
        failed.missing ? 'fixity check failed: stored original missing' : 'fixity check failed',
      );
    }
    await ledger.mirror(committed.events);
    await webhooks.dispatch(committed.deliveries);
    log.info({ cycle: cycle.id, seq: committed.events[0]!.seq, items: committed.results.length, bytes: committed.bytes }, 'fixity batch checked');
    return { checked: committed.results.length, stopped };
  }

  /** A failed item: an error log, a FIXITY_FAILED event on the item, a webhook to its unit's subscribers. */
  private async alert(tx: Queryable, cycleId: number, batchSeq: number, failed: CheckedItem): Promise<{ event: CustodyEvent; deliveries: string[] }> {
    const item = await this.deps.catalog.getEvidence(failed.evidenceId);
    const missing = failed.missing;
    const details = { cycle: cycleId, batchSeq, expectedSha256: item?.sha256 ?? null, storedSha256: failed.sha256, missing, problems: failed.problems };
    const event = await this.deps.ledger.append(tx, { type: 'FIXITY_FAILED', actor: this.actor, evidenceId: failed.evidenceId, details });
    const deliveries = await this.deps.webhooks.publish(tx, 'evidence.fixity_failed', item?.unitId ?? null, {
      evidenceId: failed.evidenceId,
      ...details,
      seq: event.seq,
      at: event.at,
    });
    return { event, deliveries };
  }

  /**
   * Closes the cycle once every item is checked: the ledger (chain, signatures, write-once
   * mirror, access seals) and catalog orphans are checked once a cycle, here. Returns
   * whether it closed the cycle.
   */
  private async finishIfDone(cycleId: number): Promise<boolean> {
    const { fixity, verify, ledger } = this.deps;
    const closed = await fixity.cycleTransaction(async (tx) => {
      const open = await fixity.openCycle(tx);
      if (!open || open.id !== cycleId || (await fixity.progress(cycleId, tx)).remainingItems > 0) return null;
      // Events whose mirroring was deferred are caught up first: a late copy is not a forgery.
      await ledger.mirrorPending();
      const audit = await verify.auditLedger();
      const orphans = await verify.orphans();
      const problems: JsonValue[] = [
        ...audit.problems.map((p) => ({ seq: p.seq, kind: p.kind, detail: p.detail })),
        ...orphans.map((o) => ({ seq: null, kind: 'catalog-row-deleted', detail: `${o.evidenceId}: ${o.problems.join('; ')}` })),
      ];
      const progress = await fixity.progress(cycleId, tx);
      const kept = problems.slice(0, PROBLEMS_KEPT);
      const events: CustodyEvent[] = [];
      if (problems.length > 0) {
        events.push(await ledger.append(tx, { type: 'FIXITY_FAILED', actor: this.actor, details: { cycle: cycleId, scope: 'ledger', problemCount: problems.length, problems: kept } }));
        log.error({ cycle: cycleId, problems: problems.length, first: kept.slice(0, 5) }, 'fixity check failed: the custody ledger or its write-once mirror');
      }
      events.push(
        await ledger.append(tx, {
          type: 'FIXITY_CYCLE_COMPLETED',
          actor: this.actor,
          details: {
            cycle: cycleId,
            startedAt: open.startedAt.toISOString(),
            items: progress.checkedItems,
            failed: progress.failedItems,
            bytes: progress.checkedBytes,
            ledger: { ok: problems.length === 0, events: audit.events, keys: audit.keys, problems: problems.length },
          },
        }),
      );
      await fixity.finishCycle(tx, cycleId, { ok: problems.length === 0, events: audit.events, problems: kept });
      return { events, progress };
    });
    if (!closed) return false;
    await ledger.mirror(closed.events);
    log.info({ cycle: cycleId, items: closed.progress.checkedItems, failed: closed.progress.failedItems }, 'fixity cycle completed');
    return true;
  }

  /** Retries used up on a tick: the next tick carries on where the cycle stands. */
  async markFailed(payload: SchedulerJobPayload, reason: string): Promise<void> {
    log.error({ scheduler: payload.scheduler, err: reason }, 'fixity tick failed for good; the next tick resumes the cycle');
  }

  async status(failureLimit = 50): Promise<FixityStatus> {
    const { fixity } = this.deps;
    const now = this.now();
    const open = await fixity.openCycle();
    const last = await fixity.lastFinishedCycle();
    const { oldest, neverChecked } = await fixity.oldest();
    const failures = await fixity.failures(failureLimit);
    let cycle: FixityStatus['cycle'] = null;
    if (open) {
      const progress = await fixity.progress(open.id);
      const end = expectedEnd(open, progress, now);
      cycle = {
        id: open.id,
        startedAt: open.startedAt.toISOString(),
        dueAt: open.dueAt.toISOString(),
        items: { checked: progress.checkedItems, total: open.totalItems },
        bytes: { checked: progress.checkedBytes, total: open.totalBytes },
        failed: progress.failedItems,
        expectedEndAt: end?.toISOString() ?? null,
        overdue: now.getTime() > open.dueAt.getTime() || (end !== null && end.getTime() > open.dueAt.getTime()),
      };
    }
    const decision = open ? null : decideCycle(null, last, now, this.settings.cycleDays);
    return {
      cycle,
      lastCompleted: last?.finishedAt
        ? {
            id: last.id,
            startedAt: last.startedAt.toISOString(),
            finishedAt: last.finishedAt.toISOString(),
            items: last.totalItems,
            ledger: { ok: last.ledgerOk === true, events: last.ledgerEvents ?? 0, problems: last.ledgerProblems ?? [] },
          }
        : null,
      nextCycleAt: decision ? (decision.kind === 'wait' ? decision.until.toISOString() : now.toISOString()) : null,
      oldestCheck: oldest?.checkedAt ? { evidenceId: oldest.evidenceId, at: oldest.checkedAt.toISOString() } : null,
      neverChecked,
      failures: failures.map(presentFailure),
    };
  }

  /** The item's last scheduled check (the item page's "last fixity check"). */
  async lastCheck(evidenceId: string): Promise<{ at: Date; ok: boolean } | null> {
    const row = await this.deps.fixity.item(evidenceId);
    return row?.checkedAt ? { at: row.checkedAt, ok: row.ok === true } : null;
  }

  async failures(limit: number): Promise<FixityStatus['failures']> {
    return (await this.deps.fixity.failures(limit)).map(presentFailure);
  }
}

function presentFailure(f: FixityItemRow): FixityStatus['failures'][number] {
  return { evidenceId: f.evidenceId, at: f.checkedAt?.toISOString() ?? null, cycle: f.lastCycle, problems: f.problems, batchSeq: f.batchSeq };
}

function sleepFor(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new FixityStoppedError());
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new FixityStoppedError());
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
