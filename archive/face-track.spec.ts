import { describe, expect, it } from 'vitest';
import { DEFAULT_TRACK_OPTIONS, iou, padded, suggestBoxes, trackFaces, type FaceDetection, type SampledFrame, type SuggestOptions } from './face-track.ts';
import { LIMITS, validateSpec } from './redaction-project.ts';

const face = (x: number, y: number, w = 0.1, h = 0.15, score = 0.9): FaceDetection => ({ x, y, w, h, score });
const suggest: SuggestOptions = { minDetections: 2, padding: 0, holdSeconds: 0.5, durationSeconds: 10, mode: 'blur' };

describe('iou', () => {
  it('is 1 for the same box, 0 for boxes apart or touching, and the ratio in between', () => {
    expect(iou(face(0.1, 0.1), face(0.1, 0.1))).toBeCloseTo(1);
    expect(iou(face(0.1, 0.1), face(0.5, 0.5))).toBe(0);
    expect(iou(face(0, 0, 0.1, 0.1), face(0.1, 0, 0.1, 0.1))).toBe(0);
    // Half-overlapping squares: intersection 1/2, union 3/2.
    expect(iou({ x: 0, y: 0, w: 0.2, h: 0.2 }, { x: 0.1, y: 0, w: 0.2, h: 0.2 })).toBeCloseTo(1 / 3);
    expect(iou({ x: 0, y: 0, w: 0, h: 0 }, { x: 0, y: 0, w: 0, h: 0 })).toBe(0);
  });
});

describe('trackFaces', () => {
  it('follows two faces moving past each other without swapping them', () => {
    const frames: SampledFrame[] = [0, 1, 2, 3, 4].map((i) => ({
      t: i,
      // Listed in a different order on odd frames: matching must go by place, not by index.
      faces: i % 2 ? [face(0.6 - i * 0.02, 0.5), face(0.1 + i * 0.02, 0.2)] : [face(0.1 + i * 0.02, 0.2), face(0.6 - i * 0.02, 0.5)],
    }));
    const tracks = trackFaces(frames);
    expect(tracks).toHaveLength(2);
    expect(tracks[0]!.points.map((p) => p.y)).toEqual([0.2, 0.2, 0.2, 0.2, 0.2]);
    expect(tracks[1]!.points.map((p) => p.y)).toEqual([0.5, 0.5, 0.5, 0.5, 0.5]);
    expect(tracks[0]!.points.map((p) => p.t)).toEqual([0, 1, 2, 3, 4]);
  });

  it('bridges a gap of up to maxGapFrames missed frames, and starts a new track after a longer one', () => {
    const at = (t: number, present: boolean): SampledFrame => ({ t, faces: present ? [face(0.3, 0.3)] : [] });
    const bridged = trackFaces([at(0, true), at(1, false), at(2, false), at(3, true)], { ...DEFAULT_TRACK_OPTIONS, maxGapFrames: 2 });
    expect(bridged).toHaveLength(1);
    expect(bridged[0]!.points.map((p) => p.frame)).toEqual([0, 3]);
    const split = trackFaces([at(0, true), at(1, false), at(2, false), at(3, false), at(4, true)], { ...DEFAULT_TRACK_OPTIONS, maxGapFrames: 2 });
    expect(split).toHaveLength(2);
  });

  it('starts a new track for a face that jumps too far to overlap', () => {
    const tracks = trackFaces([{ t: 0, faces: [face(0.1, 0.1)] }, { t: 1, faces: [face(0.7, 0.7)] }]);
    expect(tracks).toHaveLength(2);
  });

  it('gives one face to one track: the better overlap wins, the other track waits', () => {
    const tracks = trackFaces([
      { t: 0, faces: [face(0.3, 0.3), face(0.34, 0.3)] },
      { t: 1, faces: [face(0.335, 0.3)] },
    ]);
    expect(tracks).toHaveLength(2);
    expect(tracks[1]!.points).toHaveLength(2);
    expect(tracks[0]!.points).toHaveLength(1);
  });

  it('ignores faces scored below minScore', () => {
    const tracks = trackFaces([{ t: 0, faces: [face(0.3, 0.3, 0.1, 0.1, 0.2)] }, { t: 1, faces: [face(0.3, 0.3, 0.1, 0.1, 0.8)] }]);
    expect(tracks).toHaveLength(1);
    expect(tracks[0]!.points.map((p) => p.t)).toEqual([1]);
  });

  it('refuses frames out of order of time', () => {
    expect(() => trackFaces([{ t: 2, faces: [] }, { t: 1, faces: [] }])).toThrow(/order of time/);
  });
});

describe('suggestBoxes', () => {
  it('makes one box per track with a keyframe per detection, held half an interval either side', () => {
    const tracks = trackFaces([1, 2, 3].map((t) => ({ t, faces: [face(0.1 * t, 0.2)] })), { ...DEFAULT_TRACK_OPTIONS, iouThreshold: 0 });
    const r = suggestBoxes(tracks, suggest);
    expect(r.droppedShort).toBe(0);
    expect(r.suggestions).toHaveLength(1);
    const s = r.suggestions[0]!;
    expect(s.box.id).toBe('face-1');
    expect(s.box.mode).toBe('blur');
    expect(s.detections).toBe(3);
    expect(s.meanScore).toBeCloseTo(0.9);
    expect(s.box.keyframes.map((k) => k.t)).toEqual([0.5, 1, 2, 3, 3.5]);
    expect(s.box.keyframes[0]).toMatchObject({ x: 0.1, y: 0.2 });
    expect(s.box.keyframes[4]).toMatchObject({ x: 0.3, y: 0.2 });
  });

  it('pads each face and keeps it inside the frame', () => {
    expect(padded({ x: 0.2, y: 0.2, w: 0.1, h: 0.2 }, 0.5)).toEqual({ x: 0.15, y: 0.1, w: 0.2, h: 0.4 });
    const edge = padded({ x: 0.95, y: 0, w: 0.05, h: 0.1 }, 0.5);
    expect(edge.x + edge.w).toBeLessThanOrEqual(1);
    expect(edge.y).toBe(0);
  });

  it('clamps the hold to the start and the end of the recording', () => {
    const tracks = trackFaces([
      { t: 0, faces: [face(0.1, 0.1), face(0.5, 0.5)] },
      { t: 9.8, faces: [face(0.8, 0.1)] },
      { t: 10, faces: [face(0.5, 0.5)] },
    ]);
    const r = suggestBoxes(tracks, { ...suggest, minDetections: 1 });
    expect(r.suggestions.map((s) => s.box.keyframes.map((k) => k.t))).toEqual([[0, 0.5], [0, 10], [9.3, 9.8, 10]]);
  });

  it('leaves out tracks shorter than minDetections, and says how many', () => {
    const tracks = trackFaces([
      { t: 0, faces: [face(0.1, 0.1), face(0.6, 0.6)] },
      { t: 1, faces: [face(0.1, 0.1)] },
    ]);
    const r = suggestBoxes(tracks, suggest);
    expect(r.suggestions).toHaveLength(1);
    expect(r.droppedShort).toBe(1);
  });

  it('produces a spec that validateSpec accepts as it is', () => {
    const frames: SampledFrame[] = [0, 1, 2, 3].map((t) => ({ t, faces: [face(0.85 + t * 0.03, 0.05, 0.1, 0.12), face(0.3, 0.6)] }));
    const r = suggestBoxes(trackFaces(frames), { ...suggest, padding: 0.2, durationSeconds: 3.2 });
    const spec = { boxes: r.suggestions.map((s) => s.box), blurRanges: [], audioRanges: [] };
    expect(validateSpec(spec, { durationSeconds: 3.2, hasVideo: true, hasAudio: false })).toEqual({ ok: true, spec });
  });

  it("keeps the longest tracks within the spec's limits on boxes and keyframe spans", () => {
    // 60 faces on a grid, each seen on a different number of frames (1..6 spans each, with holds).
    const frames: SampledFrame[] = [];
    for (let t = 0; t < 12; t++) {
      const faces: FaceDetection[] = [];
      for (let i = 0; i < 60; i++) if (t < 2 + (i % 10)) faces.push(face((i % 10) * 0.1, Math.floor(i / 10) * 0.15, 0.05, 0.05));
      frames.push({ t, faces });
    }
    const r = suggestBoxes(trackFaces(frames), { ...suggest, durationSeconds: 20 });
    expect(r.suggestions.length).toBeLessThanOrEqual(LIMITS.boxes);
    const spans = r.suggestions.reduce((s, x) => s + x.box.keyframes.length - 1, 0);
    expect(spans).toBeLessThanOrEqual(LIMITS.segments);
    expect(r.droppedOverLimit).toBe(60 - r.suggestions.length);
    // The six faces seen on all 11 frames are kept before any shorter one.
    expect(r.suggestions.filter((s) => s.detections === 11)).toHaveLength(6);
    expect(r.suggestions.map((s) => s.box.id)).toEqual(r.suggestions.map((_, n) => `face-${n + 1}`));
  });
});
