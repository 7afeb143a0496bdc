import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * Scratch space of one media job: a local copy of the original (tools need a seekable
 * file) and the derivatives being made. Removed when the job ends, whatever happened.
 */
export interface Workspace {
  dir: string;
  path(name: string): string;
  /** Writes the stream to `name`; aborting `signal` destroys both ends and rejects with its AbortError. */
  write(name: string, source: Readable, signal?: AbortSignal): Promise<number>;
  list(prefix: string): Promise<string[]>;
  read(name: string): Readable;
  digest(name: string): Promise<{ sha256: string; size: number }>;
  dispose(): Promise<void>;
}

export class MediaWorkspaces {
  constructor(private readonly root: string) {}

  async create(label: string): Promise<Workspace> {
    const dir = join(this.root, `${label.replace(/[^0-9a-f-]/gi, '')}-${randomUUID().slice(0, 8)}`);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return {
      dir,
      path: (name) => join(dir, name),
      async write(name, source, signal) {
        await pipeline(source, createWriteStream(join(dir, name), { mode: 0o600 }), signal ? { signal } : {});
        return (await stat(join(dir, name))).size;
      },
      async list(prefix) {
        return (await readdir(dir)).filter((f) => f.startsWith(prefix)).sort().map((f) => join(dir, f));
      },
      read: (name) => createReadStream(join(dir, name)),
      async digest(name) {
        const hash = createHash('sha256');
        let size = 0;
        for await (const chunk of createReadStream(join(dir, name)) as AsyncIterable<Buffer>) {
          hash.update(chunk);
          size += chunk.length;
        }
        return { sha256: hash.digest('hex'), size };
      },
      async dispose() {
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
}
