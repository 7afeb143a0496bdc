import { Readable } from 'node:stream';
import { UnrecoverableError } from 'bullmq';
import { describe, expect, it } from 'vitest';
import type { RedactionSpec } from '../archive/redaction-project.ts';
import type { DerivativeRow } from '../storage/catalog.repository.ts';
import type { RedactionVersionRow } from '../storage/redaction.repository.ts';
import { JobStatus } from './job.types.ts';
import { audioStream, evidenceRow, FakeWorkspace, probed, StrictScope, videoStream } from './media.fakes.ts';
import { MediaInputError, type MediaProber, type Transcoder } from './media-tools.ts';
import type { MediaService } from './media.service.ts';
import { redactionArgs } from './redaction-filter.ts';
import { RedactionRenderService } from './redaction-render.service.ts';

const evidence = evidenceRow({ media: { status: 'ok', durationSeconds: 6 } });
const projectId = '0b7d3c2a-1e4f-4a5b-8c6d-7e8f9a0b1c2d';
const PROXY_SHA = 'cd'.repeat(32);
const media = { proxyCrf: 26, proxyPreset: 'veryfast' as const, audioBitrateKbps: 96 };
const spec: RedactionSpec = {
  boxes: [{ id: 'face', shape: 'rect', mode: 'pixelate', keyframes: [{ t: 1, x: 0.1, y: 0.1, w: 0.2, h: 0.2 }, { t: 3, x: 0.5, y: 0.5, w: 0.2, h: 0.2 }] }],
  blurRanges: [],
  audioRanges: [{ from: 2, to: 3, mode: 'tone' }],
};
const proxy: DerivativeRow = {
  id: 'p', evidenceId: evidence.id, kind: 'proxy', objectKey: `${evidence.id}/proxy-1.mp4`, contentType: 'video/mp4', sha256: PROXY_SHA, size: 11,
  partial: false, width: 640, height: 360, durationSeconds: 6, tool: 'ffmpeg', toolVersion: 'ffmpeg 5.1', arguments: [], createdAt: new Date(0),
};
const saved = (over: Partial<RedactionVersionRow> = {}): RedactionVersionRow => ({ projectId, evidenceId: evidence.id, version: 2, spec, author: 'li.na', note: null, savedAt: new Date(0), eventSeq: 7, ...over });

function setup(o: { version?: RedactionVersionRow | null; derivatives?: DerivativeRow[]; readSha?: string; duration?: number; run?: Transcoder['run'] } = {}) {
  const scope = new StrictScope();
  const ws = new FakeWorkspace(scope, '/work/r-1');
  ws.digests.set('proxy.mp4', { sha256: o.readSha ?? PROXY_SHA, size: 11 });
  const runs: Array<readonly string[]> = [];
  const stored: unknown[] = [];
  const service = new RedactionRenderService({
    config: { media } as never,
    catalog: scope.strict('catalog', { getEvidence: async () => evidence, derivativesOf: async () => o.derivatives ?? [proxy] }),
    redactions: scope.strict('redactions', { version: async () => (o.version === undefined ? saved() : o.version) }),
    objects: scope.strict('objects', { read: async () => Readable.from([Buffer.from('proxy bytes')]) }),
    prober: scope.strict<MediaProber>('prober', {
      probe: async () => probed([videoStream({ width: 640, height: 360 }), audioStream({ sampleRate: 48000, channels: 2 })], { durationSeconds: o.duration ?? 6 }),
      probeOutput: async () => ({ ok: true, durationSeconds: 6, width: 640, height: 360, readBy: 'header' }),
    }),
    transcoder: scope.strict<Transcoder>('transcoder', {
      run: (args: readonly string[], opts: never) => (runs.push(args), o.run ? o.run(args, opts) : Promise.resolve({ stderrTail: [], hadErrors: false })),
      version: async () => 'ffmpeg 5.1',
    }),
    workspaces: { create: async () => ws },
    derivatives: scope.strict<Pick<MediaService, 'storeDerivative'>>('derivatives', { storeDerivative: async (_e: unknown, _w: unknown, d: unknown) => void stored.push(d) }),
  });
  return { scope, ws, runs, stored, service };
}

const payload = { evidenceId: evidence.id, projectId, version: 2 };

describe('RedactionRenderService', () => {
  it('renders the proxy with the built arguments and stores the copy under a key naming project and version', async () => {
    const { scope, ws, runs, stored, service } = setup();
    expect(await service.handleRedactionRender(payload)).toBe(JobStatus.Success);
    const args = redactionArgs('/work/r-1/proxy.mp4', '/work/r-1/redacted.mp4', spec, { width: 640, height: 360, audio: { sampleRate: 48000, channels: 2 } }, media);
    expect(runs).toEqual([args]);
    const source = { kind: 'proxy', key: proxy.objectKey, sha256: PROXY_SHA };
    expect(stored).toEqual([
      {
        kind: `redacted:${projectId}:v2`,
        keyName: `redacted-${projectId}-v2`,
        file: 'redacted.mp4',
        extension: 'mp4',
        contentType: 'video/mp4',
        partial: false,
        width: 640,
        height: 360,
        durationSeconds: 6,
        tool: 'ffmpeg',
        toolVersion: 'ffmpeg 5.1',
        arguments: { ffmpeg: args.map((a) => a.replaceAll('/work/r-1/proxy.mp4', '{original}').replaceAll('/work/r-1', '{workdir}')), projectId, version: 2, source },
        details: { projectId, version: 2, source, contentType: 'video/mp4', width: 640, height: 360, durationSeconds: 6 },
      },
    ]);
    expect(ws.written.get('proxy.mp4')).toBe(11);
    expect(ws.disposed).toBe(1);
    expect(scope.unexpected).toEqual([]);
  });

  it('does nothing for a version already rendered (a retry, a second request)', async () => {
    const done = { ...proxy, id: 'r', kind: `redacted:${projectId}:v2` };
    const { runs, stored, service, scope } = setup({ derivatives: [proxy, done] });
    expect(await service.handleRedactionRender(payload)).toBe(JobStatus.Skipped);
    expect([runs, stored]).toEqual([[], []]);
    expect(scope.unexpected).toEqual([]);
  });

  it('fails for good on a version that does not exist or is another item’s, and on a spec the proxy cannot take', async () => {
    await expect(setup({ version: null }).service.handleRedactionRender(payload)).rejects.toThrow(UnrecoverableError);
    await expect(setup({ version: saved({ evidenceId: 'another' }) }).service.handleRedactionRender(payload)).rejects.toThrow(UnrecoverableError);
    // The proxy was remade shorter than the spec's times: checked again against the file rendered.
    const short = setup({ duration: 2 });
    await expect(short.service.handleRedactionRender(payload)).rejects.toThrow(
      new UnrecoverableError(`redaction project ${projectId} version 2 is invalid: boxes[0].keyframes[1].t: 3 s is past the recording's end (2 s); audioRanges[0].to: 3 s is past the recording's end (2 s)`),
    );
    expect(short.runs).toEqual([]);
    expect(short.ws.disposed).toBe(1);
  });

  it('fails for good when the proxy reads back other than recorded, or ffmpeg cannot decode it; scratch space removed', async () => {
    const changed = setup({ readSha: 'ee'.repeat(32) });
    await expect(changed.service.handleRedactionRender(payload)).rejects.toThrow(/reads back as e{64}, recorded as (cd){32}/);
    expect(changed.runs).toEqual([]);
    expect(changed.ws.disposed).toBe(1);
    const broken = setup({ run: () => Promise.reject(new MediaInputError('ffmpeg', 'Invalid data found when processing input')) });
    await expect(broken.service.handleRedactionRender(payload)).rejects.toThrow(UnrecoverableError);
    expect(broken.stored).toEqual([]);
    expect(broken.ws.disposed).toBe(1);
  });

  it('waits (an ordinary failure, retried) while the item has no proxy yet', async () => {
    const { service } = setup({ derivatives: [] });
    const error = await service.handleRedactionRender(payload).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(UnrecoverableError);
    expect((error as Error).message).toBe(`evidence ${evidence.id} has no playback proxy yet`);
  });
});
