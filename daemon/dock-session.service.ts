import { randomUUID } from 'node:crypto';
import type { EvidockConfig } from '../config/config.schema.ts';
import { moduleLogger } from '../config/logger.ts';
import type { RecorderIdentity, RecorderVolume } from '../drivers/recorder.driver.ts';
import type { RecorderSdk } from '../drivers/recorder-sdk.ts';
import type { CatalogRepository, FileRow, NewFile, SessionDefaults, SessionRow } from '../storage/catalog.repository.ts';
import type { Actor, CustodyEvent, CustodyEventInput, JsonValue } from '../storage/custody-chain.ts';
import type { CustodyLedger } from '../storage/custody-ledger.service.ts';
import type { Database, Queryable } from '../storage/postgres.database.ts';
import { fingerprintOf } from '../storage/spool.store.ts';
import type { IngestService, JobQueuePort } from '../workers/ingest.service.ts';
import { JobName } from '../workers/job.types.ts';
import { zonedLocalToUtc } from '../workers/transfer-deadline.ts';
import { detectGaps, type SequencedRecording } from './gap-detection.ts';
import { leaseStateOf, ownerIdOf, type LeaseOwner, type LeaseState } from './session-lease.ts';

const log = moduleLogger('dock-session');

export interface DockSessionDeps {
  config: EvidockConfig;
  db: Database;
  catalog: CatalogRepository;
  ledger: CustodyLedger;
  queue: JobQueuePort;
  ingest: IngestService;
  /** Keeps the live volume object for the workers of this process. */
  remember: (sessionId: string, volume: RecorderVolume) => void;
  /** This process, as it appears as a docking's owner. */
  owner: LeaseOwner;
  /** Whether a process of this host with that pid is running (session-lease.ts). */
  processAlive: (pid: number) => boolean;
  now?: () => Date;
}

export interface DockOptions {
  defaults?: SessionDefaults;
  /** Who docked it, when known (an operator running `evidock import`). */
  actor?: Actor;
}

/**
 * One docking of one recorder: identify it, note its clock, list what it holds, find what
 * is missing, write it all to the custody ledger, and queue every file for acquisition.
 */
export class DockSessionService {
  private readonly now: () => Date;
  private readonly ownerId: string;
  /** Set once this process runs the device queues: only then does it claim the dockings it makes. */
  private servingDevices = false;

  constructor(private readonly deps: DockSessionDeps) {
    this.now = deps.now ?? (() => new Date());
    this.ownerId = ownerIdOf(deps.owner);
  }

  /** This process now runs this workstation's device jobs: it claims and keeps its dockings. */
  serveDeviceQueues(): void {
    this.servingDevices = true;
  }

  private get leaseSeconds(): number {
    return this.deps.config.ingest.sessionLeaseSeconds;
  }

  /** Switch a GA/T 947 recorder to mass storage through its SDK (before it mounts). */
  async unlock(sdk: RecorderSdk): Promise<void> {
    const password = this.deps.config.ingest.unlockPassword;
    if (!password) throw new Error('ingest.unlockPassword is not configured; cannot switch the recorder to mass storage');
    await sdk.setMsdc(Buffer.from(password, 'ascii'));
  }

  async dock(volume: RecorderVolume, options: DockOptions = {}): Promise<SessionRow> {
    const { config, catalog, ledger } = this.deps;
    const actor: Actor = options.actor ?? { kind: 'workstation', id: config.workstationId };
    const identity = await volume.identify();
    const registration = (await catalog.registration(identity.serial)) ?? undefined;
    const effective: RecorderIdentity = {
      ...identity,
      officerId: registration?.officerId ?? identity.officerId,
      officerName: registration?.officerName ?? identity.officerName,
      unitId: registration?.unitId ?? identity.unitId,
      unitName: registration?.unitName ?? identity.unitName,
    };
    const slog = log.child({ serial: identity.serial, mount: volume.root });

    const clock = await this.readAndSyncClock(volume.sdk);
    const listing = await volume.list();
    const sessionId = randomUUID();
    const timeZone = config.ingest.recorderTimeZone;

    const prior = await catalog.priorFilesOfRecorder(identity.serial, sessionId);
    const gaps = detectGaps({
      current: listing.recordings.map((r) => sequenced(r.displayPath, r.parsed, r.mtimeMs, timeZone)),
      prior: prior.map((f) => sequenced(f.displayPath, f.parsed, f.mtimeMs, timeZone)),
      deviceFileCount: identity.deviceFileCount,
    });

    // An interrupted earlier docking left checkpointed bytes in the spool: carry the
    // checkpoint over so this docking reads only the rest from the recorder.
    const interruptedBefore = new Map(prior.filter((f) => f.stage === 'interrupted').map((f) => [f.fingerprint, f]));
    const files: NewFile[] = listing.recordings.map((r) => {
      const fingerprint = fingerprintOf(identity.serial, r.rawPath, r.size, r.mtimeMs);
      return {
        id: randomUUID(),
        rawPath: r.rawPath,
        displayPath: r.displayPath,
        size: r.size,
        mtimeMs: r.mtimeMs,
        kind: r.kind,
        parsed: r.parsed,
        fingerprint,
        stage: 'queued' as const,
        bytesAcquired: interruptedBefore.get(fingerprint)?.bytesAcquired ?? 0,
      };
    });
    const superseded = [...interruptedBefore.values()].filter((f) => files.some((n) => n.fingerprint === f.fingerprint));
    /** Files whose recording another docking is ingesting: fingerprint → that docking's file. */
    const followed = new Map<string, FileRow>();
    /** Abandoned dockings of this workstation that this process takes over (their jobs run here). */
    const adopted = new Map<string, { session: SessionRow; lease: LeaseState & { state: 'abandoned' } }>();
    /** Files of abandoned dockings of other workstations (their spool is there): read again here. */
    const takenOver = new Map<string, { file: FileRow; lease: LeaseState & { state: 'abandoned' } }>();

    const events = await this.deps.db.transaction(async (tx) => {
      // One docking of a recorder at a time: two dockings of the same volume at once (a
      // mount event and an import, two USB events) would otherwise both see no copy in
      // progress and both copy into the same spool file. Under the lock the other docking
      // has committed, so its files are seen as in progress.
      await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`dock:${identity.serial}`]);
      const sessions = new Map<string, SessionRow>();
      for (const f of files) {
        // Locked: the other docking's record step (which links its followers) waits for this one.
        const [live] = await catalog.liveFilesWithFingerprint(f.fingerprint, sessionId, tx, true);
        if (!live) continue;
        let other = sessions.get(live.sessionId);
        if (!other) {
          other = (await catalog.lockSession(tx, live.sessionId))!;
          sessions.set(other.id, other);
        }
        const lease = leaseStateOf(other, this.deps.owner, this.deps.processAlive);
        if (lease.state === 'abandoned' && other.workstationId !== config.workstationId) {
          takenOver.set(f.fingerprint, { file: live, lease });
          f.bytesAcquired = 0;
          continue;
        }
        // Abandoned here: its jobs, spool and stages carry on under this process, and this
        // docking follows it. Held: a live process is ingesting it; this docking follows it.
        if (lease.state === 'abandoned' && this.servingDevices) adopted.set(other.id, { session: other, lease });
        followed.set(f.fingerprint, live);
        f.stage = 'skipped';
        f.bytesAcquired = 0;
        f.handledBy = live.id;
      }
      const out: CustodyEvent[] = [];
      const append = async (e: Omit<CustodyEventInput, 'actor' | 'sessionId'> & { sessionId?: string }) =>
        out.push(await ledger.append(tx, { sessionId, actor, ...e }));
      await catalog.upsertRecorder(tx, effective, registration !== undefined);
      await catalog.createSession(tx, {
        id: sessionId,
        workstationId: config.workstationId,
        recorderSerial: identity.serial,
        driver: volume.driver,
        mountPath: volume.root,
        identity: effective,
        defaults: options.defaults ?? {},
        clockOffsetMs: clock?.offsetMs ?? null,
        skipped: listing.skipped,
        gaps,
        fileCount: files.length,
        owner: this.servingDevices ? this.ownerId : null,
        leaseSeconds: this.leaseSeconds,
      });
      await catalog.insertFiles(tx, sessionId, identity.serial, files);
      await append({
        type: 'DOCKED',
        details: {
          driver: volume.driver,
          mountPath: volume.root,
          identity: effective as unknown as JsonValue,
          registered: registration !== undefined,
          files: files.length,
          bytes: files.reduce((n, f) => n + f.size, 0),
          defaults: (options.defaults ?? {}) as JsonValue,
        },
      });
      if (!registration) {
        await append({ type: 'RECORDER_UNREGISTERED', details: { serial: identity.serial, identitySource: identity.source } });
      }
      if (clock) await append({ type: 'CLOCK_OFFSET', details: { ...clock } });
      for (const s of listing.skipped) await append({ type: 'FILE_SKIPPED', details: { ...s } });
      for (const g of gaps) await append({ type: 'GAP_DETECTED', details: g as unknown as JsonValue as { [k: string]: JsonValue } });
      for (const { session, lease } of adopted.values()) out.push(await this.claimAbandoned(tx, session, lease, sessionId));
      for (const f of files) {
        const other = followed.get(f.fingerprint);
        if (other) {
          await catalog.updateFile(tx, f.id, { error: `being ingested in session ${other.sessionId}` });
          await append({
            type: 'FILE_SKIPPED',
            fileId: f.id,
            details: { displayPath: f.displayPath, reason: 'in-progress-elsewhere', detail: `session ${other.sessionId}`, handledBy: other.id },
          });
          // Already catalogued: nothing will link this docking's fields later, so link them now.
          if (other.stage === 'recorded' && other.evidenceId) {
            const link = await this.deps.ingest.linkDocking(tx, other.evidenceId, options.defaults ?? {}, { sessionId, fileId: f.id });
            if (link) out.push(link);
          }
        }
        const taken = takenOver.get(f.fingerprint);
        if (taken) {
          await catalog.updateFile(tx, taken.file.id, { stage: 'superseded', error: `taken over by session ${sessionId} (${taken.lease.reason})` });
          await append({
            type: 'FILE_TAKEN_OVER',
            fileId: f.id,
            details: { fromSession: taken.file.sessionId, fromFile: taken.file.id, fromStage: taken.file.stage, previousOwner: taken.lease.owner, reason: taken.lease.reason },
          });
        }
      }
      for (const old of superseded) {
        await catalog.updateFile(tx, old.id, { stage: 'superseded', error: `docked again in session ${sessionId}` });
      }
      return out;
    });
    await ledger.mirror(events);
    const settleElsewhere = new Set([...superseded, ...[...takenOver.values()].map((t) => t.file)].map((f) => f.sessionId));
    for (const other of settleElsewhere) await this.deps.ingest.afterStep(other);
    for (const { session } of adopted.values()) {
      // The same recorder, docked here now: the adopted docking's jobs read it through this volume.
      this.deps.remember(session.id, volume);
      await this.requeue(session, true);
    }

    this.deps.remember(sessionId, volume);
    // Priority by position within the session: with several recorders docked, their first
    // files go before anyone's second, so each officer sees progress (BullMQ: lower first).
    let position = 0;
    for (const f of files) {
      if (f.stage !== 'queued') continue;
      position++;
      await this.deps.queue.enqueue(JobName.Acquire, { fileId: f.id, sessionId, serial: identity.serial }, { priority: Math.min(position, 2_000_000) });
    }
    slog.info({ sessionId, files: files.length, skipped: listing.skipped.length, gaps: gaps.length, registered: !!registration }, 'recorder docked');
    // The session and its jobs are saved; settling its status can wait for the next step.
    await this.deps.ingest.afterStep(sessionId).catch((error: Error) => slog.warn({ sessionId, err: error.message }, 'session status deferred'));
    return (await catalog.getSession(sessionId))!;
  }

  /**
   * Re-queues what a stopped process left (at start, and every half minute in the daemon):
   * renews this process's claims, takes over the abandoned dockings of this workstation, and
   * gives every unfinished file of the dockings it holds the job for its stage again. Job ids
   * are deterministic, so a job that still exists is not duplicated. Returns the jobs queued.
   */
  async resumeOpenSessions(): Promise<number> {
    const takenOver = await this.keepLeases();
    let count = 0;
    for (const session of await this.deps.catalog.openSessions(this.deps.config.workstationId)) {
      if (session.owner !== this.ownerId) continue;
      count += await this.requeue(session, false);
    }
    return count + takenOver;
  }

  /**
   * What this process does every third of the lease while it serves the device queues:
   * renews its claims (and claims dockings handed to it), then takes over every docking of
   * this workstation that nobody is working any more. Returns the jobs it queued for those.
   */
  async keepLeases(): Promise<number> {
    const { catalog, config, db, ledger } = this.deps;
    if (!this.servingDevices) return 0;
    await catalog.renewLeases(config.workstationId, this.ownerId, this.leaseSeconds);
    let queued = 0;
    for (const open of await catalog.openSessions(config.workstationId)) {
      if (leaseStateOf(open, this.deps.owner, this.deps.processAlive).state !== 'abandoned') continue;
      const event = await db.transaction(async (tx) => {
        // Seen abandoned a moment ago; another process may have taken it since.
        const session = await catalog.lockSession(tx, open.id);
        const lease = session ? leaseStateOf(session, this.deps.owner, this.deps.processAlive) : null;
        return session && lease?.state === 'abandoned' ? this.claimAbandoned(tx, session, lease, null) : null;
      });
      if (!event) continue;
      await ledger.mirror([event]);
      queued += await this.requeue(open, true);
    }
    return queued;
  }

  /** Gives up this process's claims (a clean stop): the next process takes its dockings over at once. */
  async releaseLeases(): Promise<void> {
    if (!this.servingDevices) return;
    await this.deps.db.query(`UPDATE dock_sessions SET lease_until = now() WHERE owner = $1 AND status IN ('acquiring', 'acquired', 'interrupted')`, [this.ownerId]);
  }

  /** Claims a docking this transaction has locked and found abandoned, with its custody event. */
  private async claimAbandoned(tx: Queryable, session: SessionRow, lease: LeaseState & { state: 'abandoned' }, byDocking: string | null): Promise<CustodyEvent> {
    await this.deps.catalog.claimSession(tx, session.id, this.ownerId, this.leaseSeconds);
    log.warn({ sessionId: session.id, serial: session.recorderSerial, previousOwner: lease.owner, reason: lease.reason }, 'docking abandoned by its process: taken over');
    return this.deps.ledger.append(tx, {
      type: 'SESSION_TAKEN_OVER',
      actor: { kind: 'workstation', id: this.deps.config.workstationId },
      sessionId: session.id,
      details: { previousOwner: lease.owner, reason: lease.reason, owner: this.ownerId, byDocking },
    });
  }

  /**
   * Queues the job for each unfinished file's stage. `fresh`: under new job ids, for a
   * docking taken over, whose dead owner's jobs may sit in BullMQ as active until their locks
   * lapse; if one of them runs later it finds the work done (each step checks the stage, and
   * a file is acquired by one job at a time).
   */
  private async requeue(session: SessionRow, fresh: boolean): Promise<number> {
    const generation = fresh ? `t${Date.now().toString(36)}` : undefined;
    let count = 0;
    for (const f of await this.deps.catalog.filesOfSession(session.id)) {
      const job = jobForStage(f.stage);
      if (!job) continue;
      await this.deps.queue.enqueue(job, { fileId: f.id, sessionId: session.id, serial: session.recorderSerial, ...(generation ? { generation } : {}) });
      count++;
    }
    await this.deps.ingest.afterStep(session.id);
    return count;
  }

  private async readAndSyncClock(sdk: RecorderSdk | null): Promise<{ [k: string]: JsonValue } & { offsetMs: number } | null> {
    if (!sdk) return null;
    const before = this.now();
    const deviceTime = await sdk.readDevTime();
    const offsetMs = deviceTime.getTime() - before.getTime();
    let synced = false;
    try {
      await sdk.syncDevTime(this.now());
      synced = true;
    } catch (error) {
      log.warn({ err: (error as Error).message }, 'could not set the recorder clock');
    }
    return { offsetMs, deviceTime: deviceTime.toISOString(), workstationTime: before.toISOString(), synced };
  }
}

function jobForStage(stage: FileRow['stage']): JobName | null {
  switch (stage) {
    case 'queued':
    case 'acquiring':
      return JobName.Acquire;
    case 'acquired':
      return JobName.Store;
    case 'stored':
      return JobName.Record;
    case 'recorded':
      return JobName.Clear;
    default:
      return null;
  }
}

function sequenced(name: string, parsed: FileRow['parsed'], mtimeMs: number, timeZone: string): SequencedRecording {
  return {
    deviceId: parsed?.deviceId ?? null,
    sequence: parsed?.sequence ?? null,
    start: parsed?.startLocal ? zonedLocalToUtc(parsed.startLocal, timeZone) : null,
    end: new Date(mtimeMs),
    name,
  };
}
