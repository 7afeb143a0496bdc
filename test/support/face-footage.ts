import { execFileSync } from 'node:child_process';
import { readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import type { Rect } from '../../archive/redaction-project.ts';
import { makeRecorderFootage, type RecorderFootage } from '../../scripts/make-footage.ts';

/**
 * A recorder volume whose one video shows a face: the left face of the @vladmandic/face-api
 * package's demo photo sample1.jpg (its box found with the ssd model and checked by eye, as in
 * test/face-detector.test.ts), cut out with a margin and slid across a plain 640×360 picture.
 * Offline, like the detector: the photo is inside the npm package.
 */
const require = createRequire(import.meta.url);
const DEMO = join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo');
export const SAMPLE1_FACE: Rect = { x: 0.2157, y: 0.2772, w: 0.0923, h: 0.1873 };

export const FACE_W = 640;
export const FACE_H = 360;

export interface FaceFootage extends RecorderFootage {
  /** With `truncated`: the second video, the same picture cut off at 60 % of its bytes (a recording whose write was interrupted). */
  truncated: string | null;
  /** Where the face is at `t` seconds, in fractions of the frame. */
  faceAt(t: number): Rect;
}

export async function makeFaceFootage(dir: string, o: { serial: string; seconds: number; truncated?: boolean }): Promise<FaceFootage> {
  const footage = await makeRecorderFootage(join(dir, 'rec'), { files: o.truncated ? 2 : 1, seconds: o.seconds, audio: false, photo: false, width: FACE_W, height: FACE_H, serial: o.serial });
  const video = footage.files[0]!;
  const margin = 0.5;
  const f = SAMPLE1_FACE;
  const crop = { left: Math.round((f.x - f.w * margin) * 1920), top: Math.round((f.y - f.h * margin) * 1280), width: Math.round(f.w * (1 + 2 * margin) * 1920), height: Math.round(f.h * (1 + 2 * margin) * 1280) };
  const tileHeight = 200;
  const tile = await sharp(join(DEMO, 'sample1.jpg')).autoOrient().extract(crop).resize({ height: tileHeight }).png().toBuffer({ resolveWithObject: true });
  const tilePath = join(dir, 'face-tile.png');
  await sharp(tile.data).toFile(tilePath);
  const speed = 30; // px per second
  const left0 = 40;
  const top = 80;
  execFileSync('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `color=c=0x46505a:size=${FACE_W}x${FACE_H}:rate=25:duration=${o.seconds}`,
    '-i', tilePath,
    '-filter_complex', `[0][1]overlay=x='${left0}+${speed}*t':y=${top}:eof_action=repeat`,
    '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-g', '50', '-t', String(o.seconds),
    '-movflags', '+faststart', '-metadata', `creation_time=${video.start.toISOString()}`, '-f', 'mp4', video.path,
  ]);
  utimesSync(video.path, video.mtime, video.mtime);
  let truncated: string | null = null;
  if (o.truncated) {
    const second = footage.files[1]!;
    const bytes = readFileSync(video.path);
    writeFileSync(second.path, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    utimesSync(second.path, second.mtime, second.mtime);
    truncated = second.path;
  }
  const fw = tile.info.width / (1 + 2 * margin);
  const fh = tile.info.height / (1 + 2 * margin);
  return {
    ...footage,
    truncated,
    faceAt: (t) => ({ x: (left0 + speed * t + fw * margin) / FACE_W, y: (top + fh * margin) / FACE_H, w: fw / FACE_W, h: fh / FACE_H }),
  };
}
