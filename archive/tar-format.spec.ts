import { describe, expect, it } from 'vitest';
import { TAR_BLOCK, TarNameError, tarHeader, tarPadding, tarSize } from './tar-format.ts';

const field = (h: Buffer, at: number, width: number) => h.subarray(at, at + width).toString('ascii').replace(/\0.*$/s, '');

describe('tarHeader', () => {
  it('writes a ustar header whose checksum is the sum of its bytes', () => {
    const h = tarHeader({ name: 'originals/0f9e.mp4', size: 1234567, mtimeSeconds: 1_764_000_000 });
    expect(h.length).toBe(TAR_BLOCK);
    expect(field(h, 0, 100)).toBe('originals/0f9e.mp4');
    expect(Number.parseInt(field(h, 124, 12), 8)).toBe(1234567);
    expect(Number.parseInt(field(h, 136, 12), 8)).toBe(1_764_000_000);
    expect(field(h, 156, 1)).toBe('0');
    expect(field(h, 257, 6)).toBe('ustar');
    const stored = Number.parseInt(field(h, 148, 8).trim(), 8);
    const spaced = Buffer.from(h);
    spaced.write('        ', 148, 8, 'ascii');
    expect(stored).toBe([...spaced].reduce((a, b) => a + b, 0));
  });

  it('refuses names that are not plain relative ASCII of at most 100 bytes', () => {
    for (const name of ['/etc/passwd', '../x', 'a/../../x', '案件.pdf', 'x'.repeat(101), '', 'a\nb']) {
      expect(() => tarHeader({ name, size: 0, mtimeSeconds: 0 }), name).toThrow(TarNameError);
    }
  });
});

describe('tar sizes', () => {
  it('pads each entry to a block and ends with two zero blocks', () => {
    expect(tarPadding(0)).toBe(0);
    expect(tarPadding(1)).toBe(511);
    expect(tarPadding(512)).toBe(0);
    expect(tarSize([])).toBe(1024);
    expect(tarSize([1, 512])).toBe(512 + 512 + 512 + 512 + 1024);
  });
});
