import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { open, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export class ExportDestinationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExportDestinationError';
  }
}

/**
 * The folder a case export is written to (a USB disk for the archive room, a share for
 * the legal office). Only paths inside it can be written; every file is hashed as it is
 * written and fsynced, so the manifest states what is really on the disk.
 */
export class ExportFolder {
  private constructor(readonly root: string) {}

  /** A new or empty folder: an export never mixes with, or overwrites, another. */
  static create(dir: string): ExportFolder {
    const root = resolve(dir);
    if (existsSync(root) && readdirSync(root).length > 0) throw new ExportDestinationError(`${root} is not empty`);
    mkdirSync(root, { recursive: true });
    return new ExportFolder(root);
  }

  async writeStream(relPath: string, source: Readable): Promise<{ sha256: string; size: number }> {
    const path = this.inside(relPath);
    mkdirSync(dirname(path), { recursive: true });
    const hash = createHash('sha256');
    let size = 0;
    source.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      size += chunk.length;
    });
    await pipeline(source, createWriteStream(path, { flags: 'wx' }));
    await this.fsync(path);
    return { sha256: hash.digest('hex'), size };
  }

  async writeText(relPath: string, text: string): Promise<void> {
    const path = this.inside(relPath);
    mkdirSync(dirname(path), { recursive: true });
    await writeFile(path, text, { flag: 'wx' });
    await this.fsync(path);
  }

  private async fsync(path: string): Promise<void> {
    const handle = await open(path, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  private inside(relPath: string): string {
    const path = resolve(this.root, relPath);
    const rel = relative(this.root, path);
    if (isAbsolute(relPath) || rel.startsWith('..') || rel === '') throw new ExportDestinationError(`refusing to write outside the export folder: ${relPath}`);
    return path;
  }
}
