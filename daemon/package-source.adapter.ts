import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import type { PackageSource } from '../archive/package-verify.service.ts';

async function sha256Of(stream: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** A bag in a folder. Links are reported, never followed: a package holds its own bytes. */
export class FolderPackage implements PackageSource {
  readonly name: string;

  constructor(private readonly root: string) {
    this.name = root;
  }

  async list(): Promise<{ files: Array<{ path: string; size: number }>; irregular: string[] }> {
    const files: Array<{ path: string; size: number }> = [];
    const irregular: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        const rel = relative(this.root, path).split('\\').join('/');
        if (entry.isDirectory()) walk(path);
        else if (entry.isFile()) files.push({ path: rel, size: lstatSync(path).size });
        else irregular.push(rel);
      }
    };
    walk(this.root);
    return { files, irregular };
  }

  async readText(path: string): Promise<string> {
    return readFileSync(join(this.root, path), 'utf8');
  }

  async sha256(path: string): Promise<string> {
    return sha256Of(createReadStream(join(this.root, path)));
  }
}

/**
 * A bag serialized as .zip (RFC 8493 §4.2: one top-level folder named like the bag). Read
 * in place through the central directory, without unpacking a case's gigabytes first.
 */
export class ZipPackage implements PackageSource {
  readonly name: string;
  private entries = new Map<string, yauzl.Entry>();
  private top = '';

  private constructor(
    private readonly zip: yauzl.ZipFile,
    file: string,
  ) {
    this.name = basename(file);
  }

  static async open(file: string): Promise<ZipPackage> {
    const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
      yauzl.open(file, { lazyEntries: true, autoClose: false, strictFileNames: true, validateEntrySizes: true }, (err, z) => (err ? reject(err) : resolve(z))),
    );
    const pkg = new ZipPackage(zip, file);
    const all: yauzl.Entry[] = [];
    await new Promise<void>((resolve, reject) => {
      zip.on('entry', (entry: yauzl.Entry) => {
        all.push(entry);
        zip.readEntry();
      });
      zip.on('end', () => resolve());
      zip.on('error', reject);
      zip.readEntry();
    });
    const tops = new Set(all.map((e) => e.fileName.split('/')[0]));
    pkg.top = tops.size === 1 && all.every((e) => e.fileName.includes('/')) ? `${[...tops][0]}/` : '';
    for (const e of all) if (!e.fileName.endsWith('/')) pkg.entries.set(e.fileName.slice(pkg.top.length), e);
    return pkg;
  }

  async list(): Promise<{ files: Array<{ path: string; size: number }>; irregular: string[] }> {
    const files: Array<{ path: string; size: number }> = [];
    const irregular: string[] = [];
    for (const [path, e] of this.entries) {
      // Unix mode in the high 16 bits of the external attributes: a symlink entry is 0o120000.
      const type = (e.externalFileAttributes >>> 16) & 0o170000;
      if (type !== 0 && type !== 0o100000) irregular.push(path);
      else files.push({ path, size: e.uncompressedSize });
    }
    return { files, irregular };
  }

  async readText(path: string): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of await this.stream(path)) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  async sha256(path: string): Promise<string> {
    return sha256Of(await this.stream(path));
  }

  close(): void {
    this.zip.close();
  }

  private stream(path: string): Promise<Readable> {
    const entry = this.entries.get(path);
    if (!entry) throw new Error(`${path} is not in ${this.name}`);
    return new Promise((resolve, reject) => this.zip.openReadStream(entry, (err, s) => (err ? reject(err) : resolve(s))));
  }
}

export type OpenedPackage = PackageSource & { close(): void };

/** A folder is read as a bag; any other file as a zipped one. */
export async function openPackage(path: string): Promise<OpenedPackage> {
  const full = resolve(path);
  if (statSync(full).isDirectory()) return Object.assign(new FolderPackage(full), { close: () => undefined });
  return ZipPackage.open(full);
}
