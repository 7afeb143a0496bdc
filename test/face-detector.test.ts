import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { iou, suggestBoxes, trackFaces, type SampledFrame } from '../archive/face-track.ts';
import { validateSpec, type Rect } from '../archive/redaction-project.ts';
import { readRgbFrame, TfjsFaceDetector } from '../workers/face-detector.adapter.ts';
import { DetectorProcessError, ProcessFaceDetectorLauncher } from '../workers/face-detector.process.ts';
import { MediaInputError } from '../workers/media-tools.ts';
import { storyboardFramesArgs } from '../workers/ffmpeg-args.ts';
import { FfmpegTranscoder } from '../workers/ffmpeg.adapter.ts';

/**
 * The detector on real pictures, offline: the weights and the photos are both inside the
 * @vladmandic/face-api package. SAMPLE1_FACES are the three faces of demo/sample1.jpg
 * (1920×1280), located once with the ssd model and checked by eye on the picture.
 */
const require = createRequire(import.meta.url);
const DEMO = join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo');
const SAMPLE1_FACES: Rect[] = [
  { x: 0.2157, y: 0.2772, w: 0.0923, h: 0.1873 },
  { x: 0.4365, y: 0.3287, w: 0.0971, h: 0.178 },
  { x: 0.7688, y: 0.1559, w: 0.1057, h: 0.1881 },
];

let work: string;
let detector: TfjsFaceDetector;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'evidock-faces-'));
  detector = await TfjsFaceDetector.load({ model: 'tiny' });
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const matches = (truth: readonly Rect[], found: readonly Rect[]) => truth.filter((t) => found.some((f) => iou(t, f) >= 0.4)).length;

describe('TfjsFaceDetector (tiny_face_detector, wasm backend)', () => {
  it('finds the three faces of a group photo, as fractions of the frame, and nothing else', async () => {
    const frame = await readRgbFrame(join(DEMO, 'sample1.jpg'));
    expect([frame.width, frame.height]).toEqual([1920, 1280]);
    const faces = await detector.detect(frame);
    expect(faces).toHaveLength(3);
    expect(matches(SAMPLE1_FACES, faces)).toBe(3);
    for (const f of faces) {
      expect(f.score).toBeGreaterThanOrEqual(0.5);
      expect(f.x + f.w).toBeLessThanOrEqual(1);
      expect(f.y + f.h).toBeLessThanOrEqual(1);
    }
    expect(faces.map((f) => f.score)).toEqual([...faces.map((f) => f.score)].sort((a, b) => b - a));
  });

  it("leaves no rethrowing process-wide error listener behind (the wasm module's emscripten adds two)", () => {
    const rethrowing = [...process.listeners('uncaughtException'), ...process.listeners('unhandledRejection')].filter((l) => /throw (ex|reason)/.test(String(l)));
    expect(rethrowing).toEqual([]);
  });

  it('loads ssd_mobilenetv1 by default, which finds the same three faces', async () => {
    const ssd = await TfjsFaceDetector.load();
    expect(ssd.model).toMatch(/ssd_mobilenetv1/);
    const faces = await ssd.detect(await readRgbFrame(join(DEMO, 'sample1.jpg')));
    expect(faces).toHaveLength(3);
    expect(matches(SAMPLE1_FACES, faces)).toBe(3);
  });

  it('finds no face on an empty frame', async () => {
    const { data, info } = await sharp({ create: { width: 640, height: 360, channels: 3, background: { r: 90, g: 100, b: 110 } } }).raw().toBuffer({ resolveWithObject: true });
    expect(await detector.detect({ data, width: info.width, height: info.height })).toEqual([]);
  });

  it('refuses a buffer that is not an RGB frame of the size given', async () => {
    await expect(detector.detect({ data: new Uint8Array(10), width: 4, height: 4 })).rejects.toThrow(/not an RGB frame/);
  });

  it('from a recording: ffmpeg samples frames, faces are tracked into one box that validates as a spec', async () => {
    // A face cut from the photo walks across a plain 640×360 background over 4 s at 1 frame/s.
    const face = SAMPLE1_FACES[0]!;
    const margin = 0.5;
    const crop = { left: Math.round((face.x - face.w * margin) * 1920), top: Math.round((face.y - face.h * margin) * 1280), width: Math.round(face.w * (1 + 2 * margin) * 1920), height: Math.round(face.h * (1 + 2 * margin) * 1280) };
    const tile = await sharp(join(DEMO, 'sample1.jpg')).autoOrient().extract(crop).resize({ height: 200 }).png().toBuffer();
    const tileMeta = await sharp(tile).metadata();
    const truth: Rect[] = [];
    for (let i = 0; i < 4; i++) {
      const left = 40 + i * 30;
      const top = 80;
      await sharp({ create: { width: 640, height: 360, channels: 3, background: { r: 70, g: 80, b: 90 } } })
        .composite([{ input: tile, left, top }])
        .png()
        .toFile(join(work, `in-${i}.png`));
      const fw = tileMeta.width! / (1 + 2 * margin);
      const fh = tileMeta.height! / (1 + 2 * margin);
      truth.push({ x: (left + fw * margin) / 640, y: (top + fh * margin) / 360, w: fw / 640, h: fh / 360 });
    }
    const video = join(work, 'walk.mp4');
    const made = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-framerate', '1', '-i', join(work, 'in-%d.png'), '-vf', 'fps=25', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-t', '4', video]);
    expect(made.status, made.stderr.toString()).toBe(0);

    const frames = join(work, 'frames');
    spawnSync('mkdir', ['-p', frames]);
    await new FfmpegTranscoder({ ffmpegPath: 'ffmpeg' }).run(storyboardFramesArgs(video, join(frames, 'f-%04d.png'), 1, 640, { keyframesOnly: false }), { durationSeconds: 4 });
    const files = (await readdir(frames)).sort();
    expect(files.length).toBeGreaterThanOrEqual(4);
    const sampled: SampledFrame[] = [];
    for (const [n, file] of files.entries()) sampled.push({ t: n, faces: await detector.detect(await readRgbFrame(join(frames, file))) });
    for (let i = 0; i < 4; i++) expect(matches([truth[i]!], sampled[i]!.faces), `frame ${i}`).toBe(1);

    const { suggestions } = suggestBoxes(trackFaces(sampled, { iouThreshold: 0.3, maxGapFrames: 1, minScore: 0.5 }), { minDetections: 2, padding: 0.15, holdSeconds: 0.5, durationSeconds: 4, mode: 'blur' });
    expect(suggestions).toHaveLength(1);
    const spec = { boxes: suggestions.map((s) => s.box), blurRanges: [], audioRanges: [] };
    expect(validateSpec(spec, { durationSeconds: 4, hasVideo: true, hasAudio: false }).ok).toBe(true);
    expect(suggestions[0]!.box.keyframes[0]!.t).toBe(0);
  });

  it('in a process of its own: the same faces; a bad frame is an input error; the process killed fails the run, not this process', async () => {
    const launcher = new ProcessFaceDetectorLauncher({ frameTimeoutSeconds: 60, detectorMemoryMiB: 1024 });
    const child = await launcher.start({ model: 'tiny', minScore: 0.5 });
    try {
      expect(child.model).toMatch(/tiny_face_detector/);
      expect(child.pid).not.toBe(process.pid);
      const faces = await child.detectFile(join(DEMO, 'sample1.jpg'));
      expect(matches(SAMPLE1_FACES, faces)).toBe(3);
      const junk = join(work, 'junk.png');
      await import('node:fs/promises').then((fs) => fs.writeFile(junk, 'not a picture'));
      await expect(child.detectFile(junk)).rejects.toBeInstanceOf(MediaInputError);
      process.kill(child.pid!, 'SIGKILL');
      await expect(child.detectFile(join(DEMO, 'sample1.jpg'))).rejects.toBeInstanceOf(DetectorProcessError);
    } finally {
      await child.close();
    }
  });
});
