/**
 * Face detection figures (issue 20), outside the bench report for now:
 *   taskset -c 0 npx tsx scripts/bench-faces.ts
 * prints, per model, precision and recall (IoU >= 0.4) on 48 generated 1280x720 frames with
 * 0-3 faces each, and frames/s at three frame sizes, on whatever cores it is given.
 *
 * The labelled set is made here, offline: 8 faces cut from the demo photos inside the
 * @vladmandic/face-api package (boxes below: found with its ssd model and checked by eye on
 * the photos), scaled to 36-180 px tall and pasted at seeded random places on noise. The
 * reference boxes came from ssd, so ssd is favoured; tiny's boxes are squarer, and some of
 * its misses at IoU 0.4 are boxes of another shape on the right face.
 */
import sharp from 'sharp';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { TfjsFaceDetector, type RgbFrame } from '../workers/face-detector.adapter.ts';
import { iou } from '../archive/face-track.ts';
import type { Rect } from '../archive/redaction-project.ts';
const require = createRequire(import.meta.url);
const demo = join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo');
const verified: Record<number, Rect[]> = {
  1: [[0.2157,0.2772,0.0923,0.1873],[0.4365,0.3287,0.0971,0.178],[0.7688,0.1559,0.1057,0.1881]].map(([x, y, w, h]) => ({ x: x!, y: y!, w: w!, h: h! })),
  5: [[0.41,0.0778,0.0813,0.1515],[0.5796,0.1417,0.0825,0.1691],[0.7325,0.2788,0.0861,0.1942],[0.3114,0.2968,0.0865,0.178],[0.1962,0.6147,0.0897,0.2153]].map(([x, y, w, h]) => ({ x: x!, y: y!, w: w!, h: h! })),
};
let seed = 7; const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const tiles: Array<{ buf: Buffer; fw: number; fh: number }> = [];
const M = 0.4;
for (const [i, faces] of Object.entries(verified)) {
  const meta = await sharp(join(demo, `sample${i}.jpg`)).autoOrient().toBuffer({ resolveWithObject: true });
  const W = meta.info.width, H = meta.info.height;
  for (const f of faces) {
    const left = Math.max(0, Math.round((f.x - f.w * M) * W)), top = Math.max(0, Math.round((f.y - f.h * M) * H));
    const width = Math.min(W - left, Math.round(f.w * (1 + 2 * M) * W)), height = Math.min(H - top, Math.round(f.h * (1 + 2 * M) * H));
    tiles.push({ buf: await sharp(meta.data).extract({ left, top, width, height }).png().toBuffer(), fw: f.w * W / width, fh: f.h * H / height });
  }
}
// labelled frames 1280x720: 0-3 faces, face heights 36..180 px, on a noisy gradient
const frames: Array<{ frame: RgbFrame; truth: Rect[] }> = [];
for (let n = 0; n < 48; n++) {
  const k = n % 4; const comps: sharp.OverlayOptions[] = []; const truth: Rect[] = [];
  for (let j = 0; j < k; j++) {
    const t = tiles[Math.floor(rnd() * tiles.length)]!; const th = Math.round(36 / t.fh + rnd() * (180 - 36) / t.fh);
    const r = await sharp(t.buf).resize({ height: th }).png().toBuffer({ resolveWithObject: true });
    const left = Math.floor((j * 1280) / Math.max(1, k) + rnd() * Math.max(1, 1280 / Math.max(1, k) - r.info.width)); const top = Math.floor(rnd() * (720 - r.info.height));
    if (left + r.info.width > 1280) continue;
    comps.push({ input: r.data, left, top });
    const fw = r.info.width * t.fw, fh = r.info.height * t.fh;
    truth.push({ x: (left + (r.info.width - fw) / 2) / 1280, y: (top + (r.info.height - fh) / 2) / 720, w: fw / 1280, h: fh / 720 });
  }
  const noise = Buffer.alloc(1280 * 720 * 3); for (let p = 0; p < noise.length; p++) noise[p] = 60 + ((p * 2654435761) >>> 24) % 60 + Math.floor((p / 3 % 1280) / 20);
  const { data, info } = await sharp(noise, { raw: { width: 1280, height: 720, channels: 3 } }).composite(comps).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  frames.push({ frame: { data, width: info.width, height: info.height }, truth });
}
const nTruth = frames.reduce((s, f) => s + f.truth.length, 0);
for (const [model, inputSize] of [['tiny', 416], ['tiny', 608], ['ssd', 0]] as const) {
  const det = await TfjsFaceDetector.load({ model, minScore: 0.5, ...(inputSize ? { inputSize } : {}) });
  await det.detect(frames[1]!.frame);
  let tp = 0, fp = 0, fn = 0; const t0 = performance.now();
  for (const f of frames) {
    const found = await det.detect(f.frame); const used = new Set<number>();
    for (const t of f.truth) { const m = found.findIndex((d, i) => !used.has(i) && iou(t, d) >= 0.4); if (m >= 0) { used.add(m); tp++; } else fn++; }
    fp += found.length - used.size;
  }
  const s = (performance.now() - t0) / 1000;
  const res: Record<string, string> = {};
  for (const [w, h] of [[640, 360], [1280, 720], [1920, 1080]] as const) {
    const { data } = await sharp(frames[1]!.frame.data, { raw: { width: 1280, height: 720, channels: 3 } }).resize(w, h).raw().toBuffer({ resolveWithObject: true });
    const fr = { data, width: w, height: h }; await det.detect(fr); const a = performance.now(); for (let i = 0; i < 8; i++) await det.detect(fr); res[`${w}x${h}`] = (8000 / (performance.now() - a)).toFixed(1);
  }
  console.log(JSON.stringify({ model: det.model, frames: frames.length, faces: nTruth, tp, fp, fn, precision: +(tp / Math.max(1, tp + fp)).toFixed(3), recall: +(tp / nTruth).toFixed(3), labelledFps: +(frames.length / s).toFixed(1), fpsBySize: res }));
}
