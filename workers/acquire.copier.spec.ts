import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { copyWithDigests, CopyInterruptedError } from './acquire.copier.ts';

/** A source delivering `data` in chunks of `chunk` bytes, optionally failing after `failAfter` bytes. */
function source(data: Buffer, chunk: number, failAfter?: number): Readable {
  return Readable.from(
    (async function* () {
      for (let at = 0; at < data.length; at += chunk) {
        if (failAfter !== undefined && at >= failAfter) throw Object.assign(new Error('device gone'), { code: 'EIO' });
        yield data.subarray(at, Math.min(at + chunk, data.length));
      }
    })(),
    { objectMode: false },
  );
}

const hex = (algorithm: string, data: Buffer) => createHash(algorithm).update(data).digest('hex');

describe('copyWithDigests', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'evidock-copier-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('spools the bytes and digests them with SHA-256 inline and SM3 in a worker thread', async () => {
    const data = randomBytes((5 << 20) + 12345);
    const spoolPath = join(dir, 'a');
    const checkpoints: number[] = [];
    const result = await copyWithDigests({
      source: source(data, 256 << 10),
      spoolPath,
      resumeFrom: 0,
      spooledPrefix: null,
      algorithms: ['sha256', 'sm3'],
      checkpointBytes: 1 << 20,
      onCheckpoint: async (bytes) => void checkpoints.push(bytes),
    });
    expect(result).toEqual({ bytesFromSource: data.length, totalBytes: data.length, digests: { sha256: hex('sha256', data), sm3: hex('sm3', data) } });
    expect(readFileSync(spoolPath).equals(data)).toBe(true);
    // Checkpoints are reported in order, each at least a checkpoint apart, the last at the end.
    expect(checkpoints.length).toBeGreaterThanOrEqual(1);
    expect(checkpoints).toEqual([...checkpoints].sort((a, b) => a - b));
    expect(checkpoints.at(-1)).toBe(data.length);
    for (let i = 1; i < checkpoints.length - 1; i++) expect(checkpoints[i]! - checkpoints[i - 1]!).toBeGreaterThanOrEqual(1 << 20);
  });

  it('copies an empty recording', async () => {
    const result = await copyWithDigests({ source: source(Buffer.alloc(0), 1), spoolPath: join(dir, 'e'), resumeFrom: 0, spooledPrefix: null, algorithms: ['sha256', 'sm3'], checkpointBytes: 1 << 20 });
    expect(result.totalBytes).toBe(0);
    expect(result.digests).toEqual({ sha256: hex('sha256', Buffer.alloc(0)), sm3: hex('sm3', Buffer.alloc(0)) });
  });

  it('resumes: digests the spooled prefix, reads only the rest from the source', async () => {
    const data = randomBytes(3 << 20);
    const spoolPath = join(dir, 'r');
    const prefix = 1 << 20;
    writeFileSync(spoolPath, data.subarray(0, prefix));
    const result = await copyWithDigests({
      source: source(data.subarray(prefix), 100_000),
      spoolPath,
      resumeFrom: prefix,
      spooledPrefix: source(data.subarray(0, prefix), 65_536),
      algorithms: ['sha256', 'sm3'],
      checkpointBytes: 1 << 20,
    });
    expect(result.bytesFromSource).toBe(data.length - prefix);
    expect(result.totalBytes).toBe(data.length);
    expect(result.digests).toEqual({ sha256: hex('sha256', data), sm3: hex('sm3', data) });
    expect(readFileSync(spoolPath).equals(data)).toBe(true);
  });

  it('reports how much reached the spool when the source fails mid-copy', async () => {
    const data = randomBytes(4 << 20);
    const spoolPath = join(dir, 'i');
    const error = await copyWithDigests({
      source: source(data, 1 << 20, 2 << 20),
      spoolPath,
      resumeFrom: 0,
      spooledPrefix: null,
      algorithms: ['sha256', 'sm3'],
      checkpointBytes: 1 << 30,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CopyInterruptedError);
    expect((error as CopyInterruptedError).bytesOnDisk).toBe(2 << 20);
    expect(readFileSync(spoolPath).equals(data.subarray(0, 2 << 20))).toBe(true);
  });
});
