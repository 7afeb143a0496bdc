import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { open, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ZipFile } from 'yazl';

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

  /** A fresh folder under `parent` for a package that is downloaded, then removed. */
  static temporary(parent: string): ExportFolder {
    return ExportFolder.create(join(parent, randomUUID()));
  }

  /** The files written, relative and sorted (manifest and sums beside the media). */
  files(): Array<{ name: string; size: number; mtimeSeconds: number }> {
    const out: Array<{ name: string; size: number; mtimeSeconds: number }> = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.isFile()) {
          const st = statSync(path);
          out.push({ name: relative(this.root, path).split('\\').join('/'), size: st.size, mtimeSeconds: st.mtimeMs / 1000 });
        }
      }
    };
    walk(this.root);
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * The folder as one .zip under a top-level folder `top` (how a bag travels, RFC 8493 §4.2),
   * stored without compression (video does not shrink, and the length is then known before
   * the first byte: a download shows its progress), read file by file, never all in memory.
   * UTF-8 names, ZIP64 where a case passes 4 GiB.
   */
  zip(top: string): { size: Promise<number>; stream: Readable } {
    const zip = new ZipFile();
    for (const f of this.files()) {
      const path = join(this.root, f.name);
      zip.addReadStreamLazy(`${top}/${f.name}`, { size: f.size, compress: false, mtime: new Date(f.mtimeSeconds * 1000), mode: 0o100644 }, (cb) => cb(null, createReadStream(path)));
    }
    // yazl 3 passes the total to this callback (its @types still declare none); -1 if unknown.
    const finish = zip as unknown as { end(options: { forceZip64Format: boolean; comment: string }, sized: (total: number) => void): void };
    const size = new Promise<number>((resolveSize) => finish.end({ forceZip64Format: false, comment: '' }, (total) => resolveSize(total)));
    return { size, stream: zip.outputStream as Readable };
  }

  /** Where `--zip` may write: a .zip path that does not exist yet (checked before anything is read from storage). */
  static zipTarget(file: string): string {
    const target = resolve(file);
    if (!target.toLowerCase().endsWith('.zip')) throw new ExportDestinationError(`${target} does not end in .zip`);
    if (existsSync(target)) throw new ExportDestinationError(`${target} exists`);
    return target;
  }

  /** Writes the zip to `file` (which must not exist), durably: a crash leaves only `file.partial`. Returns its length and SHA-256. */
  async writeZip(file: string, top: string): Promise<{ size: number; sha256: string }> {
    const target = ExportFolder.zipTarget(file);
    const partial = `${target}.partial`;
    const { stream } = this.zip(top);
    const hash = createHash('sha256');
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      size += chunk.length;
    });
    await pipeline(stream, createWriteStream(partial, { flags: 'wx' }));
    await this.fsync(partial);
    await rename(partial, target);
    return { size, sha256: hash.digest('hex') };
  }

  /** Removes a file made from an export (a zip once stored elsewhere). */
  static async removeFile(path: string): Promise<void> {
    await rm(path, { force: true });
  }

  async remove(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
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
