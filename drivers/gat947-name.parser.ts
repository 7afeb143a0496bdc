import type { MediaKind, ParsedRecordingName } from './recorder.driver.ts';

/**
 * Reads what a GA/T 947-style recording name says: `<deviceId>_<officerId>_<YYYYMMDDHHMMSS>_<seq>.MP4`
 * and the variants recorders write in practice. A name is only a guess at identity and
 * time (a recorder with a flat clock battery names files in 2000), so anything that does
 * not fit exactly is `null` rather than a half-parsed answer.
 */

const ID = /^[A-Za-z0-9-]{1,32}$/;
const SEQ = /^\d{4,12}$/;
const STAMP14 = /^\d{14}$/;
const DATE8 = /^\d{8}$/;
const TIME6 = /^\d{6}$/;
const EXTENSION = /\.([A-Za-z0-9]{1,5})$/;
const IMPORTANT = new Set(['IMP', 'I']);

/** Years a recorder clock can plausibly show, including a reset to its epoch. */
const MIN_YEAR = 1970;
const MAX_YEAR = 2099;

export function parseRecordingName(fileName: string): ParsedRecordingName | null {
  if (typeof fileName !== 'string' || fileName.length === 0 || fileName.length > 255) return null;
  const base = fileName.slice(Math.max(fileName.lastIndexOf('/'), fileName.lastIndexOf('\\')) + 1);
  const stem = base.replace(EXTENSION, '');
  if (stem.length === 0) return null;

  const tokens = stem.split('_');
  let important = false;
  if (tokens.length > 1 && IMPORTANT.has(tokens[0]!.toUpperCase())) {
    important = true;
    tokens.shift();
  }
  if (tokens.length > 1 && IMPORTANT.has(tokens[tokens.length - 1]!.toUpperCase())) {
    important = true;
    tokens.pop();
  }
  if (tokens.some((t) => t.length === 0)) return null;

  const fields = matchTokens(tokens);
  if (fields === null) return null;
  const startLocal = toIsoLocal(fields.stamp);
  if (startLocal === null) return null;
  return {
    deviceId: fields.deviceId,
    officerId: fields.officerId,
    startLocal,
    sequence: fields.seq === null ? null : Number(fields.seq),
    important,
  };
}

interface NameFields {
  deviceId: string | null;
  officerId: string | null;
  stamp: string;
  seq: string | null;
}

/** Token layouts, tried in order. Token lengths keep the layouts from overlapping. */
function matchTokens(t: string[]): NameFields | null {
  const [a, b, c, d, e] = t;
  switch (t.length) {
    case 5:
      // <device>_<officer>_<YYYYMMDD>_<HHMMSS>_<seq>
      if (isId(a) && isId(b) && DATE8.test(c!) && TIME6.test(d!) && SEQ.test(e!)) return { deviceId: a!, officerId: b!, stamp: c! + d!, seq: e! };
      return null;
    case 4:
      // <device>_<officer>_<YYYYMMDDHHMMSS>_<seq>  (the standard's form)
      if (isId(a) && isId(b) && STAMP14.test(c!) && SEQ.test(d!)) return { deviceId: a!, officerId: b!, stamp: c!, seq: d! };
      // <device>_<YYYYMMDD>_<HHMMSS>_<seq>
      if (isId(a) && DATE8.test(b!) && TIME6.test(c!) && SEQ.test(d!)) return { deviceId: a!, officerId: null, stamp: b! + c!, seq: d! };
      return null;
    case 3:
      // <device>_<YYYYMMDDHHMMSS>_<seq>
      if (isId(a) && STAMP14.test(b!) && SEQ.test(c!)) return { deviceId: a!, officerId: null, stamp: b!, seq: c! };
      // <YYYYMMDD>_<HHMMSS>_<seq>
      if (DATE8.test(a!) && TIME6.test(b!) && SEQ.test(c!)) return { deviceId: null, officerId: null, stamp: a! + b!, seq: c! };
      return null;
    case 2:
      // <YYYYMMDD>_<HHMMSS>
      if (DATE8.test(a!) && TIME6.test(b!)) return { deviceId: null, officerId: null, stamp: a! + b!, seq: null };
      return null;
    default:
      return null;
  }
}

function isId(token: string | undefined): boolean {
  return token !== undefined && ID.test(token);
}

/** `YYYYMMDDHHMMSS` → `YYYY-MM-DDTHH:MM:SS`, or null when any field is out of range. */
function toIsoLocal(stamp: string): string | null {
  const year = Number(stamp.slice(0, 4));
  const month = Number(stamp.slice(4, 6));
  const day = Number(stamp.slice(6, 8));
  const hour = Number(stamp.slice(8, 10));
  const minute = Number(stamp.slice(10, 12));
  const second = Number(stamp.slice(12, 14));
  if (year < MIN_YEAR || year > MAX_YEAR) return null;
  if (month < 1 || month > 12) return null;
  if (day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  return `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(8, 10)}:${stamp.slice(10, 12)}:${stamp.slice(12, 14)}`;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

const KINDS: Readonly<Record<string, MediaKind>> = {
  MP4: 'video',
  MOV: 'video',
  AVI: 'video',
  MKV: 'video',
  TS: 'video',
  '3GP': 'video',
  WAV: 'audio',
  MP3: 'audio',
  AAC: 'audio',
  M4A: 'audio',
  AMR: 'audio',
  JPG: 'photo',
  JPEG: 'photo',
  PNG: 'photo',
  HEIC: 'photo',
};

export function mediaKindOf(fileName: string): MediaKind {
  if (typeof fileName !== 'string') return 'other';
  const base = fileName.slice(Math.max(fileName.lastIndexOf('/'), fileName.lastIndexOf('\\')) + 1);
  const dot = base.lastIndexOf('.');
  if (dot <= 0) return 'other';
  return KINDS[base.slice(dot + 1).toUpperCase()] ?? 'other';
}
