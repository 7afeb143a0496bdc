import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { newSealKey, Sealer } from './spool-seal.ts';

const tagOf = (key: ReturnType<typeof newSealKey>, chunks: Uint8Array[]) => {
  const s = new Sealer(key);
  for (const c of chunks) s.update(c);
  return s.tag();
};

describe('Sealer', () => {
  const data = randomBytes((1 << 20) + 77);
  const key = newSealKey();

  it('gives the same tag however the bytes are split', () => {
    const whole = tagOf(key, [data]);
    expect(whole).toMatch(/^[0-9a-f]{32}$/);
    expect(tagOf(key, [data.subarray(0, 13), data.subarray(13, 600_001), data.subarray(600_001)])).toBe(whole);
  });

  it('gives another tag for one flipped bit, one byte less, or another key', () => {
    const whole = tagOf(key, [data]);
    const flipped = Buffer.from(data);
    flipped[12345]! ^= 0x10;
    expect(tagOf(key, [flipped])).not.toBe(whole);
    expect(tagOf(key, [data.subarray(0, data.length - 1)])).not.toBe(whole);
    expect(tagOf(newSealKey(), [data])).not.toBe(whole);
  });

  it('seals an empty recording', () => {
    expect(tagOf(key, [])).toMatch(/^[0-9a-f]{32}$/);
  });
});
