import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rm, stat, statfs, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

/**
 * The local spool: where a recording lands first, the workstation's backup copy until its
 * stored copy is verified. Files are named by the recording's fingerprint, never by the
 * name on the recorder, so no hostile name can reach the file system here, and a file
 * interrupted in one docking is found again by the next.
 */
export class SpoolStore {
  constructor(readonly dir: string) {}

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
  }

  pathOf(fingerprint: string): string {
    if (!/^[0-9a-f]{64}$/.test(fingerprint)) throw new Error(`not a fingerprint: ${fingerprint}`);
    return join(this.dir, `${fingerprint}.part`);
  }

  /** Bytes already in the spool for this recording (0 if none). */
  async sizeOf(fingerprint: string): Promise<number> {
    try {
      return (await stat(this.pathOf(fingerprint))).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw error;
    }
  }

  /** Cuts the spooled part back to what was checkpointed (bytes known to be on disk). */
  async truncateTo(fingerprint: string, size: number): Promise<void> {
    const path = this.pathOf(fingerprint);
    const handle = await open(path, 'a');
    try {
      await truncate(path, size);
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  /** Makes the spooled copy durable; false if there is none (already stored and removed). */
  async sync(fingerprint: string): Promise<boolean> {
    let handle;
    try {
      handle = await open(this.pathOf(fingerprint), 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
    try {
      await handle.sync();
      return true;
    } finally {
      await handle.close();
    }
  }

  read(fingerprint: string, end?: number): Readable {
    return createReadStream(this.pathOf(fingerprint), { highWaterMark: 1 << 20, ...(end !== undefined ? { end: end - 1 } : {}) });
  }

  async remove(fingerprint: string): Promise<void> {
    await rm(this.pathOf(fingerprint), { force: true });
  }

  /**
   * Receives an upload body into a private file, hashing it on the way: never whole in
   * memory. Throws UploadTooLargeError past `maxBytes`, and whatever the body stream throws
   * when the client goes away; the partial file is removed either way.
   */
  async receive(body: AsyncIterable<Buffer>, maxBytes: number, headBytes: number): Promise<ReceivedUpload> {
    // The pid in the name says whose it is: `sweepUploads` removes those of dead processes.
    const path = join(this.dir, `upload-${process.pid}-${randomUUID()}.part`);
    const handle = await open(path, 'wx', 0o600);
    const hash = createHash('sha256');
    let size = 0;
    const head: Buffer[] = [];
    let headSize = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      if (pendingBytes === 0) return;
      const out = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      await handle.write(out);
    };
    try {
      for await (const chunk of body) {
        size += chunk.length;
        if (size > maxBytes) throw new UploadTooLargeError(maxBytes);
        if (headSize < headBytes) {
          head.push(chunk.subarray(0, headBytes - headSize));
          headSize += Math.min(chunk.length, headBytes - headSize);
        }
        hash.update(chunk);
        // Sockets hand over 16–64 KiB at a time; one write per MiB keeps syscalls off the path.
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (pendingBytes >= 1 << 20) await flush();
      }
      await flush();
      // No fsync: the file only bridges the request and the object store. The caller answers
      // 201 after the object store holds the bytes (checked against this hash); a crash before
      // that loses only a request the client did not see succeed and sends again.
      await handle.close();
    } catch (error) {
      await handle.close().catch(() => undefined);
      await rm(path, { force: true });
      throw error;
    }
    return { path, size, sha256: hash.digest('hex'), head: Buffer.concat(head) };
  }

  /** Upload files left by processes that died mid-upload (SIGKILL, power cut). Returns how many. */
  async sweepUploads(alive: (pid: number) => boolean): Promise<number> {
    let removed = 0;
    for (const name of await readdir(this.dir)) {
      const m = /^upload-(\d+)-[0-9a-f-]{36}\.part$/.exec(name);
      if (!m || alive(Number(m[1]))) continue;
      await rm(join(this.dir, name), { force: true });
      removed++;
    }
    return removed;
  }

  async discard(path: string): Promise<void> {
    await rm(path, { force: true });
  }

  async freeBytes(): Promise<number> {
    const s = await statfs(this.dir);
    return Number(s.bavail) * Number(s.bsize);
  }
}

export interface ReceivedUpload {
  path: string;
  size: number;
  sha256: string;
  /** The first bytes, to tell what the file is. */
  head: Buffer;
}

export class UploadTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`upload larger than ${maxBytes} bytes`);
    this.name = 'UploadTooLargeError';
  }
}

/**
 * Identity of one recording on one recorder across dockings: same recorder, same path
 * bytes, same size and modification time. If any of these changes, it is a new version.
 */
export function fingerprintOf(serial: string, rawPath: Buffer, size: number, mtimeMs: number): string {
  return createHash('sha256')
    .update(serial)
    .update('\0')
    .update(rawPath)
    .update('\0')
    .update(String(size))
    .update('\0')
    .update(String(Math.trunc(mtimeMs)))
    .digest('hex');
}
