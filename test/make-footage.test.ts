import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRecordingName } from '../drivers/gat947-name.parser.ts';
import { makeRecorderFootage, type RecorderFootage } from '../scripts/make-footage.ts';

interface ProbeStream {
  codec_type: string;
  codec_name: string;
  width?: number;
  height?: number;
}

function ffprobe(path: string): Promise<{ streams: ProbeStream[]; format: { duration: string; format_name: string } }> {
  return new Promise((resolve, reject) => {
    const child = spawn('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_streams', '-show_format', path], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`ffprobe ${path}: exit ${code}: ${err}`))));
  });
}

describe('makeRecorderFootage (real ffmpeg)', () => {
  let dir: string;
  let footage: RecorderFootage;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'evidock-footage-'));
    footage = await makeRecorderFootage(dir, { files: 2, seconds: 2, serial: 'ZFY123456', officer: '004512', start: '2026-11-21T09:30:00' });
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('lays out a recorder volume with GA/T 947 names, consecutive sequence numbers and times', async () => {
    const names = (await readdir(join(dir, 'DCIM', '100MEDIA'))).sort();
    expect(names).toEqual(footage.files.map((f) => f.name).sort());
    expect(footage.files.map((f) => f.kind)).toEqual(['video', 'video', 'audio', 'photo']);
    expect(footage.files[0]!.name).toBe('ZFY123456_004512_20261121093000_0001.MP4');
    expect(footage.files[1]!.name).toMatch(/^ZFY123456_004512_\d{14}_0002\.MP4$/);
    expect(footage.files[2]!.name).toMatch(/^ZFY123456_004512_\d{14}_0003\.WAV$/);
    expect(footage.files[3]!.name).toMatch(/^ZFY123456_004512_\d{14}_0004\.JPG$/);

    for (const [i, f] of footage.files.entries()) {
      expect(f.relativePath).toBe(`DCIM/100MEDIA/${f.name}`);
      // What the ingest side reads back from the name.
      const parsed = parseRecordingName(f.name);
      expect(parsed).toMatchObject({ deviceId: 'ZFY123456', officerId: '004512', sequence: i + 1, important: false });
      // The file's mtime is the end of the recording; the next one starts after it.
      const st = await stat(f.path);
      expect(st.size).toBe(f.size);
      expect(st.size).toBeGreaterThan(0);
      expect(st.mtimeMs).toBe(f.start.getTime() + f.durationSeconds * 1000);
      if (i > 0) expect(f.start.getTime()).toBeGreaterThan(footage.files[i - 1]!.mtime.getTime());
    }
  });

  it('writes H.264 + AAC videos of the requested length', async () => {
    for (const f of footage.files.filter((x) => x.kind === 'video')) {
      const probe = await ffprobe(f.path);
      expect(probe.format.format_name).toContain('mp4');
      const video = probe.streams.find((s) => s.codec_type === 'video');
      const audio = probe.streams.find((s) => s.codec_type === 'audio');
      expect(video).toMatchObject({ codec_name: 'h264', width: 640, height: 360 });
      expect(audio).toMatchObject({ codec_name: 'aac' });
      expect(Number(probe.format.duration)).toBeCloseTo(2, 0);
    }
  });

  it('writes a PCM WAV audio recording and a JPEG photo', async () => {
    const wav = await ffprobe(footage.files[2]!.path);
    expect(wav.streams[0]).toMatchObject({ codec_type: 'audio', codec_name: 'pcm_s16le' });
    const jpg = await ffprobe(footage.files[3]!.path);
    expect(jpg.streams[0]).toMatchObject({ codec_type: 'video', codec_name: 'mjpeg' });
  });

  it('bytes mode writes large pseudo-random files, the same for the same seed', async () => {
    const a = await makeRecorderFootage(join(dir, 'bytes-a'), { files: 2, sizeMiB: 3, seed: 9, audio: false, photo: false });
    const b = await makeRecorderFootage(join(dir, 'bytes-b'), { files: 2, sizeMiB: 3, seed: 9, audio: false, photo: false });
    expect(a.files.map((f) => f.name)).toEqual(b.files.map((f) => f.name));
    expect(a.files.map((f) => f.size)).toEqual([3 * 1024 * 1024, 3 * 1024 * 1024]);
    const [a0, b0, a1] = await Promise.all([readFile(a.files[0]!.path), readFile(b.files[0]!.path), readFile(a.files[1]!.path)]);
    expect(a0.equals(b0)).toBe(true);
    expect(a0.equals(a1)).toBe(false);
  });
});
