import { describe, expect, it } from 'vitest';
import { locateMoov, parseMoov } from './mp4-header.parser.ts';

// MP4 boxes built by hand, field by field (ISO/IEC 14496-12), as ffmpeg's muxer lays them out.

function box(type: string, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + body.length, 0);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, body]);
}

function u32(...values: number[]): Buffer {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeUInt32BE(v, 4 * i));
  return b;
}

function u64(value: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(value));
  return b;
}

/** mvhd / mdhd, version 0: version+flags, creation, modification, timescale, duration, then the rest. */
function header(type: 'mvhd' | 'mdhd', timescale: number, duration: number, rest = 20): Buffer {
  return box(type, u32(0, 0, 0, timescale, duration), Buffer.alloc(rest));
}

function visualEntry(codec: string, width: number, height: number): Buffer {
  const size = Buffer.alloc(2 * 2);
  size.writeUInt16BE(width, 0);
  size.writeUInt16BE(height, 2);
  // reserved (6) + data reference index (2), pre-defined and reserved (16), width, height, the rest.
  return box(codec, Buffer.alloc(8), Buffer.alloc(16), size, Buffer.alloc(50));
}

function trak(handler: string, timescale: number, duration: number, entry: Buffer): Buffer {
  const hdlr = box('hdlr', u32(0, 0), Buffer.from(handler, 'latin1'), Buffer.alloc(13));
  const stsd = box('stsd', u32(0, 1), entry);
  return box('trak', box('tkhd', Buffer.alloc(84)), box('mdia', header('mdhd', timescale, duration), hdlr, box('minf', box('stbl', stsd))));
}

const video = trak('vide', 15360, 18 * 15360, visualEntry('avc1', 1280, 720));
const audio = trak('soun', 48000, 864_256, box('mp4a', Buffer.alloc(28)));
const moov = box('moov', header('mvhd', 1000, 18_005, 80), video, audio);
const ftyp = box('ftyp', Buffer.from('isom\0\0\x02\0isomiso2avc1mp41', 'latin1'));
const mdat = box('mdat', Buffer.alloc(4096, 7));

describe('locateMoov', () => {
  it('finds the index in front of the media data (faststart)', () => {
    const file = Buffer.concat([ftyp, box('free'), moov, mdat]);
    expect(locateMoov(file, file.length)).toEqual({ offset: ftyp.length + 8, size: moov.length });
  });

  it('needs only the box headers: the moov may extend past the bytes read so far', () => {
    const file = Buffer.concat([ftyp, moov, mdat]);
    expect(locateMoov(file.subarray(0, ftyp.length + 8), file.length)).toEqual({ offset: ftyp.length, size: moov.length });
  });

  it('gives up on media data before the index, a garbled box type, or a file too short for a box', () => {
    const late = Buffer.concat([ftyp, mdat, moov]);
    expect(locateMoov(late, late.length)).toBeNull();
    const garbled = Buffer.concat([ftyp, moov]);
    garbled.write('\x01\x02\x03\x04', ftyp.length + 4, 'latin1');
    expect(locateMoov(garbled, garbled.length)).toBeNull();
    expect(locateMoov(Buffer.from([0, 0, 0]), 3)).toBeNull();
  });

  it('reads 64-bit box sizes', () => {
    const large = Buffer.concat([u32(1), Buffer.from('free', 'latin1'), u64(16 + 10), Buffer.alloc(10)]);
    const file = Buffer.concat([ftyp, large, moov]);
    expect(locateMoov(file, file.length)).toEqual({ offset: ftyp.length + large.length, size: moov.length });
  });
});

describe('parseMoov', () => {
  it('reads the movie duration, each track\'s kind, codec and duration, and the coded picture size', () => {
    expect(parseMoov(moov)).toEqual({
      durationSeconds: 18.005,
      tracks: [
        { kind: 'video', codec: 'avc1', width: 1280, height: 720, durationSeconds: 18 },
        { kind: 'audio', codec: 'mp4a', width: null, height: null, durationSeconds: 864_256 / 48000 },
      ],
    });
  });

  it('reads version-1 (64-bit) durations', () => {
    const mvhd1 = box('mvhd', u32(1 << 24), u64(0), u64(0), u32(90_000), u64(90_000 * 7200), Buffer.alloc(80));
    expect(parseMoov(box('moov', mvhd1, video))?.durationSeconds).toBe(7200);
  });

  it('returns null for what ffmpeg would not have written, and the caller asks ffprobe', () => {
    // No movie header; no tracks; a track without sample descriptions; a zero timescale;
    // a child box claiming more bytes than its parent holds; bytes cut off at the end.
    expect(parseMoov(box('moov', video))).toBeNull();
    expect(parseMoov(box('moov', header('mvhd', 1000, 1000, 80)))).toBeNull();
    const bare = box('trak', box('mdia', header('mdhd', 1000, 1000), box('hdlr', u32(0, 0), Buffer.from('vide'), Buffer.alloc(13))));
    expect(parseMoov(box('moov', header('mvhd', 1000, 1000, 80), bare))).toBeNull();
    expect(parseMoov(box('moov', header('mvhd', 0, 1000, 80), video))).toBeNull();
    const overlong = Buffer.from(moov);
    overlong.writeUInt32BE(moov.length, 8);
    expect(parseMoov(overlong)).toBeNull();
    expect(parseMoov(moov.subarray(0, moov.length - 10))).toBeNull();
    expect(parseMoov(box('moof', header('mvhd', 1000, 1000, 80), video))).toBeNull();
  });

  it('a picture of zero size is not a picture', () => {
    const blank = trak('vide', 1000, 1000, visualEntry('avc1', 0, 0));
    expect(parseMoov(box('moov', header('mvhd', 1000, 1000, 80), blank))).toBeNull();
  });
});
