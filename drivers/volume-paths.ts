/**
 * Pure helpers for the raw byte paths that recorder volumes hand out. A path is kept as the
 * bytes the file system gave (cheap recorders write names that are not valid UTF-8, and a
 * lossy string could not be opened again); these helpers make such bytes safe to show and
 * safe to join onto a volume root.
 */

const SLASH = 0x2f;
const BACKSLASH = 0x5c;
const DOT = 0x2e;

/**
 * A printable, single-line form of a raw path for people and logs.
 *
 * Valid UTF-8 is decoded; every byte that is not part of a valid sequence is shown as `\xNN`
 * rather than U+FFFD, so two different unreadable names never look the same in a custody log.
 * C0 controls and DEL are shown as `\xNN`; C1 controls, line/paragraph separators and bidi
 * overrides as `\u{…}`, because they could break a log line or make a name read backwards
 * on screen. A literal backslash is doubled so that an escape cannot be forged by a name.
 */
export function displayPathOf(raw: Buffer): string {
  let out = '';
  let i = 0;
  while (i < raw.length) {
    const b0 = raw[i]!;
    if (b0 < 0x80) {
      out += escapeAscii(b0);
      i += 1;
      continue;
    }
    const decoded = decodeUtf8At(raw, i);
    if (decoded === null) {
      out += hexByte(b0);
      i += 1;
      continue;
    }
    out += isUnsafeCodePoint(decoded.codePoint) ? `\\u{${decoded.codePoint.toString(16).toUpperCase()}}` : String.fromCodePoint(decoded.codePoint);
    i += decoded.length;
  }
  return out;
}

/**
 * Whether a raw path may be joined onto a volume root: relative, no NUL, no `..`, and in
 * canonical form (no `.` or empty segments, no trailing slash), so that one file has exactly
 * one raw path and a path can never name something above the root.
 */
export function isSafeRelative(raw: Buffer): boolean {
  if (raw.length === 0) return false;
  if (raw[0] === SLASH) return false;
  if (raw.includes(0)) return false;
  let start = 0;
  for (let i = 0; i <= raw.length; i++) {
    if (i === raw.length || raw[i] === SLASH) {
      const len = i - start;
      if (len === 0) return false;
      if (len === 1 && raw[start] === DOT) return false;
      if (len === 2 && raw[start] === DOT && raw[start + 1] === DOT) return false;
      start = i + 1;
    }
  }
  return true;
}

/** `root/raw` as bytes; the caller has checked `isSafeRelative(raw)`. */
export function joinRaw(root: string, raw: Buffer): Buffer {
  const rootBytes = Buffer.from(root.endsWith('/') && root.length > 1 ? root.slice(0, -1) : root);
  if (rootBytes.length === 1 && rootBytes[0] === SLASH) return Buffer.concat([rootBytes, raw]);
  return Buffer.concat([rootBytes, Buffer.from([SLASH]), raw]);
}

/** Appends one directory entry name to a relative raw path (`parent` may be empty). */
export function childRaw(parent: Buffer, name: Buffer): Buffer {
  if (parent.length === 0) return Buffer.from(name);
  return Buffer.concat([parent, Buffer.from([SLASH]), name]);
}

/** The last segment of a raw path. */
export function baseNameRaw(raw: Buffer): Buffer {
  const at = raw.lastIndexOf(SLASH);
  return at < 0 ? raw : raw.subarray(at + 1);
}

/** The raw path of the parent directory, empty for a top-level entry. */
export function parentRaw(raw: Buffer): Buffer {
  const at = raw.lastIndexOf(SLASH);
  return at < 0 ? Buffer.alloc(0) : raw.subarray(0, at);
}

/** Whether `candidate` (bytes of an absolute real path) is `root` or lies below it. */
export function isWithin(root: Buffer, candidate: Buffer): boolean {
  if (candidate.equals(root)) return true;
  if (root.length === 1 && root[0] === SLASH) return candidate[0] === SLASH;
  return candidate.length > root.length && candidate[root.length] === SLASH && candidate.subarray(0, root.length).equals(root);
}

function escapeAscii(b: number): string {
  if (b < 0x20 || b === 0x7f) return hexByte(b);
  if (b === BACKSLASH) return '\\\\';
  return String.fromCharCode(b);
}

function hexByte(b: number): string {
  return `\\x${b.toString(16).toUpperCase().padStart(2, '0')}`;
}

function isUnsafeCodePoint(cp: number): boolean {
  return (
    (cp >= 0x80 && cp <= 0x9f) ||
    cp === 0x2028 ||
    cp === 0x2029 ||
    (cp >= 0x202a && cp <= 0x202e) ||
    (cp >= 0x2066 && cp <= 0x2069) ||
    cp === 0x200e ||
    cp === 0x200f ||
    cp === 0x061c ||
    cp === 0xfeff
  );
}

/** One strictly valid UTF-8 sequence at `i` (no overlongs, surrogates or > U+10FFFF), else null. */
function decodeUtf8At(raw: Buffer, i: number): { codePoint: number; length: number } | null {
  const b0 = raw[i]!;
  let length: number;
  let cp: number;
  let min: number;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    length = 2;
    cp = b0 & 0x1f;
    min = 0x80;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    length = 3;
    cp = b0 & 0x0f;
    min = 0x800;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    length = 4;
    cp = b0 & 0x07;
    min = 0x10000;
  } else {
    return null;
  }
  if (i + length > raw.length) return null;
  for (let k = 1; k < length; k++) {
    const b = raw[i + k]!;
    if ((b & 0xc0) !== 0x80) return null;
    cp = (cp << 6) | (b & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return null;
  return { codePoint: cp, length };
}
