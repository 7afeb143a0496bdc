import { randomUUID } from 'node:crypto';
import type { EvidockConfig } from '../config/config.schema.ts';
import { moduleLogger } from '../config/logger.ts';
import type { RecorderIdentity, RecorderVolume } from '../drivers/recorder.driver.ts';
import type { RecorderSdk } from '../drivers/recorder-sdk.ts';
import type { CatalogRepository, FileRow, NewFile, SessionDefaults, SessionRow } from '../storage/catalog.repository.ts';
import type { Actor, CustodyEvent, CustodyEventInput, JsonValue } from '../storage/custody-chain.ts';
import type { CustodyLedger } from '../storage/custody-ledger.service.ts';
import type { Database } from '../storage/postgres.database.ts';
import { fingerprintOf } from '../storage/spool.store.ts';
import type { IngestService, JobQueuePort } from '../workers/ingest.service.ts';
import { JobName } from '../workers/job.types.ts';
import { zonedLocalToUtc } from '../workers/transfer-deadline.ts';
import { detectGaps, type SequencedRecording } from './gap-detection.ts';

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

  constructor(private readonly deps: DockSessionDeps) {
    this.now = deps.now ?? (() => new Date());
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
    const registration = config.recorders.find((r) => r.serial === identity.serial);
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
    const busyElsewhere = new Map<string, FileRow>();

    const events = await this.deps.db.transaction(async (tx) => {
      // One docking of a recorder at a time: two dockings of the same volume at once (a
      // mount event and an import, two USB events) would otherwise both see no copy in
      // progress and both copy into the same spool file. Under the lock the other docking
      // has committed, so its files are seen as in progress and skipped here.
      await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`dock:${identity.serial}`]);
      for (const f of files) {
        const live = await catalog.liveFilesWithFingerprint(f.fingerprint, sessionId, tx);
        if (!live[0]) continue;
        busyElsewhere.set(f.fingerprint, live[0]);
        f.stage = 'skipped';
        f.bytesAcquired = 0;
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
      for (const f of files.filter((n) => n.stage === 'skipped')) {
        const other = busyElsewhere.get(f.fingerprint)!;
        await catalog.updateFile(tx, f.id, { error: `already being ingested in session ${other.sessionId}` });
        await append({
          type: 'FILE_SKIPPED',
          fileId: f.id,
          details: { displayPath: f.displayPath, reason: 'in-progress-elsewhere', detail: `session ${other.sessionId}` },
        });
      }
      for (const old of superseded) {
        await catalog.updateFile(tx, old.id, { stage: 'superseded', error: `docked again in session ${sessionId}` });
      }
      return out;
    });
    await ledger.mirror(events);
    for (const sessionOfOld of new Set(superseded.map((f) => f.sessionId))) await this.deps.ingest.afterStep(sessionOfOld);

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
   * Re-queues what an interrupted process left: every unfinished file of this workstation's
   * open sessions gets the job for its stage again. Job ids are deterministic, so a job
   * that still exists is not duplicated.
   */
  async resumeOpenSessions(): Promise<number> {
    const { catalog, config } = this.deps;
    let count = 0;
    for (const session of await catalog.openSessions(config.workstationId)) {
      for (const f of await catalog.filesOfSession(session.id)) {
        const job = jobForStage(f.stage);
        if (!job) continue;
        await this.deps.queue.enqueue(job, { fileId: f.id, sessionId: session.id, serial: session.recorderSerial });
        count++;
      }
      await this.deps.ingest.afterStep(session.id);
    }
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
