import { spawn, spawnSync } from 'node:child_process';
import { copyFile, mkdtemp, open, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExifTool } from 'exiftool-vendored';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../config/config.loader.ts';
import { ExiftoolReader } from '../workers/exiftool.adapter.ts';
import { posterFrameArgs, proxyAudioArgs, proxyVideoArgs, storyboardFramesArgs } from '../workers/ffmpeg-args.ts';
import { FfmpegTranscoder, FfprobeProber } from '../workers/ffmpeg.adapter.ts';
import { MediaInputError, type ProbeInfo, type TranscodeProgress } from '../workers/media-tools.ts';
import { SharpImageTool } from '../workers/sharp.adapter.ts';
import { expectInOrder } from './support/event-order.ts';
import { eventually, isRunning } from './support/test-env.ts';

/**
 * The media adapters against the real tools (Debian's ffmpeg/ffprobe, the exiftool inside
 * exiftool-vendored, sharp's libvips), on short clips made here with ffmpeg: the argument
 * lists of ffmpeg-args.ts are checked by what they produce.
 */

const settings = { proxyMaxHeight: 720, proxyCrf: 28, proxyPreset: 'ultrafast' as const, audioBitrateKbps: 96 };
const CREATED = '2026-11-21T01:30:00Z';

let dir: string;
const file = (name: string) => join(dir, name);

const prober = new FfprobeProber({ ffprobePath: 'ffprobe' });
const transcoder = new FfmpegTranscoder({ ffmpegPath: 'ffmpeg' });
const images = new SharpImageTool();
let reader: ExiftoolReader;

function generate(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg ${args.join(' ')}: exit ${code}: ${err}`))));
  });
}

async function probed(path: string): Promise<ProbeInfo> {
  const outcome = await prober.probe(path);
  if (!outcome.ok) throw new Error(`ffprobe ${path}: ${outcome.error}`);
  return outcome.info;
}

/** Raw ffprobe JSON, for what ProbeInfo leaves out (side data, frame counts, brands). */
function ffprobeJson(path: string): { streams: Array<Record<string, unknown>>; format: Record<string, unknown> } {
  const r = spawnSync('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', path], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

/** Top-level MP4 box types in file order. */
async function topLevelBoxes(path: string): Promise<string[]> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const types: string[] = [];
    const header = Buffer.alloc(16);
    let offset = 0;
    while (offset + 8 <= size) {
      await handle.read(header, 0, 16, offset);
      let boxSize = header.readUInt32BE(0);
      const type = header.toString('latin1', 4, 8);
      if (boxSize === 1) boxSize = Number(header.readBigUInt64BE(8));
      else if (boxSize === 0) boxSize = size - offset;
      if (boxSize < 8) break;
      types.push(type);
      offset += boxSize;
    }
    return types;
  } finally {
    await handle.close();
  }
}

/** PSNR (dB) of video a against video b after `filterB`, frame by frame. */
function psnr(a: string, b: string, filterB: string): number {
  const r = spawnSync(
    'ffmpeg',
    ['-hide_banner', '-nostdin', '-i', a, '-noautorotate', '-i', b, '-filter_complex', `[1:v]${filterB},format=yuv420p[ref];[0:v]format=yuv420p[out];[out][ref]psnr`, '-f', 'null', '-'],
    { encoding: 'utf8' },
  );
  const m = /average:([0-9.]+|inf)/.exec(r.stderr);
  if (!m) throw new Error(`no PSNR: ${r.stderr.slice(-500)}`);
  return m[1] === 'inf' ? Number.POSITIVE_INFINITY : Number(m[1]);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'evidock-media-'));
  reader = new ExiftoolReader({ maxProcs: 1 });
  const nmea = (i: number) => `$GPRMC,01300${i}.00,A,2232.58${i}0,N,11403.47${i}0,E,10.5,87.9,211126,,,A*6C`;
  await writeFile(
    file('track.srt'),
    [0, 1, 2].map((i) => `${i + 1}\n00:00:0${i},000 --> 00:00:0${i + 1},000\n${nmea(i)}\n`).join('\n'),
  );
  await Promise.all([
    // Body-camera style 1080p30 with audio, moov at the end (ffmpeg's default, as recorders write).
    generate([
      '-f', 'lavfi', '-i', 'testsrc2=size=1920x1080:rate=30:duration=3', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=3',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '30', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-ac', '1', '-shortest',
      '-metadata', `creation_time=${CREATED}`, file('hd.mp4'),
    ]),
    // 480p without audio.
    generate(['-f', 'lavfi', '-i', 'testsrc2=size=854x480:rate=25:duration=2', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', file('sd.mp4')]),
    // Stored landscape; exiftool marks it rotated below, as a phone held upright does.
    generate(['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25:duration=2', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', file('portrait.mp4')]),
    // Variable frame rate: the first second at 30 fps, then every third frame.
    generate([
      '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30:duration=2', '-vf', "select='lt(n\\,30)+not(mod(n\\,3))'", '-fps_mode', 'vfr',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', file('vfr.mp4'),
    ]),
    // Faststart (moov first), to be cut in half: the header survives, half the media does not.
    generate([
      '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25:duration=4', '-f', 'lavfi', '-i', 'sine=duration=4',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', '-movflags', '+faststart', file('faststart.mp4'),
    ]),
    generate(['-f', 'lavfi', '-i', 'sine=frequency=300:sample_rate=16000:duration=3', '-c:a', 'pcm_s16le', '-ac', '1', file('tone.wav')]),
    generate(['-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=1:duration=1', '-frames:v', '1', '-c:v', 'mjpeg', '-q:v', '3', '-pix_fmt', 'yuvj420p', '-f', 'image2', '-update', '1', file('photo.jpg')]),
  ]);
  // A QuickTime text track of NMEA sentences, as dash and body cameras write GPS tracks.
  await generate(['-i', file('portrait.mp4'), '-i', file('track.srt'), '-map', '0', '-map', '1', '-c', 'copy', '-c:s', 'mov_text', '-f', 'mov', file('track.mov')]);

  const writer = new ExifTool({ maxProcs: 1 });
  try {
    await writer.write(file('portrait.mp4'), { Rotation: 90 }, { writeArgs: ['-overwrite_original'] });
    await writer.write(
      file('photo.jpg'),
      {
        Make: 'Hytera', Model: 'VM780', SerialNumber: 'ZFY123456', Artist: '004512',
        DateTimeOriginal: '2026:11:21 09:30:00', OffsetTimeOriginal: '+08:00',
        // exiftool-vendored writes the hemisphere refs from the signs.
        GPSLatitude: -33.8568, GPSLongitude: 151.2153, GPSAltitude: 3.5, GPSAltitudeRef: 'Below Sea Level',
        'Orientation#': 6,
      },
      { writeArgs: ['-overwrite_original'] },
    );
  } finally {
    await writer.end();
  }

  // Damaged copies.
  await copyFile(file('hd.mp4'), file('moov-lost.mp4'));
  await truncate(file('moov-lost.mp4'), Math.floor((await stat(file('hd.mp4'))).size / 2));
  await copyFile(file('faststart.mp4'), file('half.mp4'));
  await truncate(file('half.mp4'), Math.floor((await stat(file('faststart.mp4'))).size / 2));
  const jpeg = await readFile(file('photo.jpg'));
  const sos = jpeg.indexOf(Buffer.from([0xff, 0xda]));
  const noise = Buffer.alloc(jpeg.length - sos - 32);
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 7919 + 13) % 251;
  await writeFile(file('garbled.jpg'), Buffer.concat([jpeg.subarray(0, sos + 32), noise]));
  await writeFile(file('cut.jpg'), jpeg.subarray(0, Math.floor(jpeg.length * 0.6)));
  const dqt = jpeg.indexOf(Buffer.from([0xff, 0xdb]));
  await writeFile(file('quirk.jpg'), Buffer.concat([jpeg.subarray(0, dqt), Buffer.from([0, 0, 0]), jpeg.subarray(dqt)]));
  await writeFile(file('noise.mp4'), noise);
});

afterAll(async () => {
  await reader?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('FfprobeProber', () => {
  it('reads streams, rotation and frame-rate mode', async () => {
    const hd = await probed(file('hd.mp4'));
    expect(hd.container).toContain('mp4');
    expect(hd.durationSeconds).toBeCloseTo(3, 1);
    expect(hd.tags.creation_time).toBe('2026-11-21T01:30:00.000000Z');
    expect(hd.streams.map((s) => [s.kind, s.codec])).toEqual([['video', 'h264'], ['audio', 'aac']]);
    expect(hd.streams[0]).toMatchObject({ width: 1920, height: 1080, frameRate: 30, variableFrameRate: false, rotation: 0 });
    expect(hd.streams[1]).toMatchObject({ sampleRate: 48000, channels: 1 });

    expect((await probed(file('portrait.mp4'))).streams[0]).toMatchObject({ width: 640, height: 360, rotation: 90 });
    expect((await probed(file('vfr.mp4'))).streams[0]!.variableFrameRate).toBe(true);
    expect((await probed(file('tone.wav'))).streams).toMatchObject([{ kind: 'audio', codec: 'pcm_s16le', sampleRate: 16000 }]);
  });

  it("gives ffprobe's own reason for an unreadable file, without the path", async () => {
    expect(await prober.probe(file('moov-lost.mp4'))).toEqual({ ok: false, error: 'moov atom not found' });
    const noise = await prober.probe(file('noise.mp4'));
    expect(noise.ok).toBe(false);
    if (!noise.ok) expect(noise.error).not.toContain(dir);
  });

  it('reads a faststart file cut in half (the header survived)', async () => {
    const half = await probed(file('half.mp4'));
    expect(half.streams.map((s) => s.kind)).toEqual(['video', 'audio']);
  });

  it('throws for a missing working copy instead of calling it unplayable', async () => {
    await expect(prober.probe(file('absent.mp4'))).rejects.toThrow(/ENOENT/);
  });

  it('names its version', async () => {
    expect(await prober.version()).toMatch(/^ffprobe \d+\.\d+/);
  });
});

describe('FfmpegTranscoder', () => {
  it('makes a 720p H.264/AAC faststart proxy of a 1080p recording, reporting progress', async () => {
    const input = await probed(file('hd.mp4'));
    const reports: TranscodeProgress[] = [];
    const result = await transcoder.run(proxyVideoArgs(file('hd.mp4'), file('hd-proxy.mp4'), input, settings), {
      durationSeconds: input.durationSeconds,
      onProgress: (p) => reports.push(p),
    });
    expect(result.hadErrors).toBe(false);
    expect(reports.at(-1)).toEqual(expect.objectContaining({ percent: 100 }));
    expect(reports.every((p) => p.percent >= 0 && p.percent <= 100)).toBe(true);

    const proxy = await probed(file('hd-proxy.mp4'));
    expect(proxy.streams.map((s) => [s.kind, s.codec])).toEqual([['video', 'h264'], ['audio', 'aac']]);
    expect(proxy.streams[0]).toMatchObject({ width: 1280, height: 720, rotation: 0 });
    expect(proxy.durationSeconds).toBeGreaterThan(input.durationSeconds! - 0.1);
    expect(proxy.durationSeconds).toBeLessThan(input.durationSeconds! + 0.1);
    const boxes = await topLevelBoxes(file('hd-proxy.mp4'));
    expectInOrder(boxes, ['moov', 'mdat']);
    // Nothing copied from the original's metadata.
    expect(proxy.tags.creation_time).toBeUndefined();
  });

  it('does not enlarge a 480p recording, and leaves out audio it does not have', async () => {
    const input = await probed(file('sd.mp4'));
    await transcoder.run(proxyVideoArgs(file('sd.mp4'), file('sd-proxy.mp4'), input, settings), { durationSeconds: input.durationSeconds });
    const proxy = await probed(file('sd-proxy.mp4'));
    expect(proxy.streams).toHaveLength(1);
    expect(proxy.streams[0]).toMatchObject({ kind: 'video', codec: 'h264', width: 854, height: 480 });
  });

  it('turns a rotated phone recording upright, once, and leaves no rotation behind', async () => {
    const input = await probed(file('portrait.mp4'));
    await transcoder.run(proxyVideoArgs(file('portrait.mp4'), file('portrait-proxy.mp4'), input, settings), { durationSeconds: input.durationSeconds });
    const proxy = await probed(file('portrait-proxy.mp4'));
    expect(proxy.streams[0]).toMatchObject({ width: 360, height: 640, rotation: 0 });
    expect(ffprobeJson(file('portrait-proxy.mp4')).streams[0]!.side_data_list).toBeUndefined();
    // Rotation 90 means "turn clockwise to view": the proxy matches the stored frames turned
    // clockwise, not counter-clockwise.
    const clockwise = psnr(file('portrait-proxy.mp4'), file('portrait.mp4'), 'transpose=clock');
    const counter = psnr(file('portrait-proxy.mp4'), file('portrait.mp4'), 'transpose=cclock');
    expect(clockwise).toBeGreaterThan(30);
    expect(counter).toBeLessThan(20);
  });

  it('keeps every frame of a variable-frame-rate recording at its time', async () => {
    const input = await probed(file('vfr.mp4'));
    await transcoder.run(proxyVideoArgs(file('vfr.mp4'), file('vfr-proxy.mp4'), input, settings), { durationSeconds: input.durationSeconds });
    const frames = (path: string) => Number(ffprobeJson(path).streams[0]!.nb_frames);
    expect(frames(file('vfr-proxy.mp4'))).toBe(frames(file('vfr.mp4')));
    expect((await probed(file('vfr-proxy.mp4'))).durationSeconds).toBeCloseTo(input.durationSeconds!, 1);
  });

  it('makes an AAC M4A of an audio recording', async () => {
    await transcoder.run(proxyAudioArgs(file('tone.wav'), file('tone.m4a'), settings), { durationSeconds: 3 });
    const json = ffprobeJson(file('tone.m4a'));
    expect((json.format.tags as Record<string, string>).major_brand?.trim()).toBe('M4A');
    const m4a = await probed(file('tone.m4a'));
    expect(m4a.streams).toMatchObject([{ kind: 'audio', codec: 'aac' }]);
    expect(m4a.durationSeconds).toBeCloseTo(3, 1);
    const boxes = await topLevelBoxes(file('tone.m4a'));
    expectInOrder(boxes, ['moov', 'mdat']);
  });

  it('the proxies\' own headers give what ffprobe gives of them (FfprobeProber.probeOutput); any other layout goes to ffprobe', async () => {
    for (const name of ['hd-proxy.mp4', 'sd-proxy.mp4', 'portrait-proxy.mp4', 'vfr-proxy.mp4', 'tone.m4a']) {
      const info = await probed(file(name));
      const video = info.streams.find((s) => s.kind === 'video');
      expect(await prober.probeOutput(file(name)), name).toEqual({
        ok: true,
        readBy: 'header',
        width: video?.width ?? null,
        height: video?.height ?? null,
        durationSeconds: expect.closeTo(info.durationSeconds!, 2),
      });
    }
    // The index at the end (ffmpeg's default without faststart): read by ffprobe.
    await generate(['-f', 'lavfi', '-i', 'sine=frequency=300:sample_rate=48000', '-t', '2', '-c:a', 'aac', file('late-index.m4a')]);
    expect((await topLevelBoxes(file('late-index.m4a'))).slice(-1)).toEqual(['moov']);
    expect(await prober.probeOutput(file('late-index.m4a'))).toEqual({ ok: true, readBy: 'ffprobe', width: null, height: null, durationSeconds: expect.closeTo(2, 1) });
    // Not an MP4 at all: ffprobe's verdict.
    await writeFile(file('not-mp4.mp4'), Buffer.alloc(5000, 0x5a));
    expect(await prober.probeOutput(file('not-mp4.mp4'))).toMatchObject({ ok: false, error: expect.any(String) });
  });

  it('gets what it can out of a recording cut off in the middle, and says it had errors', async () => {
    const input = await probed(file('half.mp4'));
    const result = await transcoder.run(proxyVideoArgs(file('half.mp4'), file('half-proxy.mp4'), input, settings), { durationSeconds: input.durationSeconds });
    expect(result.hadErrors).toBe(true);
    expect(result.stderrTail.join('\n')).toMatch(/partial file|corrupt/i);
    expect(result.stderrTail.join('\n')).not.toContain(dir);
    const proxy = await probed(file('half-proxy.mp4'));
    expect(proxy.durationSeconds).toBeGreaterThan(0.5);
    expect(proxy.durationSeconds).toBeLessThan(input.durationSeconds! - 0.5);
  });

  it('rejects a recording without its index as bad input (no retry can help)', async () => {
    const info: ProbeInfo = { container: null, durationSeconds: null, bitRate: null, tags: {}, streams: [{ index: 0, kind: 'video', codec: null, width: null, height: null, frameRate: null, variableFrameRate: false, rotation: 0, durationSeconds: null, sampleRate: null, channels: null }] };
    const run = transcoder.run(proxyVideoArgs(file('moov-lost.mp4'), file('lost-proxy.mp4'), info, settings), { durationSeconds: null });
    await expect(run).rejects.toBeInstanceOf(MediaInputError);
    await expect(run).rejects.toThrow(/^ffmpeg: moov atom not found$/);
  });

  it('fails retryably when ffmpeg cannot write its output', async () => {
    const run = transcoder.run(proxyAudioArgs(file('tone.wav'), '/proc/evidock-cannot-write.m4a', settings), { durationSeconds: 3 });
    await expect(run).rejects.toThrow(/ffmpeg failed/);
    await expect(run).rejects.not.toBeInstanceOf(MediaInputError);
  });

  it('kills an ffmpeg that hangs', async () => {
    const fifo = file('never.fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    // Opening a FIFO nobody writes blocks forever, silently.
    const hung = new FfmpegTranscoder({ ffmpegPath: 'ffmpeg', stallTimeoutMs: 700 });
    await expect(hung.run(proxyAudioArgs(fifo, file('never.m4a'), settings), { durationSeconds: 3 })).rejects.toThrow(/printed nothing for 1 s and was killed/);
  });

  it('grabs an upright poster frame and storyboard frames', async () => {
    await transcoder.run(posterFrameArgs(file('portrait.mp4'), file('poster.png'), 1, 1280), { durationSeconds: null });
    expect(await images.inspect(file('poster.png'))).toEqual({ width: 360, height: 640, format: 'png' });

    await transcoder.run(storyboardFramesArgs(file('hd.mp4'), file('frame-%04d.png'), 1, 160), { durationSeconds: 3 });
    // 3 s at one a second, keyframes only: 0, 1 and 2 s.
    const frames = ['frame-0001.png', 'frame-0002.png', 'frame-0003.png'].map(file);
    await expect(stat(file('frame-0004.png'))).rejects.toThrow(/ENOENT/);
    for (const frame of frames) expect(await images.inspect(frame)).toEqual({ width: 160, height: 90, format: 'png' });
    expect(await images.sprite(frames, file('storyboard.webp'), { columns: 10, tileWidth: 160, format: 'webp', quality: 70 })).toEqual({
      width: 480,
      height: 90,
      format: 'webp',
    });
  });

  it('names its version', async () => {
    expect(await transcoder.version()).toMatch(/^ffmpeg \d+\.\d+/);
  });
});

describe('SharpImageTool', () => {
  it('applies EXIF orientation, never enlarges, and writes no metadata', async () => {
    // photo.jpg is stored 1280x720 with Orientation 6 (turn 90° clockwise to view).
    expect(await images.inspect(file('photo.jpg'))).toEqual({ width: 720, height: 1280, format: 'jpeg' });
    expect(await images.resize(file('photo.jpg'), file('preview.jpg'), { width: 360, format: 'jpeg', quality: 82 })).toEqual({ width: 360, height: 640, format: 'jpeg' });
    expect(await images.resize(file('photo.jpg'), file('preview.webp'), { width: 4000, format: 'webp', quality: 82 })).toEqual({ width: 720, height: 1280, format: 'webp' });

    const preview = await reader.read(file('preview.jpg'));
    expect(preview).toMatchObject({ make: null, model: null, serialNumber: null, gps: null, createDate: null });
  });

  it('refuses a JPEG with garbage for image data, or cut short', async () => {
    for (const bad of ['garbled.jpg', 'cut.jpg']) {
      await expect(images.resize(file(bad), file(`${bad}.out.jpg`), { width: 320, format: 'jpeg', quality: 82 })).rejects.toBeInstanceOf(MediaInputError);
    }
    await expect(images.resize(file('cut.jpg'), file('cut.out.jpg'), { width: 320, format: 'jpeg', quality: 82 })).rejects.toThrow(/^sharp: .*premature end/i);
    await expect(images.inspect(file('noise.mp4'))).rejects.toBeInstanceOf(MediaInputError);
  });

  it('accepts padding before a marker, which some camera firmware writes', async () => {
    expect(await images.resize(file('quirk.jpg'), file('quirk.out.jpg'), { width: 320, format: 'jpeg', quality: 82 })).toEqual({ width: 320, height: 569, format: 'jpeg' });
  });

  it('treats a missing working copy or an unwritable output as our failure, not the input', async () => {
    const missing = images.resize(file('absent.jpg'), file('absent.out.jpg'), { width: 320, format: 'jpeg', quality: 82 });
    await expect(missing).rejects.toThrow(/missing/);
    await expect(missing).rejects.not.toBeInstanceOf(MediaInputError);
    const unwritable = images.resize(file('photo.jpg'), '/proc/evidock-cannot-write.jpg', { width: 320, format: 'jpeg', quality: 82 });
    await expect(unwritable).rejects.toThrow(/unable to open for write/);
    await expect(unwritable).rejects.not.toBeInstanceOf(MediaInputError);
  });

  it('lays out a sprite in rows', async () => {
    const frames = Array.from({ length: 5 }, () => file('poster.png'));
    expect(await images.sprite(frames, file('grid.jpg'), { columns: 2, tileWidth: 100, format: 'jpeg', quality: 70 })).toEqual({
      width: 200,
      height: 3 * 178,
      format: 'jpeg',
    });
  });

  it('names its version', () => {
    expect(images.version()).toMatch(/^sharp 0\.34\.\d+ \(libvips \d+\.\d+/);
  });
});

describe('ExiftoolReader', () => {
  it('reads a photo: capture time with its offset, device, owner, signed GPS', async () => {
    const meta = await reader.read(file('photo.jpg'));
    expect(meta).toMatchObject({
      createDate: '2026-11-21T09:30:00+08:00',
      make: 'Hytera',
      model: 'VM780',
      serialNumber: 'ZFY123456',
      ownerIds: ['004512'],
      gps: { latitude: -33.8568, longitude: 151.2153, altitude: -3.5 },
      gpsTrackPoints: 0,
    });
    expect(meta.raw).toMatchObject({ Make: 'Hytera', DateTimeOriginal: '2026:11:21 09:30:00+08:00', OffsetTimeOriginal: '+08:00' });
    for (const key of ['SourceFile', 'FileName', 'Directory', 'FileModifyDate', 'errors']) expect(meta.raw).not.toHaveProperty(key);
    expect(JSON.stringify(meta.raw).length).toBeLessThanOrEqual(32 * 1024);
  });

  it('reads QuickTime dates as UTC', async () => {
    const meta = await reader.read(file('hd.mp4'));
    expect(meta.createDate).toBe(CREATED);
    expect(meta).toMatchObject({ gps: null, gpsTrackPoints: 0 });
  });

  it('counts the fixes of a GPS track and takes the first as the position', async () => {
    const meta = await reader.read(file('track.mov'));
    expect(meta.gpsTrackPoints).toBe(3);
    expect(meta.gps!.latitude).toBeCloseTo(22.543, 4);
    expect(meta.gps!.longitude).toBeCloseTo(114.05783, 4);
  });

  it('records an unreadable file as empty, with the reason', async () => {
    const meta = await reader.read(file('noise.mp4'));
    expect(meta).toEqual({
      createDate: null, make: null, model: null, serialNumber: null, ownerIds: [], gps: null, gpsTrackPoints: 0,
      raw: { error: expect.stringMatching(/format error|unknown file type/i) },
    });
  });

  it('reads a truncated recording as far as it goes', async () => {
    const meta = await reader.read(file('moov-lost.mp4'));
    expect(String(meta.raw.Warning ?? meta.raw.error)).toMatch(/\S/);
  });

  it('names its version', async () => {
    expect(await reader.version()).toMatch(/^exiftool 13\.\d+/);
  });

  it('its exiftool process does not outlive a worker that is SIGKILLed', async () => {
    // A worker that reads one file and then waits, as a worker process does between jobs.
    const script = `
      const { ExiftoolReader } = await import('./workers/exiftool.adapter.ts');
      const reader = new ExiftoolReader();
      await reader.read(${JSON.stringify(file('photo.jpg'))});
      console.log('read');
      setInterval(() => undefined, 1000);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('read') && resolve());
        child.on('exit', (code) => reject(new Error(`worker exited with ${code} before reading`)));
      });
      const perl = spawnSync('ps', ['-o', 'pid=,args=', '--ppid', String(child.pid)], { encoding: 'utf8' })
        .stdout.split('\n')
        .filter((line) => line.includes('-stay_open'))
        .map((line) => Number(line.trim().split(/\s+/)[0]));
      expect(perl).toHaveLength(1);
      child.kill('SIGKILL');
      await eventually(async () => (isRunning(perl[0]!) ? undefined : true), 30_000, 'the orphaned exiftool to exit');
    } finally {
      child.kill('SIGKILL');
    }
  });
});

