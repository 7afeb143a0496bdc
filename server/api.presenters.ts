import type { Static } from 'typebox';
import type { AccessLogRow, AccessRequestRow } from '../storage/access.repository.ts';
import type { ActionRow, DocumentRow, MatchRow } from '../storage/case.repository.ts';
import type { DerivativeRow, EvidenceRow } from '../storage/catalog.repository.ts';
import type { CustodyEvent } from '../storage/custody-chain.ts';
import type { ApiKeyRow, UserRow } from '../storage/identity.repository.ts';
import { parseRenderKind } from '../storage/redaction.repository.ts';
import type { DeliveryRow, WebhookRow } from '../storage/webhook.repository.ts';
import type * as S from './api.schemas.ts';

/** Catalog rows as the API shows them (api.schemas.ts). Pure. */

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export const BASE = '/api/v1';

export function missingFields(e: EvidenceRow): Array<(typeof S.FIVE_FIELDS)[number]> {
  const missing: Array<(typeof S.FIVE_FIELDS)[number]> = [];
  if (e.caseNumbers.length === 0) missing.push('caseNumber');
  if (!e.captureStart) missing.push('captureTime');
  if (!e.place) missing.push('place');
  if (!e.officerId) missing.push('collector');
  if (!e.subject) missing.push('subject');
  return missing;
}

export function presentItem(e: EvidenceRow, hasPoster: boolean): Static<typeof S.EvidenceItem> {
  return {
    evidenceId: e.id,
    sha256: e.sha256,
    sm3: e.sm3,
    size: e.size,
    mediaType: e.mediaType,
    mediaStatus: e.media.status,
    durationSeconds: e.media.durationSeconds,
    originalName: e.originalName,
    caseNumbers: e.caseNumbers,
    capturedAt: iso(e.captureStart),
    capturedUntil: iso(e.captureEnd),
    captureTimeSource: e.captureTimeSource,
    place: e.place,
    collector: { officerId: e.officerId, name: e.officerName },
    subject: e.subject,
    unit: e.unitId,
    recorderSerial: e.recorderSerial,
    missing: missingFields(e),
    flags: e.flags,
    recordedAt: e.recordedAt.toISOString(),
    transferLate: e.transferLate,
    thumbnailUrl: hasPoster ? `${BASE}/evidence/${e.id}/poster` : null,
  };
}

export function presentEvent(e: CustodyEvent): Static<typeof S.CustodyEventItem> {
  return {
    seq: e.seq,
    at: e.at,
    type: e.type,
    workstationId: e.workstationId,
    actor: e.actor,
    evidenceId: e.evidenceId,
    sessionId: e.sessionId,
    details: e.details,
    hash: e.hash,
    prevHash: e.prevHash,
    keyId: e.keyId,
    signature: e.signature,
  };
}

/** Where the API streams a derivative: by kind, and a redacted copy by its project and version. */
function derivativeUrl(d: DerivativeRow): string {
  const redacted = parseRenderKind(d.kind);
  return redacted ? `${BASE}/evidence/${d.evidenceId}/redactions/${redacted.projectId}/versions/${redacted.version}/file` : `${BASE}/evidence/${d.evidenceId}/${d.kind}`;
}

export function presentDerivative(d: DerivativeRow): Static<typeof S.Derivative> {
  return {
    kind: d.kind,
    contentType: d.contentType,
    size: d.size,
    sha256: d.sha256,
    partial: d.partial,
    width: d.width,
    height: d.height,
    durationSeconds: d.durationSeconds,
    url: derivativeUrl(d),
    storyboard: storyboardOf(d),
  };
}

export function presentRequest(r: AccessRequestRow): Static<typeof S.AccessRequest> {
  return {
    id: r.id,
    requester: r.principalName,
    evidenceId: r.evidenceId,
    caseNumber: r.caseNumber,
    actions: r.actions,
    purpose: r.purpose,
    state: r.state,
    decidedBy: r.decidedBy,
    decidedAt: iso(r.decidedAt),
    reason: r.reason,
    expiresAt: iso(r.expiresAt),
    createdAt: r.createdAt.toISOString(),
  };
}

export function presentAccess(r: AccessLogRow): Static<typeof S.AccessRecord> {
  return {
    id: r.id,
    at: r.at.toISOString(),
    principal: r.principalName,
    principalKind: r.principalKind,
    role: r.role,
    units: r.unitIds,
    action: r.action,
    evidenceId: r.evidenceId,
    evidenceIds: r.evidenceIds,
    caseNumber: r.caseNumber,
    purpose: r.purpose,
    approvalId: r.approvalId,
    ip: r.ip,
    userAgent: r.userAgent,
    sealedSeq: r.sealedSeq,
  };
}

export function presentMatch(m: MatchRow): Static<typeof S.Match> {
  return { evidenceId: m.evidenceId, state: m.state, decidedBy: m.decidedBy, decidedAt: iso(m.decidedAt), reason: m.reason };
}

export function presentAction(a: ActionRow, matches: readonly MatchRow[]): Static<typeof S.Action> {
  return {
    id: a.id,
    officerIds: a.officerIds,
    startsAt: a.startsAt.toISOString(),
    endsAt: a.endsAt.toISOString(),
    subject: a.subject,
    place: a.place,
    createdBy: a.createdBy,
    createdAt: a.createdAt.toISOString(),
    matches: matches.map(presentMatch),
  };
}

export function presentDocument(d: DocumentRow): Static<typeof S.Document> {
  return {
    id: d.id,
    name: d.originalName,
    contentType: d.contentType,
    size: d.size,
    sha256: d.sha256,
    uploadedBy: d.uploadedBy,
    createdAt: d.createdAt.toISOString(),
    url: `${BASE}/cases/${encodeURIComponent(d.caseNumber)}/documents/${d.id}`,
  };
}

export function presentUser(u: UserRow): Static<typeof S.User> {
  return {
    name: u.name,
    displayName: u.displayName,
    role: u.role,
    officerId: u.officerId,
    units: u.unitIds,
    disabled: u.disabledAt !== null,
    locked: u.lockedUntil !== null && u.lockedUntil.getTime() > Date.now(),
    mustChangePassword: u.mustChangePassword,
    createdAt: u.createdAt.toISOString(),
  };
}

export function presentKey(k: ApiKeyRow): Static<typeof S.ApiKey> {
  return { id: k.id, name: k.name, role: k.role, units: k.unitIds, createdBy: k.createdBy, createdAt: k.createdAt.toISOString(), revokedAt: iso(k.revokedAt), lastUsedAt: iso(k.lastUsedAt) };
}

export function presentWebhook(h: WebhookRow): Static<typeof S.Webhook> {
  return { id: h.id, url: h.url, events: h.events, units: h.unitIds, createdAt: h.createdAt.toISOString() };
}

export function presentDelivery(d: DeliveryRow): Static<typeof S.Delivery> {
  return {
    id: d.id,
    event: d.event,
    state: d.state,
    attempts: d.attempts,
    lastStatus: d.lastStatus,
    lastError: d.lastError,
    createdAt: d.createdAt.toISOString(),
    deliveredAt: iso(d.deliveredAt),
  };
}

/** The sprite geometry the media worker recorded in the derivative's arguments (media.service.ts). */
function storyboardOf(d: DerivativeRow): Static<typeof S.Derivative>['storyboard'] {
  if (d.kind !== 'storyboard' || d.width === null || d.height === null) return null;
  const a = (d.arguments ?? {}) as { intervalSeconds?: unknown; frames?: unknown; sharp?: { columns?: unknown; tileWidth?: unknown } };
  const frames = Number(a.frames);
  const columns = Number(a.sharp?.columns);
  const interval = Number(a.intervalSeconds);
  if (!(frames > 0 && columns > 0 && interval > 0)) return null;
  const rows = Math.ceil(frames / columns);
  return { columns, rows, frames, tileWidth: Math.floor(d.width / columns), tileHeight: Math.floor(d.height / rows), intervalSeconds: interval };
}

/**
 * ffprobe names a demuxer by every format it reads ("mov,mp4,m4a,3gp,3g2,mj2"); a reader wants
 * the one this file is, which its extension says when it is in the list.
 */
export function containerName(formatName: string | null, originalName: string): string | null {
  if (!formatName) return null;
  const names = formatName.split(',');
  const ext = /\.([a-z0-9]+)$/i.exec(originalName)?.[1]?.toLowerCase();
  return (ext && names.includes(ext) ? ext : names[0]) ?? null;
}

export function presentMedia(e: EvidenceRow): Static<typeof S.EvidenceDetail>['media'] {
  const m = e.media;
  return {
    container: containerName(m.container, e.originalName),
    videoCodec: m.videoCodec,
    audioCodec: m.audioCodec,
    width: m.width,
    height: m.height,
    frameRate: m.frameRate,
    device: { make: m.deviceMake, model: m.deviceModel, serial: m.deviceSerial },
    gps: m.gpsLatitude !== null && m.gpsLongitude !== null ? { latitude: m.gpsLatitude, longitude: m.gpsLongitude } : null,
  };
}
