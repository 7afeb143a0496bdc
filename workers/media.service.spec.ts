import { Readable } from 'node:stream';
import { UnrecoverableError } from 'bullmq';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../config/config.loader.ts';
import type { CatalogRepository, DerivativeRow, EvidenceRow } from '../storage/catalog.repository.ts';
import type { CustodyEvent, CustodyEventInput } from '../storage/custody-chain.ts';
import type { CustodyLedger } from '../storage/custody-ledger.service.ts';
import { originalKey, type ObjectStore } from '../storage/object-store.ts';
import type { Database, Queryable } from '../storage/postgres.database.ts';
import { posterFrameArgs, proxyAudioArgs, proxyVideoArgs, storyboardFramesArgs } from './ffmpeg-args.ts';
import type { JobQueuePort } from './ingest.service.ts';
import { JobName, JobStatus, type MediaJobPayload } from './job.types.ts';
import { decideMetadata } from './media-decisions.ts';
import { audioStream, evidenceRow, FakeWorkspace, noMetadata, probed, SHA_ORIGINAL, StrictScope, videoStream } from './media.fakes.ts';
import { derivativeKey, MediaService, recipeOf, type MediaDeps } from './media.service.ts';
import { MediaInputError, TranscodeStoppedError, type ImageTool, type MediaProber, type MetadataReader, type OutputOutcome, type ProbeOutcome, type TranscodeResult, type Transcoder } from './media-tools.ts';
import type { MediaWorkspaces } from './media-workspace.ts';

const config = loadConfig({ env: {}, overrides: { workstationId: 'ws-test' } });
const NOW = new Date('2026-11-21T03:00:00Z');
const ACTOR = { kind: 'system', id: 'media@ws-test' };
const FFMPEG = 'ffmpeg 5.1.6-0+deb12u1';
const SHARP = '0.34.5';
const SHA_PROXY = 'cd'.repeat(32);
const SHA_JPEG = 'ef'.repeat(32);
const SHA_WEBP = '12'.repeat(32);
const SHA_BOARD = '34'.repeat(32);

type Members = Record<string, unknown>;

/**
 * The media service over strict fakes: every dependency starts with no members, so any call
 * a test did not set up is recorded and throws. Tests add exactly the members they expect.
 */
class Rig {
  readonly scope = new StrictScope();
  readonly m = {
    db: {} as Members,
    catalog: {} as Members,
    ledger: {} as Members,
    objects: {} as Members,
    prober: {} as Members,
    metadata: {} as Members,
    transcoder: {} as Members,
    images: {} as Members,
    workspaces: {} as Members,
    queue: {} as Members,
  };
  readonly tx = this.scope.strict<Queryable>('tx');
  readonly appended: CustodyEventInput[] = [];
  readonly events: CustodyEvent[] = [];
  readonly workspaces: FakeWorkspace[] = [];
  /** Digests each new workspace reports for the files the service made. */
  readonly digests = new Map<string, { sha256: string; size: number }>();
  frames: string[] = [];
  readonly progress = vi.fn();
  readonly deps: MediaDeps;
  readonly service: MediaService;

  constructor() {
    const s = this.scope;
    this.deps = {
      config,
      db: s.strict<Database>('db', this.m.db),
      catalog: s.strict<CatalogRepository>('catalog', this.m.catalog),
      ledger: s.strict<CustodyLedger>('ledger', this.m.ledger),
      objects: s.strict<ObjectStore>('objects', this.m.objects),
      prober: s.strict<MediaProber>('prober', this.m.prober),
      metadata: s.strict<MetadataReader>('metadata', this.m.metadata),
      transcoder: s.strict<Transcoder>('transcoder', this.m.transcoder),
      images: s.strict<ImageTool>('images', this.m.images),
      workspaces: s.strict<MediaWorkspaces>('workspaces', this.m.workspaces),
      queue: s.strict<JobQueuePort>('queue', this.m.queue),
      now: () => NOW,
      onProgress: this.progress,
    };
    this.service = new MediaService(this.deps);
  }

  /** catalog.getEvidence knows these rows (and nothing else). */
  knows(...rows: EvidenceRow[]): this {
    this.m.catalog.getEvidence = vi.fn(async (id: string) => rows.find((r) => r.id === id) ?? null);
    return this;
  }

  /** Transactions and the ledger: each commit appends its events in the transaction, then mirrors them. */
  ledgered(): this {
    this.m.db.transaction = vi.fn(async (work: (tx: Queryable) => Promise<unknown>) => work(this.tx));
    this.m.ledger.append = vi.fn(async (_tx: Queryable, input: CustodyEventInput): Promise<CustodyEvent> => {
      this.appended.push(input);
      const event: CustodyEvent = {
        seq: this.events.length + 1,
        at: NOW.toISOString(),
        workstationId: config.workstationId,
        type: input.type,
        actor: input.actor,
        evidenceId: input.evidenceId ?? null,
        sessionId: input.sessionId ?? null,
        fileId: input.fileId ?? null,
        details: input.details,
        prevHash: '0'.repeat(64),
        keyId: 'k1',
        hash: `h${this.events.length + 1}`,
        signature: 's',
      };
      this.events.push(event);
      return event;
    });
    this.m.ledger.mirror = vi.fn(async () => undefined);
    return this;
  }

  /** A scratch workspace per job, with a copy of the original read from the originals bucket. */
  withOriginal(): this {
    this.m.workspaces.create = vi.fn(async (label: string) => {
      const ws = new FakeWorkspace(this.scope, `/scratch/${label}-${this.workspaces.length + 1}`);
      for (const [name, digest] of this.digests) ws.digests.set(name, digest);
      ws.frames = this.frames.map((f) => ws.path(f));
      this.workspaces.push(ws);
      return ws;
    });
    this.m.objects.read = vi.fn(async () => Readable.from([Buffer.from('original bytes')]));
    return this;
  }

  get ws(): FakeWorkspace {
    const ws = this.workspaces.at(-1);
    if (!ws) throw new Error('no workspace was created');
    return ws;
  }

  /** prober.probe (and probeOutput, of the same answers) per file name in the workspace. */
  probes(byName: Record<string, ProbeOutcome>): this {
    const nameOf = (path: string) => path.slice(path.lastIndexOf('/') + 1);
    this.m.prober.probe = vi.fn(async (path: string) => byName[nameOf(path)] ?? this.scope.fail(`prober.probe(${path})`));
    this.m.prober.probeOutput = vi.fn(async (path: string): Promise<OutputOutcome> => {
      const outcome = byName[nameOf(path)] ?? this.scope.fail(`prober.probeOutput(${path})`);
      if (!outcome.ok) return outcome;
      const video = outcome.info.streams.find((s) => s.kind === 'video');
      return { ok: true, durationSeconds: outcome.info.durationSeconds, width: video?.width ?? null, height: video?.height ?? null, readBy: 'header' };
    });
    return this;
  }

  /** What the metadata job stored of its probe of the original (media_metadata.probe). */
  storedProbe(json: unknown): this {
    this.m.catalog.storedProbe = vi.fn(async () => json);
    return this;
  }

  call(member: keyof Rig['m'], name: string) {
    return this.m[member][name] as ReturnType<typeof vi.fn>;
  }

  ofType(type: CustodyEventInput['type']): CustodyEventInput[] {
    return this.appended.filter((e) => e.type === type);
  }
}

let rig: Rig;
beforeEach(() => {
  rig = new Rig();
});
afterEach(() => {
  // Also catches a stray call that the code under test caught and swallowed.
  expect(rig.scope.unexpected).toEqual([]);
  // Whatever happened, no scratch space is left behind.
  for (const ws of rig.workspaces) expect(ws.disposed, ws.dir).toBe(1);
});

const payloadOf = (e: EvidenceRow, generation?: string): MediaJobPayload => ({ evidenceId: e.id, objectKey: e.objectKey, ...(generation ? { generation } : {}) });

describe('handleMetadata', () => {
  const probe = probed([videoStream(), audioStream()], {
    tags: { creation_time: '2026-11-21T01:30:00.000000Z', location: '+31.230400+121.473700/', make: 'Hytera', model: 'VM780' },
  });
  const embedded = noMetadata({ serialNumber: 'ZFY123456', raw: { SerialNumber: 'ZFY123456' } });

  function tools(p: ProbeOutcome, e = embedded): Rig {
    rig.withOriginal().ledgered();
    rig.m.prober.probe = vi.fn(async () => p);
    rig.m.prober.version = vi.fn(async () => 'ffprobe 5.1.6');
    rig.m.metadata.read = vi.fn(async () => e);
    rig.m.metadata.version = vi.fn(async () => 'exiftool 13.10');
    rig.m.catalog.updateEvidenceMedia = vi.fn(async () => undefined);
    return rig;
  }

  it('applies the decision, records one METADATA_EXTRACTED with before/after, then queues exactly its next jobs with the same payload', async () => {
    const evidence = evidenceRow({ captureStart: new Date('2026-11-21T01:48:00Z'), captureTimeSource: 'file-time', flags: ['missing-place'] });
    rig.knows(evidence);
    tools(probe);
    rig.m.queue.enqueue = vi.fn(async () => undefined);
    const payload = payloadOf(evidence, 'rmhx2k9a0');
    const decision = decideMetadata(evidence, probe, embedded, { now: NOW, settings: config.media });
    expect(decision.next).toEqual([JobName.Proxy, JobName.Thumbnails]);
    expect(decision.flagsToRemove).toEqual(['missing-place']);

    expect(await rig.service.handleMetadata(payload)).toBe(JobStatus.Success);

    expect(rig.call('objects', 'read')).toHaveBeenCalledExactlyOnceWith('originals', evidence.objectKey);
    expect(rig.ws.written.get('original')).toBe('original bytes'.length);
    expect(rig.call('prober', 'probe')).toHaveBeenCalledExactlyOnceWith(rig.ws.path('original'));
    expect(rig.call('metadata', 'read')).toHaveBeenCalledExactlyOnceWith(rig.ws.path('original'));
    expect(rig.call('catalog', 'updateEvidenceMedia')).toHaveBeenCalledExactlyOnceWith(rig.tx, evidence.id, {
      ...decision.media,
      ...decision.capture,
      // GPS filled the place, so its missing-place flag goes.
      flags: ['missing-place', ...decision.flagsToAdd].filter((f) => !decision.flagsToRemove.includes(f)),
      metadata: { probe: probe.ok && probe.info, embedded: embedded.raw },
    });
    expect(rig.appended).toEqual([
      {
        type: 'METADATA_EXTRACTED',
        actor: ACTOR,
        evidenceId: evidence.id,
        details: {
          tools: { ffprobe: 'ffprobe 5.1.6', exiftool: 'exiftool 13.10' },
          status: 'ok',
          problem: null,
          facts: {
            container: 'mov,mp4,m4a,3gp,3g2,mj2',
            durationSeconds: 18.005,
            videoCodec: 'h264',
            audioCodec: 'aac',
            width: 1920,
            height: 1080,
            frameRate: 30,
            rotation: 0,
            gpsLatitude: 31.2304,
            gpsLongitude: 121.4737,
            deviceMake: 'Hytera',
            deviceModel: 'VM780',
            deviceSerial: 'ZFY123456',
          },
          before: { captureStart: '2026-11-21T01:48:00.000Z', captureTimeSource: 'file-time', place: null },
          after: { captureStart: '2026-11-21T01:30:00.000Z', captureTimeSource: 'metadata', place: 'GPS 31.230400,121.473700' },
          flagsAdded: decision.flagsToAdd,
          flags: ['missing-place', ...decision.flagsToAdd].filter((f) => !decision.flagsToRemove.includes(f)),
        },
      },
    ]);
    expect(rig.call('ledger', 'append')).toHaveBeenCalledWith(rig.tx, expect.anything());
    expect(rig.call('ledger', 'mirror')).toHaveBeenCalledExactlyOnceWith(rig.events);

    const enqueue = rig.call('queue', 'enqueue');
    expect(enqueue.mock.calls).toEqual(decision.next.map((job) => [job, payload]));
    expect(enqueue.mock.calls.every(([, p]) => (p as MediaJobPayload).generation === 'rmhx2k9a0')).toBe(true);
    // Jobs follow the committed change, never precede it.
    expect(rig.call('ledger', 'mirror').mock.invocationCallOrder[0]!).toBeLessThan(enqueue.mock.invocationCallOrder[0]!);
  });

  it('records flags added and leaves after empty when nothing of capture changed', async () => {
    const evidence = evidenceRow({ place: 'Nanjing Rd E' });
    rig.knows(evidence);
    tools(probed([videoStream({ variableFrameRate: true })], { tags: { creation_time: '2026-11-21T02:30:00Z' } }), noMetadata({ serialNumber: 'ZFY999999' }));
    rig.m.queue.enqueue = vi.fn(async () => undefined);

    await rig.service.handleMetadata(payloadOf(evidence));

    expect(rig.appended[0]!.details).toMatchObject({
      before: { captureStart: '2026-11-21T01:30:00.000Z', captureTimeSource: 'file-name', place: 'Nanjing Rd E' },
      after: {},
      flagsAdded: ['variable-frame-rate', 'capture-time-mismatch', 'device-serial-mismatch'],
    });
    expect(rig.call('catalog', 'updateEvidenceMedia').mock.calls[0]![2]).toMatchObject({
      flags: ['variable-frame-rate', 'capture-time-mismatch', 'device-serial-mismatch'],
    });
  });

  it('an unplayable original: recorded with its problem, the job succeeds, nothing is queued', async () => {
    const evidence = evidenceRow();
    rig.knows(evidence);
    tools({ ok: false, error: 'moov atom not found' });
    // queue has no members: any enqueue fails the test.

    expect(await rig.service.handleMetadata(payloadOf(evidence))).toBe(JobStatus.Success);

    expect(rig.call('catalog', 'updateEvidenceMedia').mock.calls[0]![2]).toMatchObject({
      status: 'unplayable',
      problem: 'moov atom not found',
      metadata: { probe: { error: 'moov atom not found' }, embedded: embedded.raw },
    });
    expect(rig.appended).toHaveLength(1);
    expect(rig.appended[0]).toMatchObject({ type: 'METADATA_EXTRACTED', details: { status: 'unplayable', problem: 'moov atom not found', after: {} } });
    expect(rig.appended[0]!.details.facts).not.toHaveProperty('container');
  });

  it('a photo queues thumbnails only', async () => {
    const evidence = evidenceRow({ mediaType: 'photo' });
    rig.knows(evidence);
    tools(probed([videoStream({ codec: 'mjpeg', durationSeconds: 0.04 })], { container: 'image2', durationSeconds: 0.04 }), noMetadata());
    rig.m.queue.enqueue = vi.fn(async () => undefined);
    await rig.service.handleMetadata(payloadOf(evidence));
    expect(rig.call('queue', 'enqueue').mock.calls).toEqual([[JobName.Thumbnails, payloadOf(evidence)]]);
  });

  it("`other` media: status not-media, skipped, no workspace, tool, ledger or queue touched", async () => {
    const evidence = evidenceRow({ mediaType: 'other', originalName: 'DEVICE.LOG' });
    rig.knows(evidence);
    rig.m.catalog.updateEvidenceMedia = vi.fn(async () => undefined);

    expect(await rig.service.handleMetadata(payloadOf(evidence))).toBe(JobStatus.Skipped);

    expect(rig.call('catalog', 'updateEvidenceMedia')).toHaveBeenCalledExactlyOnceWith(rig.deps.db, evidence.id, { status: 'not-media' });
    expect(rig.workspaces).toEqual([]);
  });

  it('evidence that does not exist: UnrecoverableError, nothing else touched', async () => {
    rig.knows();
    const error = await rig.service.handleMetadata({ evidenceId: 'gone', objectKey: 'k' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnrecoverableError);
    expect((error as Error).message).toBe('no evidence gone');
  });

  it('a tool that fails (not about the input) propagates, writes nothing and still disposes the workspace', async () => {
    const evidence = evidenceRow();
    rig.knows(evidence).withOriginal();
    const failure = new Error('ffprobe (ffprobe) could not run: spawn ffprobe ENOENT');
    rig.m.prober.probe = vi.fn(async () => {
      throw failure;
    });
    await expect(rig.service.handleMetadata(payloadOf(evidence))).rejects.toBe(failure);
    expect(rig.ws.disposed).toBe(1);
  });

  it('a failed commit queues nothing', async () => {
    const evidence = evidenceRow();
    rig.knows(evidence);
    tools(probe);
    const down = new Error('Connection terminated unexpectedly');
    rig.m.db.transaction = vi.fn(async () => {
      throw down;
    });
    await expect(rig.service.handleMetadata(payloadOf(evidence))).rejects.toBe(down);
    expect(rig.appended).toEqual([]);
  });
});

describe('handleProxy', () => {
  const original = probed([videoStream(), audioStream()]);
  const proxy = probed([videoStream({ width: 1280, height: 720, durationSeconds: 18 }), audioStream({ durationSeconds: 18 })], { durationSeconds: 18 });
  const clean: TranscodeResult = { stderrTail: [], hadErrors: false };

  /** The proxy job up to the transcoder, which `run` stands in for. */
  function upTo(evidence: EvidenceRow, run: Transcoder['run'], probes: Record<string, ProbeOutcome> = { original, 'proxy.mp4': proxy }, stored: unknown = null): Rig {
    rig.knows(evidence).storedProbe(stored).withOriginal().probes(probes);
    rig.m.transcoder.run = vi.fn(run);
    return rig;
  }

  /** And on to storing the result. */
  function storing(current: DerivativeRow[] = []): Rig {
    rig.ledgered();
    rig.digests.set('proxy.mp4', { sha256: SHA_PROXY, size: 2_345_678 });
    rig.digests.set('proxy.m4a', { sha256: SHA_PROXY, size: 234_567 });
    rig.m.transcoder.version = vi.fn(async () => FFMPEG);
    rig.m.catalog.derivativesOf = vi.fn(async () => current);
    rig.m.objects.putFile = vi.fn(async () => ({ etag: 'e', versionId: null, bytesSent: 0, sentSha256: SHA_PROXY, proof: 'etag', expected: 'e', reported: 'e' }));
    rig.m.catalog.insertDerivative = vi.fn(async () => undefined);
    rig.m.catalog.updateEvidenceMedia = vi.fn(async () => undefined);
    return rig;
  }

  const playable = () => evidenceRow({ media: { status: 'ok', durationSeconds: 18.005 } });

  it('MediaInputError from the transcoder: item marked unplayable, MEDIA_PROBLEM recorded, UnrecoverableError thrown', async () => {
    const evidence = playable();
    upTo(evidence, async () => {
      throw new MediaInputError('ffmpeg', 'Invalid data found in the stream');
    }).ledgered();
    rig.m.catalog.updateEvidenceMedia = vi.fn(async () => undefined);

    const error = await rig.service.handleProxy(payloadOf(evidence)).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(UnrecoverableError);
    expect((error as Error).message).toBe('unplayable: Invalid data found in the stream');
    expect(rig.call('catalog', 'updateEvidenceMedia')).toHaveBeenCalledExactlyOnceWith(rig.tx, evidence.id, {
      status: 'unplayable',
      problem: 'Invalid data found in the stream',
    });
    expect(rig.appended).toEqual([
      { type: 'MEDIA_PROBLEM', actor: ACTOR, evidenceId: evidence.id, details: { tool: 'ffmpeg', problem: 'Invalid data found in the stream', status: 'unplayable' } },
    ]);
    expect(rig.call('ledger', 'mirror')).toHaveBeenCalledExactlyOnceWith(rig.events);
  });

  it('a transient error from the transcoder propagates unchanged, without marking anything', async () => {
    const evidence = playable();
    const transient = new Error('ffmpeg printed nothing for 120 s and was killed');
    upTo(evidence, async () => {
      throw transient;
    });
    // No catalog writes, ledger or object store members: touching them fails the test.
    await expect(rig.service.handleProxy(payloadOf(evidence))).rejects.toBe(transient);
  });

  it('ffmpeg stopped because the process is stopping: Stopped, nothing marked or stored, the workspace still removed', async () => {
    const evidence = playable();
    const stopping = new AbortController();
    upTo(evidence, async (_args, options) => {
      expect(options.signal).toBe(stopping.signal);
      stopping.abort();
      throw new TranscodeStoppedError();
    });
    // No catalog writes, ledger or object store members: touching them fails the test.
    expect(await rig.service.handleProxy(payloadOf(evidence), stopping.signal)).toBe(JobStatus.Stopped);
    expect(rig.ws.disposed).toBe(1);
  });

  it('a transcoder error while nothing is stopping is not taken for a stop', async () => {
    const evidence = playable();
    upTo(evidence, async () => {
      throw new TranscodeStoppedError();
    });
    await expect(rig.service.handleProxy(payloadOf(evidence), new AbortController().signal)).rejects.toBeInstanceOf(TranscodeStoppedError);
  });

  it('ffprobe failing on the original now: unplayable, transcoder untouched', async () => {
    const evidence = playable();
    rig.knows(evidence).storedProbe(null).withOriginal().probes({ original: { ok: false, error: 'moov atom not found' } }).ledgered();
    rig.m.catalog.updateEvidenceMedia = vi.fn(async () => undefined);
    await expect(rig.service.handleProxy(payloadOf(evidence))).rejects.toThrow(/^unplayable: moov atom not found$/);
    expect(rig.appended).toMatchObject([{ type: 'MEDIA_PROBLEM', details: { tool: 'ffprobe', problem: 'moov atom not found' } }]);
  });

  it('an output ffprobe cannot read: unplayable, nothing stored', async () => {
    const evidence = playable();
    upTo(evidence, async () => clean, { original, 'proxy.mp4': { ok: false, error: 'moov atom not found' } }).ledgered();
    rig.m.catalog.updateEvidenceMedia = vi.fn(async () => undefined);
    await expect(rig.service.handleProxy(payloadOf(evidence))).rejects.toThrow('unplayable: proxy could not be made: moov atom not found');
  });

  it('the probe the metadata job stored is used: no ffprobe of the original, the same arguments as from a fresh probe', async () => {
    const evidence = playable();
    const info = original.ok ? original.info : never();
    // Stored as JSON in media_metadata; no answer for the original here, so probing it fails the test.
    upTo(evidence, async () => clean, { 'proxy.mp4': proxy }, JSON.parse(JSON.stringify(info)));
    storing();

    expect(await rig.service.handleProxy(payloadOf(evidence))).toBe(JobStatus.Success);

    expect(rig.call('catalog', 'storedProbe')).toHaveBeenCalledExactlyOnceWith(evidence.id);
    expect(rig.call('prober', 'probe')).not.toHaveBeenCalled();
    const ws = rig.ws;
    expect(rig.call('transcoder', 'run')).toHaveBeenCalledExactlyOnceWith(proxyVideoArgs(ws.path('original'), ws.path('proxy.mp4'), info, config.media), expect.objectContaining({ durationSeconds: 18.005 }));
    expect(rig.call('prober', 'probeOutput')).toHaveBeenCalledExactlyOnceWith(ws.path('proxy.mp4'));
  });

  it('a stored probe that is not a probe result (the metadata job stored ffprobe\'s error) is not trusted: the original is probed', async () => {
    const evidence = playable();
    upTo(evidence, async () => clean, { original, 'proxy.mp4': proxy }, { error: 'moov atom not found' });
    storing();

    expect(await rig.service.handleProxy(payloadOf(evidence))).toBe(JobStatus.Success);

    expect(rig.call('prober', 'probe')).toHaveBeenCalledExactlyOnceWith(rig.ws.path('original'));
  });

  it('a new recipe: stored in the derivatives bucket with expectSha256, linked, one DERIVED with placeholders instead of temp paths', async () => {
    const evidence = playable();
    upTo(evidence, async () => clean);
    storing();

    expect(await rig.service.handleProxy(payloadOf(evidence))).toBe(JobStatus.Success);

    const ws = rig.ws;
    const args = proxyVideoArgs(ws.path('original'), ws.path('proxy.mp4'), original.ok ? original.info : never(), config.media);
    expect(rig.call('transcoder', 'run')).toHaveBeenCalledExactlyOnceWith(args, expect.objectContaining({ durationSeconds: 18.005 }));

    const recorded = args.map((a) => (a === ws.path('original') ? '{original}' : a === ws.path('proxy.mp4') ? '{workdir}/proxy.mp4' : a));
    const key = derivativeKey(evidence.id, 'proxy', recipeOf(SHA_ORIGINAL, FFMPEG, recorded), 'mp4');
    expect(rig.call('objects', 'putFile')).toHaveBeenCalledExactlyOnceWith(
      'derivatives',
      key,
      ws.path('proxy.mp4'),
      2_345_678,
      { sha256: SHA_PROXY, 'evidence-id': evidence.id, kind: 'proxy' },
      { expectSha256: SHA_PROXY },
    );
    expect(rig.call('catalog', 'insertDerivative')).toHaveBeenCalledExactlyOnceWith(rig.tx, {
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      evidenceId: evidence.id,
      kind: 'proxy',
      objectKey: key,
      contentType: 'video/mp4',
      sha256: SHA_PROXY,
      size: 2_345_678,
      partial: false,
      width: 1280,
      height: 720,
      durationSeconds: 18,
      tool: 'ffmpeg',
      toolVersion: FFMPEG,
      arguments: recorded,
    });
    expect(rig.appended).toEqual([
      {
        type: 'DERIVED',
        actor: ACTOR,
        evidenceId: evidence.id,
        details: {
          kind: 'proxy',
          key,
          sha256: SHA_PROXY,
          size: 2_345_678,
          etag: 'e',
          partial: false,
          from: SHA_ORIGINAL,
          tool: 'ffmpeg',
          toolVersion: FFMPEG,
          arguments: recorded,
          contentType: 'video/mp4',
          width: 1280,
          height: 720,
          durationSeconds: 18,
          mediaPatch: null,
        },
      },
    ]);
    const text = JSON.stringify(rig.appended[0]!.details.arguments);
    expect(text).toContain('"{original}"');
    expect(text).toContain('"{workdir}/proxy.mp4"');
    expect(text).not.toContain('/scratch');
    // The object is stored before the catalog and the ledger say it exists.
    expect(rig.call('objects', 'putFile').mock.invocationCallOrder[0]!).toBeLessThan(rig.call('db', 'transaction').mock.invocationCallOrder[0]!);
    // Status was ok already: nothing to patch.
    expect(rig.call('catalog', 'updateEvidenceMedia')).not.toHaveBeenCalled();
  });

  it('a newer recipe beside an older derivative of the same kind is stored as a new derivative', async () => {
    const evidence = playable();
    upTo(evidence, async () => clean);
    storing([derivative({ kind: 'proxy', objectKey: `${evidence.id}/proxy-0123456789abcdef.mp4`, sha256: SHA_PROXY, toolVersion: 'ffmpeg 4.4' })]);
    await rig.service.handleProxy(payloadOf(evidence));
    expect(rig.call('objects', 'putFile')).toHaveBeenCalledTimes(1);
    expect(rig.call('catalog', 'insertDerivative')).toHaveBeenCalledTimes(1);
    expect(rig.ofType('DERIVED')).toHaveLength(1);
  });

  it('the same recipe with the same bytes already current: no upload, no row, no DERIVED (idempotent, across workspaces)', async () => {
    const evidence = playable();
    upTo(evidence, async () => clean);
    storing();
    await rig.service.handleProxy(payloadOf(evidence));
    const row = rig.call('catalog', 'insertDerivative').mock.calls[0]![1] as Omit<DerivativeRow, 'createdAt'>;
    rig.m.catalog.derivativesOf = vi.fn(async () => [{ ...row, createdAt: NOW }]);

    expect(await rig.service.handleProxy(payloadOf(evidence))).toBe(JobStatus.Success);

    expect(rig.workspaces.map((w) => w.dir)).toEqual([`/scratch/${evidence.id}-1`, `/scratch/${evidence.id}-2`]);
    expect(rig.call('transcoder', 'run')).toHaveBeenCalledTimes(2);
    expect(rig.call('objects', 'putFile')).toHaveBeenCalledTimes(1);
    expect(rig.call('catalog', 'insertDerivative')).toHaveBeenCalledTimes(1);
    expect(rig.ofType('DERIVED')).toHaveLength(1);
    expect(rig.call('db', 'transaction')).toHaveBeenCalledTimes(1);
  });

  it('the same recipe but different bytes is stored again', async () => {
    const evidence = playable();
    upTo(evidence, async () => clean);
    storing();
    await rig.service.handleProxy(payloadOf(evidence));
    const row = rig.call('catalog', 'insertDerivative').mock.calls[0]![1] as Omit<DerivativeRow, 'createdAt'>;
    rig.m.catalog.derivativesOf = vi.fn(async () => [{ ...row, sha256: 'ff'.repeat(32), createdAt: NOW }]);
    await rig.service.handleProxy(payloadOf(evidence));
    expect(rig.call('objects', 'putFile')).toHaveBeenCalledTimes(2);
    expect(rig.ofType('DERIVED')).toHaveLength(2);
  });

  it('an output shorter than the input: a partial derivative, media status partial, "breaks off" problem', async () => {
    const evidence = playable();
    const cut = probed([videoStream({ width: 640, height: 360, durationSeconds: 2.96 })], { durationSeconds: 2.96 });
    upTo(evidence, async () => clean, { original: probed([videoStream({ durationSeconds: 6 })], { durationSeconds: 6 }), 'proxy.mp4': cut });
    storing();

    expect(await rig.service.handleProxy(payloadOf(evidence))).toBe(JobStatus.Success);

    const problem = 'stream breaks off at 3.0 s of 6.0 s';
    expect(rig.call('catalog', 'insertDerivative').mock.calls[0]![1]).toMatchObject({ partial: true, durationSeconds: 2.96, width: 640, height: 360 });
    expect(rig.call('catalog', 'updateEvidenceMedia')).toHaveBeenCalledExactlyOnceWith(rig.tx, evidence.id, { status: 'partial', problem });
    expect(rig.appended).toMatchObject([{ type: 'DERIVED', details: { partial: true } }]);
  });

  it('decoding errors with a full-length output: partial, the last stderr line is the problem', async () => {
    const evidence = playable();
    upTo(evidence, async () => ({ stderrTail: ['[h264] concealing 120 DC errors', '[h264] error while decoding MB 12 30'], hadErrors: true }));
    storing();
    await rig.service.handleProxy(payloadOf(evidence));
    expect(rig.call('catalog', 'updateEvidenceMedia')).toHaveBeenCalledExactlyOnceWith(rig.tx, evidence.id, {
      status: 'partial',
      problem: 'decoding errors: [h264] error while decoding MB 12 30',
    });
  });

  it('an output within a second of the input is complete', async () => {
    const evidence = playable();
    upTo(evidence, async () => clean, { original, 'proxy.mp4': probed([videoStream({ durationSeconds: 17.1 })], { durationSeconds: 17.1 }) });
    storing();
    await rig.service.handleProxy(payloadOf(evidence));
    expect(rig.call('catalog', 'insertDerivative').mock.calls[0]![1]).toMatchObject({ partial: false });
    expect(rig.call('catalog', 'updateEvidenceMedia')).not.toHaveBeenCalled();
  });

  it('an item still pending becomes ok with its first complete proxy, in the same transaction', async () => {
    const evidence = evidenceRow({ media: { status: 'pending' } });
    upTo(evidence, async () => clean);
    storing();
    await rig.service.handleProxy(payloadOf(evidence));
    expect(rig.call('catalog', 'updateEvidenceMedia')).toHaveBeenCalledExactlyOnceWith(rig.tx, evidence.id, { status: 'ok' });
  });

  it('an already-current partial proxy re-asserts the partial status, without a new event', async () => {
    const evidence = playable();
    const cut = probed([videoStream({ durationSeconds: 3 })], { durationSeconds: 3 });
    upTo(evidence, async () => clean, { original: probed([videoStream({ durationSeconds: 6 })], { durationSeconds: 6 }), 'proxy.mp4': cut });
    storing();
    await rig.service.handleProxy(payloadOf(evidence));
    const row = rig.call('catalog', 'insertDerivative').mock.calls[0]![1] as Omit<DerivativeRow, 'createdAt'>;
    rig.m.catalog.derivativesOf = vi.fn(async () => [{ ...row, createdAt: NOW }]);
    rig.call('catalog', 'updateEvidenceMedia').mockClear();

    await rig.service.handleProxy(payloadOf(evidence));

    expect(rig.call('catalog', 'updateEvidenceMedia')).toHaveBeenCalledExactlyOnceWith(rig.deps.db, evidence.id, { status: 'partial', problem: 'stream breaks off at 3.0 s of 6.0 s' });
    expect(rig.ofType('DERIVED')).toHaveLength(1);
  });

  it('audio: an M4A proxy from the audio recipe', async () => {
    const evidence = evidenceRow({ mediaType: 'audio', media: { status: 'ok' } });
    const wav = probed([audioStream({ index: 0, codec: 'pcm_s16le', durationSeconds: 3 })], { container: 'wav', durationSeconds: 3 });
    const m4a = probed([audioStream({ index: 0, durationSeconds: 3 })], { durationSeconds: 3 });
    upTo(evidence, async () => clean, { original: wav, 'proxy.m4a': m4a });
    storing();
    await rig.service.handleProxy(payloadOf(evidence));
    expect(rig.call('transcoder', 'run').mock.calls[0]![0]).toEqual(proxyAudioArgs(rig.ws.path('original'), rig.ws.path('proxy.m4a'), config.media));
    expect(rig.call('catalog', 'insertDerivative').mock.calls[0]![1]).toMatchObject({ kind: 'proxy', contentType: 'audio/mp4', width: null, height: null });
    expect(rig.call('objects', 'putFile').mock.calls[0]![1]).toMatch(new RegExp(`^${evidence.id}/proxy-[0-9a-f]{16}\\.m4a$`));
  });

  it('forwards transcoder progress with the evidence id', async () => {
    const evidence = playable();
    upTo(evidence, async (_args, options) => {
      options.onProgress?.({ percent: 42, speed: 3.5 });
      return clean;
    });
    storing();
    await rig.service.handleProxy(payloadOf(evidence));
    expect(rig.progress).toHaveBeenCalledExactlyOnceWith(evidence.id, 42, 3.5);
  });

  it.each([
    ['a photo', evidenceRow({ mediaType: 'photo' })],
    ['an unplayable video', evidenceRow({ media: { status: 'unplayable', problem: 'moov atom not found' } })],
  ])('skips %s without touching anything', async (_name, evidence) => {
    rig.knows(evidence);
    expect(await rig.service.handleProxy(payloadOf(evidence))).toBe(JobStatus.Skipped);
  });
});

describe('handleThumbnails', () => {
  function storing(): Rig {
    rig.ledgered();
    rig.digests.set('preview.jpg', { sha256: SHA_JPEG, size: 120_000 });
    rig.digests.set('preview.webp', { sha256: SHA_WEBP, size: 80_000 });
    rig.digests.set('poster.jpg', { sha256: SHA_JPEG, size: 120_000 });
    rig.digests.set('poster.webp', { sha256: SHA_WEBP, size: 80_000 });
    rig.digests.set('storyboard.webp', { sha256: SHA_BOARD, size: 300_000 });
    rig.m.images.version = vi.fn(() => SHARP);
    rig.m.catalog.derivativesOf = vi.fn(async () => []);
    rig.m.objects.putFile = vi.fn(async () => ({ etag: 'e', versionId: null, bytesSent: 0, sentSha256: '', proof: 'etag', expected: 'e', reported: 'e' }));
    rig.m.catalog.insertDerivative = vi.fn(async () => undefined);
    return rig;
  }

  it('a photo: preview-jpeg and preview-webp from the image tool, each stored and recorded; no ffmpeg', async () => {
    const evidence = evidenceRow({ mediaType: 'photo', media: { status: 'ok' } });
    rig.knows(evidence).withOriginal();
    storing();
    rig.m.images.resize = vi.fn(async (_in: string, _out: string, o: { format: string }) => ({ width: 1280, height: 960, format: o.format }));

    expect(await rig.service.handleThumbnails(payloadOf(evidence))).toBe(JobStatus.Success);

    const ws = rig.ws;
    expect(rig.call('images', 'resize').mock.calls).toEqual([
      [ws.path('original'), ws.path('preview.jpg'), { width: config.media.posterWidth, format: 'jpeg', quality: 82 }],
      [ws.path('original'), ws.path('preview.webp'), { width: config.media.posterWidth, format: 'webp', quality: 82 }],
    ]);
    const rows = rig.call('catalog', 'insertDerivative').mock.calls.map((c) => c[1] as DerivativeRow);
    expect(rows).toMatchObject([
      { kind: 'preview-jpeg', contentType: 'image/jpeg', sha256: SHA_JPEG, width: 1280, height: 960, partial: false, tool: 'sharp', toolVersion: SHARP },
      { kind: 'preview-webp', contentType: 'image/webp', sha256: SHA_WEBP, width: 1280, height: 960, partial: false, tool: 'sharp', toolVersion: SHARP },
    ]);
    expect(rows[0]!.objectKey).toMatch(new RegExp(`^${evidence.id}/preview-jpeg-[0-9a-f]{16}\\.jpg$`));
    expect(rows[1]!.objectKey).toMatch(new RegExp(`^${evidence.id}/preview-webp-[0-9a-f]{16}\\.webp$`));
    expect(rig.call('objects', 'putFile').mock.calls.map((c) => [c[0], c[2], c[5]])).toEqual([
      ['derivatives', ws.path('preview.jpg'), { expectSha256: SHA_JPEG }],
      ['derivatives', ws.path('preview.webp'), { expectSha256: SHA_WEBP }],
    ]);
    expect(rig.ofType('DERIVED').map((e) => [e.details.kind, e.details.from])).toEqual([
      ['preview-jpeg', SHA_ORIGINAL],
      ['preview-webp', SHA_ORIGINAL],
    ]);
  });

  it('a corrupt photo (MediaInputError from sharp): unplayable, UnrecoverableError, nothing stored', async () => {
    const evidence = evidenceRow({ mediaType: 'photo', media: { status: 'ok' } });
    rig.knows(evidence).withOriginal().ledgered();
    rig.m.images.resize = vi.fn(async () => {
      throw new MediaInputError('sharp', 'VipsJpeg: Premature end of input file');
    });
    rig.m.catalog.updateEvidenceMedia = vi.fn(async () => undefined);

    await expect(rig.service.handleThumbnails(payloadOf(evidence))).rejects.toThrow(new UnrecoverableError('unplayable: VipsJpeg: Premature end of input file'));
    expect(rig.appended).toMatchObject([{ type: 'MEDIA_PROBLEM', details: { tool: 'sharp', status: 'unplayable', problem: 'VipsJpeg: Premature end of input file' } }]);
  });

  it('a video: poster frame through ffmpeg, poster-jpeg/-webp through sharp, and a storyboard sprite', async () => {
    const evidence = evidenceRow({ media: { status: 'ok', durationSeconds: 25 } });
    rig.frames = ['frame-0001.png', 'frame-0002.png', 'frame-0003.png'];
    rig.knows(evidence).withOriginal();
    storing();
    rig.m.transcoder.run = vi.fn(async () => ({ stderrTail: [], hadErrors: false }));
    rig.m.transcoder.version = vi.fn(async () => FFMPEG);
    rig.m.images.resize = vi.fn(async (_in: string, _out: string, o: { format: string }) => ({ width: 1280, height: 720, format: o.format }));
    rig.m.images.sprite = vi.fn(async () => ({ width: 480, height: 90, format: 'webp' }));

    expect(await rig.service.handleThumbnails(payloadOf(evidence))).toBe(JobStatus.Success);

    const ws = rig.ws;
    expect(rig.call('transcoder', 'run').mock.calls.map((c) => c[0])).toEqual([
      posterFrameArgs(ws.path('original'), ws.path('poster.png'), 1, config.media.posterWidth),
      storyboardFramesArgs(ws.path('original'), ws.path('frame-%04d.png'), config.media.storyboardIntervalSeconds, config.media.storyboardTileWidth),
    ]);
    expect(rig.call('images', 'resize').mock.calls.map((c) => c[0])).toEqual([ws.path('poster.png'), ws.path('poster.png')]);
    expect(rig.call('images', 'sprite')).toHaveBeenCalledExactlyOnceWith(ws.frames, ws.path('storyboard.webp'), {
      columns: 3,
      tileWidth: config.media.storyboardTileWidth,
      format: 'webp',
      quality: 70,
    });
    expect(rig.ofType('DERIVED').map((e) => e.details.kind)).toEqual(['poster-jpeg', 'poster-webp', 'storyboard']);
    expect(JSON.stringify(rig.appended.map((e) => e.details.arguments))).not.toContain('/scratch');
  });

  it('unplayable video: skipped without a workspace or any tool', async () => {
    const evidence = evidenceRow({ media: { status: 'unplayable', problem: 'moov atom not found' } });
    rig.knows(evidence);
    expect(await rig.service.handleThumbnails(payloadOf(evidence))).toBe(JobStatus.Skipped);
    expect(rig.workspaces).toEqual([]);
  });

  it('audio: skipped', async () => {
    const evidence = evidenceRow({ mediaType: 'audio', media: { status: 'ok' } });
    rig.knows(evidence);
    expect(await rig.service.handleThumbnails(payloadOf(evidence))).toBe(JobStatus.Skipped);
  });

  it('a video whose poster frame ffmpeg cannot decode: unplayable, and the workspace is disposed', async () => {
    const evidence = evidenceRow({ media: { status: 'ok', durationSeconds: 10 } });
    rig.knows(evidence).withOriginal().ledgered();
    rig.m.transcoder.run = vi.fn(async () => {
      throw new MediaInputError('ffmpeg', "Stream map '0:V:0' matches no streams.");
    });
    rig.m.catalog.updateEvidenceMedia = vi.fn(async () => undefined);
    await expect(rig.service.handleThumbnails(payloadOf(evidence))).rejects.toThrow(/^unplayable: Stream map/);
    expect(rig.call('catalog', 'updateEvidenceMedia')).toHaveBeenCalledWith(rig.tx, evidence.id, { status: 'unplayable', problem: "Stream map '0:V:0' matches no streams." });
  });
});

describe('markFailed', () => {
  it('sets status failed with the job and reason, and records MEDIA_PROBLEM', async () => {
    const evidence = evidenceRow({ media: { status: 'ok' } });
    rig.knows(evidence).ledgered();
    rig.m.catalog.updateEvidenceMedia = vi.fn(async () => undefined);

    await rig.service.markFailed(payloadOf(evidence), JobName.Proxy, 'ffmpeg failed: Conversion failed (exited with code 1)');

    expect(rig.call('catalog', 'updateEvidenceMedia')).toHaveBeenCalledExactlyOnceWith(rig.tx, evidence.id, {
      status: 'failed',
      problem: 'proxy: ffmpeg failed: Conversion failed (exited with code 1)',
    });
    expect(rig.appended).toEqual([
      {
        type: 'MEDIA_PROBLEM',
        actor: ACTOR,
        evidenceId: evidence.id,
        details: { job: 'proxy', reason: 'ffmpeg failed: Conversion failed (exited with code 1)', status: 'failed' },
      },
    ]);
    expect(rig.call('ledger', 'mirror')).toHaveBeenCalledExactlyOnceWith(rig.events);
  });

  it('leaves an unplayable item as it is', async () => {
    const evidence = evidenceRow({ media: { status: 'unplayable', problem: 'moov atom not found' } });
    rig.knows(evidence);
    await rig.service.markFailed(payloadOf(evidence), JobName.Proxy, 'unplayable: moov atom not found');
  });

  it('does nothing for evidence that does not exist', async () => {
    rig.knows();
    await rig.service.markFailed({ evidenceId: 'gone', objectKey: 'k' }, JobName.Metadata, 'x');
  });
});

describe('requestDerivatives', () => {
  it('queues Metadata for each known id with one shared generation and the original key', async () => {
    const a = evidenceRow({ id: 'aaaaaaaa-0000-4000-8000-000000000001', sha256: '0a'.repeat(32) });
    const b = evidenceRow({ id: 'bbbbbbbb-0000-4000-8000-000000000002', sha256: '0b'.repeat(32) });
    rig.knows(a, b);
    rig.m.queue.enqueue = vi.fn(async () => undefined);

    expect(await rig.service.requestDerivatives([a.id, 'missing', b.id])).toEqual([a.id, b.id]);

    const generation = `r${NOW.getTime().toString(36)}`;
    expect(rig.call('queue', 'enqueue').mock.calls).toEqual([
      [JobName.Metadata, { evidenceId: a.id, objectKey: originalKey(a.sha256), generation }],
      [JobName.Metadata, { evidenceId: b.id, objectKey: originalKey(b.sha256), generation }],
    ]);
  });

  it('a later request gets another generation', async () => {
    const a = evidenceRow();
    rig.knows(a);
    rig.m.queue.enqueue = vi.fn(async () => undefined);
    let now = NOW;
    const service = new MediaService({ ...rig.deps, now: () => now });
    await service.requestDerivatives([a.id]);
    now = new Date(NOW.getTime() + 1000);
    await service.requestDerivatives([a.id]);
    const [first, second] = rig.call('queue', 'enqueue').mock.calls.map((c) => (c[1] as MediaJobPayload).generation);
    expect(first).toMatch(/^r[0-9a-z]+$/);
    expect(second).toMatch(/^r[0-9a-z]+$/);
    expect(second).not.toBe(first);
  });
});

function derivative(over: Partial<DerivativeRow>): DerivativeRow {
  return {
    id: 'd0000000-0000-4000-8000-000000000000',
    evidenceId: evidenceRow().id,
    kind: 'proxy',
    objectKey: 'x',
    contentType: 'video/mp4',
    sha256: SHA_PROXY,
    size: 1,
    partial: false,
    width: 1280,
    height: 720,
    durationSeconds: 18,
    tool: 'ffmpeg',
    toolVersion: FFMPEG,
    arguments: [],
    createdAt: new Date('2026-11-01T00:00:00Z'),
    ...over,
  };
}

function never(): never {
  throw new Error('unreachable');
}
