import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Crc32PartAccumulator, crc32Base64, crc32Checksum, EtagAccumulator, etagOfPartDigests, isMultipart } from './etag.ts';

const md5 = (b: Uint8Array): Buffer => createHash('md5').update(b).digest();

/** Reference: split the whole body in memory and hash the parts, S3 style. */
function referenceEtag(body: Buffer, partSize: number): string {
  if (body.length <= partSize) return md5(body).toString('hex');
  const digests: Buffer[] = [];
  for (let offset = 0; offset < body.length; offset += partSize) digests.push(md5(body.subarray(offset, offset + partSize)));
  return `${md5(Buffer.concat(digests)).toString('hex')}-${digests.length}`;
}

/** Feed `body` in chunks of the given sizes, cycling through them. */
function streamed(body: Buffer, partSize: number, chunkSizes: number[]): EtagAccumulator {
  const acc = new EtagAccumulator(partSize);
  let offset = 0;
  let i = 0;
  while (offset < body.length) {
    const n = chunkSizes[i++ % chunkSizes.length] ?? 1;
    acc.update(body.subarray(offset, offset + n));
    offset += n;
  }
  return acc;
}

describe('EtagAccumulator', () => {
  it('gives the MD5 of the empty body for no bytes', () => {
    const acc = new EtagAccumulator(5 * 1024 * 1024);
    expect(acc.digest()).toBe('d41d8cd98f00b204e9800998ecf8427e');
    expect(acc.parts).toBe(0);
    expect(acc.bytes).toBe(0);
  });

  it('gives the plain MD5 for a single-part body (known value)', () => {
    expect(new EtagAccumulator(16).update(Buffer.from('hello')).digest()).toBe('5d41402abc4b2a76b9719d911017c592');
  });

  it('treats a body of exactly one part as a single PUT, without a -N suffix', () => {
    const body = Buffer.from('0123456789abcdef');
    const acc = new EtagAccumulator(16).update(body);
    expect(acc.digest()).toBe(md5(body).toString('hex'));
    expect(acc.parts).toBe(1);
  });

  it('computes a 2-part ETag as MD5 of the concatenated binary part MD5s, checked by hand', () => {
    const partSize = 8;
    const body = Buffer.from('abcdefghIJK'); // 8 + 3 bytes
    const byHand = createHash('md5')
      .update(Buffer.concat([md5(Buffer.from('abcdefgh')), md5(Buffer.from('IJK'))]))
      .digest('hex');
    const acc = new EtagAccumulator(partSize).update(body);
    expect(acc.digest()).toBe(`${byHand}-2`);
    expect(acc.parts).toBe(2);
  });

  it('closes a full last part without adding an empty one (body = 2 x part size)', () => {
    const body = randomBytes(64);
    const byHand = createHash('md5').update(Buffer.concat([md5(body.subarray(0, 32)), md5(body.subarray(32))])).digest('hex');
    expect(new EtagAccumulator(32).update(body).digest()).toBe(`${byHand}-2`);
  });

  it('matches the in-memory reference whatever the chunking, across part boundaries', () => {
    const partSize = 1000;
    for (const size of [0, 1, 999, 1000, 1001, 1999, 2000, 2001, 2500, 10_000, 12_345]) {
      const body = randomBytes(size);
      const expected = referenceEtag(body, partSize);
      for (const chunks of [[1], [7], [999], [1000], [1001], [4096], [3, 1500, 17, 250]]) {
        const acc = streamed(body, partSize, chunks);
        expect(acc.digest(), `size ${size}, chunks ${chunks.join(',')}`).toBe(expected);
        expect(acc.bytes).toBe(size);
        expect(acc.parts).toBe(Math.ceil(size / partSize));
      }
    }
  });

  it('agrees with isMultipart on when a -N suffix appears', () => {
    for (const size of [0, 5, 10, 11, 30]) {
      const etag = new EtagAccumulator(10).update(Buffer.alloc(size)).digest();
      expect(etag.includes('-'), `size ${size}`).toBe(isMultipart(size, 10));
    }
  });

  it('is stable after digest and refuses more bytes', () => {
    const acc = new EtagAccumulator(4).update(Buffer.from('abcdefgh'));
    const first = acc.digest();
    expect(acc.digest()).toBe(first);
    expect(() => acc.update(Buffer.from('x'))).toThrow(/after digest/);
  });

  it('rejects a non-positive or fractional part size', () => {
    expect(() => new EtagAccumulator(0)).toThrow(RangeError);
    expect(() => new EtagAccumulator(1.5)).toThrow(RangeError);
  });
});

describe('etagOfPartDigests', () => {
  it('gives the same ETag as EtagAccumulator from the parts\' MD5s', () => {
    const part = 5;
    for (const size of [1, 5, 11, 15, 16]) {
      const body = Buffer.from(Array.from({ length: size }, (_, i) => (i * 7) % 256));
      const md5s = [];
      for (let at = 0; at < size; at += part) md5s.push(createHash('md5').update(body.subarray(at, at + part)).digest());
      expect(etagOfPartDigests(md5s, isMultipart(size, part))).toBe(new EtagAccumulator(part).update(body).digest());
    }
  });
});

describe('CRC32 checksums (crc32Checksum, Crc32PartAccumulator)', () => {
  // Known answer: CRC32 (IEEE) of "123456789" is 0xCBF43926.
  it('writes a CRC32 the way S3 does: 4 bytes big-endian, base64', () => {
    expect(crc32Base64(0xcbf43926)).toBe(Buffer.from([0xcb, 0xf4, 0x39, 0x26]).toString('base64'));
    expect(new Crc32PartAccumulator(100).update(Buffer.from('123456789')).digest()).toBe(`crc32:${crc32Base64(0xcbf43926)}`);
  });

  it('gives a body of at most one part its own CRC32 and a longer one the composite with -N', () => {
    expect(new Crc32PartAccumulator(4).update(Buffer.alloc(0)).digest()).toBe('crc32:AAAAAA==');
    expect(new Crc32PartAccumulator(9).update(Buffer.from('123456789')).digest()).toBe(`crc32:${crc32Base64(0xcbf43926)}`);
    const composite = new Crc32PartAccumulator(4).update(Buffer.from('123456789')).digest();
    const parts = ['1234', '5678', '9'].map((p) => new Crc32PartAccumulator(4).update(Buffer.from(p)).digest().slice('crc32:'.length));
    const joined = Buffer.concat(parts.map((p) => Buffer.from(p, 'base64')));
    expect(composite).toBe(`${new Crc32PartAccumulator(64).update(joined).digest()}-3`);
  });

  it('does not depend on how the body is chunked', () => {
    const body = randomBytes(1000);
    const whole = new Crc32PartAccumulator(64).update(body).digest();
    for (const step of [1, 7, 64, 65, 999]) {
      const acc = new Crc32PartAccumulator(64);
      for (let at = 0; at < body.length; at += step) acc.update(body.subarray(at, at + step));
      expect(acc.digest(), `step ${step}`).toBe(whole);
    }
    expect(whole.endsWith(`-${Math.ceil(1000 / 64)}`)).toBe(true);
  });

  it('refuses an impossible part list', () => {
    expect(() => crc32Checksum([], true)).toThrow(RangeError);
    expect(() => crc32Checksum([1, 2], false)).toThrow(RangeError);
    expect(() => new Crc32PartAccumulator(0)).toThrow(RangeError);
  });
});
