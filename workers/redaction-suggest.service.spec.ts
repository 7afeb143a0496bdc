import { Readable } from 'node:stream';
import { UnrecoverableError } from 'bullmq';
import { describe, expect, it } from 'vitest';
import type { FaceDetection } from '../archive/face-track.ts';
import type { CustodyEventInput } from '../storage/custody-chain.ts';
import type { FinishedRun, SuggestionRunRow } from '../storage/redaction-suggestion.repository.ts';
import type { FrameDetector } from './face-detector.process.ts';
import { faceSampleArgs } from './ffmpeg-args.ts';
import { JobStatus } from './job.types.ts';
import { evidenceRow, FakeWorkspace, probed, StrictScope, audioStream, videoStream } from './media.fakes.ts';
import { MediaInputError, type Transcoder } from './media-tools.ts';
import { coverageWarning, RedactionSuggestService, suggestionBoxId } from './redaction-suggest.service.ts';

const runId = '3c1d2e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f';
const settings = { framesPerSecond: 2, model: 'ssd' as const, minScore: 0.5, frameWidth: 1280, maxFrames: 3600, frameTimeoutSeconds: 60, detectorMemoryMiB: 1536 };
const face = (x: number): FaceDetection => ({ x, y: 0.2, w: 0.1, h: 0.2, score: 0.9 });

function setup(o: { evidence?: ReturnType<typeof evidenceRow>; status?: SuggestionRunRow['status']; streams?: ReturnType<typeof videoStream>[]; duration?: number; frames?: number; faces?: (n: number) => FaceDetection[]; run?: Transcoder['run'] } = {}) {
  const scope = new StrictScope();
  const evidence = o.evidence ?? evidenceRow({ media: { status: 'ok', durationSeconds: 4 } });
  const ws = new FakeWorkspace(scope, '/work/s-1');
  ws.frames = Array.from({ length: o.frames ?? 8 }, (_, i) => `/work/s-1/frame-${String(i + 1).padStart(5, '0')}.png`);
  const runs: Array<readonly string[]> = [];
  const appended: CustodyEventInput[] = [];
  const finished: FinishedRun[] = [];
  const inserted: unknown[] = [];
  let detectorClosed = 0;
  const row: SuggestionRunRow = { id: runId, evidenceId: evidence.id, requestedBy: 'li.na', requestedAt: new Date(0), status: o.status ?? 'queued', model: null, framesPerSecond: null, frameCount: null, warning: null, finishedAt: null, eventSeq: null };
  const detector: FrameDetector = {
    model: 'face-api 1.7.15 ssd_mobilenetv1',
    pid: 4242,
    detectFile: async (path) => (o.faces ?? ((n) => [face(0.1 + n * 0.01)]))(ws.frames.indexOf(path)),
    close: async () => void detectorClosed++,
  };
  const service = new RedactionSuggestService({
    config: { suggestions: settings, workstationId: 'WS-1' } as never,
    db: { transaction: async (fn: (tx: unknown) => Promise<unknown>) => fn('tx') } as never,
    catalog: scope.strict('catalog', { getEvidence: async () => evidence, derivativesOf: async () => [] }),
    suggestions: scope.strict('suggestions', {
      run: async () => row,
      lockRun: async () => row,
      finishRun: async (_tx: unknown, _id: string, f: FinishedRun) => void finished.push(f),
      insertSuggestions: async (_tx: unknown, _id: string, rows: unknown[]) => void inserted.push(...rows),
    }),
    ledger: scope.strict('ledger', {
      append: async (_tx: unknown, e: CustodyEventInput) => (appended.push(e), { ...e, seq: 9, at: '2026-12-07T00:00:00.000Z' }),
      mirror: async () => undefined,
    }),
    objects: scope.strict('objects', { read: async () => Readable.from([Buffer.from('original')]) }),
    prober: scope.strict('prober', { probe: async () => probed(o.streams ?? [videoStream({ width: 640, height: 360 })], { durationSeconds: o.duration ?? 4 }) }),
    transcoder: scope.strict<Transcoder>('transcoder', {
      run: (args: readonly string[], opts: never) => (runs.push(args), o.run ? o.run(args, opts) : Promise.resolve({ stderrTail: [], hadErrors: false })),
    }),
    workspaces: { create: async () => ws },
    detectors: scope.strict('detectors', { start: async () => detector }),
  });
  return { scope, service, runs, appended, finished, inserted, ws, evidence, closed: () => detectorClosed };
}

describe('RedactionSuggestService', () => {
  it('samples the original, tracks the faces and stores the boxes with a REDACTION_SUGGESTED event naming model, rate and frames', async () => {
    const s = setup();
    expect(await s.service.handleRedactionSuggest({ evidenceId: s.evidence.id, runId })).toBe(JobStatus.Success);
    expect(s.runs).toEqual([faceSampleArgs('/work/s-1/original', '/work/s-1/frame-%05d.png', 2, 1280, 3600)]);
    expect(s.closed()).toBe(1);
    expect(s.inserted).toHaveLength(1);
    expect(s.inserted[0]).toMatchObject({ n: 1, detections: 8, box: { id: suggestionBoxId(runId, 1), mode: 'blur' } });
    expect(s.appended).toHaveLength(1);
    expect(s.appended[0]).toMatchObject({
      type: 'REDACTION_SUGGESTED',
      actor: { kind: 'workstation', id: 'WS-1' },
      evidenceId: s.evidence.id,
      details: { runId, requestedBy: 'li.na', model: 'face-api 1.7.15 ssd_mobilenetv1', framesPerSecond: 2, frames: 8, tracks: 1, warning: null },
    });
    expect(s.finished).toEqual([{ status: 'done', model: 'face-api 1.7.15 ssd_mobilenetv1', framesPerSecond: 2, frameCount: 8, warning: null, finishedAt: new Date('2026-12-07T00:00:00.000Z'), eventSeq: 9 }]);
    expect(s.ws.disposed).toBe(1);
    expect(s.scope.unexpected).toEqual([]);
  });

  it('a run already finished (a replayed job) does nothing', async () => {
    const s = setup({ status: 'done' });
    expect(await s.service.handleRedactionSuggest({ evidenceId: s.evidence.id, runId })).toBe(JobStatus.Skipped);
    expect([s.runs, s.appended, s.finished]).toEqual([[], [], []]);
  });

  it.each([
    ['a photo', { evidence: evidenceRow({ mediaType: 'photo' }) }, /a photo item has no moving picture/],
    ['sound only', { streams: [audioStream()] }, /no video stream/],
    ['a still picture', { duration: 0.04 }, /a still picture or a clip under 1\.0 s/],
  ] as const)('%s: skipped with the reason on the run, no event, nothing sampled', async (_what, o, reason) => {
    const s = setup(o as never);
    expect(await s.service.handleRedactionSuggest({ evidenceId: s.evidence.id, runId })).toBe(JobStatus.Skipped);
    expect(s.finished).toHaveLength(1);
    expect(s.finished[0]).toMatchObject({ status: 'skipped', eventSeq: null });
    expect(s.finished[0]!.warning).toMatch(reason);
    expect([s.runs.length, s.appended.length]).toEqual([0, 0]);
  });

  it('a decoder that gives up part-way: the frames before the break are used, and the run says where it broke off', async () => {
    const s = setup({ frames: 4, run: () => Promise.reject(new MediaInputError('ffmpeg', 'Invalid data found when processing input')) });
    expect(await s.service.handleRedactionSuggest({ evidenceId: s.evidence.id, runId })).toBe(JobStatus.Success);
    expect(s.finished[0]).toMatchObject({ status: 'done', frameCount: 4 });
    expect(s.finished[0]!.warning).toMatch(/breaks off at 2\.0 s of 4\.0 s.*Invalid data/);
  });

  it('no frame decodes at all: an unrecoverable failure', async () => {
    const s = setup({ frames: 0, run: () => Promise.reject(new MediaInputError('ffmpeg', 'moov atom not found')) });
    await expect(s.service.handleRedactionSuggest({ evidenceId: s.evidence.id, runId })).rejects.toBeInstanceOf(UnrecoverableError);
    expect(s.appended).toEqual([]);
    expect(s.ws.disposed).toBe(1);
  });

  it('markFailed records the reason on a run still queued', async () => {
    const s = setup();
    await s.service.markFailed({ evidenceId: s.evidence.id, runId }, 'face detector process ended (SIGKILL)');
    expect(s.finished).toMatchObject([{ status: 'failed', warning: 'face detector process ended (SIGKILL)' }]);
  });
});

describe('coverageWarning', () => {
  const o = { framesPerSecond: 2, durationSeconds: 10, maxFrames: 3600, decodeErrors: null };
  it('nothing to say when the frames cover the recording', () => {
    expect(coverageWarning(20, o)).toBeNull();
    expect(coverageWarning(19, o)).toBeNull();
  });
  it('says where the picture breaks off, and when the frame limit cut the run short', () => {
    expect(coverageWarning(8, o)).toBe('the picture breaks off at 4.0 s of 10.0 s: faces after that are not suggested');
    expect(coverageWarning(10, { ...o, maxFrames: 10 })).toBe('only the first 5.0 s of 10.0 s were sampled (suggestions.maxFrames 10)');
  });
  it('decoding errors over a whole recording are named', () => {
    expect(coverageWarning(20, { ...o, decodeErrors: 'error while decoding MB 3 4' })).toMatch(/^decoding errors: error while decoding MB 3 4/);
  });
});
