import { createHash } from 'node:crypto';
import { PENDING_MEDIA, type DerivativeRow, type EvidenceRow, type MediaStatus, type SessionStatus } from '../storage/catalog.repository.ts';
import type { ActionRow, CaseRow, DocumentRow, MatchRow } from '../storage/case.repository.ts';
import type { PurgeRunRow, RetentionRow, TombstoneRow } from '../storage/retention.repository.ts';
import type { RedactionProjectRow, RedactionVersionRow } from '../storage/redaction.repository.ts';
import type { SuggestionRow, SuggestionRunRow } from '../storage/redaction-suggestion.repository.ts';
import type { RedactionSpec } from './redaction-project.ts';
import type { ShareItemRow, ShareRow } from '../storage/share.repository.ts';
import type { CustodyEvent, JsonValue } from '../storage/custody-chain.ts';
import { originalKey } from '../storage/object-store.ts';
import { FIELD_FLAGS, TAG_CONFLICT_FLAG } from '../workers/docking-link.ts';
import type { MediaKind, RecorderIdentity } from '../drivers/recorder.driver.ts';

/**
 * The catalog as the custody ledger says it is: a pure fold of the events, in order, into
 * the rows `evidock reindex` writes into an empty database. Every catalog fact is an event's
 * consequence, so the projection needs nothing else, with three exceptions it states: what
 * the objects themselves say (retain-until dates, version ids; the reindex service reads
 * them from MinIO), secrets the ledger never holds (password hashes: users come back without
 * a password), and operational state that starts afresh (logins, webhook deliveries, the
 * fixity schedule). Older events lack some fields newer ones carry; the projection falls
 * back to what the other events of the same file and session say.
 */

export interface SessionImage {
  id: string;
  workstationId: string;
  recorderSerial: string;
  driver: string;
  mountPath: string;
  identity: { [k: string]: JsonValue };
  defaults: { [k: string]: JsonValue };
  clockOffsetMs: number | null;
  status: SessionStatus;
  fileCount: number;
  skipped: JsonValue[];
  gaps: JsonValue[];
  startedAt: Date;
  finishedAt: Date | null;
  undockedAt: Date | null;
}

export interface FileImage {
  id: string;
  sessionId: string;
  recorderSerial: string;
  displayPath: string;
  size: number;
  kind: MediaKind;
  stage: string;
  sha256: string | null;
  sm3: string | null;
  /** The stored original's ETag its VERIFIED event proved. */
  etag: string | null;
  evidenceId: string | null;
  duplicate: boolean;
  error: string | null;
  acquiredAt: Date | null;
  storedAt: Date | null;
  verifiedAt: Date | null;
  recordedAt: Date | null;
  clearedAt: Date | null;
  updatedAt: Date;
}

export type DerivativeImage = DerivativeRow;

export interface CaseImage extends CaseRow {
  archiveKey: string | null;
  holdReason: string | null;
}

export type ActionImage = ActionRow;

export interface MatchDecisionImage extends MatchRow {
  state: 'confirmed' | 'rejected';
  decidedBy: string;
  decidedAt: Date;
}

export interface DocumentImage extends DocumentRow {
  /** Filled by the reindex service from the object's lock. */
  retainUntil: Date | null;
}

export interface AccessRequestImage {
  id: string;
  principalName: string;
  evidenceId: string | null;
  caseNumber: string | null;
  actions: string[];
  purpose: string;
  state: 'pending' | 'approved' | 'refused' | 'expired';
  decidedBy: string | null;
  decidedAt: Date | null;
  reason: string | null;
  expiresAt: Date | null;
  createdAt: Date;
}

export interface RetentionImage extends RetentionRow {
  updatedAt: Date;
}

export type PurgeRunImage = PurgeRunRow;

export type TombstoneImage = TombstoneRow;

export interface UnitImage {
  id: string;
  name: string;
  parentId: string | null;
  createdAt: Date;
}

export interface UserImage {
  id: string;
  name: string;
  displayName: string | null;
  role: string;
  officerId: string | null;
  unitIds: string[];
  disabledAt: Date | null;
  createdAt: Date;
}

export interface ApiKeyImage {
  id: string;
  name: string;
  role: string;
  /** null: created before the ledger kept it; the key must be issued again. */
  secretHash: string | null;
  createdBy: string;
  createdAt: Date;
  revokedAt: Date | null;
  unitIds: string[];
}

/** The registry row: what dockings said of the device (RecorderIdentity) and its registration. */
export interface RecorderImage extends Omit<RecorderIdentity, 'source' | 'deviceFileCount'> {
  registered: boolean;
  registeredBy: string | null;
  registeredAt: Date | null;
  removedAt: Date | null;
  firstSeenAt: Date;
  lastSeenAt: Date;
}

export interface CatalogImage {
  sessions: Map<string, SessionImage>;
  files: Map<string, FileImage>;
  evidence: Map<string, EvidenceRow>;
  derivatives: DerivativeImage[];
  cases: Map<string, CaseImage>;
  actions: ActionImage[];
  matchDecisions: MatchDecisionImage[];
  documents: DocumentImage[];
  accessRequests: Map<string, AccessRequestImage>;
  retention: Map<string, RetentionImage>;
  purgeRuns: Map<string, PurgeRunImage>;
  tombstones: TombstoneImage[];
  units: Map<string, UnitImage>;
  users: Map<string, UserImage>;
  apiKeys: Map<string, ApiKeyImage>;
  recorders: Map<string, RecorderImage>;
  redactionProjects: Map<string, RedactionProjectRow>;
  redactionVersions: RedactionVersionRow[];
  /** Finished face suggestion runs (a run still queued has no event yet), with their boxes and decisions. */
  suggestionRuns: Map<string, SuggestionRunRow & { suggestions: SuggestionRow[] }>;
  shares: Map<string, ShareRow>;
  /** Events the projection could not apply (an item's RECORDED before its ACQUIRED, …), with why. */
  skipped: Array<{ seq: number; type: string; why: string }>;
}

const MEDIA_KINDS: ReadonlySet<string> = new Set(['video', 'audio', 'photo', 'other']);

type Details = { [k: string]: JsonValue };
const str = (v: JsonValue | undefined): string | null => (typeof v === 'string' ? v : null);
const num = (v: JsonValue | undefined): number | null => (typeof v === 'number' ? v : null);
const date = (v: JsonValue | undefined): Date | null => (typeof v === 'string' && v.length > 0 ? new Date(v) : null);
const strings = (v: JsonValue | undefined): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const obj = (v: JsonValue | undefined): Details => (v !== null && typeof v === 'object' && !Array.isArray(v) ? v : {});

/** A user created before events named its id: the same id on every rebuild. */
export function legacyUserId(name: string): string {
  return uuidOf(`evidock-user:${name}`);
}

/** The kind of a recording by its extension, as the drivers classify one (for events that predate `mediaType`). */
export function kindOfPath(path: string): MediaKind {
  const ext = /\.([A-Za-z0-9]+)$/.exec(path)?.[1]?.toLowerCase() ?? '';
  if (['mp4', 'mov', 'avi', 'mkv', 'ts', 'm4v', '3gp', 'mts'].includes(ext)) return 'video';
  if (['wav', 'mp3', 'aac', 'm4a', 'amr', 'ogg', 'flac', 'opus'].includes(ext)) return 'audio';
  if (['jpg', 'jpeg', 'png', 'heic', 'bmp', 'gif', 'webp', 'tif', 'tiff'].includes(ext)) return 'photo';
  return 'other';
}

function baseName(path: string): string {
  const parts = path.split(/[\\/]/);
  return parts[parts.length - 1] ?? path;
}

export function emptyImage(): CatalogImage {
  return {
    sessions: new Map(),
    files: new Map(),
    evidence: new Map(),
    derivatives: [],
    cases: new Map(),
    actions: [],
    matchDecisions: [],
    documents: [],
    accessRequests: new Map(),
    retention: new Map(),
    purgeRuns: new Map(),
    tombstones: [],
    units: new Map(),
    users: new Map(),
    apiKeys: new Map(),
    recorders: new Map(),
    redactionProjects: new Map(),
    redactionVersions: [],
    suggestionRuns: new Map(),
    shares: new Map(),
    skipped: [],
  };
}

/** Folds events (in ledger order) into the image. Call with batches in order; pure. */
export class CatalogProjection {
  readonly image = emptyImage();
  private readonly usersByName = new Map<string, string>();
  private readonly purgeOutcomes = new Map<string, Set<string>>();

  applyAll(events: Iterable<CustodyEvent>): this {
    for (const e of events) this.apply(e);
    return this;
  }

  apply(e: CustodyEvent): void {
    const d = e.details;
    const at = new Date(e.at);
    const img = this.image;
    const file = e.fileId ? img.files.get(e.fileId) : undefined;
    const item = e.evidenceId ? img.evidence.get(e.evidenceId) : undefined;
    if (file) file.updatedAt = at;
    switch (e.type) {
      case 'DOCKED': {
        if (!e.sessionId) return this.skip(e, 'no session id');
        const identity = obj(d.identity);
        const serial = str(identity.serial) ?? 'unknown';
        img.sessions.set(e.sessionId, {
          id: e.sessionId,
          workstationId: e.workstationId,
          recorderSerial: serial,
          driver: str(d.driver) ?? 'unknown',
          mountPath: str(d.mountPath) ?? '',
          identity,
          defaults: obj(d.defaults),
          clockOffsetMs: null,
          // Not finished when the ledger ends: nothing of it was cleared unverified, and the
          // recorder still holds what was not; a person docks it again.
          status: 'failed',
          fileCount: num(d.files) ?? 0,
          skipped: [],
          gaps: [],
          startedAt: at,
          finishedAt: null,
          undockedAt: null,
        });
        this.seeRecorder(serial, identity, at, d.registered === true);
        return;
      }
      case 'CLOCK_OFFSET':
        return void this.withSession(e, (s) => (s.clockOffsetMs = num(d.offsetMs)));
      case 'FILE_SKIPPED':
        if (e.fileId) {
          if (file) file.error = str(d.reason);
          return;
        }
        return void this.withSession(e, (s) => s.skipped.push(d));
      case 'GAP_DETECTED':
        return void this.withSession(e, (s) => s.gaps.push(d));
      case 'SESSION_COMPLETED':
        return void this.withSession(e, (s) => {
          s.status = 'done';
          s.finishedAt = at;
        });
      case 'UNDOCKED':
        return void this.withSession(e, (s) => (s.undockedAt = at));
      case 'ACQUIRED': {
        if (!e.fileId || !e.sessionId) return this.skip(e, 'no file or session id');
        const session = img.sessions.get(e.sessionId);
        const path = str(d.devicePath) ?? '';
        img.files.set(e.fileId, {
          id: e.fileId,
          sessionId: e.sessionId,
          recorderSerial: session?.recorderSerial ?? 'unknown',
          displayPath: path,
          size: num(d.size) ?? 0,
          kind: kindOfPath(path),
          stage: 'acquired',
          sha256: str(d.sha256),
          sm3: str(d.sm3),
          etag: null,
          evidenceId: e.evidenceId,
          duplicate: false,
          error: null,
          acquiredAt: at,
          storedAt: null,
          verifiedAt: null,
          recordedAt: null,
          clearedAt: null,
          updatedAt: at,
        });
        return;
      }
      case 'DUPLICATE_ACQUIRED':
        if (file) file.duplicate = true;
        return;
      case 'STORED':
        if (file) {
          file.storedAt = at;
          file.duplicate = file.duplicate || d.uploaded === false;
        }
        return;
      case 'VERIFIED':
        if (file) {
          file.stage = 'stored';
          file.verifiedAt = at;
          file.etag = str(d.etag);
        }
        return;
      case 'ACQUISITION_INTERRUPTED':
      case 'HASH_MISMATCH':
      case 'VERIFY_FAILED':
        if (file) file.error = e.type.toLowerCase();
        return;
      case 'RECORDED':
        return this.recorded(e, at);
      case 'RECORDER_CLEARED':
        if (file) {
          file.stage = 'cleared';
          file.clearedAt = at;
          file.error = null;
        }
        return;
      case 'CLEAR_REFUSED':
        if (file) {
          file.stage = 'kept';
          file.error = str(d.reason);
        }
        return;
      case 'FILE_FAILED':
        if (file) {
          file.stage = 'failed';
          file.error = `${str(d.job) ?? 'job'}: ${str(d.reason) ?? ''}`;
        }
        return;
      case 'TAGGED':
      case 'LINKED':
      case 'UNLINKED':
        if (!item) return this.skip(e, 'no such item');
        return this.retag(e, item);
      case 'METADATA_EXTRACTED':
        if (!item) return this.skip(e, 'no such item');
        return this.metadata(e, item);
      case 'MEDIA_PROBLEM':
        if (!item) return this.skip(e, 'no such item');
        item.media.status = (str(d.status) ?? item.media.status) as MediaStatus;
        item.media.problem = str(d.reason) ?? str(d.problem) ?? item.media.problem;
        return;
      case 'DERIVED':
        if (!item) return this.skip(e, 'no such item');
        return this.derived(e, item, at);
      case 'ACTION_REGISTERED': {
        const caseNumber = str(d.caseNumber);
        if (!caseNumber) return this.skip(e, 'no case number');
        this.ensureCase(caseNumber, str(d.caseUnitId), at);
        img.actions.push({
          id: str(d.actionId) ?? '',
          caseNumber,
          officerIds: strings(d.officerIds),
          startsAt: date(d.startsAt) ?? at,
          endsAt: date(d.endsAt) ?? at,
          subject: str(d.subject),
          place: str(d.place),
          createdBy: str(d.by) ?? e.actor.id,
          createdAt: date(d.createdAt) ?? at,
        });
        return;
      }
      case 'MATCH_DECIDED':
        img.matchDecisions.push({
          actionId: str(d.actionId) ?? '',
          evidenceId: e.evidenceId ?? '',
          state: d.state === 'confirmed' ? 'confirmed' : 'rejected',
          decidedBy: str(d.by) ?? e.actor.id,
          decidedAt: at,
          reason: str(d.reason),
        });
        return;
      case 'DOCUMENT_ADDED': {
        const caseNumber = str(d.caseNumber);
        if (!caseNumber) return this.skip(e, 'no case number');
        this.ensureCase(caseNumber, str(d.unitId), at);
        img.documents.push({
          id: str(d.documentId) ?? '',
          caseNumber,
          sha256: str(d.sha256) ?? '',
          size: num(d.size) ?? 0,
          contentType: str(d.contentType) ?? 'application/octet-stream',
          originalName: str(d.name) ?? '',
          objectKey: str(d.key) ?? '',
          objectEtag: str(d.etag) ?? '',
          unitId: str(d.unitId),
          uploadedBy: str(d.by) ?? e.actor.id,
          createdAt: date(d.createdAt) ?? at,
          retainUntil: null,
        });
        return;
      }
      case 'ACCESS_REQUESTED':
        img.accessRequests.set(str(d.requestId) ?? '', {
          id: str(d.requestId) ?? '',
          principalName: str(d.by) ?? e.actor.id,
          evidenceId: e.evidenceId,
          caseNumber: str(d.caseNumber),
          actions: strings(d.actions),
          purpose: str(d.purpose) ?? '',
          state: 'pending',
          decidedBy: null,
          decidedAt: null,
          reason: null,
          expiresAt: null,
          createdAt: date(d.createdAt) ?? at,
        });
        return;
      case 'ACCESS_APPROVED':
      case 'ACCESS_REFUSED': {
        const r = img.accessRequests.get(str(d.requestId) ?? '');
        if (!r) return this.skip(e, 'no such request');
        r.state = e.type === 'ACCESS_APPROVED' ? 'approved' : 'refused';
        r.decidedBy = str(d.by) ?? e.actor.id;
        r.decidedAt = at;
        r.reason = str(d.reason);
        r.expiresAt = date(d.expiresAt);
        return;
      }
      case 'ACCESS_EXPIRED': {
        const r = img.accessRequests.get(str(d.requestId) ?? '');
        if (r) r.state = 'expired';
        return;
      }
      case 'RETENTION_SET': {
        if (!e.evidenceId) return this.skip(e, 'no item');
        const before = img.retention.get(e.evidenceId);
        img.retention.set(e.evidenceId, {
          evidenceId: e.evidenceId,
          class: (str(d.class) ?? 'unlinked') as RetentionRow['class'],
          retainUntil: date(d.retainUntil) ?? at,
          legalHold: before?.legalHold ?? false,
          holdReason: before?.holdReason ?? null,
          updatedAt: at,
        });
        return;
      }
      case 'LEGAL_HOLD_SET':
      case 'LEGAL_HOLD_RELEASED':
        return this.hold(e, at);
      case 'CASE_ENDED':
        return void this.withCase(e, at, (c) => {
          c.state = 'ended';
          c.endedAt = date(d.endedAt) ?? at;
        });
      case 'CASE_MARKED_MAJOR':
        return void this.withCase(e, at, (c) => (c.major = true));
      case 'ARCHIVED':
        return void this.withCase(e, at, (c) => {
          c.state = 'archived';
          c.archivedAt = at;
          c.archiveKey = str(d.key);
        });
      case 'PURGE_PROPOSED':
        img.purgeRuns.set(str(d.runId) ?? '', {
          id: str(d.runId) ?? '',
          status: 'proposed',
          reason: str(d.reason) ?? '',
          proposedBy: e.actor.id,
          proposedAt: at,
          decidedBy: null,
          decidedAt: null,
          finishedAt: null,
          evidenceIds: strings(d.evidenceIds),
        });
        return;
      case 'PURGE_APPROVED':
      case 'PURGE_REFUSED': {
        const run = img.purgeRuns.get(str(d.runId) ?? '');
        if (!run) return this.skip(e, 'no such purge run');
        run.status = e.type === 'PURGE_APPROVED' ? 'approved' : 'refused';
        run.decidedBy = e.actor.id;
        run.decidedAt = at;
        return;
      }
      case 'PURGED':
      case 'PURGE_SKIPPED':
        return this.purgeOutcome(e, at);
      case 'ADMINISTERED':
        return this.administered(e, at);
      case 'REDACTION_SAVED': {
        const projectId = str(d.projectId);
        if (!projectId || !item) return this.skip(e, 'no project or no such item');
        const author = str(d.author) ?? e.actor.id;
        if (!img.redactionProjects.has(projectId)) img.redactionProjects.set(projectId, { id: projectId, evidenceId: item.id, createdBy: author, createdAt: at });
        img.redactionVersions.push({ projectId, evidenceId: item.id, version: num(d.version) ?? 1, spec: d.spec as unknown as RedactionSpec, author, note: str(d.note), savedAt: at, eventSeq: e.seq });
        const accepted = obj(d.suggestion);
        if (str(accepted.runId)) return this.suggestionDecided(e, str(accepted.runId)!, num(accepted.n) ?? 0, { decision: 'accepted', by: author, projectId, version: num(d.version) ?? 1 });
        return;
      }
      case 'REDACTION_SUGGESTED': {
        const runId = str(d.runId);
        if (!runId || !item) return this.skip(e, 'no run or no such item');
        const suggestions: SuggestionRow[] = (Array.isArray(d.suggestions) ? d.suggestions : []).map((raw) => {
          const s = obj(raw);
          return { runId, n: num(s.n) ?? 0, box: s.box as unknown as SuggestionRow['box'], detections: num(s.detections) ?? 0, meanScore: num(s.meanScore) ?? 0, decision: 'pending', decidedBy: null, decidedAt: null, projectId: null, version: null, decisionEventSeq: null };
        });
        img.suggestionRuns.set(runId, {
          id: runId,
          evidenceId: item.id,
          requestedBy: str(d.requestedBy) ?? e.actor.id,
          requestedAt: date(d.requestedAt) ?? at,
          status: 'done',
          model: str(d.model),
          framesPerSecond: num(d.framesPerSecond),
          frameCount: num(d.frames),
          warning: str(d.warning),
          finishedAt: at,
          eventSeq: e.seq,
          suggestions,
        });
        return;
      }
      case 'REDACTION_SUGGESTION_REJECTED':
        return this.suggestionDecided(e, str(d.runId) ?? '', num(d.n) ?? 0, { decision: 'rejected', by: str(d.by) ?? e.actor.id, projectId: null, version: null });
      case 'SHARE_CREATED':
        return this.shareCreated(e);
      case 'SHARE_REVOKED': {
        // One event per item of the share, each with the same facts.
        const share = img.shares.get(str(d.shareId) ?? '');
        if (!share) return this.skip(e, 'revokes a share no SHARE_CREATED made');
        share.revokedAt ??= date(d.revokedAt) ?? at;
        share.revokedBy ??= str(d.revokedBy) ?? e.actor.id;
        share.revokeReason ??= str(d.reason);
        return;
      }
      default:
        return;
    }
  }

  private suggestionDecided(e: CustodyEvent, runId: string, n: number, d: { decision: 'accepted' | 'rejected'; by: string; projectId: string | null; version: number | null }): void {
    const s = this.image.suggestionRuns.get(runId)?.suggestions.find((x) => x.n === n);
    if (!s) return this.skip(e, 'decides a suggestion no REDACTION_SUGGESTED made');
    Object.assign(s, { decision: d.decision, decidedBy: d.by, decidedAt: new Date(e.at), projectId: d.projectId, version: d.version, decisionEventSeq: e.seq });
  }

  /** A share's SHARE_CREATED events (one per item) each carry the whole share: the first makes it. */
  private shareCreated(e: CustodyEvent): void {
    const d = e.details;
    const id = str(d.shareId);
    const tokenSha256 = str(d.tokenSha256);
    if (!id || !tokenSha256) return this.skip(e, 'no share id or token hash');
    if (this.image.shares.has(id)) return;
    const items: ShareItemRow[] = (Array.isArray(d.items) ? d.items : []).map((raw, i) => {
      const it = obj(raw);
      return {
        evidenceId: str(it.evidenceId) ?? '',
        position: num(it.position) ?? i,
        sha256: str(it.sha256) ?? '',
        copyKind: str(it.copyKind) ?? 'proxy',
        copyKey: str(it.copyKey) ?? '',
        copySha256: str(it.copySha256) ?? '',
        copySize: num(it.copySize) ?? 0,
        contentType: str(it.contentType) ?? 'application/octet-stream',
        watermarkLines: Array.isArray(it.watermarkLines) ? strings(it.watermarkLines) : null,
      };
    });
    const createdAt = date(d.createdAt) ?? new Date(e.at);
    this.image.shares.set(id, {
      id,
      tokenSha256,
      recipient: str(d.recipient) ?? '',
      caseNumber: str(d.caseNumber),
      mode: d.mode === 'download' ? 'download' : 'view',
      watermark: d.watermark === true,
      approvalId: str(d.approvalId),
      authorizedBy: d.authorizedBy === 'approval' ? 'approval' : 'role',
      purpose: str(d.purpose),
      createdBy: str(d.createdBy) ?? e.actor.id,
      unitIds: strings(d.unitIds),
      createdAt,
      expiresAt: date(d.expiresAt) ?? createdAt,
      revokedAt: null,
      revokedBy: null,
      revokeReason: null,
      items,
    });
  }

  /** After the last event: which purge runs every item of has an outcome (done). */
  finish(): CatalogImage {
    for (const run of this.image.purgeRuns.values()) {
      const seen = this.purgeOutcomes.get(run.id);
      if (run.status === 'approved' && seen && run.evidenceIds.every((id) => seen.has(id))) run.status = 'done';
    }
    return this.image;
  }

  private skip(e: CustodyEvent, why: string): void {
    this.image.skipped.push({ seq: e.seq, type: e.type, why });
  }

  private withSession(e: CustodyEvent, change: (s: SessionImage) => void): void {
    const s = e.sessionId ? this.image.sessions.get(e.sessionId) : undefined;
    if (s) change(s);
    else this.skip(e, 'no such session');
  }

  private withCase(e: CustodyEvent, at: Date, change: (c: CaseImage) => void): void {
    const caseNumber = str(e.details.caseNumber);
    if (!caseNumber) return this.skip(e, 'no case number');
    change(this.ensureCase(caseNumber, null, at));
  }

  private ensureCase(caseNumber: string, unitId: string | null, at: Date): CaseImage {
    let c = this.image.cases.get(caseNumber);
    if (!c) {
      c = { caseNumber, unitId, createdAt: at, state: 'open', endedAt: null, archivedAt: null, archiveKey: null, major: false, legalHold: false, holdReason: null };
      this.image.cases.set(caseNumber, c);
    }
    return c;
  }

  /** A docking's sighting of a recorder, as CatalogRepository.upsertRecorder keeps it: what it says fills in, never blanks. */
  private seeRecorder(serial: string, identity: Details, at: Date, registered = false): void {
    const r = this.image.recorders.get(serial);
    if (r) {
      r.lastSeenAt = at;
      r.vendor = str(identity.vendor) ?? r.vendor;
      r.model = str(identity.model) ?? r.model;
      r.officerId = str(identity.officerId) ?? r.officerId;
      r.officerName = str(identity.officerName) ?? r.officerName;
      r.unitId = str(identity.unitId) ?? r.unitId;
      r.unitName = str(identity.unitName) ?? r.unitName;
      r.registered = r.registered || registered;
      return;
    }
    this.image.recorders.set(serial, {
      serial,
      vendor: str(identity.vendor),
      model: str(identity.model),
      officerId: str(identity.officerId),
      officerName: str(identity.officerName),
      unitId: str(identity.unitId),
      unitName: str(identity.unitName),
      registered,
      registeredBy: null,
      registeredAt: null,
      removedAt: null,
      firstSeenAt: at,
      lastSeenAt: at,
    });
  }

  private recorded(e: CustodyEvent, at: Date): void {
    const d = e.details;
    const img = this.image;
    const file = e.fileId ? img.files.get(e.fileId) : undefined;
    if (file) {
      file.stage = 'recorded';
      file.recordedAt = at;
      file.error = null;
    }
    if (!e.evidenceId || d.alreadyCatalogued === true) return;
    if (!file || !file.sha256) return this.skip(e, 'RECORDED without the ACQUIRED event of its file');
    const session = e.sessionId ? img.sessions.get(e.sessionId) : undefined;
    const serial = str(d.recorderSerial) ?? session?.recorderSerial ?? file.recorderSerial;
    const registration = img.recorders.get(serial);
    const identity = session?.identity ?? {};
    const mediaType = str(d.mediaType);
    const path = str(d.originalPath) ?? file.displayPath;
    if (mediaType && MEDIA_KINDS.has(mediaType)) file.kind = mediaType as MediaKind;
    img.evidence.set(e.evidenceId, {
      id: e.evidenceId,
      sha256: file.sha256,
      sm3: file.sm3,
      size: file.size,
      mediaType: file.kind,
      objectKey: originalKey(file.sha256),
      objectVersion: null,
      objectEtag: file.etag ?? '',
      originalName: str(d.originalName) ?? baseName(path),
      originalPath: path,
      recorderSerial: serial,
      officerId: str(d.officerId),
      officerName: 'officerName' in d ? str(d.officerName) : (registration?.officerName ?? str(identity.officerName)),
      unitId: 'unitId' in d ? str(d.unitId) : (registration?.unitId ?? str(identity.unitId)),
      caseNumbers: strings(d.caseNumbers),
      subject: str(d.subject),
      place: str(d.place),
      captureStart: date(d.captureStart),
      captureEnd: date(d.captureEnd),
      captureTimeSource: str(d.captureTimeSource),
      firstSessionId: e.sessionId ?? file.sessionId,
      acquiredAt: date(d.acquiredAt) ?? file.acquiredAt ?? at,
      verifiedAt: date(d.verifiedAt) ?? file.verifiedAt ?? at,
      recordedAt: date(d.recordedAt) ?? at,
      transferDelaySeconds: num(d.transferDelaySeconds),
      transferDeadline: date(d.transferDeadline),
      transferLate: typeof d.transferLate === 'boolean' ? d.transferLate : null,
      flags: strings(d.flags),
      media: { ...PENDING_MEDIA },
    });
  }

  /** TAGGED, LINKED, UNLINKED: the fields in `after`, and the flags the event says (or what they must have become). */
  private retag(e: CustodyEvent, item: EvidenceRow): void {
    const d = e.details;
    const after = obj(d.after);
    const filled: string[] = [];
    if (e.type === 'LINKED' && d.source === 'archive') {
      // CaseService.link creates the case row, in the item's unit.
      const had = new Set(strings(obj(d.before).caseNumbers));
      for (const c of strings(after.caseNumbers)) if (!had.has(c)) this.ensureCase(c, item.unitId, new Date(e.at));
    }
    if ('caseNumbers' in after) {
      item.caseNumbers = strings(after.caseNumbers);
      if (item.caseNumbers.length > 0) filled.push('caseNumbers');
    }
    for (const k of ['subject', 'place', 'officerId'] as const) {
      if (!(k in after)) continue;
      item[k] = str(after[k]);
      if (item[k]) filled.push(k);
    }
    if (Array.isArray(d.flags)) {
      item.flags = strings(d.flags);
      return;
    }
    let flags = item.flags.filter((f) => !filled.some((k) => FIELD_FLAGS[k as keyof typeof FIELD_FLAGS] === f));
    if (e.type === 'UNLINKED' && item.caseNumbers.length === 0 && !flags.includes(FIELD_FLAGS.caseNumbers)) flags = [...flags, FIELD_FLAGS.caseNumbers];
    if (e.type === 'LINKED' && Object.keys(obj(d.conflicts)).length > 0 && !flags.includes(TAG_CONFLICT_FLAG)) flags = [...flags, TAG_CONFLICT_FLAG];
    item.flags = flags;
  }

  private metadata(e: CustodyEvent, item: EvidenceRow): void {
    const d = e.details;
    const facts = obj(d.facts);
    const media = item.media as unknown as Record<string, JsonValue>;
    for (const [k, v] of Object.entries(facts)) if (k in PENDING_MEDIA) media[k] = v;
    if (typeof d.status === 'string') item.media.status = d.status as MediaStatus;
    if ('problem' in d) item.media.problem = str(d.problem);
    const after = obj(d.after);
    if ('captureStart' in after) item.captureStart = date(after.captureStart);
    if ('captureEnd' in after) item.captureEnd = date(after.captureEnd);
    if ('captureTimeSource' in after) item.captureTimeSource = str(after.captureTimeSource);
    if ('place' in after) item.place = str(after.place);
    if (Array.isArray(d.flags)) item.flags = strings(d.flags);
    else {
      const removed = 'place' in after ? [FIELD_FLAGS.place] : [];
      item.flags = [...item.flags.filter((f) => !removed.includes(f as typeof FIELD_FLAGS.place)), ...strings(d.flagsAdded)];
    }
  }

  private derived(e: CustodyEvent, item: EvidenceRow, at: Date): void {
    const d = e.details;
    const key = str(d.key) ?? '';
    this.image.derivatives.push({
      // A stable id: a rebuild twice gives the same rows.
      id: uuidOf(`derivative:${e.seq}`),
      evidenceId: item.id,
      kind: str(d.kind) ?? 'unknown',
      objectKey: key,
      contentType: str(d.contentType) ?? contentTypeOfKey(key),
      sha256: str(d.sha256) ?? '',
      size: num(d.size) ?? 0,
      partial: d.partial === true,
      width: num(d.width),
      height: num(d.height),
      durationSeconds: num(d.durationSeconds),
      tool: str(d.tool) ?? '',
      toolVersion: str(d.toolVersion) ?? '',
      arguments: d.arguments ?? [],
      createdAt: at,
    });
    const patch = obj(d.mediaPatch);
    const media = item.media as unknown as Record<string, JsonValue>;
    if (Object.keys(patch).length > 0) for (const [k, v] of Object.entries(patch)) media[k] = v;
    else if (!('mediaPatch' in d)) {
      // Before DERIVED carried its patch: a partial proxy said the item was partial; a whole one that it plays.
      if (d.partial === true && item.media.status !== 'unplayable') item.media.status = 'partial';
      else if (item.media.status === 'pending') item.media.status = 'ok';
    }
  }

  private hold(e: CustodyEvent, at: Date): void {
    const d = e.details;
    const on = e.type === 'LEGAL_HOLD_SET';
    const reason = on ? str(d.reason) : null;
    if (d.scope === 'case') {
      const caseNumber = str(d.caseNumber);
      if (caseNumber) {
        const c = this.ensureCase(caseNumber, null, at);
        c.legalHold = on;
        c.holdReason = reason;
      }
      return;
    }
    if (!e.evidenceId) return this.skip(e, 'no item');
    const r = this.image.retention.get(e.evidenceId);
    if (r) {
      r.legalHold = on;
      r.holdReason = reason;
      r.updatedAt = at;
    } else {
      // The hold is recorded before the retention it triggers; RETENTION_SET follows and keeps it.
      this.image.retention.set(e.evidenceId, { evidenceId: e.evidenceId, class: 'unlinked', retainUntil: at, legalHold: on, holdReason: reason, updatedAt: at });
    }
  }

  private purgeOutcome(e: CustodyEvent, at: Date): void {
    const d = e.details;
    const runId = str(d.runId) ?? '';
    if (!e.evidenceId) return this.skip(e, 'no item');
    const seen = this.purgeOutcomes.get(runId) ?? new Set<string>();
    seen.add(e.evidenceId);
    this.purgeOutcomes.set(runId, seen);
    if (e.type !== 'PURGED') return;
    const item = this.image.evidence.get(e.evidenceId);
    if (item && !item.flags.includes('purged')) item.flags = [...item.flags, 'purged'];
    this.image.tombstones.push({
      evidenceId: e.evidenceId,
      purgeRunId: runId,
      sha256: str(d.sha256) ?? item?.sha256 ?? '',
      size: num(d.size) ?? item?.size ?? 0,
      approvedBy: str(d.approvedBy) ?? '',
      purgedAt: at,
    });
    const run = this.image.purgeRuns.get(runId);
    if (run) run.finishedAt = at;
  }

  private administered(e: CustodyEvent, at: Date): void {
    const d = e.details;
    const target = str(d.target) ?? '';
    const img = this.image;
    switch (d.what) {
      case 'unit.add':
        img.units.set(target, { id: target, name: str(d.name) ?? target, parentId: str(d.parentId), createdAt: at });
        return;
      case 'user.add': {
        const id = str(d.userId) ?? legacyUserId(target);
        this.usersByName.set(target, id);
        img.users.set(id, {
          id,
          name: target,
          displayName: str(d.displayName),
          role: str(d.role) ?? 'auditor',
          officerId: str(d.officerId),
          unitIds: strings(d.unitIds),
          disabledAt: null,
          createdAt: at,
        });
        return;
      }
      case 'user.disable':
      case 'user.enable': {
        const u = img.users.get(this.usersByName.get(target) ?? '');
        if (u) u.disabledAt = d.what === 'user.disable' ? at : null;
        return;
      }
      case 'user.change': {
        const u = img.users.get(this.usersByName.get(target) ?? '');
        if (!u) return this.skip(e, `no user ${target}`);
        u.role = str(d.role) ?? u.role;
        u.officerId = 'officerId' in d ? str(d.officerId) : u.officerId;
        if (Array.isArray(d.unitIds)) u.unitIds = strings(d.unitIds);
        return;
      }
      case 'key.create':
        img.apiKeys.set(target, {
          id: target,
          name: str(d.name) ?? target,
          role: str(d.role) ?? 'case-system',
          secretHash: str(d.secretHash),
          createdBy: str(d.by) ?? e.actor.id,
          createdAt: at,
          revokedAt: null,
          unitIds: strings(d.unitIds),
        });
        return;
      case 'key.revoke': {
        const k = img.apiKeys.get(target);
        if (k) k.revokedAt = at;
        return;
      }
      case 'recorder.register': {
        this.seeRecorder(target, {}, at);
        const r = img.recorders.get(target)!;
        const unitId = str(d.unitId);
        Object.assign(r, {
          officerId: str(d.officerId),
          officerName: str(d.officerName),
          unitId,
          unitName: str(d.unitName) ?? (unitId ? (img.units.get(unitId)?.name ?? null) : null),
          registered: true,
          registeredBy: str(d.by) ?? e.actor.id,
          registeredAt: at,
          removedAt: null,
        });
        return;
      }
      case 'recorder.remove': {
        const r = img.recorders.get(target);
        if (r) {
          r.registered = false;
          r.removedAt = at;
        }
        return;
      }
      default:
        return;
    }
  }
}

function contentTypeOfKey(key: string): string {
  if (key.endsWith('.mp4')) return 'video/mp4';
  if (key.endsWith('.jpg') || key.endsWith('.jpeg')) return 'image/jpeg';
  if (key.endsWith('.webp')) return 'image/webp';
  if (key.endsWith('.png')) return 'image/png';
  if (key.endsWith('.m4a')) return 'audio/mp4';
  return 'application/octet-stream';
}

/** A name-based UUID: a rebuild twice gives the same ids. */
export function uuidOf(text: string): string {
  const h = createHash('sha256').update(text).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
