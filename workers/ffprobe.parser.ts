import type { ProbeInfo, StreamInfo } from './media-tools.ts';

/**
 * Reads the JSON of `ffprobe -v error -print_format json -show_format -show_streams`. ffprobe
 * writes numbers as strings, leaves out what it does not know and puts the same fact in
 * different places across versions (rotation as a `rotate` tag before 5.0, as display-matrix
 * side data since); this turns all of it into one shape with nulls for the unknown.
 */
export function parseProbe(json: unknown): ProbeInfo {
  if (!isRecord(json)) throw new Error('ffprobe output is not a JSON object');
  const format = isRecord(json.format) ? json.format : {};
  const rawStreams = Array.isArray(json.streams) ? json.streams.filter(isRecord) : [];
  const streams = rawStreams.map(parseStream);
  const streamDurations = streams.map((s) => s.durationSeconds).filter((d): d is number => d !== null);
  return {
    container: text(format.format_name),
    // Some containers (raw streams, damaged files) have no overall duration; the longest
    // stream is the next best answer.
    durationSeconds: nonNegative(format.duration) ?? (streamDurations.length ? Math.max(...streamDurations) : null),
    bitRate: nonNegative(format.bit_rate),
    streams,
    tags: lowerCaseTags(format.tags),
  };
}

const KINDS: ReadonlySet<string> = new Set<StreamInfo['kind']>(['video', 'audio', 'subtitle', 'data', 'other']);

/**
 * A ProbeInfo the metadata job stored as JSON (media_metadata.probe), checked for the shape
 * parseProbe gives; null for anything else (a stored `{ error }`, a row from before the
 * field existed), and the caller probes the file again.
 */
export function storedProbeInfo(json: unknown): ProbeInfo | null {
  if (!isRecord(json) || !Array.isArray(json.streams) || !isRecord(json.tags)) return null;
  if (!nullOr(json.durationSeconds, 'number') || !nullOr(json.bitRate, 'number') || !nullOr(json.container, 'string')) return null;
  const streams = json.streams as unknown[];
  const fine = streams.every(
    (s) =>
      isRecord(s) &&
      typeof s.index === 'number' &&
      typeof s.kind === 'string' &&
      KINDS.has(s.kind) &&
      typeof s.rotation === 'number' &&
      typeof s.variableFrameRate === 'boolean' &&
      nullOr(s.codec, 'string') &&
      ['width', 'height', 'frameRate', 'durationSeconds', 'sampleRate', 'channels'].every((k) => nullOr(s[k], 'number')),
  );
  return fine ? (json as unknown as ProbeInfo) : null;
}

function nullOr(value: unknown, type: 'number' | 'string'): boolean {
  return value === null || typeof value === type;
}

function parseStream(stream: Record<string, unknown>, position: number): StreamInfo {
  const kind = kindOf(stream);
  const avg = rational(stream.avg_frame_rate);
  const real = rational(stream.r_frame_rate);
  return {
    index: integer(stream.index) ?? position,
    kind,
    codec: text(stream.codec_name),
    width: positiveInteger(stream.width),
    height: positiveInteger(stream.height),
    frameRate: kind === 'video' && avg !== null ? Math.round(avg * 1000) / 1000 : null,
    variableFrameRate: kind === 'video' && avg !== null && real !== null && Math.abs(avg - real) / real > VFR_TOLERANCE,
    rotation: kind === 'video' ? rotationOf(stream) : 0,
    durationSeconds: nonNegative(stream.duration),
    sampleRate: positiveInteger(stream.sample_rate),
    channels: positiveInteger(stream.channels),
  };
}

/**
 * Only different spellings of one rate (30000/1001 against 2997/100) count as agreeing. A phone
 * that dropped a few frames in dim light shows 29.86 against 30, a fraction of a percent, and
 * that is exactly the variable rate this flag is for.
 */
const VFR_TOLERANCE = 1e-4;

function kindOf(stream: Record<string, unknown>): StreamInfo['kind'] {
  const type = stream.codec_type;
  if (type === 'video') {
    // Cover art and embedded thumbnails are stored as one-frame video streams; an audio file
    // with a picture is still an audio recording.
    const disposition = isRecord(stream.disposition) ? stream.disposition : {};
    if (disposition.attached_pic === 1 || disposition.timed_thumbnails === 1) return 'other';
    return 'video';
  }
  if (type === 'audio' || type === 'subtitle' || type === 'data') return type;
  return 'other';
}

/**
 * Clockwise degrees that turn the stored picture upright (0, 90, 180 or 270): the sense of
 * the old `rotate` tag and of exiftool's Rotation. ffprobe's display-matrix `rotation` is
 * counter-clockwise, so a phone held upright shows −90 there and 90 here.
 */
function rotationOf(stream: Record<string, unknown>): number {
  const sideData = Array.isArray(stream.side_data_list) ? stream.side_data_list.filter(isRecord) : [];
  for (const entry of sideData) {
    const counterClockwise = number(entry.rotation);
    if (counterClockwise !== null) return quarterTurns(-counterClockwise);
  }
  const tags = lowerCaseTags(stream.tags);
  const tag = tags.rotate === undefined ? null : number(tags.rotate);
  return tag === null ? 0 : quarterTurns(tag);
}

function quarterTurns(degrees: number): number {
  const turned = (Math.round(degrees / 90) * 90) % 360;
  // (… + 360) % 360 also turns −0 into 0.
  return (turned + 360) % 360;
}

function lowerCaseTags(value: unknown): Record<string, string> {
  const tags: Record<string, string> = {};
  if (!isRecord(value)) return tags;
  for (const [key, tagValue] of Object.entries(value)) {
    if (typeof tagValue === 'string') tags[key.toLowerCase()] = tagValue;
    else if (typeof tagValue === 'number' || typeof tagValue === 'boolean') tags[key.toLowerCase()] = String(tagValue);
  }
  return tags;
}

/** "30000/1001" → 29.97…; "0/0" and "N/A" → null. */
function rational(value: unknown): number | null {
  if (typeof value !== 'string') return null;
  const m = /^(-?\d+(?:\.\d+)?)\/(\d+(?:\.\d+)?)$/.exec(value.trim());
  if (!m) return null;
  const num = Number(m[1]);
  const den = Number(m[2]);
  if (!(den > 0) || !(num > 0)) return null;
  return num / den;
}

function number(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

function nonNegative(value: unknown): number | null {
  const n = number(value);
  return n !== null && n >= 0 ? n : null;
}

function integer(value: unknown): number | null {
  const n = number(value);
  return n !== null && Number.isInteger(n) ? n : null;
}

function positiveInteger(value: unknown): number | null {
  const n = integer(value);
  return n !== null && n > 0 ? n : null;
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
