import { describe, expect, it } from 'vitest';
import { mediaKindOf, parseRecordingName } from './gat947-name.parser.ts';

describe('parseRecordingName', () => {
  it('reads the standard form', () => {
    expect(parseRecordingName('ZFY123_004512_20261121093000_0007.MP4')).toEqual({
      deviceId: 'ZFY123',
      officerId: '004512',
      startLocal: '2026-11-21T09:30:00',
      sequence: 7,
      important: false,
    });
  });

  it('accepts sequences longer than four digits and lowercase extensions', () => {
    expect(parseRecordingName('ZFY123_004512_20261121093000_123456.mp4')?.sequence).toBe(123456);
    expect(parseRecordingName('zfy-9_A77_20261121093000_0001.mov')?.deviceId).toBe('zfy-9');
  });

  it('rejects sequences shorter than four digits', () => {
    expect(parseRecordingName('ZFY123_004512_20261121093000_007.MP4')).toBeNull();
  });

  it.each([
    ['ZFY123_004512_20261121093000_0007_IMP.MP4'],
    ['ZFY123_004512_20261121093000_0007_I.MP4'],
    ['IMP_ZFY123_004512_20261121093000_0007.MP4'],
    ['I_ZFY123_004512_20261121093000_0007.MP4'],
    ['ZFY123_004512_20261121093000_0007_imp.mp4'],
  ])('marks %s important', (name) => {
    const parsed = parseRecordingName(name);
    expect(parsed).not.toBeNull();
    expect(parsed?.important).toBe(true);
    expect(parsed?.deviceId).toBe('ZFY123');
    expect(parsed?.sequence).toBe(7);
  });

  it('reads <device>_<YYYYMMDD>_<HHMMSS>_<seq>', () => {
    expect(parseRecordingName('DSJ0001_20260301_235959_0002.AVI')).toEqual({
      deviceId: 'DSJ0001',
      officerId: null,
      startLocal: '2026-03-01T23:59:59',
      sequence: 2,
      important: false,
    });
  });

  it('reads <device>_<officer>_<YYYYMMDD>_<HHMMSS>_<seq> and <device>_<stamp>_<seq>', () => {
    expect(parseRecordingName('DSJ1_880011_20260301_120000_0009.MP4')).toMatchObject({ deviceId: 'DSJ1', officerId: '880011', startLocal: '2026-03-01T12:00:00', sequence: 9 });
    expect(parseRecordingName('DSJ1_20260301120000_0009.MP4')).toMatchObject({ deviceId: 'DSJ1', officerId: null, sequence: 9 });
  });

  it('reads date-only names', () => {
    expect(parseRecordingName('20261121_093000.MP4')).toEqual({ deviceId: null, officerId: null, startLocal: '2026-11-21T09:30:00', sequence: null, important: false });
    expect(parseRecordingName('20261121_093000_0004.WAV')).toMatchObject({ sequence: 4, deviceId: null });
    expect(parseRecordingName('20261121_093000_IMP.MP4')?.important).toBe(true);
  });

  it('takes the base name of a path', () => {
    expect(parseRecordingName('DCIM/100MEDIA/ZFY123_004512_20261121093000_0007.MP4')?.deviceId).toBe('ZFY123');
  });

  it.each([
    ['month 13', 'ZFY123_004512_20261321093000_0007.MP4'],
    ['month 0', 'ZFY123_004512_20260021093000_0007.MP4'],
    ['day 0', 'ZFY123_004512_20261100093000_0007.MP4'],
    ['31 November', 'ZFY123_004512_20261131093000_0007.MP4'],
    ['29 February in a common year', 'ZFY123_004512_20260229093000_0007.MP4'],
    ['29 February 1900', 'ZFY123_004512_19000229093000_0007.MP4'],
    ['hour 24', 'ZFY123_004512_20261121243000_0007.MP4'],
    ['minute 60', 'ZFY123_004512_20261121096000_0007.MP4'],
    ['second 60', 'ZFY123_004512_20261121093060_0007.MP4'],
    ['year 2100', 'ZFY123_004512_21001121093000_0007.MP4'],
  ])('rejects %s', (_why, name) => {
    expect(parseRecordingName(name)).toBeNull();
  });

  it('accepts 29 February in leap years, including 2000', () => {
    expect(parseRecordingName('ZFY123_004512_20280229093000_0007.MP4')?.startLocal).toBe('2028-02-29T09:30:00');
    expect(parseRecordingName('ZFY123_004512_20000229000000_0001.MP4')?.startLocal).toBe('2000-02-29T00:00:00');
  });

  it.each([
    [''],
    ['.MP4'],
    ['MOVI0001.AVI'],
    ['IMG_1234.JPG'],
    ['执法记录_001.MP4'],
    ['a..b.MP4'],
    ['ZFY123__20261121093000_0007.MP4'],
    ['ZFY123_004512_20261121093000_0007.MP4.part'],
    ['ZFY 123_004512_20261121093000_0007.MP4'],
    ['ZFY123_004512_2026112109300_0007.MP4'],
    ['ZFY123_004512_20261121093000_0007_EXTRA_MORE.MP4'],
    ['ZFY123\n_004512_20261121093000_0007.MP4'],
    ['\u0000'],
    ['IMP'],
    ['IMP_I.MP4'],
  ])('returns null for %j', (name) => {
    expect(parseRecordingName(name)).toBeNull();
  });

  it('never throws, whatever it is given', () => {
    const hostile: unknown[] = [undefined, null, 42, {}, 'x'.repeat(100_000), '_'.repeat(300), '\uFFFD\uFFFD.MP4', '\\\\server\\share\\a.MP4'];
    for (const value of hostile) expect(() => parseRecordingName(value as string)).not.toThrow();
  });
});

describe('mediaKindOf', () => {
  it.each([
    ['a.MP4', 'video'],
    ['a.mov', 'video'],
    ['a.AVI', 'video'],
    ['a.mkv', 'video'],
    ['a.TS', 'video'],
    ['a.3gp', 'video'],
    ['a.WAV', 'audio'],
    ['a.mp3', 'audio'],
    ['a.AAC', 'audio'],
    ['a.m4a', 'audio'],
    ['a.AMR', 'audio'],
    ['a.JPG', 'photo'],
    ['a.jpeg', 'photo'],
    ['a.PNG', 'photo'],
    ['a.heic', 'photo'],
    ['a.TXT', 'other'],
    ['MP4', 'other'],
    ['.MP4', 'other'],
    ['a.MP4.part', 'other'],
    ['dir.MP4/file', 'other'],
    ['执法记录_001.MP4', 'video'],
  ] as const)('%s is %s', (name, kind) => {
    expect(mediaKindOf(name)).toBe(kind);
  });
});
