import { createHash } from 'node:crypto';
import { UnrecoverableError } from 'bullmq';
import type { EvidockConfig, RecorderRegistration } from '../config/config.schema.ts';
import { moduleLogger } from '../config/logger.ts';
import { RecordingGoneError, type RecorderVolume } from '../drivers/recorder.driver.ts';
import { SAFE_TO_UNDOCK_STAGES, TERMINAL_STAGES, type CatalogRepository, type EvidenceRow, type FileRow, type SessionRow } from '../storage/catalog.repository.ts';
import type { CustodyEvent, CustodyEventInput, JsonValue } from '../storage/custody-chain.ts';
import type { CustodyLedger } from '../storage/custody-ledger.service.ts';
import { Crc32PartAccumulator, EtagAccumulator } from '../storage/etag.ts';
import { originalKey, proofValue, SentBytesMismatchError, storedMatchesReceipt, type ObjectStore, type StoredObject, type UploadProofKind } from '../storage/object-store.ts';
import type { Database, Queryable } from '../storage/postgres.database.ts';
import { newSealKey, type SpoolSeal } from '../storage/spool-seal.ts';
import { fingerprintOf, type SpoolStore } from '../storage/spool.store.ts';
import { CopyInterruptedError, type CopyRequest, type CopyResult } from './acquire.copier.ts';
import { linkFromDocking } from './docking-link.ts';
import { JobName, JobStatus, type FileJobPayload, type JobPayloads } from './job.types.ts';
import { assessTransfer, zonedLocalToUtc } from './transfer-deadline.ts';

const log = moduleLogger('ingest');

/** How the services find the recorder a session was docked from. */
export interface VolumeResolver {
  resolve(session: SessionRow): Promise<RecorderVolume | null>;
}

/** What the services need from the job system; BullMQ lives behind it. */
export interface JobQueuePort {
  enqueue<N extends JobName>(name: N, payload: JobPayloads[N], options?: { priority?: number }): Promise<void>;
}

export interface IngestDeps {
  config: EvidockConfig;
  db: Database;
  catalog: CatalogRepository;
  ledger: CustodyLedger;
  objects: ObjectStore;
  spool: SpoolStore;
  volumes: VolumeResolver;
  /** Queues the media jobs of newly catalogued evidence. */
  queue: JobQueuePort;
  copy: (request: CopyRequest) => Promise<CopyResult>;
  /**
   * Ends the threads the copier keeps for the next copy. Called when an upload starts and
   * this process acquires nothing, so that the upload's buffers do not add to them.
   */
  endIdleCopyThreads?: () => void;
  now?: () => Date;
  /** Progress of the current job, 0–100, for the CLI's bars. */
  onProgress?: (fileId: string, percent: number, bytes: number) => void;
  /** The session reached a milestone the operator must hear about. */
  onSessionMilestone?: (session: SessionRow, milestone: 'safe-to-undock' | 'done') => void;
  /**
   * A new item is catalogued, in the record step's transaction: what the archive does with it
   * (suggest it for registered enforcement actions, write webhook deliveries). Returns what
   * `announce` is handed after commit.
   */
  onCatalogued?: (tx: Queryable, item: EvidenceRow) => Promise<string[]>;
  announce?: (ids: readonly string[]) => Promise<void>;
  /** Gives a recorded item its retention class and object-lock date (preservation.service.ts). */
  retain?: (evidenceId: string) => Promise<void>;
}

/** A recording changed or shrank while it was read: the copy cannot be trusted. */
export class UnstableSourceError extends Error {
  constructor(readonly displayPath: string, detail: string) {
    super(`recording changed while it was read: ${displayPath} (${detail})`);
    this.name = 'UnstableSourceError';
  }
}

/** A recording acquired again (its spool was lost) hashed differently from the first time. */
export class ReacquiredMismatchError extends Error {
  constructor(readonly displayPath: string, detail: string) {
    super(`recording acquired again does not hash as before: ${displayPath} (${detail}); reading it again from the start`);
    this.name = 'ReacquiredMismatchError';
  }
}

/** The server holds different bytes than were sent. */
export class StoredCopyMismatchError extends Error {
  constructor(readonly key: string, detail: string) {
    super(`stored copy does not match the acquired bytes: ${key} (${detail})`);
    this.name = 'StoredCopyMismatchError';
  }
}

/** A clear was asked for a file whose stored copy is not proven. Must never happen. */
export class UnsafeClearError extends Error {
  constructor(readonly fileId: string, reason: string) {
    super(`refusing to clear file ${fileId} from the recorder: ${reason}`);
    this.name = 'UnsafeClearError';
  }
}

/**
 * Deterministic evidence id from content: the same bytes are one evidence item however
 * often and wherever they are docked, with no race between two workstations.
 */
export function evidenceIdOf(sha256: string): string {
  const h = createHash('sha256').update(`evidock:evidence:${sha256}`).digest('hex');
  // UUIDv8 layout (RFC 9562 custom): version nibble 8, variant 10xx.
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Checkpoints smaller than this are not worth an fsync, however slow the recorder. */
const CHECKPOINT_BYTES = 64 << 20;

/** When an acquisition makes its spool durable (see CopyRequest); the bench copies with the same. */
export function checkpointsOf(ingest: EvidockConfig['ingest']): Pick<CopyRequest, 'checkpointBytes' | 'checkpointMs'> {
  return { checkpointBytes: CHECKPOINT_BYTES, checkpointMs: ingest.checkpointSeconds * 1000 };
}

/** Spooled, not yet stored, and more of it spooled than a checkpoint made durable. */
function spooledNotDurable(file: FileRow): boolean {
  return file.stage === 'acquired' && file.bytesAcquired < file.size;
}

/**
 * The ingest pipeline's decisions: acquire → store (verified) → record → clear.
 * Each handler reads the file's current stage first, so a replay after a crash does only
 * what is left, and each state change commits together with the custody event saying so.
 */
export class IngestService {
  private readonly now: () => Date;
  private readonly actor;
  /**
   * Spool bytes promised to copies running in this process (file id → bytes still to
   * write). The spool is local to the one process serving this workstation's acquire
   * queue, so two recorders copying at once cannot both count the same free space.
   */
  private readonly spoolReservations = new Map<string, number>();
  /**
   * Seals of the files this process acquired and has not stored yet (spool-seal.ts): their
   * uploads authenticate the bytes sent instead of hashing them again. Memory only, on purpose.
   */
  private readonly seals = new Map<string, SpoolSeal>();
  /** Spool flushes in progress: before *safe to undock* (by session id) or after an undock (`undocked:` + id). */
  private readonly flushing = new Map<string, Promise<void>>();

  constructor(private readonly deps: IngestDeps) {
    this.now = deps.now ?? (() => new Date());
    this.actor = { kind: 'workstation' as const, id: deps.config.workstationId };
  }

  // ---- acquire ---------------------------------------------------------------------

  async handleAcquire(payload: FileJobPayload, stopping?: AbortSignal): Promise<JobStatus> {
    const { catalog, spool } = this.deps;
    const file = await catalog.getFile(payload.fileId);
    if (!file) throw new UnrecoverableError(`no such file ${payload.fileId}`);
    if (!['queued', 'acquiring', 'interrupted'].includes(file.stage)) return JobStatus.Skipped;
    const session = await this.session(file.sessionId);

    const volume = await this.deps.volumes.resolve(session);
    if (!volume || !(await volume.isPresent())) return this.interrupt(file, 0, 'recorder not present');

    const spooled = await spool.sizeOf(file.fingerprint);
    // Only bytes that were fsynced and checkpointed are trusted; anything after is re-read.
    const resumeFrom = Math.min(spooled, file.bytesAcquired, file.size);
    const needed = file.size - resumeFrom;
    // Spooled bytes past the trusted prefix are truncated before the copy: they count as free.
    // Copies already running in this process will still write what they reserved.
    const free = (await spool.freeBytes()) + Math.max(0, spooled - resumeFrom);
    const reservedByOthers = [...this.spoolReservations].reduce((n, [id, bytes]) => (id === file.id ? n : n + bytes), 0);
    const reserve = this.deps.config.ingest.spoolMinFreeMiB * 1024 * 1024;
    if (free - reservedByOthers - needed < reserve) return this.spoolFull(file, { freeBytes: free, neededBytes: needed, reserveBytes: reserve, reservedBytes: reservedByOthers });
    // One copy of a file at a time, on any host: after a takeover (session-lease.ts) the
    // dead owner's stalled job is handed out again by BullMQ beside the new owner's, and two
    // copies into one spool file would spoil both.
    this.spoolReservations.set(file.id, needed);
    try {
      const copy = await this.deps.db.tryWithLock(`acquire:${file.id}`, async () => {
        const current = await catalog.getFile(file.id);
        if (!current || !['queued', 'acquiring', 'interrupted'].includes(current.stage)) return JobStatus.Skipped;
        return this.acquireReserved(current, session, volume, resumeFrom, stopping);
      });
      if (!copy.locked) log.child({ fileId: file.id, serial: file.recorderSerial }).info('another job is acquiring this file; this one stands down');
      return copy.locked ? copy.result : JobStatus.Skipped;
    } finally {
      this.spoolReservations.delete(file.id);
    }
  }

  /** Pauses acquisition of a file (job deferred, not failed) with one SPOOL_FULL alarm. */
  private async spoolFull(file: FileRow, details: { freeBytes: number; neededBytes: number; reserveBytes: number; reservedBytes: number }): Promise<JobStatus> {
    if (file.error !== 'spool-full') await this.transition(file, { error: 'spool-full' }, { type: 'SPOOL_FULL', details });
    log.child({ fileId: file.id, serial: file.recorderSerial }).warn(details, 'spool disk nearly full: acquisition paused');
    return JobStatus.Deferred;
  }

  private async acquireReserved(file: FileRow, session: SessionRow, volume: RecorderVolume, resumeFrom: number, stopping?: AbortSignal): Promise<JobStatus> {
    const { catalog, spool } = this.deps;
    const flog = log.child({ fileId: file.id, sessionId: file.sessionId, serial: file.recorderSerial });

    const before = await volume.stat(file.rawPath);
    if (!before) return this.interrupt(file, resumeFrom, 'recording vanished before it was read');
    if (before.size !== file.size || Math.trunc(before.mtimeMs) !== Math.trunc(file.mtimeMs)) {
      return this.unstable(file, volume, `changed since it was listed: size ${file.size} → ${before.size}`);
    }

    if (resumeFrom > 0) {
      await spool.truncateTo(file.fingerprint, resumeFrom);
      await this.transition(file, { stage: 'acquiring', error: null }, { type: 'ACQUISITION_RESUMED', details: { fromByte: resumeFrom, size: file.size } });
      flog.info({ fromByte: resumeFrom }, 'resuming interrupted acquisition from the spool');
    } else {
      await catalog.updateFile(this.deps.db, file.id, { stage: 'acquiring', error: null, addAttempt: true });
    }

    let result: CopyResult;
    const sealKey = newSealKey();
    this.seals.delete(file.id);
    try {
      const source = volume.openFile ? await volume.openFile(file.rawPath) : await volume.open(file.rawPath, resumeFrom);
      result = await this.deps.copy({
        seal: sealKey,
        source,
        spoolPath: spool.pathOf(file.fingerprint),
        resumeFrom,
        algorithms: this.deps.config.ingest.hashes,
        ...checkpointsOf(this.deps.config.ingest),
        stallMs: this.deps.config.ingest.readStallSeconds * 1000,
        ...(stopping ? { signal: stopping } : {}),
        onCheckpoint: (bytes) => catalog.updateFile(this.deps.db, file.id, { bytesAcquired: bytes }),
        onProgress: (bytes) => this.deps.onProgress?.(file.id, file.size === 0 ? 100 : (bytes / file.size) * 100, bytes),
      });
    } catch (error) {
      const onDisk = error instanceof CopyInterruptedError ? error.bytesOnDisk : resumeFrom;
      if (error instanceof CopyInterruptedError && isStopped(error)) return this.acquisitionStopped(file, onDisk);
      const present = await volume.isPresent().catch(() => false);
      if (error instanceof RecordingGoneError || !present || isDeviceGone(error)) {
        return this.interrupt(file, onDisk, describe(error));
      }
      if (isDiskFull(error)) {
        // Something else filled the disk mid-copy: keep only the trusted prefix and wait.
        await spool.truncateTo(file.fingerprint, resumeFrom);
        return this.spoolFull(file, { freeBytes: await spool.freeBytes(), neededBytes: file.size - resumeFrom, reserveBytes: this.deps.config.ingest.spoolMinFreeMiB * 1024 * 1024, reservedBytes: 0 });
      }
      throw error;
    }

    const after = await volume.stat(file.rawPath);
    if (!after) return this.interrupt(file, result.totalBytes, 'recording vanished while it was read');
    if (after.size !== file.size || Math.trunc(after.mtimeMs) !== Math.trunc(file.mtimeMs) || result.totalBytes !== file.size) {
      return this.unstable(file, volume, `size ${file.size} listed, ${result.totalBytes} read, ${after.size} now`);
    }

    const sha256 = result.digests.sha256!;
    if (file.sha256 !== null && sha256 !== file.sha256) return this.reacquiredDiffers(file, resumeFrom, sha256);
    const sm3 = result.digests.sm3 ?? null;
    const evidenceId = evidenceIdOf(sha256);
    if (result.sealTag) this.seals.set(file.id, { ...sealKey, tag: result.sealTag });
    await this.transition(
      file,
      // bytesAcquired stays what a resume may trust: the spool's tail may not be on disk yet.
      { stage: 'acquired', sha256, sm3, evidenceId, bytesAcquired: result.durableBytes, acquiredAt: this.now(), error: null },
      {
        type: 'ACQUIRED',
        evidenceId,
        details: {
          sha256,
          sm3,
          size: result.totalBytes,
          devicePath: file.displayPath,
          bytesReadFromRecorder: result.bytesFromSource,
          resumedFromByte: resumeFrom,
        },
      },
    );
    flog.info({ evidenceId, sha256, size: file.size }, 'acquired');
    await this.afterStep(session.id);
    return JobStatus.Success;
  }

  // ---- store -----------------------------------------------------------------------

  async handleStore(payload: FileJobPayload, stopping?: AbortSignal): Promise<JobStatus> {
    const first = await this.deps.catalog.getFile(payload.fileId);
    if (!first) throw new UnrecoverableError(`no such file ${payload.fileId}`);
    if (first.stage !== 'acquired') return JobStatus.Skipped;
    // Two dockings of the same bytes (two recorders, or one docked twice) store once: the
    // second waits here, then finds the object and verifies it instead of uploading.
    return this.deps.db.withLock(`store:${first.sha256}`, () => this.storeLocked(payload, stopping));
  }

  private async storeLocked(payload: FileJobPayload, stopping?: AbortSignal): Promise<JobStatus> {
    const { catalog, objects, spool } = this.deps;
    const file = await catalog.getFile(payload.fileId);
    if (!file || file.stage !== 'acquired') return JobStatus.Skipped;
    const sha256 = file.sha256!;
    const key = originalKey(sha256);
    const flog = log.child({ fileId: file.id, evidenceId: file.evidenceId, serial: file.recorderSerial });

    const spooled = await spool.sizeOf(file.fingerprint);
    if (spooled < file.size) return this.spoolShort(file, spooled, payload);

    const existing = await objects.stat('originals', key);
    if (existing) {
      // Already stored (by an earlier docking, or by us before a crash): prove it holds
      // these bytes by the checksum (or ETag) the spooled copy must produce, instead of
      // uploading again.
      const proof = await this.proofOfSpool(file, existing);
      if (existing.size !== file.size || proof.reported !== proof.expected) {
        await this.event(file, {
          type: 'VERIFY_FAILED',
          details: { key, reason: 'existing object differs', etag: existing.etag, proof: proof.by, reported: proof.reported, expected: proof.expected },
        });
        throw new StoredCopyMismatchError(key, `existing object ${proof.by} ${proof.reported ?? 'none'}, expected ${proof.expected}`);
      }
      const evidence = await catalog.getEvidence(file.evidenceId!);
      const duplicate = evidence !== null && evidence.firstSessionId !== file.sessionId;
      await this.transition(
        file,
        { stage: 'stored', duplicate, storedAt: this.now(), verifiedAt: this.now() },
        [
          {
            type: duplicate ? 'DUPLICATE_ACQUIRED' : 'STORED',
            details: { key, versionId: existing.versionId, etag: existing.etag, size: existing.size, uploaded: false },
          },
          { type: 'VERIFIED', details: verifiedDetails(key, existing.etag, proof.by, proof.expected, sha256) },
        ],
      );
      this.seals.delete(file.id);
      await spool.remove(file.fingerprint);
      flog.info({ key, duplicate }, duplicate ? 'same bytes already stored: not uploaded again' : 'stored copy found and verified');
      return JobStatus.Success;
    }

    // The daemon's peak memory: a copy thread waiting for a next file that is not coming
    // would hold its 22 MiB beside the upload's part buffers.
    if (this.spoolReservations.size === 0) this.deps.endIdleCopyThreads?.();
    // Acquired by this process: the upload authenticates the bytes sent with the seal instead
    // of hashing them again (after a restart it hashes them).
    const seal = this.seals.get(file.id);
    let receipt;
    try {
      receipt = await objects.putFile(
        'originals',
        key,
        spool.pathOf(file.fingerprint),
        file.size,
        {
          sha256,
          ...(file.sm3 ? { sm3: file.sm3 } : {}),
          'evidence-id': file.evidenceId!,
          'recorder-serial': asciiSafe(file.recorderSerial),
          workstation: this.deps.config.workstationId,
        },
        {
          expectSha256: sha256,
          ...(seal ? { expectSeal: seal } : {}),
          onProgress: (bytes) => this.deps.onProgress?.(file.id, file.size === 0 ? 100 : (bytes / file.size) * 100, bytes),
          ...(stopping ? { signal: stopping } : {}),
        },
      );
    } catch (error) {
      if (isStopped(error)) {
        // Nothing was committed (the incomplete upload is aborted); the store runs again from the spool.
        flog.info({ key }, 'upload stopped between parts: this process is stopping; the store step goes back to its queue');
        return JobStatus.Stopped;
      }
      if (!(error instanceof SentBytesMismatchError)) throw error;
      // The spool copy went bad after it was hashed (disk fault). Nothing was stored and the
      // recorder still holds the recording, which the next docking ingests afresh.
      this.seals.delete(file.id);
      await spool.remove(file.fingerprint);
      await this.transition(file, { stage: 'failed', error: 'spool copy damaged; dock the recorder again' }, {
        type: 'HASH_MISMATCH',
        details:
          error.check === 'seal'
            ? { where: 'spool', check: 'seal', acquired: sha256, sealExpected: error.expected, sealRead: error.actual, key }
            : { where: 'spool', check: 'sha256', acquired: sha256, read: error.actual, key },
      });
      throw new UnrecoverableError(new StoredCopyMismatchError(key, 'the spooled bytes no longer hash to the acquired SHA-256').message);
    }
    const stored = await objects.stat('originals', key);
    if (!stored || stored.size !== file.size || !storedMatchesReceipt(stored, receipt)) {
      const reported = stored ? proofValue(stored, receipt.proof) : null;
      await this.event(file, {
        type: 'VERIFY_FAILED',
        details: { key, etag: stored?.etag ?? null, proof: receipt.proof, reported, expected: receipt.expected, size: stored?.size ?? null },
      });
      throw new StoredCopyMismatchError(key, `server ${receipt.proof} ${stored ? (reported ?? 'none') : 'missing'}, expected ${receipt.expected}`);
    }
    await this.transition(
      file,
      { stage: 'stored', storedAt: this.now(), verifiedAt: this.now() },
      [
        {
          type: 'STORED',
          details: {
            key,
            bucket: this.deps.config.minio.originalsBucket,
            versionId: stored.versionId,
            etag: stored.etag,
            size: stored.size,
            retainUntil: stored.retainUntil?.toISOString() ?? null,
            uploaded: true,
            // How the bytes sent were proven to be the acquired ones.
            sentCheck: receipt.sealed ? 'seal' : 'sha256',
          },
        },
        { type: 'VERIFIED', details: verifiedDetails(key, stored.etag, receipt.proof, receipt.expected, sha256) },
      ],
    );
    this.seals.delete(file.id);
    await spool.remove(file.fingerprint);
    flog.info({ key, etag: stored.etag }, 'stored and verified');
    return JobStatus.Success;
  }

  // ---- record ----------------------------------------------------------------------

  async handleRecord(payload: FileJobPayload): Promise<JobStatus> {
    const { catalog, config } = this.deps;
    const file = await catalog.getFile(payload.fileId);
    if (!file) throw new UnrecoverableError(`no such file ${payload.fileId}`);
    if (file.stage !== 'stored') {
      // A retry after the catalog commit: the process may have died before asking for media work.
      await this.requestMediaIfFirst(file);
      return JobStatus.Skipped;
    }
    const session = await this.session(file.sessionId);
    const registration = (await catalog.registration(session.recorderSerial)) ?? undefined;
    const fields = captureFields(file, session, registration, config.ingest.recorderTimeZone);
    const verifiedAt = file.verifiedAt ?? this.now();
    const transfer = fields.captureEnd ? assessTransfer(fields.captureEnd, verifiedAt, config.ingest.deadline) : null;
    const flags = [...fields.flags];
    if (transfer?.late) flags.push('transfer-late');

    // Media work is asked for once, by the docking that first catalogued these bytes.
    const announced: string[] = [];
    // Mirrored only once this transaction has committed: an event of a transaction that rolls
    // back (or whose process dies before COMMIT) must never reach the write-once bucket, where
    // its seq would later be taken by another event and read as an edited row.
    const toMirror: CustodyEvent[] = [];
    const catalogued = await this.deps.db.transaction(async (tx) => {
      const locked = await catalog.lockFile(tx, file.id);
      if (locked?.stage !== 'stored') return false;
      const { created, row } = await catalog.insertEvidence(tx, {
        id: file.evidenceId!,
        sha256: file.sha256!,
        sm3: file.sm3,
        size: file.size,
        mediaType: file.kind,
        objectKey: originalKey(file.sha256!),
        objectVersion: null,
        objectEtag: (await this.lastStoredEtag(file)) ?? '',
        originalName: baseName(file.displayPath),
        originalPath: file.displayPath,
        recorderSerial: session.recorderSerial,
        officerId: fields.officerId,
        officerName: fields.officerName,
        unitId: fields.unitId,
        caseNumbers: fields.caseNumbers,
        subject: fields.subject,
        place: fields.place,
        captureStart: fields.captureStart,
        captureEnd: fields.captureEnd,
        captureTimeSource: fields.captureTimeSource,
        firstSessionId: session.id,
        acquiredAt: file.acquiredAt ?? verifiedAt,
        verifiedAt,
        transferDelaySeconds: transfer?.delaySeconds ?? null,
        transferDeadline: transfer?.deadline ?? null,
        transferLate: transfer?.late ?? null,
        flags,
      });
      await catalog.updateFile(tx, file.id, { stage: 'recorded', recordedAt: this.now() });
      const event = await this.deps.ledger.append(tx, {
        type: 'RECORDED',
        actor: this.actor,
        evidenceId: row.id,
        sessionId: file.sessionId,
        fileId: file.id,
        details: created
          ? {
              caseNumbers: row.caseNumbers,
              subject: row.subject,
              place: row.place,
              officerId: row.officerId,
              collector: row.officerId,
              // What the catalog row holds besides the five fields, so that `evidock reindex` can
              // rebuild it from the write-once ledger alone.
              officerName: row.officerName,
              unitId: row.unitId,
              recorderSerial: row.recorderSerial,
              mediaType: row.mediaType,
              originalName: row.originalName,
              originalPath: row.originalPath,
              acquiredAt: row.acquiredAt.toISOString(),
              verifiedAt: row.verifiedAt.toISOString(),
              recordedAt: row.recordedAt.toISOString(),
              captureStart: row.captureStart?.toISOString() ?? null,
              captureEnd: row.captureEnd?.toISOString() ?? null,
              captureTimeSource: row.captureTimeSource,
              transferDelaySeconds: row.transferDelaySeconds,
              transferDeadline: row.transferDeadline?.toISOString() ?? null,
              transferLate: row.transferLate,
              flags: row.flags,
            }
          : { alreadyCatalogued: true, firstSessionId: row.firstSessionId },
      });
      toMirror.push(event);
      // Docked before: this docking's case, subject and place are the item's too. So are
      // those of dockings that waited on this file (the same recording, docked twice at once).
      const links = created ? [] : [await this.linkDocking(tx, row.id, session.defaults, { sessionId: file.sessionId, fileId: file.id })];
      for (const follower of await catalog.followersOf(tx, file.id)) {
        links.push(await this.linkDocking(tx, row.id, follower.session.defaults, { sessionId: follower.session.id, fileId: follower.file.id }));
      }
      for (const link of links) if (link) toMirror.push(link);
      if (created && this.deps.onCatalogued) announced.push(...(await this.deps.onCatalogued(tx, row)));
      return created;
    });
    await this.deps.ledger.mirror(toMirror);
    if (announced.length > 0) await this.deps.announce?.(announced);
    await this.deps.retain?.(file.evidenceId!);
    if (catalogued) await this.deps.queue.enqueue(JobName.Metadata, { evidenceId: file.evidenceId!, objectKey: originalKey(file.sha256!) });
    return JobStatus.Success;
  }

  /**
   * Adds what a docking says of an item it handed over again (docking-link.ts) to the item,
   * as a LINKED custody event in the caller's transaction, which mirrors it once committed.
   */
  async linkDocking(tx: Queryable, evidenceId: string, defaults: SessionRow['defaults'], at: { sessionId: string; fileId: string }): Promise<CustodyEvent | null> {
    const locked = await tx.query('SELECT id FROM evidence WHERE id = $1 FOR UPDATE', [evidenceId]);
    if (!locked.rows[0]) return null;
    const item = (await this.deps.catalog.getEvidence(evidenceId, tx))!;
    const link = linkFromDocking(item, defaults);
    if (!link) return null;
    await this.deps.catalog.updateEvidenceTags(tx, evidenceId, link.patch);
    log.info({ evidenceId, sessionId: at.sessionId, after: link.after, conflicts: Object.keys(link.conflicts) }, 'docked again: linked to what this docking says');
    return this.deps.ledger.append(tx, {
      type: 'LINKED',
      actor: this.actor,
      evidenceId,
      sessionId: at.sessionId,
      fileId: at.fileId,
      details: { via: 'docking', before: link.before, after: link.after, conflicts: link.conflicts, flags: link.patch.flags },
    });
  }

  /**
   * Media work for evidence this file's session catalogued first and that has none yet. The
   * job id is deterministic, so asking again for work already queued or done is a no-op.
   */
  private async requestMediaIfFirst(file: FileRow): Promise<void> {
    if (!file.evidenceId || !file.sha256 || !['recorded', 'cleared', 'kept'].includes(file.stage)) return;
    const evidence = await this.deps.catalog.getEvidence(file.evidenceId);
    if (evidence?.firstSessionId !== file.sessionId || evidence.media.status !== 'pending') return;
    await this.deps.queue.enqueue(JobName.Metadata, { evidenceId: evidence.id, objectKey: originalKey(file.sha256) });
  }

  // ---- clear -----------------------------------------------------------------------

  async handleClear(payload: FileJobPayload): Promise<JobStatus> {
    const { catalog, objects, config } = this.deps;
    const file = await catalog.getFile(payload.fileId);
    if (!file) throw new UnrecoverableError(`no such file ${payload.fileId}`);
    if (file.stage !== 'recorded') {
      // A retry after the clear committed but its afterStep failed (database gone): settle now.
      if (TERMINAL_STAGES.includes(file.stage)) await this.afterStep(file.sessionId);
      return JobStatus.Skipped;
    }
    const session = await this.session(file.sessionId);
    const flog = log.child({ fileId: file.id, evidenceId: file.evidenceId, serial: file.recorderSerial });

    // Files that are not recordings (logs, settings) are stored too, but belong to the
    // recorder: clearing them could break it.
    const clear = (session.defaults.clearAfterVerified ?? config.ingest.clearAfterVerified) && file.kind !== 'other';
    if (!clear) {
      await catalog.updateFile(this.deps.db, file.id, { stage: 'kept' });
      await this.afterStep(session.id);
      return JobStatus.Success;
    }

    // The invariant behind "nothing is lost", checked against the sources of truth right
    // before the only destructive step evidock ever takes.
    const problem = await this.clearBlocker(file);
    if (problem) {
      await this.event(file, { type: 'CLEAR_REFUSED', details: { reason: problem } });
      throw new UnsafeClearError(file.id, problem);
    }

    const volume = await this.deps.volumes.resolve(session);
    if (!volume || !(await volume.isPresent())) {
      // Undocked before clearing: the copy is safe, the recording stays on the recorder
      // and is cleared (as a duplicate) at the next docking.
      await this.transition(file, { stage: 'kept', error: 'recorder-absent' }, { type: 'CLEAR_REFUSED', details: { reason: 'recorder not present' } });
      flog.warn('recorder undocked before it could be cleared; it will be cleared at the next docking');
      await this.afterStep(session.id);
      return JobStatus.Skipped;
    }
    const now = await volume.stat(file.rawPath);
    if (now && (now.size !== file.size || Math.trunc(now.mtimeMs) !== Math.trunc(file.mtimeMs))) {
      await this.transition(file, { stage: 'kept', error: 'changed-on-recorder' }, {
        type: 'CLEAR_REFUSED',
        details: { reason: 'recording on the recorder differs from the acquired one', sizeNow: now.size },
      });
      await this.afterStep(session.id);
      return JobStatus.Skipped;
    }
    if (now) await volume.remove(file.rawPath);
    const cleared = await this.transition(
      file,
      { stage: 'cleared', clearedAt: this.now() },
      { type: 'RECORDER_CLEARED', details: { devicePath: file.displayPath, sha256: file.sha256, alreadyAbsent: now === null } },
      'recorded',
    );
    if (!cleared) return JobStatus.Skipped;
    flog.info('cleared from recorder');
    await this.afterStep(session.id);
    return JobStatus.Success;
  }

  /** Marks a job that has exhausted its retries, so the file shows why and nothing clears it. */
  async markFailed(payload: FileJobPayload, job: JobName, reason: string): Promise<void> {
    const file = await this.deps.catalog.getFile(payload.fileId);
    if (!file || TERMINAL_STAGES.includes(file.stage)) return;
    await this.transition(file, { stage: 'failed', error: `${job}: ${reason}` }, { type: 'FILE_FAILED', details: { job, reason } });
    await this.afterStep(file.sessionId);
  }

  /**
   * The recorder was taken away. While it was docked it held every recording not yet stored,
   * so their spool copies did not have to be on disk; from now on they are the only copies
   * at hand, and are made durable at once: otherwise a power cut in the next half minute
   * (the kernel's writeback delay) would leave them waiting for the recorder's next docking.
   * Returns how many copies were synced.
   */
  async recorderUndocked(sessionId: string): Promise<number> {
    const key = `undocked:${sessionId}`;
    await this.flushing.get(key);
    let synced = 0;
    const flush = (async () => {
      const files = (await this.deps.catalog.filesOfSession(sessionId)).filter(spooledNotDurable);
      if (files.length > 0) synced = await this.makeSpoolsDurable(files, 'after the recorder was undocked');
    })().finally(() => this.flushing.delete(key));
    this.flushing.set(key, flush);
    await flush;
    return synced;
  }

  /** Waits for the spool flushes started beside jobs (before closing the database they use). */
  async settle(): Promise<void> {
    while (this.flushing.size > 0) await Promise.all(this.flushing.values());
  }

  /** Session milestones: safe to undock once every file is spooled; done when all are terminal. */
  async afterStep(sessionId: string, spoolsSynced = false): Promise<void> {
    const toMirror: CustodyEvent[] = [];
    const milestone = await this.deps.db.transaction(async (tx) => {
      const session = await tx.query('SELECT status FROM dock_sessions WHERE id = $1 FOR UPDATE', [sessionId]);
      const status = session.rows[0]?.status as string | undefined;
      if (!status || status === 'done' || status === 'failed') return null;
      const byStage = await this.deps.catalog.stageCounts(sessionId, tx);
      const stages = [...byStage.keys()] as FileRow['stage'][];
      if (stages.every((s) => TERMINAL_STAGES.includes(s))) {
        await this.deps.catalog.setSessionStatus(tx, sessionId, 'done');
        const counts: Record<string, number> = {};
        let files = 0;
        let duplicates = 0;
        for (const [stage, n] of byStage) {
          counts[stage] = n.files;
          files += n.files;
          duplicates += n.duplicates;
        }
        const event = await this.deps.ledger.append(tx, {
          type: 'SESSION_COMPLETED',
          actor: this.actor,
          sessionId,
          details: { files, stages: counts, duplicates },
        });
        toMirror.push(event);
        return 'done' as const;
      }
      if (status === 'acquiring' && stages.every((s) => SAFE_TO_UNDOCK_STAGES.includes(s))) {
        // Acquisition does not wait for the disk. By default the copies not yet stored are made
        // durable when the recorder leaves (recorderUndocked); this setting makes the officer
        // wait for that before being told to undock.
        const notDurable = this.deps.config.ingest.syncSpoolBeforeUndock && byStage.has('acquired') ? (await this.deps.catalog.filesOfSession(sessionId, tx)).filter(spooledNotDurable) : [];
        // Synced just now and still not durable: a spool file vanished, and its store step will
        // acquire it again; no milestone before that.
        if (notDurable.length > 0) return spoolsSynced ? null : notDurable;
        await this.deps.catalog.setSessionStatus(tx, sessionId, 'acquired');
        return 'safe-to-undock' as const;
      }
      if (status !== 'interrupted' && stages.includes('interrupted') && !stages.some((s) => s === 'queued' || s === 'acquiring')) {
        await this.deps.catalog.setSessionStatus(tx, sessionId, 'interrupted');
      }
      return null;
    });
    await this.deps.ledger.mirror(toMirror);
    if (Array.isArray(milestone)) {
      // Beside the job, not in it: the flush must not hold an acquisition slot that other docked
      // recorders are waiting for. If the process dies first, the next step checks again.
      if (this.flushing.has(sessionId)) return;
      const flush = this.makeSpoolsDurable(milestone, 'before telling the officer to undock')
        .then(() => this.afterStep(sessionId, true))
        .catch((error: unknown) => log.warn({ sessionId, err: (error as Error).message }, 'could not make the spool copies durable; the next step of the session tries again'))
        .finally(() => this.flushing.delete(sessionId));
      this.flushing.set(sessionId, flush);
      return;
    }
    if (milestone) {
      const session = await this.session(sessionId);
      if (milestone === 'safe-to-undock') log.info({ sessionId, serial: session.recorderSerial }, 'all files acquired: safe to undock');
      this.deps.onSessionMilestone?.(session, milestone);
      if (milestone === 'done') log.info({ sessionId, serial: session.recorderSerial }, 'session complete');
    }
  }

  // ---- helpers ---------------------------------------------------------------------


  private async session(id: string): Promise<SessionRow> {
    const session = await this.deps.catalog.getSession(id);
    if (!session) throw new UnrecoverableError(`no such session ${id}`);
    return session;
  }

  /**
   * One state change and its custody events, atomically; then mirrored. With `from`, only if
   * the file is still at that stage (false otherwise, and nothing is written): for a step
   * that two jobs of one file may reach at once (a takeover's and the dead owner's).
   */
  private async transition(
    file: FileRow,
    patch: Parameters<CatalogRepository['updateFile']>[2],
    events: Omit<CustodyEventInput, 'actor'> | Array<Omit<CustodyEventInput, 'actor'>>,
    from?: FileRow['stage'],
  ): Promise<boolean> {
    const list = Array.isArray(events) ? events : [events];
    const written = await this.deps.db.transaction(async (tx) => {
      if (from && (await this.deps.catalog.lockFile(tx, file.id))?.stage !== from) return null;
      await this.deps.catalog.updateFile(tx, file.id, patch);
      const out: CustodyEvent[] = [];
      for (const e of list) out.push(await this.deps.ledger.append(tx, this.fileEvent(file, e)));
      return out;
    });
    if (!written) return false;
    await this.deps.ledger.mirror(written);
    return true;
  }

  private async event(file: FileRow, e: Omit<CustodyEventInput, 'actor'>): Promise<void> {
    await this.deps.ledger.record(this.fileEvent(file, e));
  }

  private fileEvent(file: FileRow, e: Omit<CustodyEventInput, 'actor'>): CustodyEventInput {
    return {
      ...e,
      actor: this.actor,
      evidenceId: e.evidenceId ?? file.evidenceId,
      sessionId: file.sessionId,
      fileId: file.id,
    };
  }

  /**
   * The process is stopping (SIGTERM): the copy ended before its next read with what it had
   * spooled made durable, which a resume may trust. The recorder is still docked and the
   * file still `acquiring`, so this is no interruption for the ledger: the job goes back to
   * its queue, and the next process resumes the copy from these bytes (ACQUISITION_RESUMED).
   */
  private async acquisitionStopped(file: FileRow, bytesOnDisk: number): Promise<JobStatus> {
    await this.deps.catalog.updateFile(this.deps.db, file.id, { bytesAcquired: bytesOnDisk });
    log.info({ fileId: file.id, serial: file.recorderSerial, bytesOnDisk }, 'acquisition stopped: this process is stopping; it resumes from the spool');
    return JobStatus.Stopped;
  }

  private async interrupt(file: FileRow, bytesOnDisk: number, reason: string): Promise<JobStatus> {
    await this.transition(file, { stage: 'interrupted', bytesAcquired: bytesOnDisk, error: reason }, {
      type: 'ACQUISITION_INTERRUPTED',
      details: { bytesOnDisk, size: file.size, reason },
    });
    log.warn({ fileId: file.id, serial: file.recorderSerial, bytesOnDisk, reason }, 'acquisition interrupted; resumes at next docking');
    await this.afterStep(file.sessionId);
    return JobStatus.Interrupted;
  }

  /** fsyncs the spool copies of acquired files and records them as durable (what a resume may trust). */
  private async makeSpoolsDurable(files: FileRow[], when: string): Promise<number> {
    let synced = 0;
    for (const f of files) {
      // Gone: stored and removed meanwhile, so its durability no longer matters.
      if (!(await this.deps.spool.sync(f.fingerprint))) continue;
      await this.deps.catalog.updateFile(this.deps.db, f.id, { bytesAcquired: f.size });
      synced += 1;
    }
    log.info({ sessionId: files[0]!.sessionId, serial: files[0]!.recorderSerial, files: synced }, `spool copies made durable ${when}`);
    return synced;
  }

  /**
   * The spool holds less than acquire put there: a power cut took what was not yet on disk
   * (acquire does not wait for the disk), or someone removed it. The recorder still holds the
   * recording (nothing is cleared before its stored copy is verified), so the file is
   * acquired again from what a checkpoint made durable, and must hash as it did before.
   */
  private async spoolShort(file: FileRow, spooled: number, payload: FileJobPayload): Promise<JobStatus> {
    const trusted = Math.min(spooled, file.bytesAcquired);
    this.seals.delete(file.id);
    await this.transition(file, { stage: 'queued', bytesAcquired: trusted, error: null }, {
      type: 'ACQUISITION_INTERRUPTED',
      details: { bytesOnDisk: trusted, size: file.size, reason: `the spool holds ${spooled} of the ${file.size} bytes acquired` },
    });
    log.warn({ fileId: file.id, serial: file.recorderSerial, spooledBytes: spooled, fromByte: trusted }, 'spool lost part of an acquired recording (power cut?): acquiring it again');
    await this.deps.queue.enqueue(JobName.Acquire, { ...payload, generation: String((Number(payload.generation) || 0) + 1) });
    return JobStatus.Interrupted;
  }

  /**
   * Acquired again (spoolShort), the recording hashed differently: the spooled prefix it
   * resumed from, or the first read, cannot be trusted. Everything is discarded and the
   * recording read again from its first byte, as a first acquisition.
   */
  private async reacquiredDiffers(file: FileRow, resumedFrom: number, sha256: string): Promise<never> {
    await this.deps.spool.remove(file.fingerprint);
    await this.transition(file, { stage: 'queued', bytesAcquired: 0, sha256: null, sm3: null, evidenceId: null, error: 'acquired again with another hash' }, {
      type: 'HASH_MISMATCH',
      details: { where: 'reacquire', acquired: file.sha256, read: sha256, resumedFromByte: resumedFrom },
    });
    throw new ReacquiredMismatchError(file.displayPath, `SHA-256 ${file.sha256} before, ${sha256} now, resumed from byte ${resumedFrom}`);
  }

  /**
   * The recording changed or shrank under us: the spooled bytes mix two versions and are
   * discarded. The file row takes the recording's current size and time, so the retry
   * copies the version that is there now; if it keeps changing, retries run out and the
   * file fails — and is never cleared.
   */
  private async unstable(file: FileRow, volume: RecorderVolume, detail: string): Promise<never> {
    await this.deps.spool.remove(file.fingerprint);
    const now = await volume.stat(file.rawPath);
    const patch = now
      ? { size: now.size, mtimeMs: now.mtimeMs, fingerprint: fingerprintOf(file.recorderSerial, file.rawPath, now.size, now.mtimeMs) }
      : {};
    await this.transition(file, { stage: 'queued', bytesAcquired: 0, error: `unstable: ${detail}`, ...patch }, {
      type: 'HASH_MISMATCH',
      details: { where: 'recorder', detail, sizeNow: now?.size ?? null },
    });
    throw new UnstableSourceError(file.displayPath, detail);
  }

  /**
   * What an existing object must report if it holds the spooled bytes: its CRC32 checksum
   * when it has one (uploads with minio.uploadChecksum crc32), else its ETag.
   */
  private async proofOfSpool(file: FileRow, existing: StoredObject): Promise<{ by: UploadProofKind; expected: string; reported: string | null }> {
    const partSize = this.deps.config.minio.partSizeMiB * 1024 * 1024;
    const by: UploadProofKind = existing.checksum?.startsWith('crc32:') ? 'checksum' : 'etag';
    const accumulator = by === 'checksum' ? new Crc32PartAccumulator(partSize) : new EtagAccumulator(partSize);
    const hash = createHash('sha256');
    for await (const chunk of this.deps.spool.read(file.fingerprint) as AsyncIterable<Buffer>) {
      accumulator.update(chunk);
      hash.update(chunk);
    }
    if (hash.digest('hex') !== file.sha256) throw new StoredCopyMismatchError(originalKey(file.sha256!), 'spool no longer matches the acquired SHA-256');
    return { by, expected: accumulator.digest(), reported: proofValue(existing, by) };
  }

  private async lastStoredEtag(file: FileRow): Promise<string | null> {
    const events = await this.deps.ledger.eventsFor({ fileIds: [file.id] });
    const verified = events.filter((e) => e.type === 'VERIFIED').pop();
    return (verified?.details.etag as string | undefined) ?? null;
  }

  private async clearBlocker(file: FileRow): Promise<string | null> {
    if (!file.sha256 || !file.verifiedAt || !file.evidenceId) return 'no verified copy recorded';
    const events = await this.deps.ledger.eventsFor({ fileIds: [file.id] });
    const verified = events.find((e) => e.type === 'VERIFIED' && e.details.sha256 === file.sha256);
    if (!verified) return 'no VERIFIED custody event for these bytes';
    const stored = await this.deps.objects.stat('originals', originalKey(file.sha256));
    if (!stored) return 'stored copy is missing';
    if (stored.etag !== verified.details.etag || stored.size !== file.size) return 'stored copy differs from the verified one';
    const evidence = await this.deps.catalog.getEvidence(file.evidenceId);
    if (!evidence || evidence.sha256 !== file.sha256) return 'evidence not catalogued';
    return null;
  }
}

function verifiedDetails(key: string, etag: string, proof: UploadProofKind, expected: string, sha256: string): { [k: string]: JsonValue } {
  return {
    key,
    // The server's ETag, recorded whatever the proof: `verify` and clearing compare it to notice a replaced object.
    etag,
    proof,
    expected,
    sha256,
    method:
      proof === 'checksum'
        ? "server CRC32 checksum, which the server checked part by part on receipt, equals the checksum of the bytes sent, which hash to the acquired SHA-256"
        : 'server ETag equals the ETag of the bytes sent, which hash to the acquired SHA-256',
  };
}

type CaptureFields = Pick<
  EvidenceRow,
  'officerId' | 'officerName' | 'unitId' | 'caseNumbers' | 'subject' | 'place' | 'captureStart' | 'captureEnd' | 'captureTimeSource' | 'flags'
>;

/**
 * The five fields the rules require (case, time, place, collector, subject), from what is
 * known at ingest: the docking's defaults, the registry, the recorder, the file name.
 * Missing ones are flagged so a custodian sees and fills them, never guessed.
 */
export function captureFields(file: FileRow, session: SessionRow, registration: RecorderRegistration | undefined, timeZone: string): CaptureFields {
  const flags: string[] = [];
  const officerId = session.defaults.officerId ?? registration?.officerId ?? session.identity.officerId ?? file.parsed?.officerId ?? null;
  const officerName = registration?.officerName ?? session.identity.officerName ?? null;
  const unitId = registration?.unitId ?? session.identity.unitId ?? null;
  if (!registration) flags.push('unregistered');
  const caseNumbers = session.defaults.caseNumbers ?? [];
  if (caseNumbers.length === 0) flags.push('missing-case');
  const subject = session.defaults.subject ?? null;
  if (!subject) flags.push('missing-subject');
  const place = session.defaults.place ?? null;
  if (!place) flags.push('missing-place');
  if (!officerId) flags.push('missing-collector');
  if (file.size === 0) flags.push('empty-file');

  let captureStart: Date | null = null;
  let captureTimeSource: string | null = null;
  if (file.parsed?.startLocal) {
    captureStart = zonedLocalToUtc(file.parsed.startLocal, timeZone);
    captureTimeSource = 'file-name';
  }
  const captureEnd = new Date(file.mtimeMs);
  if (!captureStart) {
    captureStart = captureEnd;
    captureTimeSource = 'file-time';
  }
  if (captureStart.getTime() > captureEnd.getTime() + 60_000) flags.push('clock-suspect');
  if (session.clockOffsetMs !== null && Math.abs(session.clockOffsetMs) > 60_000) flags.push('clock-offset');
  return { officerId, officerName, unitId, caseNumbers, subject, place, captureStart, captureEnd, captureTimeSource, flags };
}

function baseName(displayPath: string): string {
  const i = displayPath.lastIndexOf('/');
  return i >= 0 ? displayPath.slice(i + 1) : displayPath;
}

function asciiSafe(value: string): string {
  return value.replace(/[^\x20-\x7e]/g, '?');
}

function isDeviceGone(error: unknown): boolean {
  const cause = error instanceof CopyInterruptedError ? (error.cause as NodeJS.ErrnoException) : (error as NodeJS.ErrnoException);
  // ETIMEDOUT: the recorder stopped answering (CopyRequest.stallMs); re-plugging it usually helps.
  return ['ENOENT', 'EIO', 'ENODEV', 'ENXIO', 'ESHUTDOWN', 'ETIMEDOUT'].includes(cause?.code ?? '') || cause instanceof RecordingGoneError;
}

/** A copy or upload that ended because the job's process is stopping (its signal was aborted). */
function isStopped(error: unknown): boolean {
  const cause = error instanceof CopyInterruptedError ? error.cause : error;
  return (cause as Error)?.name === 'AbortError';
}

function isDiskFull(error: unknown): boolean {
  const cause = error instanceof CopyInterruptedError ? (error.cause as NodeJS.ErrnoException) : (error as NodeJS.ErrnoException);
  return cause?.code === 'ENOSPC' || cause?.code === 'EDQUOT';
}

function describe(error: unknown): string {
  const cause = error instanceof CopyInterruptedError ? error.cause : error;
  return (cause as Error)?.message ?? String(cause);
}
