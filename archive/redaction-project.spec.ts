import { describe, expect, it } from 'vitest';
import { boxAt, LIMITS, nextVersion, normalNote, segmentsOf, validateSpec, type RecordingShape, type RedactionBox } from './redaction-project.ts';

const video: RecordingShape = { durationSeconds: 10, hasVideo: true, hasAudio: true };

const moving = {
  id: 'face-1',
  mode: 'blur',
  keyframes: [
    { t: 1, x: 0.1, y: 0.2, w: 0.2, h: 0.3 },
    { t: 3, x: 0.5, y: 0.2, w: 0.4, h: 0.3 },
  ],
};

const paths = (input: unknown, shape = video) => {
  const r = validateSpec(input, shape);
  if (r.ok) throw new Error('expected problems');
  return r.problems.map((p) => p.path);
};

describe('validateSpec', () => {
  it('returns the normal form of a valid spec: shape filled in, empty lists where none were given', () => {
    const r = validateSpec({ boxes: [moving], audioRanges: [{ from: 2, to: 4, mode: 'mute' }] }, video);
    expect(r).toEqual({
      ok: true,
      spec: {
        boxes: [{ ...moving, shape: 'rect' }],
        blurRanges: [],
        audioRanges: [{ from: 2, to: 4, mode: 'mute' }],
      },
    });
  });

  it('names every problem with where it is, in English and Chinese', () => {
    const r = validateSpec(
      {
        boxes: [
          { id: 'a', mode: 'smudge', keyframes: [{ t: 2, x: 0.9, y: 0, w: 0.2, h: 0.1 }, { t: 1, x: 0, y: 0, w: 0.1, h: 0.1 }, { t: 12, x: 0, y: 0, w: 0.1, h: 0.1 }] },
          { id: 'a', mode: 'pixelate', keyframes: [{ t: 0, x: 0, y: 0, w: 0.1, h: 0.1 }] },
        ],
        blurRanges: [{ from: 5, to: 4 }],
        audioRanges: [{ from: -1, to: 2, mode: 'mute' }, { from: 1, to: 2, mode: 'beep' }],
        keyFrames: [],
      },
      video,
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.map((p) => p.path)).toEqual([
      'keyFrames',
      'boxes[0].mode',
      'boxes[0].keyframes[0]',
      'boxes[0].keyframes[1].t',
      'boxes[0].keyframes[2].t',
      'boxes[1].id',
      'boxes[1].keyframes',
      'blurRanges[0].to',
      'audioRanges[0].from',
      'audioRanges[1].mode',
    ]);
    const byPath = new Map(r.problems.map((p) => [p.path, p]));
    expect(byPath.get('boxes[0].keyframes[0]')!.message).toBe('the box reaches outside the frame (x + w and y + h must be at most 1)');
    expect(byPath.get('boxes[0].keyframes[1].t')!.message).toBe('keyframes must be in order of time: 1 s is not after 2 s');
    expect(byPath.get('boxes[0].keyframes[2].t')!.message).toBe("12 s is past the recording's end (10 s)");
    expect(byPath.get('boxes[0].keyframes[2].t')!.messageZh).toBe('12 秒超出录像时长（10 秒）');
    expect(byPath.get('boxes[1].id')!.messageZh).toBe('编号“a”与其他遮挡框重复');
    expect(byPath.get('boxes[1].keyframes')!.message).toMatch(/at least two keyframes/);
    expect(byPath.get('blurRanges[0].to')!.message).toBe('the range ends (4 s) before it starts (5 s)');
  });

  it('refuses what does not parse as a spec, and a spec that hides nothing', () => {
    expect(paths(null)).toEqual(['']);
    expect(paths([moving])).toEqual(['']);
    expect(paths({ boxes: {} })).toEqual(['boxes']);
    expect(paths({})).toEqual(['']);
    expect(validateSpec({}, video)).toMatchObject({ ok: false, problems: [{ message: expect.stringMatching(/nothing to redact/) }] });
  });

  it('checks numbers strictly: fractions of the frame, finite seconds, positive sizes', () => {
    const kf = (over: Record<string, unknown>) => ({ boxes: [{ ...moving, keyframes: [{ ...moving.keyframes[0], ...over }, moving.keyframes[1]] }] });
    expect(paths(kf({ x: -0.1 }))).toEqual(['boxes[0].keyframes[0].x']);
    expect(paths(kf({ w: 1.5 }))).toEqual(['boxes[0].keyframes[0].w']);
    expect(paths(kf({ h: 0 }))).toEqual(['boxes[0].keyframes[0]']);
    expect(paths(kf({ t: '1' }))).toEqual(['boxes[0].keyframes[0].t']);
    expect(paths(kf({ t: Number.NaN }))).toEqual(['boxes[0].keyframes[0].t']);
    expect(paths(kf({ z: 1 }))).toEqual(['boxes[0].keyframes[0].z']);
    // A box may touch the frame's edges exactly.
    expect(validateSpec(kf({ x: 0.8, y: 0.7 }), video).ok).toBe(true);
    // The end of the recording, within the players' rounding.
    expect(validateSpec({ blurRanges: [{ from: 9, to: 10.04 }] }, video).ok).toBe(true);
    expect(paths({ blurRanges: [{ from: 9, to: 10.1 }] })).toEqual(['blurRanges[0].to']);
  });

  it('refuses picture redactions of a sound recording, sound ones of a silent video, anything without a duration', () => {
    expect(paths({ boxes: [moving] }, { durationSeconds: 10, hasVideo: false, hasAudio: true })).toEqual(['boxes']);
    expect(paths({ blurRanges: [{ from: 1, to: 2 }] }, { durationSeconds: 10, hasVideo: false, hasAudio: true })).toEqual(['blurRanges']);
    expect(paths({ audioRanges: [{ from: 1, to: 2, mode: 'tone' }] }, { durationSeconds: 10, hasVideo: true, hasAudio: false })).toEqual(['audioRanges']);
    expect(paths({ blurRanges: [{ from: 1, to: 2 }] }, { durationSeconds: null, hasVideo: true, hasAudio: true })).toEqual(['']);
  });

  it('bounds the size of a spec (each span is a part of the filter graph)', () => {
    const many = Array.from({ length: LIMITS.boxes + 1 }, (_, i) => ({ ...moving, id: `b${i}` }));
    expect(paths({ boxes: many })).toEqual(['boxes']);
    const frames = Array.from({ length: 301 }, (_, i) => ({ t: i * 0.01, x: 0, y: 0, w: 0.1, h: 0.1 }));
    expect(paths({ boxes: [{ id: 'a', mode: 'blur', keyframes: frames }, { id: 'b', mode: 'blur', keyframes: frames }, { id: 'c', mode: 'blur', keyframes: frames.slice(0, 3) }] })).toEqual(['boxes']);
    expect(paths({ audioRanges: Array.from({ length: LIMITS.ranges + 1 }, () => ({ from: 1, to: 2, mode: 'mute' })) })).toEqual(['audioRanges']);
  });
});

describe('interpolation', () => {
  const box: RedactionBox = {
    id: 'p',
    shape: 'rect',
    mode: 'pixelate',
    keyframes: [
      { t: 1, x: 0, y: 0, w: 0.2, h: 0.2 },
      { t: 3, x: 0.4, y: 0.2, w: 0.4, h: 0.2 },
      { t: 4, x: 0.4, y: 0.6, w: 0.4, h: 0.2 },
    ],
  };

  it('is linear between keyframes and exact at them', () => {
    expect(boxAt(box, 1)).toEqual({ x: 0, y: 0, w: 0.2, h: 0.2 });
    expect(boxAt(box, 2)).toEqual({ x: 0.2, y: 0.1, w: expect.closeTo(0.3, 12), h: 0.2 });
    expect(boxAt(box, 3)).toEqual({ x: 0.4, y: 0.2, w: 0.4, h: 0.2 });
    expect(boxAt(box, 3.5)).toEqual({ x: 0.4, y: expect.closeTo(0.4, 12), w: 0.4, h: 0.2 });
    expect(boxAt(box, 4)).toEqual({ x: 0.4, y: 0.6, w: 0.4, h: 0.2 });
  });

  it('shows the box from its first keyframe to its last, not before or after', () => {
    expect(boxAt(box, 0.99)).toBeNull();
    expect(boxAt(box, 4.01)).toBeNull();
  });

  it('splits a box into its spans between consecutive keyframes', () => {
    expect(segmentsOf(box)).toEqual([
      { boxId: 'p', mode: 'pixelate', from: 1, to: 3, start: { x: 0, y: 0, w: 0.2, h: 0.2 }, end: { x: 0.4, y: 0.2, w: 0.4, h: 0.2 } },
      { boxId: 'p', mode: 'pixelate', from: 3, to: 4, start: { x: 0.4, y: 0.2, w: 0.4, h: 0.2 }, end: { x: 0.4, y: 0.6, w: 0.4, h: 0.2 } },
    ]);
  });
});

describe('versions', () => {
  it('numbers each save one more than the newest; a new project starts at 1', () => {
    expect(nextVersion([])).toBe(1);
    expect(nextVersion([{ version: 1 }, { version: 3 }, { version: 2 }])).toBe(4);
  });

  it('keeps a note trimmed, an empty one as none, and bounds it', () => {
    expect(normalNote('  第二稿 ')).toEqual({ ok: true, note: '第二稿' });
    expect(normalNote('   ')).toEqual({ ok: true, note: null });
    expect(normalNote(undefined)).toEqual({ ok: true, note: null });
    expect(normalNote('x'.repeat(LIMITS.noteLength + 1))).toMatchObject({ ok: false, problem: { path: 'note' } });
  });
});
