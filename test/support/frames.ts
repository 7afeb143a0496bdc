import { spawnSync } from 'node:child_process';
import type { Rect } from '../../archive/redaction-project.ts';
import type { Runtime } from '../../daemon/runtime.ts';

/**
 * Region checks on decoded video, for the redaction tests: a frame as packed RGB, the mean
 * difference of two frames over a region, and the regions inside and well outside a box.
 */

export interface FrameSize {
  w: number;
  h: number;
}

export interface PixelRect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** One decoded frame of `path` at `atSeconds` as packed RGB. */
export function rgbFrame(path: string, atSeconds: number, size: FrameSize): Buffer {
  const r = spawnSync('ffmpeg', ['-hide_banner', '-v', 'error', '-ss', String(atSeconds), '-i', path, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`ffmpeg could not decode ${path}: ${r.stderr.toString()}`);
  if (r.stdout.length !== size.w * size.h * 3) throw new Error(`${path} at ${atSeconds} s: ${r.stdout.length} bytes is not a ${size.w}×${size.h} RGB frame`);
  return r.stdout;
}

/** Mean absolute difference per channel of two frames, over the pixels `inside` selects. */
export function meanDifference(a: Buffer, b: Buffer, size: FrameSize, inside: (x: number, y: number) => boolean): { mean: number; pixels: number } {
  let sum = 0;
  let pixels = 0;
  for (let y = 0; y < size.h; y++) {
    for (let x = 0; x < size.w; x++) {
      if (!inside(x, y)) continue;
      const i = (y * size.w + x) * 3;
      sum += Math.abs(a[i]! - b[i]!) + Math.abs(a[i + 1]! - b[i + 1]!) + Math.abs(a[i + 2]! - b[i + 2]!);
      pixels++;
    }
  }
  return { mean: sum / (pixels * 3), pixels };
}

export const within = (r: PixelRect) => (x: number, y: number) => x >= r.x0 && x < r.x1 && y >= r.y0 && y < r.y1;

/**
 * The pixels of box `r` less a 2 px edge (inner), and the box grown by `pad` px (outer): what
 * lies outside `outer` is past the covering margin and the blur's reach at the edge.
 */
export function boxRegions(r: Rect, size: FrameSize, pad = 12): { inner: PixelRect; outer: PixelRect } {
  return {
    inner: { x0: Math.ceil(r.x * size.w) + 2, y0: Math.ceil(r.y * size.h) + 2, x1: Math.floor((r.x + r.w) * size.w) - 2, y1: Math.floor((r.y + r.h) * size.h) - 2 },
    outer: { x0: Math.floor(r.x * size.w) - pad, y0: Math.floor(r.y * size.h) - pad, x1: Math.ceil((r.x + r.w) * size.w) + pad, y1: Math.ceil((r.y + r.h) * size.h) + pad },
  };
}

/** An object of the derivatives bucket, whole. */
export async function storedDerivative(rt: Runtime, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of (await rt.objects.read('derivatives', key)) as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}
