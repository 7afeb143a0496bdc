import type { RecorderRegistration } from '../config/config.schema.ts';
import type { MediaKind, ParsedRecordingName, RecorderIdentity, SkippedEntry } from '../drivers/recorder.driver.ts';
import type { Queryable } from './postgres.database.ts';

/**
 * The catalog: the queryable projection of what the ledger says. Every write that changes
 * evidence goes through a transaction that also appends the custody event saying why.
 */

export type SessionStatus = 'acquiring' | 'acquired' | 'done' | 'interrupted' | 'failed';

/**
 * A file's place in the pipeline. `queued → acquiring → acquired → stored → recorded →
 * cleared | kept`; `interrupted` waits for the recorder to return; `failed` needs a person.
 */
export type FileStage =
  | 'queued'
  | 'acquiring'
  | 'acquired'
  | 'stored'
  | 'recorded'
  | 'cleared'
  | 'kept'
  | 'interrupted'
  | 'failed'
  | 'skipped'
  | 'superseded';

/** Stages whose file has been read off the recorder in full (the dock board's progress). */
export const READ_STAGES: readonly FileStage[] = ['acquired', 'stored', 'recorded', 'cleared', 'kept'];

/** `superseded`: an interrupted file whose recording was docked again in a later session. */
export const TERMINAL_STAGES: readonly FileStage[] = ['cleared', 'kept', 'failed', 'skipped', 'superseded'];
/** Stages from which the recorder may be undocked: the bytes are safe in the spool or beyond. */
export const SAFE_TO_UNDOCK_STAGES: readonly FileStage[] = ['acquired', 'stored', 'recorded', 'cleared', 'kept', 'failed', 'skipped', 'superseded'];

export interface SessionDefaults {
  caseNumbers?: string[];
  subject?: string;
  place?: string;
  officerId?: string;
  clearAfterVerified?: boolean;
}

export interface SessionRow {
  id: string;
  workstationId: string;
  recorderSerial: string;
  driver: string;
  mountPath: string;
  identity: RecorderIdentity;
  defaults: SessionDefaults;
  clockOffsetMs: number | null;
  status: SessionStatus;
  fileCount: number;
  skipped: SkippedEntry[];
  gaps: unknown[];
  startedAt: Date;
  acquiredAt: Date | null;
  finishedAt: Date | null;
  /** The process running this docking's device jobs (session-lease.ts); null until one claims it. */
  owner: string | null;
  /** Whether the owner's claim has run out, by the database's clock (one clock for every host). */
  leaseLapsed: boolean;
}

export interface FileRow {
  id: string;
  sessionId: string;
  recorderSerial: string;
  rawPath: Buffer;
  displayPath: string;
  size: number;
  mtimeMs: number;
  kind: MediaKind;
  parsed: ParsedRecordingName | null;
  fingerprint: string;
  stage: FileStage;
  bytesAcquired: number;
  sha256: string | null;
  sm3: string | null;
  evidenceId: string | null;
  duplicate: boolean;
  error: string | null;
  attempts: number;
  /** Another docking's file that is ingesting this same recording: its outcome is this file's. */
  handledBy: string | null;
  acquiredAt: Date | null;
  storedAt: Date | null;
  verifiedAt: Date | null;
  recordedAt: Date | null;
  clearedAt: Date | null;
}

export interface EvidenceRow {
  id: string;
  sha256: string;
  sm3: string | null;
  size: number;
  mediaType: MediaKind;
  objectKey: string;
  objectVersion: string | null;
  objectEtag: string;
  originalName: string;
  originalPath: string;
  recorderSerial: string;
  officerId: string | null;
  officerName: string | null;
  unitId: string | null;
  caseNumbers: string[];
  subject: string | null;
  place: string | null;
  captureStart: Date | null;
  captureEnd: Date | null;
  captureTimeSource: string | null;
  firstSessionId: string;
  acquiredAt: Date;
  verifiedAt: Date;
  recordedAt: Date;
  transferDelaySeconds: number | null;
  transferDeadline: Date | null;
  transferLate: boolean | null;
  flags: string[];
  media: MediaFacts;
}

/** `pending` until the metadata job ran; `unplayable` and `partial` say what failed in mediaProblem. */
export type MediaStatus = 'pending' | 'ok' | 'partial' | 'unplayable' | 'failed' | 'not-media';

export interface MediaFacts {
  status: MediaStatus;
  problem: string | null;
  durationSeconds: number | null;
  container: string | null;
  videoCodec: string | null;
  audioCodec: string | null;
  width: number | null;
  height: number | null;
  frameRate: number | null;
  rotation: number | null;
  gpsLatitude: number | null;
  gpsLongitude: number | null;
  deviceMake: string | null;
  deviceModel: string | null;
  deviceSerial: string | null;
}

/** What is known of an item's media before the metadata job has run. */
export const PENDING_MEDIA: Readonly<MediaFacts> = {
  status: 'pending',
  problem: null,
  durationSeconds: null,
  container: null,
  videoCodec: null,
  audioCodec: null,
  width: null,
  height: null,
  frameRate: null,
  rotation: null,
  gpsLatitude: null,
  gpsLongitude: null,
  deviceMake: null,
  deviceModel: null,
  deviceSerial: null,
};

export interface DerivativeRow {
  id: string;
  evidenceId: string;
  kind: string;
  objectKey: string;
  contentType: string;
  sha256: string;
  size: number;
  partial: boolean;
  width: number | null;
  height: number | null;
  durationSeconds: number | null;
  tool: string;
  toolVersion: string;
  arguments: unknown;
  createdAt: Date;
}

export interface NewFile {
  id: string;
  rawPath: Buffer;
  displayPath: string;
  size: number;
  mtimeMs: number;
  kind: MediaKind;
  parsed: ParsedRecordingName | null;
  fingerprint: string;
  stage: FileStage;
  /** Bytes already checkpointed in the spool by an interrupted earlier docking. */
  bytesAcquired: number;
  handledBy?: string | null;
}

export interface SearchFilter {
  caseNumber?: string;
  officerId?: string;
  serial?: string;
  from?: Date;
  to?: Date;
  /** Items carrying this flag (`missing-case`, `unregistered`, `clock-suspect`, …): a custodian's worklist. */
  flag?: string;
  /** Only items transferred after their deadline. */
  late?: boolean;
  unitId?: string;
  /** Words in the subject or place (case-insensitive substring). */
  subject?: string;
  place?: string;
  mediaType?: MediaKind;
  /**
   * What the caller may see (the archive server): items of these units, the recordings of
   * this officer, items with these ids, of these cases in these units (approved requests),
   * and with `unassigned`, items no unit claims. Absent: everything (a workstation's CLI).
   */
  scope?: {
    unitIds: readonly string[];
    unassigned: boolean;
    officerId: string | null;
    /** With officerId: only its own recordings (and the approved ids), not its colleagues'. */
    ownOnly: boolean;
    evidenceIds: readonly string[];
    cases: ReadonlyArray<{ caseNumber: string; unitIds: readonly string[] }>;
  };
  /** Resume after this item of the previous page (capture order). */
  after?: { captureStart: Date | null; id: string };
  limit?: number;
}

/** Session columns, with whether the lease ran out by the database's clock. */
const SESSION = `*, (lease_until IS NULL OR lease_until < now()) AS lease_lapsed`;
const OPEN_SESSION = `status IN ('acquiring', 'acquired', 'interrupted')`;

/** Newest capture first, items without a capture time last (004-archive.sql indexes it). */
const CAPTURE_ORDER = `coalesce(capture_start, '-infinity'::timestamptz)`;
const likeEscape = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function toRegistration(r: Record<string, unknown>): RecorderRegistration {
  const reg: RecorderRegistration = { serial: r.serial as string };
  if (r.officer_id) reg.officerId = r.officer_id as string;
  if (r.officer_name) reg.officerName = r.officer_name as string;
  if (r.unit_id) reg.unitId = r.unit_id as string;
  if (r.unit_name) reg.unitName = r.unit_name as string;
  return reg;
}

function toSession(r: Record<string, unknown>): SessionRow {
  return {
    id: r.id as string,
    workstationId: r.workstation_id as string,
    recorderSerial: r.recorder_serial as string,
    driver: r.driver as string,
    mountPath: r.mount_path as string,
    identity: r.identity as RecorderIdentity,
    defaults: r.defaults as SessionDefaults,
    clockOffsetMs: numOrNull(r.clock_offset_ms),
    status: r.status as SessionStatus,
    fileCount: num(r.file_count),
    skipped: r.skipped as SkippedEntry[],
    gaps: r.gaps as unknown[],
    startedAt: r.started_at as Date,
    acquiredAt: (r.acquired_at as Date | null) ?? null,
    finishedAt: (r.finished_at as Date | null) ?? null,
    owner: (r.owner as string | null) ?? null,
    leaseLapsed: r.lease_lapsed === true,
  };
}

function toFile(r: Record<string, unknown>): FileRow {
  return {
    id: r.id as string,
    sessionId: r.session_id as string,
    recorderSerial: r.recorder_serial as string,
    rawPath: r.raw_path as Buffer,
    displayPath: r.display_path as string,
    size: num(r.size),
    mtimeMs: num(r.mtime_ms),
    kind: r.kind as MediaKind,
    parsed: (r.parsed as ParsedRecordingName | null) ?? null,
    fingerprint: r.fingerprint as string,
    stage: r.stage as FileStage,
    bytesAcquired: num(r.bytes_acquired),
    sha256: (r.sha256 as string | null) ?? null,
    sm3: (r.sm3 as string | null) ?? null,
    evidenceId: (r.evidence_id as string | null) ?? null,
    duplicate: r.duplicate as boolean,
    error: (r.error as string | null) ?? null,
    attempts: num(r.attempts),
    handledBy: (r.handled_by as string | null) ?? null,
    acquiredAt: (r.acquired_at as Date | null) ?? null,
    storedAt: (r.stored_at as Date | null) ?? null,
    verifiedAt: (r.verified_at as Date | null) ?? null,
    recordedAt: (r.recorded_at as Date | null) ?? null,
    clearedAt: (r.cleared_at as Date | null) ?? null,
  };
}

function toEvidence(r: Record<string, unknown>): EvidenceRow {
  return {
    id: r.id as string,
    sha256: r.sha256 as string,
    sm3: (r.sm3 as string | null) ?? null,
    size: num(r.size),
    mediaType: r.media_type as MediaKind,
    objectKey: r.object_key as string,
    objectVersion: (r.object_version as string | null) ?? null,
    objectEtag: r.object_etag as string,
    originalName: r.original_name as string,
    originalPath: r.original_path as string,
    recorderSerial: r.recorder_serial as string,
    officerId: (r.officer_id as string | null) ?? null,
    officerName: (r.officer_name as string | null) ?? null,
    unitId: (r.unit_id as string | null) ?? null,
    caseNumbers: (r.case_numbers as string[]) ?? [],
    subject: (r.subject as string | null) ?? null,
    place: (r.place as string | null) ?? null,
    captureStart: (r.capture_start as Date | null) ?? null,
    captureEnd: (r.capture_end as Date | null) ?? null,
    captureTimeSource: (r.capture_time_source as string | null) ?? null,
    firstSessionId: r.first_session_id as string,
    acquiredAt: r.acquired_at as Date,
    verifiedAt: r.verified_at as Date,
    recordedAt: r.recorded_at as Date,
    transferDelaySeconds: numOrNull(r.transfer_delay_seconds),
    transferDeadline: (r.transfer_deadline as Date | null) ?? null,
    transferLate: (r.transfer_late as boolean | null) ?? null,
    flags: (r.flags as string[]) ?? [],
    media: {
      status: ((r.media_status as string | undefined) ?? 'pending') as MediaStatus,
      problem: (r.media_problem as string | null) ?? null,
      durationSeconds: numOrNull(r.duration_seconds),
      container: (r.container as string | null) ?? null,
      videoCodec: (r.video_codec as string | null) ?? null,
      audioCodec: (r.audio_codec as string | null) ?? null,
      width: numOrNull(r.width),
      height: numOrNull(r.height),
      frameRate: numOrNull(r.frame_rate),
      rotation: numOrNull(r.rotation),
      gpsLatitude: numOrNull(r.gps_latitude),
      gpsLongitude: numOrNull(r.gps_longitude),
      deviceMake: (r.device_make as string | null) ?? null,
      deviceModel: (r.device_model as string | null) ?? null,
      deviceSerial: (r.device_serial as string | null) ?? null,
    },
  };
}

function toDerivative(r: Record<string, unknown>): DerivativeRow {
  return {
    id: r.id as string,
    evidenceId: r.evidence_id as string,
    kind: r.kind as string,
    objectKey: r.object_key as string,
    contentType: r.content_type as string,
    sha256: r.sha256 as string,
    size: num(r.size),
    partial: r.partial as boolean,
    width: numOrNull(r.width),
    height: numOrNull(r.height),
    durationSeconds: numOrNull(r.duration_seconds),
    tool: r.tool as string,
    toolVersion: r.tool_version as string,
    arguments: r.arguments,
    createdAt: r.created_at as Date,
  };
}

const MEDIA_COLUMNS: Record<keyof MediaFacts, string> = {
  status: 'media_status',
  problem: 'media_problem',
  durationSeconds: 'duration_seconds',
  container: 'container',
  videoCodec: 'video_codec',
  audioCodec: 'audio_codec',
  width: 'width',
  height: 'height',
  frameRate: 'frame_rate',
  rotation: 'rotation',
  gpsLatitude: 'gps_latitude',
  gpsLongitude: 'gps_longitude',
  deviceMake: 'device_make',
  deviceModel: 'device_model',
  deviceSerial: 'device_serial',
};

export class CatalogRepository {
  constructor(private readonly db: Queryable) {}

  // ---- recorders -------------------------------------------------------------------

  async upsertRecorder(tx: Queryable, identity: RecorderIdentity, registered: boolean): Promise<void> {
    await tx.query(
      `INSERT INTO recorders (serial, vendor, model, officer_id, officer_name, unit_id, unit_name, registered)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (serial) DO UPDATE SET
         vendor = COALESCE(EXCLUDED.vendor, recorders.vendor), model = COALESCE(EXCLUDED.model, recorders.model),
         officer_id = COALESCE(EXCLUDED.officer_id, recorders.officer_id),
         officer_name = COALESCE(EXCLUDED.officer_name, recorders.officer_name),
         unit_id = COALESCE(EXCLUDED.unit_id, recorders.unit_id), unit_name = COALESCE(EXCLUDED.unit_name, recorders.unit_name),
         registered = EXCLUDED.registered OR recorders.registered, last_seen_at = now()`,
      [identity.serial, identity.vendor, identity.model, identity.officerId, identity.officerName, identity.unitId, identity.unitName, registered],
    );
  }

  // ---- the recorder registry ---------------------------------------------------------

  /** The registration of a recorder: whose it is, and which unit's. Null when not registered. */
  async registration(serial: string, tx: Queryable = this.db): Promise<RecorderRegistration | null> {
    const r = await tx.query(`SELECT * FROM recorders WHERE serial = $1 AND registered AND removed_at IS NULL`, [serial]);
    return r.rows[0] ? toRegistration(r.rows[0]) : null;
  }

  async registeredRecorders(): Promise<Array<RecorderRegistration & { registeredBy: string | null; registeredAt: Date | null; lastSeenAt: Date }>> {
    const r = await this.db.query(`SELECT * FROM recorders WHERE registered AND removed_at IS NULL ORDER BY serial`);
    return r.rows.map((row) => ({ ...toRegistration(row), registeredBy: (row.registered_by as string | null) ?? null, registeredAt: (row.registered_at as Date | null) ?? null, lastSeenAt: row.last_seen_at as Date }));
  }

  /** Registers (or re-registers) a recorder to an officer and unit. */
  async register(tx: Queryable, reg: RecorderRegistration, by: string): Promise<void> {
    await tx.query(
      `INSERT INTO recorders (serial, officer_id, officer_name, unit_id, unit_name, registered, registered_by, registered_at)
       VALUES ($1, $2, $3, $4, $5, true, $6, now())
       ON CONFLICT (serial) DO UPDATE SET officer_id = EXCLUDED.officer_id, officer_name = EXCLUDED.officer_name, unit_id = EXCLUDED.unit_id,
         unit_name = EXCLUDED.unit_name, registered = true, registered_by = EXCLUDED.registered_by, registered_at = now(), removed_at = NULL`,
      [reg.serial, reg.officerId ?? null, reg.officerName ?? null, reg.unitId ?? null, reg.unitName ?? null, by],
    );
  }

  async unregister(tx: Queryable, serial: string): Promise<boolean> {
    const r = await tx.query(`UPDATE recorders SET registered = false, removed_at = now() WHERE serial = $1 AND registered AND removed_at IS NULL`, [serial]);
    return (r.rowCount ?? 0) > 0;
  }

  /**
   * The config file's registrations, taken into the registry once: a recorder the registry
   * has ever registered or removed is left as the registry has it. Returns the serials taken.
   */
  async importRegistrations(regs: readonly RecorderRegistration[]): Promise<string[]> {
    const taken: string[] = [];
    for (const reg of regs) {
      const r = await this.db.query(
        `INSERT INTO recorders (serial, officer_id, officer_name, unit_id, unit_name, registered, registered_by, registered_at)
         VALUES ($1, $2, $3, $4, $5, true, 'config', now())
         ON CONFLICT (serial) DO UPDATE SET officer_id = EXCLUDED.officer_id, officer_name = EXCLUDED.officer_name, unit_id = EXCLUDED.unit_id,
           unit_name = EXCLUDED.unit_name, registered = true, registered_by = 'config', registered_at = now()
         WHERE recorders.registered_at IS NULL AND recorders.removed_at IS NULL`,
        [reg.serial, reg.officerId ?? null, reg.officerName ?? null, reg.unitId ?? null, reg.unitName ?? null],
      );
      if ((r.rowCount ?? 0) > 0) taken.push(reg.serial);
    }
    return taken;
  }

  // ---- sessions --------------------------------------------------------------------

  async createSession(
    tx: Queryable,
    s: Pick<SessionRow, 'id' | 'workstationId' | 'recorderSerial' | 'driver' | 'mountPath' | 'identity' | 'defaults' | 'clockOffsetMs' | 'skipped' | 'gaps' | 'owner'> & {
      fileCount: number;
      /** The claim holds this long from now, owner or not: a docking handed to a daemon is not free for the taking before the daemon claims it. */
      leaseSeconds: number;
    },
  ): Promise<void> {
    await tx.query(
      `INSERT INTO dock_sessions (id, workstation_id, recorder_serial, driver, mount_path, identity, defaults, clock_offset_ms, status, file_count, skipped, gaps, owner, lease_until)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'acquiring', $9, $10, $11, $12, now() + make_interval(secs => $13))`,
      [
        s.id, s.workstationId, s.recorderSerial, s.driver, s.mountPath, JSON.stringify(s.identity), JSON.stringify(s.defaults), s.clockOffsetMs,
        s.fileCount, JSON.stringify(s.skipped), JSON.stringify(s.gaps), s.owner, s.leaseSeconds,
      ],
    );
  }

  async getSession(id: string, tx: Queryable = this.db): Promise<SessionRow | null> {
    const r = await tx.query(`SELECT ${SESSION} FROM dock_sessions WHERE id = $1`, [id]);
    return r.rows[0] ? toSession(r.rows[0]) : null;
  }

  /** Locks a session row for the rest of the transaction (a takeover decides on what it saw). */
  async lockSession(tx: Queryable, id: string): Promise<SessionRow | null> {
    const r = await tx.query(`SELECT ${SESSION} FROM dock_sessions WHERE id = $1 FOR UPDATE`, [id]);
    return r.rows[0] ? toSession(r.rows[0]) : null;
  }

  /**
   * Renews the claims of `owner` on its open sessions of this workstation, and claims the open
   * ones nobody has claimed yet (dockings an import handed to the daemon). Returns how many
   * sessions it holds now.
   */
  async renewLeases(workstationId: string, owner: string, seconds: number): Promise<number> {
    const r = await this.db.query(
      `UPDATE dock_sessions SET owner = $2, lease_until = now() + make_interval(secs => $3)
        WHERE workstation_id = $1 AND ${OPEN_SESSION} AND (owner = $2 OR owner IS NULL)`,
      [workstationId, owner, seconds],
    );
    return r.rowCount ?? 0;
  }

  /** Makes `owner` the holder of a session this transaction has locked. */
  async claimSession(tx: Queryable, id: string, owner: string, seconds: number): Promise<void> {
    await tx.query(`UPDATE dock_sessions SET owner = $2, lease_until = now() + make_interval(secs => $3) WHERE id = $1`, [id, owner, seconds]);
  }

  async setSessionStatus(tx: Queryable, id: string, status: SessionStatus): Promise<void> {
    await tx.query(
      `UPDATE dock_sessions SET status = $2,
         acquired_at = CASE WHEN $2 IN ('acquired', 'done') THEN COALESCE(acquired_at, now()) ELSE acquired_at END,
         finished_at = CASE WHEN $2 IN ('done', 'failed') THEN COALESCE(finished_at, now()) ELSE finished_at END
       WHERE id = $1`,
      [id, status],
    );
  }

  /** Sessions of this workstation that were still working when the process last stopped. */
  async openSessions(workstationId: string): Promise<SessionRow[]> {
    const r = await this.db.query(`SELECT ${SESSION} FROM dock_sessions WHERE workstation_id = $1 AND ${OPEN_SESSION} ORDER BY started_at`, [workstationId]);
    return r.rows.map(toSession);
  }

  async sessionsOfRecorder(serial: string, statuses: SessionStatus[]): Promise<SessionRow[]> {
    const r = await this.db.query(`SELECT ${SESSION} FROM dock_sessions WHERE recorder_serial = $1 AND status = ANY($2) ORDER BY started_at`, [serial, statuses]);
    return r.rows.map(toSession);
  }

  // ---- files -----------------------------------------------------------------------

  async insertFiles(tx: Queryable, sessionId: string, serial: string, files: NewFile[]): Promise<void> {
    for (const f of files) {
      await tx.query(
        `INSERT INTO session_files (id, session_id, recorder_serial, raw_path, display_path, size, mtime_ms, kind, parsed, fingerprint, stage, bytes_acquired, handled_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
        [f.id, sessionId, serial, f.rawPath, f.displayPath, f.size, f.mtimeMs, f.kind, f.parsed ? JSON.stringify(f.parsed) : null, f.fingerprint, f.stage, f.bytesAcquired, f.handledBy ?? null],
      );
    }
  }

  async getFile(id: string, tx: Queryable = this.db): Promise<FileRow | null> {
    const r = await tx.query('SELECT * FROM session_files WHERE id = $1', [id]);
    return r.rows[0] ? toFile(r.rows[0]) : null;
  }

  /** Locks the row for the rest of the transaction: one worker moves a file at a time. */
  async lockFile(tx: Queryable, id: string): Promise<FileRow | null> {
    const r = await tx.query('SELECT * FROM session_files WHERE id = $1 FOR UPDATE', [id]);
    return r.rows[0] ? toFile(r.rows[0]) : null;
  }

  /**
   * How many files of a session are at each stage, and how many of those are duplicates.
   * The session milestones need only this; loading every row instead made each file's step
   * cost O(files in the session), so a recorder of 10,000 small files took O(n²).
   */
  async stageCounts(sessionId: string, tx: Queryable = this.db): Promise<Map<string, { files: number; duplicates: number }>> {
    const r = await tx.query<{ stage: string; files: string; duplicates: string }>(
      'SELECT stage, count(*) AS files, count(*) FILTER (WHERE duplicate) AS duplicates FROM session_files WHERE session_id = $1 GROUP BY stage',
      [sessionId],
    );
    return new Map(r.rows.map((row) => [row.stage, { files: Number(row.files), duplicates: Number(row.duplicates) }]));
  }

  /** Files by id (the files other dockings' files are handled by). */
  async filesById(ids: readonly string[], tx: Queryable = this.db): Promise<Map<string, FileRow>> {
    if (ids.length === 0) return new Map();
    const r = await tx.query('SELECT * FROM session_files WHERE id = ANY($1::uuid[])', [ids]);
    return new Map(r.rows.map((row) => [row.id as string, toFile(row)]));
  }

  /** Files of other dockings that wait on this one's outcome (handledBy), with their dockings. */
  async followersOf(tx: Queryable, fileId: string): Promise<Array<{ file: FileRow; session: SessionRow }>> {
    const r = await tx.query(`SELECT * FROM session_files WHERE handled_by = $1 ORDER BY updated_at`, [fileId]);
    const out = [];
    for (const row of r.rows) {
      const file = toFile(row);
      out.push({ file, session: (await this.getSession(file.sessionId, tx))! });
    }
    return out;
  }

  async filesOfSession(sessionId: string, tx: Queryable = this.db): Promise<FileRow[]> {
    const r = await tx.query('SELECT * FROM session_files WHERE session_id = $1 ORDER BY display_path', [sessionId]);
    return r.rows.map(toFile);
  }

  async updateFile(
    tx: Queryable,
    id: string,
    patch: Partial<Pick<FileRow, 'stage' | 'size' | 'mtimeMs' | 'fingerprint' | 'bytesAcquired' | 'sha256' | 'sm3' | 'evidenceId' | 'duplicate' | 'error' | 'acquiredAt' | 'storedAt' | 'verifiedAt' | 'recordedAt' | 'clearedAt'>> & {
      addAttempt?: boolean;
    },
  ): Promise<void> {
    const columns: Record<string, string> = {
      stage: 'stage',
      size: 'size',
      mtimeMs: 'mtime_ms',
      fingerprint: 'fingerprint',
      bytesAcquired: 'bytes_acquired',
      sha256: 'sha256',
      sm3: 'sm3',
      evidenceId: 'evidence_id',
      duplicate: 'duplicate',
      error: 'error',
      acquiredAt: 'acquired_at',
      storedAt: 'stored_at',
      verifiedAt: 'verified_at',
      recordedAt: 'recorded_at',
      clearedAt: 'cleared_at',
    };
    const sets: string[] = ['updated_at = now()'];
    const values: unknown[] = [id];
    for (const [key, column] of Object.entries(columns)) {
      if (key in patch) {
        values.push((patch as Record<string, unknown>)[key]);
        sets.push(`${column} = $${values.length}`);
      }
    }
    if (patch.addAttempt) sets.push('attempts = attempts + 1');
    await tx.query(`UPDATE session_files SET ${sets.join(', ')} WHERE id = $1`, values);
  }

  /** Files of earlier dockings of this recorder: what the recorder has already handed over. */
  async priorFilesOfRecorder(serial: string, excludeSessionId: string): Promise<FileRow[]> {
    const r = await this.db.query(
      `SELECT DISTINCT ON (fingerprint) * FROM session_files
        WHERE recorder_serial = $1 AND session_id <> $2 ORDER BY fingerprint, updated_at DESC`,
      [serial, excludeSessionId],
    );
    return r.rows.map(toFile);
  }

  /**
   * Files of the same recording (fingerprint) in other sessions that are not finished:
   * a re-dock while the previous session is still running must not start a second copy.
   */
  async liveFilesWithFingerprint(fingerprint: string, excludeSessionId: string, tx: Queryable = this.db, lock = false): Promise<FileRow[]> {
    const r = await tx.query(
      `SELECT * FROM session_files WHERE fingerprint = $1 AND session_id <> $2
         AND stage IN ('queued', 'acquiring', 'acquired', 'stored', 'recorded') ORDER BY updated_at DESC${lock ? ' FOR UPDATE' : ''}`,
      [fingerprint, excludeSessionId],
    );
    return r.rows.map(toFile);
  }

  // ---- evidence --------------------------------------------------------------------

  /** Inserts the evidence row, or returns the existing one for the same bytes. */
  async insertEvidence(tx: Queryable, e: Omit<EvidenceRow, 'recordedAt' | 'media'>): Promise<{ created: boolean; row: EvidenceRow }> {
    const r = await tx.query(
      `INSERT INTO evidence (id, sha256, sm3, size, media_type, object_key, object_version, object_etag, original_name, original_path,
         recorder_serial, officer_id, officer_name, unit_id, case_numbers, subject, place, capture_start, capture_end, capture_time_source,
         first_session_id, acquired_at, verified_at, transfer_delay_seconds, transfer_deadline, transfer_late, flags)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$26,$27)
       ON CONFLICT (sha256) DO NOTHING RETURNING *`,
      [
        e.id, e.sha256, e.sm3, e.size, e.mediaType, e.objectKey, e.objectVersion, e.objectEtag, e.originalName, e.originalPath,
        e.recorderSerial, e.officerId, e.officerName, e.unitId, e.caseNumbers, e.subject, e.place, e.captureStart, e.captureEnd,
        e.captureTimeSource, e.firstSessionId, e.acquiredAt, e.verifiedAt, e.transferDelaySeconds, e.transferDeadline, e.transferLate, e.flags,
      ],
    );
    if (r.rows[0]) return { created: true, row: toEvidence(r.rows[0]) };
    const existing = await tx.query('SELECT * FROM evidence WHERE sha256 = $1', [e.sha256]);
    return { created: false, row: toEvidence(existing.rows[0]!) };
  }

  async getEvidence(id: string, tx: Queryable = this.db): Promise<EvidenceRow | null> {
    const r = await tx.query('SELECT * FROM evidence WHERE id = $1', [id]);
    return r.rows[0] ? toEvidence(r.rows[0]) : null;
  }

  async findEvidenceByPrefix(prefix: string): Promise<EvidenceRow[]> {
    if (!/^[0-9a-f-]{4,36}$/i.test(prefix)) return [];
    const r = await this.db.query(`SELECT * FROM evidence WHERE id::text LIKE $1 || '%' LIMIT 2`, [prefix.toLowerCase()]);
    return r.rows.map(toEvidence);
  }

  async updateEvidenceTags(
    tx: Queryable,
    id: string,
    patch: { caseNumbers?: string[]; subject?: string | null; place?: string | null; officerId?: string | null; flags?: string[] },
  ): Promise<void> {
    await tx.query(
      `UPDATE evidence SET
         case_numbers = COALESCE($2, case_numbers), subject = CASE WHEN $3 THEN $4 ELSE subject END,
         place = CASE WHEN $5 THEN $6 ELSE place END, officer_id = CASE WHEN $7 THEN $8 ELSE officer_id END,
         flags = COALESCE($9, flags)
       WHERE id = $1`,
      [
        id,
        patch.caseNumbers ?? null,
        'subject' in patch,
        patch.subject ?? null,
        'place' in patch,
        patch.place ?? null,
        'officerId' in patch,
        patch.officerId ?? null,
        patch.flags ?? null,
      ],
    );
  }

  /** Media facts, and capture fields that metadata filled (each change also a custody event). */
  async updateEvidenceMedia(
    tx: Queryable,
    id: string,
    patch: Partial<MediaFacts> & { captureStart?: Date | null; captureTimeSource?: string | null; place?: string | null; flags?: string[]; metadata?: unknown },
  ): Promise<void> {
    const sets: string[] = [];
    const values: unknown[] = [id];
    const set = (column: string, value: unknown) => {
      values.push(value);
      sets.push(`${column} = $${values.length}`);
    };
    for (const [key, column] of Object.entries(MEDIA_COLUMNS)) if (key in patch) set(column, (patch as Record<string, unknown>)[key]);
    if ('captureStart' in patch) set('capture_start', patch.captureStart);
    if ('captureTimeSource' in patch) set('capture_time_source', patch.captureTimeSource);
    if ('place' in patch) set('place', patch.place);
    if ('flags' in patch) set('flags', patch.flags);
    if ('metadata' in patch) set('media_metadata', JSON.stringify(patch.metadata));
    if (sets.length === 0) return;
    await tx.query(`UPDATE evidence SET ${sets.join(', ')} WHERE id = $1`, values);
  }

  async insertDerivative(tx: Queryable, d: Omit<DerivativeRow, 'createdAt'>): Promise<void> {
    await tx.query(
      `INSERT INTO derivatives (id, evidence_id, kind, object_key, content_type, sha256, size, partial, width, height, duration_seconds, tool, tool_version, arguments)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
      [d.id, d.evidenceId, d.kind, d.objectKey, d.contentType, d.sha256, d.size, d.partial, d.width, d.height, d.durationSeconds, d.tool, d.toolVersion, JSON.stringify(d.arguments)],
    );
  }

  /** The ffprobe result of the original as the metadata job stored it (media_metadata.probe); null before that job ran. */
  async storedProbe(evidenceId: string): Promise<unknown> {
    const r = await this.db.query(`SELECT media_metadata->'probe' AS probe FROM evidence WHERE id = $1`, [evidenceId]);
    return (r.rows[0]?.probe as unknown) ?? null;
  }

  /** The current derivative of each kind (the newest generation). */
  /** Which of these items have a derivative of this kind (result lists show posters). */
  async derivativeKinds(evidenceIds: readonly string[], kind: string): Promise<Set<string>> {
    if (evidenceIds.length === 0) return new Set();
    const r = await this.db.query<{ evidence_id: string }>('SELECT DISTINCT evidence_id FROM derivatives WHERE evidence_id = ANY($1::uuid[]) AND kind = $2', [evidenceIds, kind]);
    return new Set(r.rows.map((row) => row.evidence_id));
  }

  async derivativesOf(evidenceId: string): Promise<DerivativeRow[]> {
    const r = await this.db.query(
      `SELECT DISTINCT ON (kind) * FROM derivatives WHERE evidence_id = $1 ORDER BY kind, created_at DESC, id`,
      [evidenceId],
    );
    return r.rows.map(toDerivative);
  }

  async search(filter: SearchFilter): Promise<EvidenceRow[]> {
    const where: string[] = [];
    const values: unknown[] = [];
    const param = (value: unknown) => {
      values.push(value);
      return `$${values.length}`;
    };
    const add = (clause: (n: number) => string, value: unknown) => {
      values.push(value);
      where.push(clause(values.length));
    };
    if (filter.caseNumber) add((n) => `case_numbers @> ARRAY[$${n}::text]`, filter.caseNumber);
    if (filter.officerId) add((n) => `officer_id = $${n}`, filter.officerId);
    if (filter.serial) add((n) => `recorder_serial = $${n}`, filter.serial);
    if (filter.from) add((n) => `capture_start >= $${n}`, filter.from);
    if (filter.to) add((n) => `capture_start < $${n}`, filter.to);
    if (filter.flag) add((n) => `flags @> ARRAY[$${n}::text]`, filter.flag);
    if (filter.late) add((n) => `transfer_late = $${n}`, true);
    if (filter.unitId) add((n) => `unit_id = $${n}`, filter.unitId);
    if (filter.mediaType) add((n) => `media_type = $${n}`, filter.mediaType);
    if (filter.subject) add((n) => `subject ILIKE $${n}`, `%${likeEscape(filter.subject)}%`);
    if (filter.place) add((n) => `place ILIKE $${n}`, `%${likeEscape(filter.place)}%`);
    if (filter.scope) {
      const s = filter.scope;
      const any: string[] = [];
      if (s.officerId !== null) any.push(`officer_id = ${param(s.officerId)}`);
      if (!s.ownOnly) {
        any.push(`unit_id = ANY(${param(s.unitIds)}::text[])`);
        if (s.unassigned) any.push('unit_id IS NULL');
      }
      if (s.evidenceIds.length > 0) any.push(`id = ANY(${param(s.evidenceIds)}::uuid[])`);
      for (const c of s.cases) any.push(`(case_numbers @> ARRAY[${param(c.caseNumber)}::text] AND unit_id = ANY(${param(c.unitIds)}::text[]))`);
      where.push(any.length > 0 ? `(${any.join(' OR ')})` : 'false');
    }
    if (filter.after) {
      // Keyset pagination in the order below: a page costs the same however deep it is.
      where.push(`(${CAPTURE_ORDER}, id) < (${param(filter.after.captureStart ?? '-infinity')}::timestamptz, ${param(filter.after.id)}::uuid)`);
    }
    values.push(Math.min(filter.limit ?? 1000, 10000));
    const r = await this.db.query(
      `SELECT * FROM evidence ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${CAPTURE_ORDER} DESC, id DESC LIMIT $${values.length}`,
      values,
    );
    return r.rows.map(toEvidence);
  }

  /** The daemon saw the recorder go: the dock board stops showing it as docked. */
  async markUndocked(sessionId: string): Promise<void> {
    await this.db.query('UPDATE dock_sessions SET undocked_at = now() WHERE id = $1 AND undocked_at IS NULL', [sessionId]);
  }

  /**
   * The dock board: dockings still docked (not undocked, started in the last day) and the most
   * recent others, with each one's files per stage.
   */
  async dockBoard(recent: number): Promise<Array<{ session: SessionRow; undockedAt: Date | null; stages: Record<string, number>; bytes: number; bytesAcquired: number }>> {
    const r = await this.db.query(
      `WITH chosen AS (
         (SELECT id FROM dock_sessions WHERE undocked_at IS NULL AND started_at > now() - interval '1 day')
         UNION (SELECT id FROM dock_sessions ORDER BY started_at DESC LIMIT $1))
       SELECT s.${SESSION}, s.undocked_at AS board_undocked_at,
              coalesce((SELECT jsonb_object_agg(stage, n) FROM (SELECT stage, count(*) AS n FROM session_files f WHERE f.session_id = s.id GROUP BY stage) c), '{}') AS board_stages,
              coalesce((SELECT sum(size) FROM session_files f WHERE f.session_id = s.id), 0) AS board_bytes,
              -- bytes_acquired is what a resume may trust (the spool's durable prefix), not what was read.
              coalesce((SELECT sum(CASE WHEN stage = ANY($2::text[]) THEN size ELSE least(bytes_acquired, size) END) FROM session_files f WHERE f.session_id = s.id), 0) AS board_bytes_acquired
         FROM dock_sessions s JOIN chosen ON chosen.id = s.id ORDER BY s.started_at DESC`,
      [recent, READ_STAGES],
    );
    return r.rows.map((row) => ({
      session: toSession(row),
      undockedAt: (row.board_undocked_at as Date | null) ?? null,
      stages: row.board_stages as Record<string, number>,
      bytes: num(row.board_bytes),
      bytesAcquired: num(row.board_bytes_acquired),
    }));
  }

  async allEvidenceIds(): Promise<string[]> {
    const r = await this.db.query<{ id: string }>('SELECT id FROM evidence ORDER BY recorded_at');
    return r.rows.map((row) => row.id);
  }
}
