/**
 * Reads the facts the proxy job records (duration, picture size, which tracks) straight
 * from the header of an MP4 that ffmpeg has just written with `-movflags +faststart`, so
 * that the job does not start ffprobe (≈ 0.1–0.2 s of process start and library loading)
 * for a file whose layout it chose itself. Anything unexpected gives null, and the caller
 * asks ffprobe, which stays the authority on files evidock did not write.
 */

export interface Mp4Track {
  kind: 'video' | 'audio' | 'other';
  /** Sample entry type: avc1, mp4a, … */
  codec: string | null;
  /** Coded picture size from the visual sample entry (what ffprobe calls width/height). */
  width: number | null;
  height: number | null;
  durationSeconds: number | null;
}

export interface Mp4Header {
  durationSeconds: number | null;
  tracks: Mp4Track[];
}

interface Box {
  type: string;
  /** Offset of the payload (after the header) and its end, in the buffer. */
  start: number;
  end: number;
}

/** The top-level layout: where the moov box is, if it comes before the media data. */
export function locateMoov(head: Buffer, fileSize: number): { offset: number; size: number } | null {
  let at = 0;
  while (at + 8 <= head.length) {
    const box = boxAt(head, at, fileSize);
    if (!box) return null;
    if (box.type === 'moov') return { offset: at, size: box.end - at };
    // Media data first: the index is at the end (no faststart), not a file we wrote.
    if (box.type === 'mdat') return null;
    at = box.end;
  }
  return null;
}

/** Parses a whole moov box (header included); null when it is not the shape ffmpeg writes. */
export function parseMoov(moov: Buffer): Mp4Header | null {
  const root = boxAt(moov, 0, moov.length);
  if (!root || root.type !== 'moov' || root.end !== moov.length) return null;
  const children = boxesIn(moov, root);
  if (!children) return null;
  const mvhd = children.find((b) => b.type === 'mvhd');
  if (!mvhd) return null;
  const movie = timing(moov, mvhd);
  if (!movie) return null;
  const tracks: Mp4Track[] = [];
  for (const trak of children.filter((b) => b.type === 'trak')) {
    const track = parseTrak(moov, trak);
    if (!track) return null;
    tracks.push(track);
  }
  if (tracks.length === 0) return null;
  return { durationSeconds: movie.seconds, tracks };
}

function parseTrak(buf: Buffer, trak: Box): Mp4Track | null {
  const mdia = child(buf, trak, 'mdia');
  const hdlr = mdia && child(buf, mdia, 'hdlr');
  const mdhd = mdia && child(buf, mdia, 'mdhd');
  if (!mdia || !hdlr || !mdhd || hdlr.end - hdlr.start < 12) return null;
  const handler = buf.toString('latin1', hdlr.start + 8, hdlr.start + 12);
  const kind = handler === 'vide' ? 'video' : handler === 'soun' ? 'audio' : 'other';
  const media = timing(buf, mdhd);
  if (!media) return null;
  const minf = child(buf, mdia, 'minf');
  const stbl = minf && child(buf, minf, 'stbl');
  const stsd = stbl && child(buf, stbl, 'stsd');
  // version/flags (4), entry count (4), then the first sample entry's size and type.
  if (!stsd || stsd.end - stsd.start < 16 || buf.readUInt32BE(stsd.start + 4) < 1) return null;
  const entry = stsd.start + 8;
  const codec = buf.toString('latin1', entry + 4, entry + 8);
  let width: number | null = null;
  let height: number | null = null;
  if (kind === 'video') {
    // SampleEntry: reserved (6), data reference index (2); VisualSampleEntry: pre-defined and
    // reserved (16), then width and height, 16 bits each.
    const at = entry + 8 + 8 + 16;
    if (at + 4 > stsd.end) return null;
    width = buf.readUInt16BE(at);
    height = buf.readUInt16BE(at + 2);
    if (width === 0 || height === 0) return null;
  }
  return { kind, codec: /^[\x20-\x7e]{4}$/.test(codec) ? codec.trim() : null, width, height, durationSeconds: media.seconds };
}

/** Timescale and duration of an mvhd or mdhd (the same layout up to there). */
function timing(buf: Buffer, box: Box): { seconds: number | null } | null {
  const version = buf[box.start];
  const need = version === 1 ? 4 + 8 + 8 + 4 + 8 : 4 + 4 + 4 + 4 + 4;
  if (box.end - box.start < need || (version !== 0 && version !== 1)) return null;
  const timescale = buf.readUInt32BE(box.start + (version === 1 ? 20 : 12));
  const duration = version === 1 ? Number(buf.readBigUInt64BE(box.start + 24)) : buf.readUInt32BE(box.start + 16);
  if (timescale === 0) return null;
  // All ones: "unknown" in both versions.
  const unknown = version === 1 ? duration >= Number.MAX_SAFE_INTEGER : duration === 0xffffffff;
  return { seconds: unknown ? null : duration / timescale };
}

function child(buf: Buffer, parent: Box, type: string): Box | null {
  return boxesIn(buf, parent)?.find((b) => b.type === type) ?? null;
}

function boxesIn(buf: Buffer, parent: Box): Box[] | null {
  const out: Box[] = [];
  let at = parent.start;
  while (at < parent.end) {
    const box = boxAt(buf, at, parent.end);
    if (!box || box.end > parent.end) return null;
    out.push(box);
    at = box.end;
  }
  return out;
}

/** The box at `at`; `limit` is where its container ends (for size 0, "to the end"). */
function boxAt(buf: Buffer, at: number, limit: number): Box | null {
  if (at + 8 > buf.length) return null;
  const size32 = buf.readUInt32BE(at);
  const type = buf.toString('latin1', at + 4, at + 8);
  if (!/^[\x20-\x7e]{4}$/.test(type)) return null;
  let header = 8;
  let size: number;
  if (size32 === 1) {
    if (at + 16 > buf.length) return null;
    size = Number(buf.readBigUInt64BE(at + 8));
    header = 16;
  } else if (size32 === 0) {
    size = limit - at;
  } else {
    size = size32;
  }
  if (size < header) return null;
  return { type, start: at + header, end: at + size };
}
