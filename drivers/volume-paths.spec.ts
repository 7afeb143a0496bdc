import { describe, expect, it } from 'vitest';
import { baseNameRaw, childRaw, displayPathOf, isSafeRelative, isWithin, joinRaw, parentRaw } from './volume-paths.ts';

const b = (s: string) => Buffer.from(s);

describe('displayPathOf', () => {
  it('shows ordinary and Chinese names unchanged', () => {
    expect(displayPathOf(b('DCIM/100MEDIA/ZFY123_004512_20261121093000_0007.MP4'))).toBe('DCIM/100MEDIA/ZFY123_004512_20261121093000_0007.MP4');
    expect(displayPathOf(b('执法记录_001.MP4'))).toBe('执法记录_001.MP4');
    expect(displayPathOf(b('emoji_😀.MP4'))).toBe('emoji_😀.MP4');
  });

  it('escapes control characters so a name stays on one log line', () => {
    expect(displayPathOf(b('a\nb\r\tc\u0000\u001b[31m\u007f.MP4'))).toBe('a\\x0Ab\\x0D\\x09c\\x00\\x1B[31m\\x7F.MP4');
    expect(displayPathOf(b('a\nb'))).not.toMatch(/[\n\r]/);
  });

  it('escapes C1 controls, line separators and bidi overrides', () => {
    expect(displayPathOf(b('a\u0085b'))).toBe('a\\u{85}b');
    expect(displayPathOf(b('a\u2028b\u2029'))).toBe('a\\u{2028}b\\u{2029}');
    // "evil\u202Egpj.MP4" would read as "evil4PM.jpg" on screen.
    expect(displayPathOf(b('evil\u202Egpj.MP4'))).toBe('evil\\u{202E}gpj.MP4');
  });

  it('shows bytes that are not UTF-8 as \\xNN, keeping different names different', () => {
    const latin1 = Buffer.from([0x61, 0xe9, 0x2e, 0x4d, 0x50, 0x34]); // "aé.MP4" in Latin-1
    const gbk = Buffer.from([0xd6, 0xd0, 0xce, 0xc4, 0x2e, 0x4d, 0x50, 0x34]); // "中文.MP4" in GBK
    expect(displayPathOf(latin1)).toBe('a\\xE9.MP4');
    expect(displayPathOf(gbk)).toBe('\\xD6\\xD0\\xCE\\xC4.MP4');
    expect(displayPathOf(Buffer.from([0xff]))).not.toBe(displayPathOf(Buffer.from([0xfe])));
  });

  it('rejects overlong encodings, surrogates and truncated sequences', () => {
    expect(displayPathOf(Buffer.from([0xc0, 0xaf]))).toBe('\\xC0\\xAF'); // overlong "/"
    expect(displayPathOf(Buffer.from([0xed, 0xa0, 0x80]))).toBe('\\xED\\xA0\\x80'); // U+D800
    expect(displayPathOf(Buffer.from([0xe6, 0x89]))).toBe('\\xE6\\x89');
    expect(displayPathOf(Buffer.from([0xf4, 0x90, 0x80, 0x80]))).toBe('\\xF4\\x90\\x80\\x80'); // > U+10FFFF
  });

  it('doubles backslashes so an escape cannot be forged by a name', () => {
    expect(displayPathOf(b('a\\x0Ab'))).toBe('a\\\\x0Ab');
    expect(displayPathOf(b('a\\x0Ab'))).not.toBe(displayPathOf(b('a\nb')));
  });
});

describe('isSafeRelative', () => {
  it.each(['a.MP4', 'DCIM/100MEDIA/a.MP4', 'a..b.MP4', '..a', 'a..', '...', '.hidden', '执法记录_001.MP4'])('accepts %j', (p) => {
    expect(isSafeRelative(b(p))).toBe(true);
  });

  it.each(['', '/etc/passwd', '..', '../a', 'a/../b', 'a/..', 'DCIM/../../etc', '.', './a', 'a/./b', 'a//b', 'a/', 'a\u0000b'])('rejects %j', (p) => {
    expect(isSafeRelative(b(p))).toBe(false);
  });

  it('accepts bytes that are not UTF-8', () => {
    expect(isSafeRelative(Buffer.from([0xff, 0xfe, 0x2e, 0x4d, 0x50, 0x34]))).toBe(true);
  });
});

describe('raw path helpers', () => {
  it('joins, splits and contains', () => {
    expect(joinRaw('/media/u/REC', b('DCIM/a.MP4')).toString()).toBe('/media/u/REC/DCIM/a.MP4');
    expect(joinRaw('/media/u/REC/', b('a')).toString()).toBe('/media/u/REC/a');
    expect(joinRaw('/', b('a')).toString()).toBe('/a');
    expect(childRaw(Buffer.alloc(0), b('a')).toString()).toBe('a');
    expect(childRaw(b('DCIM'), b('a')).toString()).toBe('DCIM/a');
    expect(baseNameRaw(b('DCIM/x/a.MP4')).toString()).toBe('a.MP4');
    expect(baseNameRaw(b('a.MP4')).toString()).toBe('a.MP4');
    expect(parentRaw(b('DCIM/x/a.MP4')).toString()).toBe('DCIM/x');
    expect(parentRaw(b('a.MP4')).length).toBe(0);
    expect(isWithin(b('/media/REC'), b('/media/REC'))).toBe(true);
    expect(isWithin(b('/media/REC'), b('/media/REC/a'))).toBe(true);
    expect(isWithin(b('/media/REC'), b('/media/REC2/a'))).toBe(false);
    expect(isWithin(b('/media/REC'), b('/media'))).toBe(false);
    expect(isWithin(b('/'), b('/etc'))).toBe(true);
  });
});
