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
/** Two faces of sample1.jpg (1920×1280). */
const SAMPLE1_FACES: Rect[] = [
  { x: 0.2157, y: 0.2772, w: 0.0923, h: 0.1873 },
  { x: 0.4365, y: 0.3287, w: 0.0971, h: 0.178 },
];
/** Where each face's tile starts and how fast it moves (px/s): the first rightwards, the second leftwards, never overlapping in 6 s. */
const PATHS = [
  { left: 40, top: 60, speed: 20 },
  { left: 420, top: 80, speed: -10 },
];
const MARGIN = 0.5;
const TILE_HEIGHT = 260;

export const FACE_W = 640;
export const FACE_H = 360;

export interface FaceFootage extends RecorderFootage {
  /** With `truncated`: the second video, the same picture cut off at 60 % of its bytes (a recording whose write was interrupted). */
  truncated: string | null;
  /** Where face `i` (from 0) is at `t` seconds, in fractions of the frame. */
  faceAt(t: number, i?: number): Rect;
}

export async function makeFaceFootage(dir: string, o: { serial: string; seconds: number; faces?: 1 | 2; truncated?: boolean }): Promise<FaceFootage> {
  const footage = await makeRecorderFootage(join(dir, 'rec'), { files: o.truncated ? 2 : 1, seconds: o.seconds, audio: false, photo: false, width: FACE_W, height: FACE_H, serial: o.serial });
  const video = footage.files[0]!;
  const faces = SAMPLE1_FACES.slice(0, o.faces ?? 1);
  const tiles: Array<{ path: string; width: number; height: number }> = [];
  for (const [i, f] of faces.entries()) {
    const crop = { left: Math.round((f.x - f.w * MARGIN) * 1920), top: Math.round((f.y - f.h * MARGIN) * 1280), width: Math.round(f.w * (1 + 2 * MARGIN) * 1920), height: Math.round(f.h * (1 + 2 * MARGIN) * 1280) };
    const path = join(dir, `face-tile-${i}.png`);
    const info = await sharp(join(DEMO, 'sample1.jpg')).autoOrient().extract(crop).resize({ height: TILE_HEIGHT }).png().toFile(path);
    tiles.push({ path, width: info.width, height: info.height });
  }
  // Each tile overlaid on the previous result, moving by its path.
  const chain = tiles.map((_, i) => `[${i === 0 ? '0' : `v${i}`}][${i + 1}]overlay=x='${PATHS[i]!.left}+${PATHS[i]!.speed}*t':y=${PATHS[i]!.top}:eof_action=repeat${i === tiles.length - 1 ? '' : `[v${i + 1}]`}`).join(';');
  execFileSync('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `color=c=0x46505a:size=${FACE_W}x${FACE_H}:rate=25:duration=${o.seconds}`,
    ...tiles.flatMap((tile) => ['-i', tile.path]),
    '-filter_complex', chain,
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
  return {
    ...footage,
    truncated,
    faceAt: (t, i = 0) => {
      const tile = tiles[i]!;
      const p = PATHS[i]!;
      const fw = tile.width / (1 + 2 * MARGIN);
      const fh = tile.height / (1 + 2 * MARGIN);
      return { x: (p.left + p.speed * t + fw * MARGIN) / FACE_W, y: (p.top + fh * MARGIN) / FACE_H, w: fw / FACE_W, h: fh / FACE_H };
    },
  };
}
