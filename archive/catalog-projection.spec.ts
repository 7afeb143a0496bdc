import { describe, expect, it } from 'vitest';
import type { CustodyEvent, CustodyEventType, JsonValue } from '../storage/custody-chain.ts';
import { originalKey } from '../storage/object-store.ts';
import { CatalogProjection, kindOfPath, legacyUserId } from './catalog-projection.ts';

const SHA = 'a'.repeat(64);
const SESSION = '11111111-1111-4111-8111-111111111111';
const FILE = '22222222-2222-4222-8222-222222222222';
const ITEM = '33333333-3333-4333-8333-333333333333';

let seq = 0;
function ev(type: CustodyEventType, details: { [k: string]: JsonValue }, ids: { evidenceId?: string; sessionId?: string; fileId?: string } = {}, at = '2026-11-21T02:00:00.000Z'): CustodyEvent {
  seq += 1;
  return {
    seq,
    at,
    workstationId: 'ws-1',
    type,
    actor: { kind: 'user', id: 'custodian-li' },
    evidenceId: ids.evidenceId ?? null,
    sessionId: ids.sessionId ?? null,
    fileId: ids.fileId ?? null,
    details,
    prevHash: '',
    keyId: 'k',
    hash: `h${seq}`,
    signature: 's',
  };
}

/** A docking of one file up to RECORDED, as the ingest pipeline writes it; `recorded` replaces RECORDED's details. */
function ingested(recorded: { [k: string]: JsonValue }): CustodyEvent[] {
  const f = { sessionId: SESSION, fileId: FILE };
  return [
    ev('DOCKED', { driver: 'directory', mountPath: '/media/r', identity: { serial: 'ZFY01', vendor: 'Hytera', model: null, officerId: '440301', officerName: null, unitId: null }, registered: false, files: 1, bytes: 10, defaults: {} }, { sessionId: SESSION }),
    ev('ACQUIRED', { sha256: SHA, sm3: null, size: 10, devicePath: 'DCIM/ZFY01_0001.MP4', bytesReadFromRecorder: 10, resumedFromByte: 0 }, { ...f, evidenceId: ITEM }, '2026-11-21T02:00:01.000Z'),
    ev('STORED', { key: originalKey(SHA), versionId: 'v1', etag: 'etag-1', size: 10, uploaded: true }, { ...f, evidenceId: ITEM }),
    ev('VERIFIED', { key: originalKey(SHA), etag: 'etag-1' }, { ...f, evidenceId: ITEM }, '2026-11-21T02:00:02.000Z'),
    ev('RECORDED', recorded, { ...f, evidenceId: ITEM }, '2026-11-21T02:00:03.000Z'),
  ];
}

const RECORDED_NOW = {
  caseNumbers: [],
  subject: null,
  place: null,
  officerId: '440301',
  collector: '440301',
  officerName: '王警官',
  unitId: 'GD-SZ',
  recorderSerial: 'ZFY01',
  mediaType: 'video',
  originalName: 'ZFY01_0001.MP4',
  originalPath: 'DCIM/ZFY01_0001.MP4',
  acquiredAt: '2026-11-21T02:00:01.000Z',
  verifiedAt: '2026-11-21T02:00:02.500Z',
  recordedAt: '2026-11-21T02:00:03.000Z',
  captureStart: '2026-11-21T01:00:00.000Z',
  captureEnd: null,
  captureTimeSource: 'file-name',
  transferDelaySeconds: 3600,
  transferDeadline: '2026-11-22T01:00:00.000Z',
  transferLate: false,
  flags: ['missing-case', 'missing-subject', 'missing-place'],
};

describe('CatalogProjection', () => {
  it('makes the evidence row from what RECORDED says, with the ETag its VERIFIED event proved', () => {
    const img = new CatalogProjection().applyAll(ingested(RECORDED_NOW)).finish();
    const item = img.evidence.get(ITEM)!;
    expect(item).toMatchObject({
      sha256: SHA,
      size: 10,
      mediaType: 'video',
      objectKey: originalKey(SHA),
      objectEtag: 'etag-1',
      originalName: 'ZFY01_0001.MP4',
      recorderSerial: 'ZFY01',
      officerId: '440301',
      officerName: '王警官',
      unitId: 'GD-SZ',
      firstSessionId: SESSION,
      flags: ['missing-case', 'missing-subject', 'missing-place'],
    });
    expect(item.verifiedAt.toISOString()).toBe('2026-11-21T02:00:02.500Z');
    expect(img.files.get(FILE)).toMatchObject({ stage: 'recorded', sha256: SHA, evidenceId: ITEM, etag: 'etag-1' });
    expect(img.sessions.get(SESSION)).toMatchObject({ recorderSerial: 'ZFY01', status: 'failed' });
    expect(img.recorders.get('ZFY01')).toMatchObject({ vendor: 'Hytera', officerId: '440301', registered: false });
    expect(img.skipped).toEqual([]);
  });

  it('fills what an older RECORDED lacks from the registration, the path and the other events', () => {
    const older: { [k: string]: JsonValue } = { ...RECORDED_NOW };
    for (const k of ['officerName', 'unitId', 'recorderSerial', 'mediaType', 'originalName', 'originalPath', 'acquiredAt', 'verifiedAt', 'recordedAt']) delete older[k];
    const p = new CatalogProjection();
    p.apply(ev('ADMINISTERED', { what: 'recorder.register', target: 'ZFY01', officerId: '440301', unitId: 'GD-SZ' }));
    const item = p.applyAll(ingested(older)).finish().evidence.get(ITEM)!;
    expect(item).toMatchObject({ unitId: 'GD-SZ', recorderSerial: 'ZFY01', mediaType: 'video', originalName: 'ZFY01_0001.MP4', originalPath: 'DCIM/ZFY01_0001.MP4' });
    expect(item.verifiedAt.toISOString()).toBe('2026-11-21T02:00:02.000Z');
    expect(item.recordedAt.toISOString()).toBe('2026-11-21T02:00:03.000Z');
  });

  it('applies tags and case links with the flags the events name, or the ones they must have become', () => {
    const p = new CatalogProjection().applyAll(ingested(RECORDED_NOW));
    p.apply(ev('TAGGED', { before: { subject: null }, after: { subject: '某药店' }, by: 'custodian-li', flags: ['missing-case', 'missing-place'] }, { evidenceId: ITEM }));
    expect(p.image.evidence.get(ITEM)).toMatchObject({ subject: '某药店', flags: ['missing-case', 'missing-place'] });
    // An older TAGGED without flags: the filled field's flag goes.
    p.apply(ev('TAGGED', { before: { place: null }, after: { place: '福田区' }, by: 'custodian-li' }, { evidenceId: ITEM }));
    expect(p.image.evidence.get(ITEM)!.flags).toEqual(['missing-case']);
    p.apply(ev('LINKED', { source: 'archive', before: { caseNumbers: [] }, after: { caseNumbers: ['YB-1'] } }, { evidenceId: ITEM }));
    expect(p.image.evidence.get(ITEM)).toMatchObject({ caseNumbers: ['YB-1'], flags: [] });
    // A link from the archive makes the case, in the item's unit.
    expect(p.image.cases.get('YB-1')).toMatchObject({ unitId: 'GD-SZ', state: 'open' });
    p.apply(ev('UNLINKED', { caseNumber: 'YB-1', before: { caseNumbers: ['YB-1'] }, after: { caseNumbers: [] } }, { evidenceId: ITEM }));
    expect(p.image.evidence.get(ITEM)).toMatchObject({ caseNumbers: [], flags: ['missing-case'] });
  });

  it('keeps a hold recorded before the retention it leads to, and the case lifecycle', () => {
    const p = new CatalogProjection().applyAll(ingested(RECORDED_NOW));
    p.apply(ev('LEGAL_HOLD_SET', { reason: '涉诉', scope: 'item' }, { evidenceId: ITEM }));
    p.apply(ev('RETENTION_SET', { class: 'unlinked', retainUntil: '2027-01-01T00:00:00.000Z', previous: null, cause: 'hold', held: true }, { evidenceId: ITEM }));
    expect(p.image.retention.get(ITEM)).toMatchObject({ class: 'unlinked', legalHold: true, holdReason: '涉诉' });
    p.apply(ev('CASE_ENDED', { caseNumber: 'YB-2', endedAt: '2026-11-30T00:00:00.000Z', previous: null }));
    p.apply(ev('CASE_MARKED_MAJOR', { caseNumber: 'YB-2', reason: '重大' }));
    p.apply(ev('LEGAL_HOLD_SET', { reason: '诉讼', scope: 'case', caseNumber: 'YB-2' }, { evidenceId: ITEM }));
    p.apply(ev('ARCHIVED', { caseNumber: 'YB-2', key: 'case-archives/YB-2.zip' }));
    expect(p.image.cases.get('YB-2')).toMatchObject({ state: 'archived', major: true, legalHold: true, holdReason: '诉讼', archiveKey: 'case-archives/YB-2.zip' });
    expect(p.image.cases.get('YB-2')!.endedAt!.toISOString()).toBe('2026-11-30T00:00:00.000Z');
  });

  it('leaves a tombstone for a purged item and calls a run done once every item has an outcome', () => {
    const p = new CatalogProjection().applyAll(ingested(RECORDED_NOW));
    const other = '44444444-4444-4444-8444-444444444444';
    p.apply(ev('PURGE_PROPOSED', { runId: 'run-1', reason: '期满', count: 2, evidenceIds: [ITEM, other] }));
    p.apply(ev('PURGE_APPROVED', { runId: 'run-1', count: 2, reason: null, proposedBy: 'custodian-li' }));
    p.apply(ev('PURGED', { runId: 'run-1', sha256: SHA, size: 10, objectKey: originalKey(SHA), approvedBy: 'custodian-zhao', proposedBy: 'custodian-li' }, { evidenceId: ITEM }));
    expect(p.image.purgeRuns.get('run-1')!.status).toBe('approved');
    p.apply(ev('PURGE_SKIPPED', { runId: 'run-1', why: 'held' }, { evidenceId: other }));
    const img = p.finish();
    expect(img.purgeRuns.get('run-1')!.status).toBe('done');
    expect(img.tombstones).toEqual([expect.objectContaining({ evidenceId: ITEM, purgeRunId: 'run-1', sha256: SHA, approvedBy: 'custodian-zhao' })]);
    expect(img.evidence.get(ITEM)!.flags).toContain('purged');
  });

  it('rebuilds people and systems without secrets it never had', () => {
    const p = new CatalogProjection();
    p.apply(ev('ADMINISTERED', { what: 'unit.add', target: 'GD', name: '广东', parentId: null }));
    p.apply(ev('ADMINISTERED', { what: 'user.add', target: 'li', userId: '55555555-5555-4555-8555-555555555555', role: 'custodian', unitIds: ['GD'], officerId: null }));
    p.apply(ev('ADMINISTERED', { what: 'user.add', target: 'old', role: 'auditor', unitIds: ['GD'], officerId: null }));
    p.apply(ev('ADMINISTERED', { what: 'user.change', target: 'li', role: 'admin', officerId: null, unitIds: ['GD'] }));
    p.apply(ev('ADMINISTERED', { what: 'user.disable', target: 'old' }));
    p.apply(ev('ADMINISTERED', { what: 'key.create', target: 'key-1', name: '案件系统', role: 'case-system', unitIds: ['GD'], secretHash: 'f'.repeat(64) }));
    p.apply(ev('ADMINISTERED', { what: 'key.create', target: 'key-2', name: '旧系统', role: 'case-system', unitIds: ['GD'] }));
    const img = p.finish();
    expect(img.users.get('55555555-5555-4555-8555-555555555555')).toMatchObject({ name: 'li', role: 'admin' });
    expect(img.users.get(legacyUserId('old'))).toMatchObject({ name: 'old', disabledAt: expect.any(Date) });
    expect(legacyUserId('old')).toBe(legacyUserId('old'));
    expect(img.apiKeys.get('key-1')!.secretHash).toBe('f'.repeat(64));
    expect(img.apiKeys.get('key-2')!.secretHash).toBeNull();
  });

  it('makes one share from its per-item SHARE_CREATED events and closes it on SHARE_REVOKED', () => {
    const SHARE = '44444444-4444-4444-8444-444444444444';
    const item = { evidenceId: ITEM, position: 0, sha256: SHA, copyKind: 'watermarked-proxy', copyKey: 'share/x.mp4', copySha256: 'b'.repeat(64), copySize: 99, contentType: 'video/mp4', watermarkLines: ['律师王某'] };
    const created = { shareId: SHARE, tokenSha256: 'c'.repeat(64), recipient: '律师王某', caseNumber: 'YB-1', mode: 'download', watermark: true, approvalId: null, authorizedBy: 'role', purpose: null, createdBy: 'custodian-li', unitIds: ['GD'], createdAt: '2026-11-22T00:00:00.000Z', expiresAt: '2026-11-29T00:00:00.000Z', items: [item] };
    const img = new CatalogProjection()
      .applyAll([
        ...ingested(RECORDED_NOW),
        ev('SHARE_CREATED', created, { evidenceId: ITEM }),
        ev('SHARE_CREATED', created, { evidenceId: ITEM }),
        ev('SHARE_REVOKED', { shareId: SHARE, recipient: '律师王某', revokedAt: '2026-11-23T00:00:00.000Z', revokedBy: 'custodian-zhao', reason: '误发', wasState: 'active' }, { evidenceId: ITEM }),
      ])
      .finish();
    expect([...img.shares.values()]).toEqual([
      {
        id: SHARE,
        tokenSha256: 'c'.repeat(64),
        recipient: '律师王某',
        caseNumber: 'YB-1',
        mode: 'download',
        watermark: true,
        approvalId: null,
        authorizedBy: 'role',
        purpose: null,
        createdBy: 'custodian-li',
        unitIds: ['GD'],
        createdAt: new Date('2026-11-22T00:00:00.000Z'),
        expiresAt: new Date('2026-11-29T00:00:00.000Z'),
        revokedAt: new Date('2026-11-23T00:00:00.000Z'),
        revokedBy: 'custodian-zhao',
        revokeReason: '误发',
        items: [item],
      },
    ]);
    const orphan = new CatalogProjection().applyAll([ev('SHARE_REVOKED', { shareId: SHARE }, { evidenceId: ITEM })]).finish();
    expect(orphan.skipped).toEqual([{ seq: expect.any(Number), type: 'SHARE_REVOKED', why: 'revokes a share no SHARE_CREATED made' }]);
  });

  it('rebuilds a face suggestion run with its boxes, and the decision on each from REDACTION_SAVED and REDACTION_SUGGESTION_REJECTED', () => {
    const RUN = '55555555-5555-4555-8555-555555555555';
    const PROJECT = '66666666-6666-4666-8666-666666666666';
    const box = (n: number) => ({ id: `face-55555555-${n}`, shape: 'rect', mode: 'blur', keyframes: [{ t: 0, x: 0.1, y: 0.1, w: 0.2, h: 0.2 }, { t: 1, x: 0.2, y: 0.1, w: 0.2, h: 0.2 }] });
    const img = new CatalogProjection()
      .applyAll([
        ...ingested(RECORDED_NOW),
        ev('REDACTION_SUGGESTED', { runId: RUN, requestedBy: 'custodian-li', requestedAt: '2026-11-22T00:00:00.000Z', model: 'face-api 1.7.15 ssd_mobilenetv1', framesPerSecond: 2, frames: 10, tracks: 2, droppedShort: 0, droppedOverLimit: 0, warning: null, suggestions: [1, 2].map((n) => ({ n, box: box(n), detections: 9, meanScore: 0.9 })) }, { evidenceId: ITEM }, '2026-11-22T00:00:05.000Z'),
        ev('REDACTION_SAVED', { projectId: PROJECT, version: 1, spec: { boxes: [box(1)], blurRanges: [], audioRanges: [] }, author: 'custodian-li', note: null, newProject: true, suggestion: { runId: RUN, n: 1 } }, { evidenceId: ITEM }, '2026-11-22T00:01:00.000Z'),
        ev('REDACTION_SUGGESTION_REJECTED', { runId: RUN, n: 2, boxId: 'face-55555555-2', by: 'custodian-zhao', reason: null }, { evidenceId: ITEM }, '2026-11-22T00:02:00.000Z'),
      ])
      .finish();
    const run = img.suggestionRuns.get(RUN)!;
    expect(run).toMatchObject({ evidenceId: ITEM, requestedBy: 'custodian-li', requestedAt: new Date('2026-11-22T00:00:00.000Z'), status: 'done', frameCount: 10, framesPerSecond: 2, finishedAt: new Date('2026-11-22T00:00:05.000Z') });
    expect(run.suggestions.map((x) => [x.n, x.decision, x.decidedBy, x.projectId, x.version])).toEqual([
      [1, 'accepted', 'custodian-li', PROJECT, 1],
      [2, 'rejected', 'custodian-zhao', null, null],
    ]);
    expect(run.suggestions[0]!.box).toEqual(box(1));
    expect(img.skipped).toEqual([]);
  });

  it('names the events it could not apply instead of inventing rows', () => {
    const img = new CatalogProjection().applyAll([ev('TAGGED', { before: {}, after: { subject: 'x' } }, { evidenceId: ITEM })]).finish();
    expect(img.evidence.size).toBe(0);
    expect(img.skipped).toEqual([{ seq: expect.any(Number), type: 'TAGGED', why: 'no such item' }]);
  });

  it('classifies an older event\'s file by its extension', () => {
    expect(['a.MP4', 'b.wav', 'c.JPG', 'd.bin'].map(kindOfPath)).toEqual(['video', 'audio', 'photo', 'other']);
  });
});
