import { createHash, type Hash } from 'node:crypto';
import { createRequire } from 'node:module';
import { crc32 as zlibCrc32 } from 'node:zlib';

/**
 * CRC32 (the IEEE polynomial, zlib's and S3's x-amz-checksum-crc32), continued from `value`.
 * @node-rs/crc32 computes it with carry-less multiplication at about 0.07 CPU-s per GiB;
 * Node 20's zlib.crc32 takes 0.35-0.4, which was 8 % of an upload's CPU. Both give the same
 * value (test/minio.object-store.test.ts checks against zlib); zlib's is the fallback on a
 * platform without a prebuilt binary.
 */
export const crc32: (data: Uint8Array, value?: number) => number = loadFastCrc32() ?? zlibCrc32;

function loadFastCrc32(): ((data: Uint8Array, value?: number) => number) | null {
  try {
    const fast = (createRequire(import.meta.url)('@node-rs/crc32') as { crc32: (data: Uint8Array, value?: number) => number }).crc32;
    return (data, value = 0) => fast(data, value);
  } catch {
    return null;
  }
}

/**
 * The S3 ETag that a server must report for a body uploaded the way minio-js uploads it,
 * computed in one streaming pass with memory bounded by 16 bytes per part.
 *
 * minio-js 8.0.7 `putObject(bucket, key, stream, size)` with a client-wide `partSize`:
 * - size <= partSize (including 0): one PUT of the whole body; the ETag is its MD5, hex.
 * - size >  partSize: multipart with parts of exactly `partSize` bytes (block-stream2 without
 *   zero padding), the last part holding the rest; the ETag is
 *   hex(MD5(MD5(part1) || MD5(part2) || ...)) + "-" + number of parts.
 *
 * So the body is split into `partSize` blocks as it streams; a block is closed only when a
 * further byte arrives, so a body of at most one block digests as a single PUT.
 *
 * This holds for servers that compute ETags as MD5s (AWS S3, MinIO in its default strict
 * S3 compatibility). It does not hold for SSE-C / SSE-KMS objects, nor for a MinIO started
 * with `--no-compat`, whose ETags are then random.
 */
export class EtagAccumulator {
  readonly partSize: number;
  private current: Hash = createHash('md5');
  private currentBytes = 0;
  private readonly closedParts: Buffer[] = [];
  private total = 0;
  private result: string | null = null;

  constructor(partSize: number) {
    if (!Number.isSafeInteger(partSize) || partSize < 1) throw new RangeError(`part size must be a positive integer, got ${partSize}`);
    this.partSize = partSize;
  }

  /** Bytes seen so far. */
  get bytes(): number {
    return this.total;
  }

  /** Parts the body has been split into so far (1 for a body of up to one part, 0 for none). */
  get parts(): number {
    return this.closedParts.length + (this.currentBytes > 0 ? 1 : 0);
  }

  update(chunk: Uint8Array): this {
    if (this.result !== null) throw new Error('EtagAccumulator.update after digest');
    let offset = 0;
    while (offset < chunk.length) {
      if (this.currentBytes === this.partSize) {
        this.closedParts.push(this.current.digest());
        this.current = createHash('md5');
        this.currentBytes = 0;
      }
      const take = Math.min(chunk.length - offset, this.partSize - this.currentBytes);
      this.current.update(offset === 0 && take === chunk.length ? chunk : chunk.subarray(offset, offset + take));
      this.currentBytes += take;
      this.total += take;
      offset += take;
    }
    return this;
  }

  /** The ETag, without quotes. Further updates are refused; repeated calls return the same value. */
  digest(): string {
    if (this.result !== null) return this.result;
    if (this.closedParts.length === 0) {
      this.result = this.current.digest('hex');
    } else {
      const digests = [...this.closedParts, this.current.digest()];
      this.result = `${createHash('md5').update(Buffer.concat(digests)).digest('hex')}-${digests.length}`;
    }
    return this.result;
  }
}

/** Whether minio-js uploads a body of `size` bytes as multipart, given its part size. */
export function isMultipart(size: number, partSize: number): boolean {
  return size > partSize;
}


/**
 * The ETag for a body whose parts' MD5s are already known (in part order), as
 * EtagAccumulator computes it: the MD5 itself for a single PUT, else MD5 of the part MD5s
 * and "-N". Lets an uploader hash each part once for both its Content-MD5 and the ETag.
 */
export function etagOfPartDigests(partMd5s: readonly Uint8Array[], multipart: boolean): string {
  if (!multipart) {
    if (partMd5s.length !== 1) throw new RangeError(`a single PUT has one MD5, got ${partMd5s.length}`);
    return Buffer.from(partMd5s[0]!).toString('hex');
  }
  if (partMd5s.length === 0) throw new RangeError('a multipart upload has at least one part');
  return `${createHash('md5').update(Buffer.concat(partMd5s)).digest('hex')}-${partMd5s.length}`;
}

/** A CRC32 as S3 writes it in x-amz-checksum-crc32: the 4 bytes big-endian, base64. */
export function crc32Base64(value: number): string {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(value >>> 0);
  return b.toString('base64');
}

/**
 * The checksum an S3 server keeps for an upload with CRC32 checksums: the body's CRC32 for a
 * single PUT; for multipart, the COMPOSITE one, CRC32 over the parts' CRC32s + "-N".
 */
export function crc32Checksum(partCrcs: readonly number[], multipart: boolean): string {
  if (!multipart) {
    if (partCrcs.length !== 1) throw new RangeError(`a single PUT has one CRC32, got ${partCrcs.length}`);
    return `crc32:${crc32Base64(partCrcs[0]!)}`;
  }
  if (partCrcs.length === 0) throw new RangeError('a multipart upload has at least one part');
  const joined = Buffer.allocUnsafe(4 * partCrcs.length);
  partCrcs.forEach((c, i) => joined.writeUInt32BE(c >>> 0, 4 * i));
  return `crc32:${crc32Base64(crc32(joined))}-${partCrcs.length}`;
}

/**
 * The CRC32 checksum (crc32Checksum) of a body streamed in chunks, split into parts of
 * `partSize` as putFile splits it. Lets a stored object's checksum be checked against a
 * local copy without uploading it again.
 */
export class Crc32PartAccumulator {
  private readonly crcs: number[] = [];
  private current = 0;
  private currentBytes = 0;

  constructor(readonly partSize: number) {
    if (!Number.isSafeInteger(partSize) || partSize < 1) throw new RangeError(`part size must be a positive integer, got ${partSize}`);
  }

  update(chunk: Uint8Array): this {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.currentBytes === this.partSize) {
        this.crcs.push(this.current);
        this.current = 0;
        this.currentBytes = 0;
      }
      const take = Math.min(chunk.length - offset, this.partSize - this.currentBytes);
      this.current = crc32(chunk.subarray(offset, offset + take), this.current);
      this.currentBytes += take;
      offset += take;
    }
    return this;
  }

  /** `crc32:<base64>` for a body of at most one part (a single PUT), else the composite with "-N". */
  digest(): string {
    const crcs = [...this.crcs, this.current];
    return crc32Checksum(crcs, crcs.length > 1);
  }
}
