import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rm, stat, statfs, truncate } from 'node:fs/promises';
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

  async freeBytes(): Promise<number> {
    const s = await statfs(this.dir);
    return Number(s.bavail) * Number(s.bsize);
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
