/**
 * Face suggestions (遮挡建议): faces found on frames sampled from a recording, linked across
 * frames into tracks, and each track turned into a redaction box that a custodian can review,
 * change and save like any box drawn by hand. Nothing here is saved or rendered by itself:
 * a suggestion is only a proposed spec.
 *
 * Linking is greedy by overlap (IoU): on each sampled frame, the pairs of (open track, face)
 * that overlap most are matched first, each track and each face at most once. A track that
 * finds no face for more than `maxGapFrames` frames in a row is closed; a face that matches
 * no open track starts a new one. A detector misses a face now and then (a turned head, motion
 * blur), so a short gap does not split a track; the box is interpolated over it.
 *
 * Pure: the detector is workers/face-detector.adapter.ts, the frames come from ffmpeg.
 */

import { LIMITS, type Keyframe, type Rect, type RedactionBox, type BoxMode } from './redaction-project.ts';

/** One face on one frame, in fractions of the frame (0..1), with the detector's confidence. */
export interface FaceDetection extends Rect {
  score: number;
}

/** The faces found on the frame shown at `t` seconds. A frame with no face still counts (it closes tracks). */
export interface SampledFrame {
  t: number;
  faces: readonly FaceDetection[];
}

export interface FaceTrack {
  /** Detections in order of time, one per frame at most. */
  points: Array<{ t: number; frame: number } & FaceDetection>;
}

export interface TrackOptions {
  /** Least IoU for a face to continue a track. */
  iouThreshold: number;
  /** Frames in a row a track may miss before it is closed. */
  maxGapFrames: number;
  /** Faces scored below this are ignored. */
  minScore: number;
}

export interface SuggestOptions {
  /** Frames at least: a single-frame track is usually a false detection. */
  minDetections: number;
  /** Margin added around each face on every side, as a fraction of its width and height. */
  padding: number;
  /**
   * A box starts this long before its first detection and ends this long after its last
   * (clamped to the recording): a face is there between two samples too. Half the sampling
   * interval is the natural choice.
   */
  holdSeconds: number;
  /** Recording length, seconds: no keyframe past it. */
  durationSeconds: number;
  mode: BoxMode;
}

export const DEFAULT_TRACK_OPTIONS: TrackOptions = { iouThreshold: 0.3, maxGapFrames: 2, minScore: 0.5 };

export interface Suggestion {
  box: RedactionBox;
  /** Frames the face was found on, and the mean score over them. */
  detections: number;
  meanScore: number;
}

export interface SuggestionResult {
  suggestions: Suggestion[];
  /** Tracks left out because they had fewer than minDetections detections. */
  droppedShort: number;
  /** Tracks left out because a spec has room for only so many boxes and keyframe spans (LIMITS). */
  droppedOverLimit: number;
}

/** Intersection over union of two rectangles; 0 when either is empty. */
export function iou(a: Rect, b: Rect): number {
  const ix = Math.max(0, Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x));
  const iy = Math.max(0, Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y));
  const inter = ix * iy;
  const union = a.w * a.h + b.w * b.h - inter;
  return union > 0 ? inter / union : 0;
}

/** Links the faces of `frames` (in order of time) into tracks, in order of their first detection. */
export function trackFaces(frames: readonly SampledFrame[], options: TrackOptions = DEFAULT_TRACK_OPTIONS): FaceTrack[] {
  for (let i = 1; i < frames.length; i++) {
    if (!(frames[i]!.t > frames[i - 1]!.t)) throw new Error(`trackFaces: frames must be in order of time (${frames[i]!.t} s after ${frames[i - 1]!.t} s)`);
  }
  const all: FaceTrack[] = [];
  let open: Array<{ track: FaceTrack; lastFrame: number }> = [];
  frames.forEach((frame, f) => {
    open = open.filter((o) => f - o.lastFrame - 1 <= options.maxGapFrames);
    const faces = frame.faces.filter((d) => d.score >= options.minScore);
    const pairs: Array<{ o: number; d: number; overlap: number }> = [];
    open.forEach((o, oi) => {
      const last = o.track.points[o.track.points.length - 1]!;
      faces.forEach((d, di) => {
        const overlap = iou(last, d);
        if (overlap >= options.iouThreshold) pairs.push({ o: oi, d: di, overlap });
      });
    });
    // Highest overlap first; ties by the older track, then the earlier face, so the result is stable.
    pairs.sort((a, b) => b.overlap - a.overlap || a.o - b.o || a.d - b.d);
    const usedTrack = new Set<number>();
    const usedFace = new Set<number>();
    for (const p of pairs) {
      if (usedTrack.has(p.o) || usedFace.has(p.d)) continue;
      usedTrack.add(p.o);
      usedFace.add(p.d);
      const o = open[p.o]!;
      o.track.points.push({ t: frame.t, frame: f, ...pick(faces[p.d]!) });
      o.lastFrame = f;
    }
    faces.forEach((d, di) => {
      if (usedFace.has(di)) return;
      const track: FaceTrack = { points: [{ t: frame.t, frame: f, ...pick(d) }] };
      all.push(track);
      open.push({ track, lastFrame: f });
    });
  });
  return all;
}

/**
 * Turns tracks into redaction box suggestions (ids `face-1`, `face-2`, … in order of first
 * appearance), padded, clamped to the frame and to the recording, each with at least the two
 * keyframes a box needs. The longest tracks are kept when the spec's LIMITS cannot hold all.
 */
export function suggestBoxes(tracks: readonly FaceTrack[], options: SuggestOptions): SuggestionResult {
  const duration = options.durationSeconds;
  if (!Number.isFinite(duration) || duration <= 0) throw new Error(`suggestBoxes: bad duration ${duration}`);
  const long = tracks.filter((tr) => tr.points.length >= Math.max(1, options.minDetections));
  const droppedShort = tracks.length - long.length;

  const made = long.map((track, i) => {
    const keyframes: Keyframe[] = [];
    const pts = track.points.filter((p) => p.t <= duration);
    const first = pts[0];
    const last = pts[pts.length - 1];
    if (!first || !last) return null;
    const start = Math.max(0, first.t - options.holdSeconds);
    const end = Math.min(duration, last.t + options.holdSeconds);
    if (start < first.t) keyframes.push({ t: round(start), ...padded(first, options.padding) });
    for (const p of pts) keyframes.push({ t: round(p.t), ...padded(p, options.padding) });
    if (end > last.t) keyframes.push({ t: round(end), ...padded(last, options.padding) });
    const frames = dedupeTimes(keyframes);
    if (frames.length < 2) return null; // a lone face on the very last instant with no hold
    const meanScore = pts.reduce((s, p) => s + p.score, 0) / pts.length;
    return { order: i, detections: pts.length, meanScore, keyframes: frames.slice(0, LIMITS.keyframesPerBox) };
  });
  const candidates = made.filter((m): m is NonNullable<typeof m> => m !== null);

  // Keep the longest tracks that fit, then give them back in order of appearance.
  const bySize = [...candidates].sort((a, b) => b.detections - a.detections || a.order - b.order);
  const kept: typeof candidates = [];
  let segments = 0;
  for (const c of bySize) {
    const spans = c.keyframes.length - 1;
    if (kept.length >= LIMITS.boxes || segments + spans > LIMITS.segments) continue;
    kept.push(c);
    segments += spans;
  }
  kept.sort((a, b) => a.order - b.order);
  const suggestions = kept.map((c, n) => ({
    box: { id: `face-${n + 1}`, shape: 'rect' as const, mode: options.mode, keyframes: c.keyframes },
    detections: c.detections,
    meanScore: round(c.meanScore),
  }));
  return { suggestions, droppedShort, droppedOverLimit: candidates.length - kept.length };
}

/** The face grown by `padding` of its size on each side, clamped to the frame. */
export function padded(r: Rect, padding: number): Rect {
  const x0 = clamp01(r.x - r.w * padding);
  const y0 = clamp01(r.y - r.h * padding);
  const x1 = clamp01(r.x + r.w * (1 + padding));
  const y1 = clamp01(r.y + r.h * (1 + padding));
  return { x: round(x0), y: round(y0), w: round(x1 - x0), h: round(y1 - y0) };
}

function dedupeTimes(frames: Keyframe[]): Keyframe[] {
  const out: Keyframe[] = [];
  for (const k of frames) if (out.length === 0 || k.t > out[out.length - 1]!.t) out.push(k);
  return out;
}

function pick(d: FaceDetection): FaceDetection {
  return { x: d.x, y: d.y, w: d.w, h: d.h, score: d.score };
}

function clamp01(v: number): number {
  return Math.min(1, Math.max(0, v));
}

/** Six decimals, rounded down (so x + w stays within 1): well below a pixel of any frame. */
function round(v: number): number {
  return Math.floor(v * 1e6) / 1e6;
}
