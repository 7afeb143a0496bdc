/**
 * Redaction projects (脱敏处理): what is to be hidden in a copy of a recording, never in the
 * recording itself. A project belongs to one evidence item; each save is a new, immutable
 * version (n + 1), so a rendered copy can always name exactly the spec it was made from.
 *
 * A spec is:
 * - boxes: rectangles in normalised frame coordinates (0..1 of the displayed, upright picture,
 *   so they do not depend on the size of the copy drawn on), blurred or pixelated, that move
 *   by keyframes: between two keyframes position and size change linearly; a box is shown from
 *   its first keyframe to its last;
 * - blur ranges: spans of time in which the whole picture is blurred;
 * - audio ranges: spans in which the sound is muted, or replaced by a tone.
 *
 * Pure: validation, interpolation and versioning. Storage is redaction.repository.ts, the
 * ffmpeg filter graph is workers/redaction-filter.ts.
 */

export const BOX_MODES = ['blur', 'pixelate'] as const;
export type BoxMode = (typeof BOX_MODES)[number];
export const AUDIO_MODES = ['mute', 'tone'] as const;
export type AudioMode = (typeof AUDIO_MODES)[number];

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Keyframe extends Rect {
  /** Seconds from the start of the recording. */
  t: number;
}

export interface RedactionBox {
  id: string;
  shape: 'rect';
  mode: BoxMode;
  /** At least two, strictly increasing in t. */
  keyframes: Keyframe[];
}

export interface TimeRange {
  from: number;
  to: number;
}

export interface AudioRange extends TimeRange {
  mode: AudioMode;
}

export interface RedactionSpec {
  boxes: RedactionBox[];
  blurRanges: TimeRange[];
  audioRanges: AudioRange[];
}

/** What the recording offers, from the catalog: the bounds a spec is checked against. */
export interface RecordingShape {
  durationSeconds: number | null;
  hasVideo: boolean;
  hasAudio: boolean;
}

export interface RedactionProblem {
  /** Where in the spec, e.g. `boxes[0].keyframes[1].t`. */
  path: string;
  message: string;
  messageZh: string;
}

export type SpecOutcome = { ok: true; spec: RedactionSpec } | { ok: false; problems: RedactionProblem[] };

/** Bounds of one spec: its filter graph grows with each, and an editor never needs more. */
export const LIMITS = {
  boxes: 50,
  keyframesPerBox: 600,
  /** Spans between keyframes over all boxes: each is one crop and one overlay in the graph. */
  segments: 600,
  ranges: 200,
  idLength: 64,
  noteLength: 1000,
} as const;

/** Times may reach this far past the catalogued duration: the editor's player and the probe round differently. */
export const END_TOLERANCE_SECONDS = 0.05;
/** Rounding slack of a box touching the frame's edge. */
const EDGE_EPSILON = 1e-9;
const ID = /^[A-Za-z0-9_-]+$/;

/**
 * Checks `input` (parsed JSON from a file or a request) against the recording, and returns
 * the spec in its normal form (shape filled in, keys in a fixed order) or every problem found,
 * each with where it is. Unknown keys are problems too: a misspelt `keyFrames` must not
 * silently render a copy that hides nothing.
 */
export function validateSpec(input: unknown, recording: RecordingShape): SpecOutcome {
  const problems: RedactionProblem[] = [];
  const bad = (path: string, message: string, messageZh: string) => problems.push({ path, message, messageZh });
  if (!isObject(input)) {
    bad('', 'the spec must be a JSON object with boxes, blurRanges and audioRanges', '脱敏方案须为 JSON 对象，包含 boxes、blurRanges、audioRanges');
    return { ok: false, problems };
  }
  unknownKeys(input, ['boxes', 'blurRanges', 'audioRanges'], '', bad);
  const duration = recording.durationSeconds !== null && Number.isFinite(recording.durationSeconds) && recording.durationSeconds > 0 ? recording.durationSeconds : null;
  if (duration === null) bad('', 'the recording has no known duration (its metadata is not read yet): try again later', '录像时长未知（尚未读取元数据），请稍后再试');

  const time = (path: string, value: unknown): number | null => {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      bad(path, 'must be a number of seconds', '须为秒数');
      return null;
    }
    if (value < 0) {
      bad(path, `${value} s is before the start`, `${value} 秒早于录像开始`);
      return null;
    }
    if (duration !== null && value > duration + END_TOLERANCE_SECONDS) {
      bad(path, `${value} s is past the recording's end (${round3(duration)} s)`, `${value} 秒超出录像时长（${round3(duration)} 秒）`);
      return null;
    }
    return value;
  };

  const boxes: RedactionBox[] = [];
  const rawBoxes = listAt(input, 'boxes', bad);
  if (rawBoxes.length > 0 && !recording.hasVideo) bad('boxes', 'the recording has no picture: boxes cannot apply', '该录音没有画面，不能设置遮挡框');
  if (rawBoxes.length > LIMITS.boxes) bad('boxes', `at most ${LIMITS.boxes} boxes`, `遮挡框最多 ${LIMITS.boxes} 个`);
  const ids = new Set<string>();
  let segments = 0;
  rawBoxes.slice(0, LIMITS.boxes).forEach((raw, i) => {
    const at = `boxes[${i}]`;
    if (!isObject(raw)) return void bad(at, 'must be an object', '须为对象');
    unknownKeys(raw, ['id', 'shape', 'mode', 'keyframes'], at, bad);
    const id = raw.id;
    if (typeof id !== 'string' || id.length === 0 || id.length > LIMITS.idLength || !ID.test(id)) {
      bad(`${at}.id`, `must be 1–${LIMITS.idLength} letters, digits, - or _`, `须为 1–${LIMITS.idLength} 个字母、数字、- 或 _`);
    } else if (ids.has(id)) bad(`${at}.id`, `"${id}" is used by another box`, `编号“${id}”与其他遮挡框重复`);
    else ids.add(id);
    if (raw.shape !== undefined && raw.shape !== 'rect') bad(`${at}.shape`, 'the only shape is "rect"', '形状只能为 "rect"（矩形）');
    const mode = raw.mode;
    if (!BOX_MODES.includes(mode as BoxMode)) bad(`${at}.mode`, 'must be "blur" or "pixelate"', '须为 "blur"（模糊）或 "pixelate"（马赛克）');
    const rawFrames = listAt(raw, 'keyframes', bad, at);
    if (rawFrames.length < 2) bad(`${at}.keyframes`, 'a box needs at least two keyframes: where it starts and where it ends', '遮挡框至少需要两个关键帧（开始与结束）');
    if (rawFrames.length > LIMITS.keyframesPerBox) bad(`${at}.keyframes`, `at most ${LIMITS.keyframesPerBox} keyframes`, `关键帧最多 ${LIMITS.keyframesPerBox} 个`);
    const keyframes: Keyframe[] = [];
    // Order is checked against the last valid time, even of a keyframe whose rectangle is wrong.
    let lastT: number | null = null;
    rawFrames.slice(0, LIMITS.keyframesPerBox).forEach((kf, k) => {
      const kat = `${at}.keyframes[${k}]`;
      if (!isObject(kf)) return void bad(kat, 'must be an object {t, x, y, w, h}', '须为对象 {t, x, y, w, h}');
      unknownKeys(kf, ['t', 'x', 'y', 'w', 'h'], kat, bad);
      const t = time(`${kat}.t`, kf.t);
      const rect = rectAt(kf, kat, bad);
      if (t !== null && lastT !== null && t <= lastT) bad(`${kat}.t`, `keyframes must be in order of time: ${t} s is not after ${lastT} s`, `关键帧须按时间先后排列：${t} 秒不晚于 ${lastT} 秒`);
      if (t !== null) lastT = Math.max(lastT ?? t, t);
      if (t !== null && rect) keyframes.push({ t, ...rect });
    });
    segments += Math.max(0, rawFrames.length - 1);
    if (typeof id === 'string' && BOX_MODES.includes(mode as BoxMode)) boxes.push({ id, shape: 'rect', mode: mode as BoxMode, keyframes });
  });
  if (segments > LIMITS.segments) bad('boxes', `at most ${LIMITS.segments} spans between keyframes over all boxes (${segments} given)`, `全部遮挡框的关键帧区间最多 ${LIMITS.segments} 段（现有 ${segments} 段）`);

  const range = (raw: unknown, at: string, extra: readonly string[]): TimeRange | null => {
    if (!isObject(raw)) {
      bad(at, 'must be an object {from, to}', '须为对象 {from, to}');
      return null;
    }
    unknownKeys(raw, ['from', 'to', ...extra], at, bad);
    const from = time(`${at}.from`, raw.from);
    const to = time(`${at}.to`, raw.to);
    if (from === null || to === null) return null;
    if (to <= from) {
      bad(`${at}.to`, `the range ends (${to} s) before it starts (${from} s)`, `结束时间（${to} 秒）不晚于开始时间（${from} 秒）`);
      return null;
    }
    return { from, to };
  };

  const blurRanges: TimeRange[] = [];
  const rawBlur = listAt(input, 'blurRanges', bad);
  if (rawBlur.length > 0 && !recording.hasVideo) bad('blurRanges', 'the recording has no picture to blur', '该录音没有画面，不能设置画面模糊');
  if (rawBlur.length > LIMITS.ranges) bad('blurRanges', `at most ${LIMITS.ranges} ranges`, `时间段最多 ${LIMITS.ranges} 个`);
  rawBlur.slice(0, LIMITS.ranges).forEach((raw, i) => {
    const r = range(raw, `blurRanges[${i}]`, []);
    if (r) blurRanges.push(r);
  });

  const audioRanges: AudioRange[] = [];
  const rawAudio = listAt(input, 'audioRanges', bad);
  if (rawAudio.length > 0 && !recording.hasAudio) bad('audioRanges', 'the recording has no sound', '该录像没有声音，不能设置静音或提示音');
  if (rawAudio.length > LIMITS.ranges) bad('audioRanges', `at most ${LIMITS.ranges} ranges`, `时间段最多 ${LIMITS.ranges} 个`);
  rawAudio.slice(0, LIMITS.ranges).forEach((raw, i) => {
    const at = `audioRanges[${i}]`;
    const r = range(raw, at, ['mode']);
    const mode = isObject(raw) ? raw.mode : undefined;
    if (!AUDIO_MODES.includes(mode as AudioMode)) bad(`${at}.mode`, 'must be "mute" or "tone"', '须为 "mute"（静音）或 "tone"（提示音）');
    else if (r) audioRanges.push({ ...r, mode: mode as AudioMode });
  });

  if (problems.length === 0 && boxes.length === 0 && blurRanges.length === 0 && audioRanges.length === 0) {
    bad('', 'nothing to redact: give at least one box, blur range or audio range', '未设置任何脱敏内容：至少需要一个遮挡框、模糊时段或声音时段');
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, spec: { boxes, blurRanges, audioRanges } };
}

function rectAt(kf: Record<string, unknown>, at: string, bad: (path: string, en: string, zh: string) => void): Rect | null {
  const out: Partial<Rect> = {};
  let ok = true;
  for (const k of ['x', 'y', 'w', 'h'] as const) {
    const v = kf[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1) {
      bad(`${at}.${k}`, 'must be a number from 0 to 1 (a fraction of the frame)', '须为 0 到 1 之间的数（占画面的比例）');
      ok = false;
    } else out[k] = v;
  }
  if (!ok) return null;
  const r = out as Rect;
  if (r.w <= 0 || r.h <= 0) {
    bad(at, 'a box must have a width and a height', '遮挡框的宽和高须大于 0');
    return null;
  }
  if (r.x + r.w > 1 + EDGE_EPSILON || r.y + r.h > 1 + EDGE_EPSILON) {
    bad(at, 'the box reaches outside the frame (x + w and y + h must be at most 1)', '遮挡框超出画面（x + w 与 y + h 不得大于 1）');
    return null;
  }
  return r;
}

function listAt(obj: Record<string, unknown>, key: string, bad: (path: string, en: string, zh: string) => void, at = ''): unknown[] {
  const v = obj[key];
  const path = at ? `${at}.${key}` : key;
  if (v === undefined) return [];
  if (!Array.isArray(v)) {
    bad(path, 'must be a list', '须为数组');
    return [];
  }
  return v;
}

function unknownKeys(obj: Record<string, unknown>, known: readonly string[], at: string, bad: (path: string, en: string, zh: string) => void): void {
  for (const k of Object.keys(obj)) if (!known.includes(k)) bad(at ? `${at}.${k}` : k, `unknown field (expected ${known.join(', ')})`, `未知字段（应为 ${known.join('、')}）`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

/** One span of a box between two consecutive keyframes: linear from `start` to `end`. */
export interface BoxSegment {
  boxId: string;
  mode: BoxMode;
  from: number;
  to: number;
  start: Rect;
  end: Rect;
}

/** A box's spans between consecutive keyframes, in order of time. */
export function segmentsOf(box: RedactionBox): BoxSegment[] {
  const out: BoxSegment[] = [];
  for (let i = 0; i + 1 < box.keyframes.length; i++) {
    const a = box.keyframes[i]!;
    const b = box.keyframes[i + 1]!;
    out.push({ boxId: box.id, mode: box.mode, from: a.t, to: b.t, start: rectOf(a), end: rectOf(b) });
  }
  return out;
}

/** Where the box is at `t` (linear between the keyframes around it), or null outside its first and last keyframe. */
export function boxAt(box: RedactionBox, t: number): Rect | null {
  const frames = box.keyframes;
  if (frames.length === 0 || t < frames[0]!.t || t > frames.at(-1)!.t) return null;
  for (let i = 0; i + 1 < frames.length; i++) {
    const a = frames[i]!;
    const b = frames[i + 1]!;
    if (t >= a.t && t <= b.t) return lerpRect(rectOf(a), rectOf(b), (t - a.t) / (b.t - a.t));
  }
  return rectOf(frames[0]!);
}

export function lerpRect(a: Rect, b: Rect, f: number): Rect {
  const l = (p: number, q: number) => p + (q - p) * f;
  return { x: l(a.x, b.x), y: l(a.y, b.y), w: l(a.w, b.w), h: l(a.h, b.h) };
}

function rectOf(k: Rect): Rect {
  return { x: k.x, y: k.y, w: k.w, h: k.h };
}

/** A saved version: immutable once written. */
export interface RedactionVersion {
  projectId: string;
  version: number;
  spec: RedactionSpec;
  author: string;
  note: string | null;
  savedAt: Date;
}

/** The number the next save of a project gets: one more than its newest, 1 for a new project. */
export function nextVersion(existing: readonly { version: number }[]): number {
  return existing.reduce((n, v) => Math.max(n, v.version), 0) + 1;
}

/** A note as stored: trimmed, empty as none, bounded. */
export function normalNote(note: string | null | undefined): { ok: true; note: string | null } | { ok: false; problem: RedactionProblem } {
  const n = (note ?? '').trim();
  if (n.length > LIMITS.noteLength) return { ok: false, problem: { path: 'note', message: `at most ${LIMITS.noteLength} characters`, messageZh: `说明最多 ${LIMITS.noteLength} 个字` } };
  return { ok: true, note: n === '' ? null : n };
}
