import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExifTool } from 'exiftool-vendored';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importFolder } from '../daemon/cli.ts';
import type { Runtime } from '../daemon/runtime.ts';
import type { DerivativeRow, EvidenceRow } from '../storage/catalog.repository.ts';
import { storedProbeInfo } from '../workers/ffprobe.parser.ts';
import { JobStatus, QueueName, SHARED_QUEUES } from '../workers/job.types.ts';
import { expectInOrder } from './support/event-order.ts';
import { createTestEnv, eventually, type TestEnv } from './support/test-env.ts';

/**
 * Media workers on real footage through the real pipeline: metadata (exiftool, ffprobe),
 * proxies and thumbnails in the sandboxed transcode queue, and a corpus of the damaged
 * files cheap recorders produce. For every file: the original stays stored and verified,
 * the item says what failed, no worker crashes, and a proxy is made where one can be.
 */

function ffmpeg(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg ${args.join(' ')}: ${err}`))));
  });
}

function probe(path: string): { streams: Array<Record<string, unknown>>; format: Record<string, unknown> } {
  const r = spawnSync('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', path], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

/** Top-level MP4 boxes in order: faststart means moov before mdat. */
function boxes(path: string): string[] {
  const data = readFileSync(path);
  const out: string[] = [];
  for (let offset = 0; offset + 8 <= data.length; ) {
    let size = data.readUInt32BE(offset);
    if (size === 1) size = Number(data.readBigUInt64BE(offset + 8));
    if (size < 8) break;
    out.push(data.toString('latin1', offset + 4, offset + 8));
    offset += size;
  }
  return out;
}

const LAVFI_1080 = ['-f', 'lavfi', '-i', 'testsrc2=size=1920x1080:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'];
const name = (seq: number, ext: string) => `ZFYM01_004512_202611211${String(seq).padStart(3, '0')}00_${String(seq).padStart(4, '0')}.${ext}`;

describe('media workers', () => {
  let env: TestEnv;
  let rt: Runtime;
  let items: Map<string, EvidenceRow>;
  let derivatives: Map<string, DerivativeRow[]>;
  const dir = () => join(env.dir, 'recorder');

  beforeAll(async () => {
    env = await createTestEnv('media', {
      media: { proxyPreset: 'ultrafast', proxyCrf: 30, storyboardIntervalSeconds: 1, transcodeConcurrency: 2 },
    });
    const media = join(env.dir, 'recorder', 'DCIM', '100MEDIA');
    mkdirSync(media, { recursive: true });
    const at = (file: string) => join(media, file);
    await Promise.all([
      // 1080p30 H.264/AAC with a creation time and a GPS position, as a phone-style recorder writes.
      ffmpeg([...LAVFI_1080, '-t', '3', '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', '-shortest', '-g', '30', '-metadata', 'creation_time=2026-11-21T03:01:00Z', '-metadata', 'location=+31.230400+121.473700/', '-movflags', '+faststart', at(name(1, 'MP4'))]),
      // Recorder lost power: moov atom at the end, never written.
      ffmpeg([...LAVFI_1080, '-t', '3', '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', '-shortest', at(name(2, 'MP4'))]),
      // Faststart file cut in the middle: headers fine, the stream breaks off.
      ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-t', '6', '-c:v', 'libx264', '-preset', 'ultrafast', '-movflags', '+faststart', at(name(3, 'MP4'))]),
      // Cheap recorder: AVI with MJPEG video and PCM audio.
      ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=640x480:rate=15', '-f', 'lavfi', '-i', 'sine=sample_rate=8000', '-t', '2', '-c:v', 'mjpeg', '-q:v', '5', '-c:a', 'pcm_s16le', '-shortest', at(name(4, 'AVI'))]),
      // Audio-only recording.
      ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=300:sample_rate=16000', '-t', '3', '-c:a', 'pcm_s16le', at(name(5, 'WAV'))]),
      // H.265, rotated 90° (held sideways), variable frame rate.
      ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', '-t', '2', '-vf', "select='not(mod(n\\,3))+lt(n\\,10)'", '-fps_mode', 'vfr', '-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'log-level=error', '-tag:v', 'hvc1', at(name(6, 'MP4'))]),
      // A photo.
      ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=1600x1200', '-frames:v', '1', at(name(7, 'JPG'))]),
      // A long recording (10 hours), tiny so the test stays quick: 1 fps, no audio.
      ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=1', '-t', '36000', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '600', '-movflags', '+faststart', at(name(8, 'MP4'))]),
    ]);
    // Held sideways: the track's display matrix says rotate 90° (written by exiftool; Debian's
    // ffmpeg 5.1 has no -display_rotation).
    const tool = new ExifTool({ maxProcs: 1 });
    await tool.write(at(name(6, 'MP4')), { Rotation: 90 } as never, { writeArgs: ['-overwrite_original'] });
    await tool.end();
    truncateSync(at(name(2, 'MP4')), Math.floor(statSync(at(name(2, 'MP4'))).size * 0.6));
    truncateSync(at(name(3, 'MP4')), Math.floor(statSync(at(name(3, 'MP4'))).size * 0.5));
    // A JPEG whose data breaks off: a valid header followed by garbage.
    const photo = readFileSync(at(name(7, 'JPG')));
    writeFileSync(at(name(9, 'JPG')), Buffer.concat([photo.subarray(0, 2000), randomBytes(3000)]));
    // Zero-length streams: an MP4 container whose only track holds no samples.
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-frames:v', '0', '-c:v', 'libx264', at(name(10, 'MP4'))]).catch(() =>
      writeFileSync(at(name(10, 'MP4')), Buffer.alloc(0)),
    );
    for (let seq = 1; seq <= 10; seq++) {
      const end = new Date(Date.UTC(2026, 10, 21, 2, seq, 30));
      for (const ext of ['MP4', 'AVI', 'WAV', 'JPG']) {
        try {
          utimesSync(at(name(seq, ext)), end, end);
        } catch {
          // not every sequence has every extension
        }
      }
    }

    rt = await env.runtime();
    rt.startWorkers([QueueName.Acquire, QueueName.Store, QueueName.Clear, ...SHARED_QUEUES]);
    const { files } = await importFolder(rt, dir(), { serial: 'ZFYM01', case: ['YB-MEDIA-1'], clear: false, json: true });
    expect(files.every((f) => f.stage === 'kept')).toBe(true);

    // Wait until the media queues are drained and every item has left `pending`.
    await eventually(
      async () => {
        const counts = await rt.queue.counts();
        const busy = counts
          .filter((c) => c.queue === QueueName.Metadata || c.queue === QueueName.Transcode)
          .reduce((n, c) => n + (c.counts.waiting ?? 0) + (c.counts.active ?? 0) + (c.counts.delayed ?? 0) + (c.counts.prioritized ?? 0), 0);
        const all = await rt.evidence.search({ caseNumber: 'YB-MEDIA-1' });
        return busy === 0 && all.length === files.length && all.every((e) => e.media.status !== 'pending') ? true : undefined;
      },
      300_000,
      'media jobs to finish',
    );
    items = new Map();
    derivatives = new Map();
    for (const e of await rt.evidence.search({ caseNumber: 'YB-MEDIA-1' })) {
      items.set(e.originalName, e);
      derivatives.set(e.originalName, await rt.catalog.derivativesOf(e.id));
    }
  }, 600_000);
  afterAll(async () => env?.cleanup());

  const item = (seq: number, ext: string) => items.get(name(seq, ext))!;
  const derived = (seq: number, ext: string, kind: string) => derivatives.get(name(seq, ext))!.find((d) => d.kind === kind);
  async function download(d: DerivativeRow, file: string): Promise<string> {
    const path = join(env.dir, file);
    const chunks: Buffer[] = [];
    for await (const c of (await rt.objects.read('derivatives', d.objectKey)) as AsyncIterable<Buffer>) chunks.push(c);
    writeFileSync(path, Buffer.concat(chunks));
    return path;
  }

  it('reads metadata: codecs, resolution, frame rate, duration, creation time and GPS position', () => {
    const e = item(1, 'MP4');
    expect(e.media).toMatchObject({ status: 'ok', videoCodec: 'h264', audioCodec: 'aac', width: 1920, height: 1080 });
    expect(e.media.frameRate).toBeCloseTo(30, 0);
    expect(e.media.durationSeconds).toBeCloseTo(3, 0);
    expect(e.media.gpsLatitude).toBeCloseTo(31.2304, 3);
    expect(e.media.gpsLongitude).toBeCloseTo(121.4737, 3);
    // The file name gave the capture time (10:01 Beijing); the metadata says an hour later:
    // flagged, not "fixed".
    expect(e.captureTimeSource).toBe('file-name');
    expect(e.flags).toContain('capture-time-mismatch');
    expect(e.place).toMatch(/^GPS 31\.230[34]\d*,121\.473[67]\d*$/);
  });

  it('makes a 720p H.264/AAC faststart proxy of 1080p footage, recorded as DERIVED', async () => {
    const d = derived(1, 'MP4', 'proxy')!;
    expect(d).toBeDefined();
    const path = await download(d, 'proxy1.mp4');
    const p = probe(path);
    const video = p.streams.find((s) => s.codec_type === 'video')!;
    expect(video.codec_name).toBe('h264');
    expect(video.height).toBe(720);
    expect(p.streams.find((s) => s.codec_type === 'audio')!.codec_name).toBe('aac');
    expect(Number(p.format.duration)).toBeCloseTo(3, 0);
    const order = boxes(path);
    expectInOrder(order, ['moov', 'mdat']);
    const events = await rt.ledger.eventsFor({ evidenceId: item(1, 'MP4').id });
    const event = events.find((e) => e.type === 'DERIVED' && e.details.kind === 'proxy')!;
    expect(event.details).toMatchObject({ sha256: d.sha256, from: item(1, 'MP4').sha256, tool: 'ffmpeg' });
    expect(event.details.arguments).toEqual(expect.arrayContaining(['-movflags', '+faststart']));
    // The catalog's facts of the proxy, read from its own header, are ffprobe's.
    expect([d.width, d.height]).toEqual([video.width, video.height]);
    expect(d.durationSeconds).toBeCloseTo(Number(p.format.duration), 2);
    // The proxy job took the original's probe from the metadata job: stored in a shape it trusts.
    expect(storedProbeInfo(await rt.catalog.storedProbe(item(1, 'MP4').id))).toMatchObject({ streams: [{ kind: 'video', width: 1920, height: 1080 }, { kind: 'audio' }] });
  });

  it('makes a poster (JPEG and WebP) and a storyboard sprite', async () => {
    const jpeg = await sharp(await download(derived(1, 'MP4', 'poster-jpeg')!, 'poster.jpg')).metadata();
    expect(jpeg).toMatchObject({ format: 'jpeg', width: 1280, height: 720 });
    const webp = await sharp(await download(derived(1, 'MP4', 'poster-webp')!, 'poster.webp')).metadata();
    expect(webp.format).toBe('webp');
    const board = derived(1, 'MP4', 'storyboard')!;
    const sprite = await sharp(await download(board, 'board.webp')).metadata();
    expect(sprite.format).toBe('webp');
    expect(sprite.width).toBe(3 * 160);
  });

  it('truncated MP4 without moov: unplayable, original still stored and verified', async () => {
    const e = item(2, 'MP4');
    expect(e.media.status).toBe('unplayable');
    expect(e.media.problem).toMatch(/moov atom not found/);
    expect(derivatives.get(name(2, 'MP4'))).toEqual([]);
    const report = await rt.verify.run({ evidenceId: e.id, rehash: true });
    expect(report.items[0]).toMatchObject({ ok: true, rehashed: true });
    const problem = (await rt.ledger.eventsFor({ evidenceId: e.id })).find((x) => x.type === 'METADATA_EXTRACTED')!;
    expect(problem.details).toMatchObject({ status: 'unplayable' });
  });

  it('faststart MP4 cut in the middle: a partial proxy up to the break, said to be partial', async () => {
    const e = item(3, 'MP4');
    expect(e.media.status).toBe('partial');
    expect(e.media.problem).toMatch(/breaks off|decoding errors/);
    const d = derived(3, 'MP4', 'proxy')!;
    expect(d.partial).toBe(true);
    const p = probe(await download(d, 'proxy3.mp4'));
    expect(Number(p.format.duration)).toBeGreaterThan(0.5);
    expect(Number(p.format.duration)).toBeLessThan(6);
  });

  it('AVI/MJPEG with PCM from a cheap recorder, and a WAV, get browser-playable proxies', async () => {
    const avi = probe(await download(derived(4, 'AVI', 'proxy')!, 'proxy4.mp4'));
    expect(avi.streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
    const wav = derived(5, 'WAV', 'proxy')!;
    expect(wav.contentType).toBe('audio/mp4');
    const m4a = probe(await download(wav, 'proxy5.m4a'));
    expect(m4a.streams.map((s) => s.codec_name)).toEqual(['aac']);
    expect(Number(m4a.format.duration)).toBeCloseTo(3, 0);
    expect(item(5, 'WAV').media).toMatchObject({ status: 'ok', audioCodec: 'pcm_s16le', videoCodec: null });
  });

  it('H.265, rotated and variable frame rate: an upright H.264 proxy', async () => {
    const e = item(6, 'MP4');
    expect(e.media.videoCodec).toBe('hevc');
    expect(Math.abs(e.media.rotation ?? 0)).toBe(90);
    expect(e.flags).toContain('variable-frame-rate');
    const p = probe(await download(derived(6, 'MP4', 'proxy')!, 'proxy6.mp4'));
    const video = p.streams.find((s) => s.codec_type === 'video')!;
    expect(video.codec_name).toBe('h264');
    // Displayed upright: portrait, at most 720 high, no rotation left to apply.
    expect(Number(video.width)).toBeLessThan(Number(video.height));
    expect(Number(video.height)).toBeLessThanOrEqual(720);
  });

  it('photos get a strict sharp preview; a corrupt JPEG is marked, not previewed', async () => {
    const preview = await sharp(await download(derived(7, 'JPG', 'preview-jpeg')!, 'preview.jpg')).metadata();
    expect(preview).toMatchObject({ format: 'jpeg', width: 1280, height: 960 });
    expect(derived(7, 'JPG', 'proxy')).toBeUndefined();
    const broken = item(9, 'JPG');
    expect(broken.media.status).toBe('unplayable');
    expect(derivatives.get(name(9, 'JPG'))).toEqual([]);
  });

  it('a 10-hour recording: duration read, proxy as long, storyboard interval widened', async () => {
    const e = item(8, 'MP4');
    expect(e.media.durationSeconds).toBeCloseTo(36000, -1);
    const p = probe(await download(derived(8, 'MP4', 'proxy')!, 'proxy8.mp4'));
    expect(Number(p.format.duration)).toBeGreaterThan(35990);
    const board = derived(8, 'MP4', 'storyboard')!;
    expect((board.arguments as { intervalSeconds: number }).intervalSeconds).toBeGreaterThanOrEqual(360);
  });

  it('zero-length streams are unplayable', () => {
    expect(item(10, 'MP4').media.status).toBe('unplayable');
  });

  it('no worker crashed, and the whole archive still verifies', async () => {
    const failed = await rt.queue.failed();
    // Unplayable inputs fail their job for good, with the reason; nothing else fails.
    for (const f of failed) expect(f.reason).toMatch(/^unplayable: /);
    const report = await rt.verify.run({ rehash: false });
    expect(report.ledger.problems.map((p) => `${p.seq} ${p.kind}: ${p.detail}`)).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it('regenerating is idempotent: same recipes, no new derivatives', async () => {
    const e = item(1, 'MP4');
    const before = (await rt.catalog.derivativesOf(e.id)).map((d) => `${d.kind}:${d.objectKey}:${d.sha256}`).sort();
    expect(await rt.media.handleProxy({ evidenceId: e.id, objectKey: e.objectKey })).toBe(JobStatus.Success);
    expect(await rt.media.handleThumbnails({ evidenceId: e.id, objectKey: e.objectKey })).toBe(JobStatus.Success);
    const after = (await rt.catalog.derivativesOf(e.id)).map((d) => `${d.kind}:${d.objectKey}:${d.sha256}`).sort();
    expect(after).toEqual(before);
  });
});
