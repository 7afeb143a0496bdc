import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { open, rm, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { tarHeader, tarPadding, tarSize, TAR_BLOCK } from '../archive/tar-format.ts';

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

  /** The folder as one ustar archive: its length, and a stream of it read file by file (never all in memory). */
  tar(): { size: number; stream: Readable } {
    const files = this.files();
    const root = this.root;
    async function* blocks(): AsyncGenerator<Buffer> {
      for (const f of files) {
        yield tarHeader(f);
        let sent = 0;
        for await (const chunk of createReadStream(join(root, f.name))) {
          sent += (chunk as Buffer).length;
          yield chunk as Buffer;
        }
        // A file that changed under us would corrupt every entry after it.
        if (sent !== f.size) throw new ExportDestinationError(`${f.name} changed while it was being sent (${sent} of ${f.size} bytes)`);
        const pad = tarPadding(f.size);
        if (pad > 0) yield Buffer.alloc(pad);
      }
      yield Buffer.alloc(2 * TAR_BLOCK);
    }
    return { size: tarSize(files.map((f) => f.size)), stream: Readable.from(blocks(), { objectMode: false }) };
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
