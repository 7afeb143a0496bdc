import type { Readable } from 'node:stream';
import { PENDING_MEDIA, type EvidenceRow, type MediaFacts } from '../storage/catalog.repository.ts';
import type { EmbeddedMetadata, ProbeInfo, ProbeOutcome, StreamInfo } from './media-tools.ts';
import type { Workspace } from './media-workspace.ts';

/**
 * Test doubles of the media specs: row and probe builders, and strict fakes. A strict fake
 * has exactly the members a test gave it; touching any other member records the access and
 * throws. The record matters as much as the throw: code under test may catch the error (a
 * `finally`, a retry classifier), and the test still fails on `scope.unexpected`.
 */

export class UnexpectedCall extends Error {
  constructor(what: string) {
    super(`unexpected call: ${what}`);
    this.name = 'UnexpectedCall';
  }
}

/** Keys that test tooling probes on any object it prints or compares; not calls by the code under test. */
const TOOLING_KEYS = new Set(['then', 'toJSON', 'asymmetricMatch', '$$typeof', 'nodeType', 'tagName', '@@__IMMUTABLE_ITERABLE__@@', '@@__IMMUTABLE_RECORD__@@']);

export class StrictScope {
  readonly unexpected: string[] = [];

  /** A fake of `T` with only `members`; anything else is recorded and throws. */
  strict<T extends object>(name: string, members: object = {}): T {
    const scope = this;
    return new Proxy(members, {
      get(target, key, receiver) {
        if (typeof key === 'symbol' || key in target) return Reflect.get(target, key, receiver);
        if (TOOLING_KEYS.has(key)) return undefined;
        return scope.fail(`${name}.${key}`);
      },
    }) as T;
  }

  fail(what: string): never {
    this.unexpected.push(what);
    throw new UnexpectedCall(what);
  }
}

/**
 * A workspace without a disk: paths under a fixed fake directory, digests and frame lists
 * as the test set them. Asking for a digest the test did not set is an unexpected call.
 */
export class FakeWorkspace implements Workspace {
  readonly written = new Map<string, number>();
  readonly digests = new Map<string, { sha256: string; size: number }>();
  frames: string[] = [];
  disposed = 0;

  constructor(
    private readonly scope: StrictScope,
    readonly dir: string,
  ) {}

  path(name: string): string {
    return `${this.dir}/${name}`;
  }

  async write(name: string, source: Readable): Promise<number> {
    let size = 0;
    for await (const chunk of source as AsyncIterable<Buffer>) size += chunk.length;
    this.written.set(name, size);
    return size;
  }

  async list(prefix: string): Promise<string[]> {
    if (prefix !== 'frame-') return this.scope.fail(`workspace.list(${prefix})`);
    return this.frames;
  }

  read(name: string): Readable {
    return this.scope.fail(`workspace.read(${name})`);
  }

  async digest(name: string): Promise<{ sha256: string; size: number }> {
    return this.digests.get(name) ?? this.scope.fail(`workspace.digest(${name})`);
  }

  async dispose(): Promise<void> {
    this.disposed += 1;
  }
}

export const SHA_ORIGINAL = 'ab'.repeat(32);

export function evidenceRow(over: Partial<Omit<EvidenceRow, 'media'>> & { media?: Partial<MediaFacts> } = {}): EvidenceRow {
  const { media, ...rest } = over;
  return {
    id: '6f1c2a7e-4b0d-4c8e-9a51-3d2e8f7b9c10',
    sha256: SHA_ORIGINAL,
    sm3: null,
    size: 18_480_112,
    mediaType: 'video',
    objectKey: `sha256/ab/ab/${SHA_ORIGINAL}`,
    objectVersion: null,
    objectEtag: 'e1b5d7c0a3f2-3',
    originalName: 'ZFY123456_004512_20261121093000_0001.MP4',
    originalPath: 'DCIM/100MEDIA/ZFY123456_004512_20261121093000_0001.MP4',
    recorderSerial: 'ZFY123456',
    officerId: '004512',
    officerName: null,
    unitId: null,
    caseNumbers: ['YB-2026-0042'],
    subject: 'traffic stop',
    place: null,
    captureStart: new Date('2026-11-21T01:30:00Z'),
    captureEnd: new Date('2026-11-21T01:30:18Z'),
    captureTimeSource: 'file-name',
    firstSessionId: '2b8e0c1d-9f3a-4e6b-8c7d-5a4f3e2d1c0b',
    acquiredAt: new Date('2026-11-21T02:00:00Z'),
    verifiedAt: new Date('2026-11-21T02:01:00Z'),
    recordedAt: new Date('2026-11-21T02:01:05Z'),
    transferDelaySeconds: 1800,
    transferDeadline: new Date('2026-11-22T01:30:18Z'),
    transferLate: false,
    flags: [],
    ...rest,
    media: { ...PENDING_MEDIA, ...media },
  };
}

export function videoStream(over: Partial<StreamInfo> = {}): StreamInfo {
  return { index: 0, kind: 'video', codec: 'h264', width: 1920, height: 1080, frameRate: 30, variableFrameRate: false, rotation: 0, durationSeconds: 18, sampleRate: null, channels: null, ...over };
}

export function audioStream(over: Partial<StreamInfo> = {}): StreamInfo {
  return { index: 1, kind: 'audio', codec: 'aac', width: null, height: null, frameRate: null, variableFrameRate: false, rotation: 0, durationSeconds: 18.005, sampleRate: 48000, channels: 1, ...over };
}

export function probeInfo(streams: StreamInfo[], over: Partial<ProbeInfo> = {}): ProbeInfo {
  return { container: 'mov,mp4,m4a,3gp,3g2,mj2', durationSeconds: 18.005, bitRate: 8_210_849, streams, tags: {}, ...over };
}

export function probed(streams: StreamInfo[], over: Partial<ProbeInfo> = {}): ProbeOutcome {
  return { ok: true, info: probeInfo(streams, over) };
}

export function noMetadata(over: Partial<EmbeddedMetadata> = {}): EmbeddedMetadata {
  return { createDate: null, make: null, model: null, serialNumber: null, ownerIds: [], gps: null, gpsTrackPoints: 0, raw: {}, ...over };
}
