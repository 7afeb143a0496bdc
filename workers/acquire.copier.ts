import { createHash, type Hash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { Transform, Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * The one pass over a recording: bytes come off the recorder once, are digested on the
 * way, and land in the spool. Resuming re-hashes the bytes already spooled (a local disk
 * read) instead of reading them from the recorder again.
 */

export type HashAlgorithm = 'sha256' | 'sm3';

export interface CopyRequest {
  /** The recorder's bytes, starting at `resumeFrom`. */
  source: Readable;
  spoolPath: string;
  resumeFrom: number;
  /** The first `resumeFrom` bytes as already spooled, to be digested before the source. */
  spooledPrefix: Readable | null;
  algorithms: readonly HashAlgorithm[];
  /** fsync and report this often, so a crash loses at most this much copying. */
  checkpointBytes: number;
  onCheckpoint?: (bytesOnDisk: number) => Promise<void>;
  onProgress?: (bytesOnDisk: number) => void;
}

export interface CopyResult {
  /** Bytes read from the recorder in this pass. */
  bytesFromSource: number;
  /** Size of the spooled file. */
  totalBytes: number;
  digests: Partial<Record<HashAlgorithm, string>>;
}

export class CopyInterruptedError extends Error {
  constructor(
    readonly bytesOnDisk: number,
    options: { cause: unknown },
  ) {
    super(`copy interrupted after ${bytesOnDisk} bytes: ${(options.cause as Error)?.message ?? String(options.cause)}`, options);
    this.name = 'CopyInterruptedError';
  }
}

export async function copyWithDigests(request: CopyRequest): Promise<CopyResult> {
  const hashes = new Map<HashAlgorithm, Hash>(request.algorithms.map((a) => [a, createHash(a)]));
  if (request.resumeFrom > 0) {
    if (!request.spooledPrefix) throw new Error('resume without the spooled prefix to re-hash');
    let seen = 0;
    for await (const chunk of request.spooledPrefix as AsyncIterable<Buffer>) {
      for (const h of hashes.values()) h.update(chunk);
      seen += chunk.length;
    }
    if (seen !== request.resumeFrom) throw new Error(`spooled prefix is ${seen} bytes, expected ${request.resumeFrom}`);
  }

  const handle = await open(request.spoolPath, request.resumeFrom > 0 ? 'a' : 'w', 0o600);
  const writer = new SpoolWriter(handle, request.resumeFrom, request.checkpointBytes, request.onCheckpoint, request.onProgress);
  let fromSource = 0;
  const digest = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      for (const h of hashes.values()) h.update(chunk);
      fromSource += chunk.length;
      callback(null, chunk);
    },
  });
  try {
    await pipeline(request.source, digest, writer);
  } catch (error) {
    // Whatever reached the disk is kept for the next attempt; make it durable first.
    await handle.sync().catch(() => undefined);
    await handle.close().catch(() => undefined);
    throw new CopyInterruptedError(writer.bytesOnDisk, { cause: error });
  }
  await handle.close();
  const digests: Partial<Record<HashAlgorithm, string>> = {};
  for (const [algorithm, h] of hashes) digests[algorithm] = h.digest('hex');
  return { bytesFromSource: fromSource, totalBytes: writer.bytesOnDisk, digests };
}

class SpoolWriter extends Writable {
  bytesOnDisk: number;
  private lastCheckpoint: number;

  constructor(
    private readonly handle: FileHandle,
    start: number,
    private readonly checkpointBytes: number,
    private readonly onCheckpoint?: (bytes: number) => Promise<void>,
    private readonly onProgress?: (bytes: number) => void,
  ) {
    super({ highWaterMark: 8 << 20 });
    this.bytesOnDisk = start;
    this.lastCheckpoint = start;
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    this.writeAll(chunks.map((c) => c.chunk)).then(() => callback(), callback);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.writeAll([chunk]).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.handle
      .sync()
      .then(async () => {
        if (this.onCheckpoint && this.bytesOnDisk !== this.lastCheckpoint) await this.onCheckpoint(this.bytesOnDisk);
      })
      .then(() => callback(), callback);
  }

  private async writeAll(buffers: Buffer[]): Promise<void> {
    const { bytesWritten } = await this.handle.writev(buffers);
    const expected = buffers.reduce((n, b) => n + b.length, 0);
    if (bytesWritten !== expected) {
      // writev on a regular file only writes short when the disk is full.
      this.bytesOnDisk += bytesWritten;
      throw Object.assign(new Error(`short write to spool (${bytesWritten} of ${expected} bytes)`), { code: 'ENOSPC' });
    }
    this.bytesOnDisk += bytesWritten;
    this.onProgress?.(this.bytesOnDisk);
    if (this.bytesOnDisk - this.lastCheckpoint >= this.checkpointBytes) {
      await this.handle.sync();
      this.lastCheckpoint = this.bytesOnDisk;
      await this.onCheckpoint?.(this.bytesOnDisk);
    }
  }
}
