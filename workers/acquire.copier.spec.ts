import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { newSealKey, Sealer, type SealKey } from '../storage/spool-seal.ts';
import { copyWithDigests, CopyInterruptedError, endIdleCopyThreads, type CopyRequest, type CopyResult } from './acquire.copier.ts';

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
const sealOf = (key: SealKey, data: Buffer) => {
  const s = new Sealer(key);
  s.update(data);
  return s.tag();
};

/** A resumed copy read only the rest from the source, and spooled and digested all of `data`. */
function expectResumed(result: CopyResult, data: Buffer, prefix: number, spoolPath: string): void {
  expect(result.bytesFromSource).toBe(data.length - prefix);
  expect(result.totalBytes).toBe(data.length);
  expect(result.digests).toEqual({ sha256: hex('sha256', data), sm3: hex('sm3', data) });
  expect(readFileSync(spoolPath).equals(data)).toBe(true);
  // The resumed prefix was durable before the copy began; no more is claimed than was synced.
  expect(result.durableBytes).toBeGreaterThanOrEqual(prefix);
}

/** Checkpoints come in order, each a checkpoint's bytes past the last, and the result claims only the last as durable. */
function expectCheckpoints(checkpoints: number[], result: CopyResult, every: number): void {
  expect(checkpoints).toEqual([...checkpoints].sort((a, b) => a - b));
  checkpoints.forEach((c, i) => expect(c - (checkpoints[i - 1] ?? 0)).toBeGreaterThanOrEqual(every));
  expect(result.durableBytes).toBe(checkpoints.at(-1) ?? 0);
}

describe('copyWithDigests', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'evidock-copier-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('spools the bytes and digests them with SHA-256 inline and SM3 in a worker thread, and seals them', async () => {
    const data = randomBytes((5 << 20) + 12345);
    const spoolPath = join(dir, 'a');
    const checkpoints: number[] = [];
    const seal = newSealKey();
    const result = await copyWithDigests({
      seal,
      source: source(data, 256 << 10),
      spoolPath,
      resumeFrom: 0,
      algorithms: ['sha256', 'sm3'],
      checkpointBytes: 1 << 20,
      onCheckpoint: async (bytes) => void checkpoints.push(bytes),
    });
    expect(result).toMatchObject({ bytesFromSource: data.length, totalBytes: data.length, digests: { sha256: hex('sha256', data), sm3: hex('sm3', data) } });
    expect(result.sealTag).toBe(sealOf(seal, data));
    expect(readFileSync(spoolPath).equals(data)).toBe(true);
    expect(checkpoints.length).toBeGreaterThanOrEqual(1);
    expectCheckpoints(checkpoints, result, 1 << 20);
  });

  it('copies an empty recording', async () => {
    const result = await copyWithDigests({ source: source(Buffer.alloc(0), 1), spoolPath: join(dir, 'e'), resumeFrom: 0, algorithms: ['sha256', 'sm3'], checkpointBytes: 1 << 20 });
    expect(result.totalBytes).toBe(0);
    expect(result.digests).toEqual({ sha256: hex('sha256', Buffer.alloc(0)), sm3: hex('sm3', Buffer.alloc(0)) });
  });

  it('resumes: digests the spooled prefix, reads only the rest from the source', async () => {
    const data = randomBytes(3 << 20);
    const spoolPath = join(dir, 'r');
    const prefix = 1 << 20;
    writeFileSync(spoolPath, data.subarray(0, prefix));
    const seal = newSealKey();
    const result = await copyWithDigests({
      source: source(data.subarray(prefix), 100_000),
      spoolPath,
      resumeFrom: prefix,
      algorithms: ['sha256', 'sm3'],
      checkpointBytes: 1 << 20,
      seal,
    });
    expectResumed(result, data, prefix, spoolPath);
    expect(result.sealTag).toBe(sealOf(seal, data));
  });

  it('reports how much reached the spool when the source fails mid-copy', async () => {
    const data = randomBytes(4 << 20);
    const spoolPath = join(dir, 'i');
    const error = await copyWithDigests({
      source: source(data, 1 << 20, 2 << 20),
      spoolPath,
      resumeFrom: 0,
      algorithms: ['sha256', 'sm3'],
      checkpointBytes: 1 << 30,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CopyInterruptedError);
    expect((error as CopyInterruptedError).bytesOnDisk).toBe(2 << 20);
    expect(readFileSync(spoolPath).equals(data.subarray(0, 2 << 20))).toBe(true);
  });

  it('ends a copy whose stream gives nothing for stallMs as interrupted (ETIMEDOUT), keeping what was spooled', async () => {
    const first = randomBytes(300_000);
    // A recorder that answers once and then never again.
    const hung = new Readable({ read() {} });
    hung.push(first);
    const error = await copyWithDigests({ source: hung, spoolPath: join(dir, 'hung'), resumeFrom: 0, algorithms: ['sha256'], checkpointBytes: 1 << 20, stallMs: 200 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CopyInterruptedError);
    expect(((error as CopyInterruptedError).cause as NodeJS.ErrnoException).code).toBe('ETIMEDOUT');
    expect((error as CopyInterruptedError).bytesOnDisk).toBe(first.length);
    expect(readFileSync(join(dir, 'hung')).equals(first)).toBe(true);
    expect(hung.destroyed).toBe(true);
  });

  it('stops a stream copy when its signal is aborted (the process is stopping), keeping what was spooled', async () => {
    const first = randomBytes(300_000);
    const slow = new Readable({ read() {} });
    slow.push(first);
    const stopping = new AbortController();
    const copying = copyWithDigests({
      source: slow,
      spoolPath: join(dir, 'stopped'),
      resumeFrom: 0,
      algorithms: ['sha256', 'sm3'],
      checkpointBytes: 1 << 20,
      signal: stopping.signal,
      onProgress: () => stopping.abort(),
    });
    const error = await copying.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CopyInterruptedError);
    expect((error as CopyInterruptedError).cause).toMatchObject({ name: 'AbortError' });
    expect((error as CopyInterruptedError).bytesOnDisk).toBe(first.length);
    expect(readFileSync(join(dir, 'stopped')).equals(first)).toBe(true);
    expect(slow.destroyed).toBe(true);
  });

  describe('from a file handle (the copy thread)', () => {
    const fileOf = (name: string, data: Buffer) => {
      const path = join(dir, name);
      writeFileSync(path, data);
      return open(path, 'r');
    };

    it('spools, digests and seals the file, reports checkpoints in order and closes the handle', async () => {
      const data = randomBytes((9 << 20) + 4321);
      const spoolPath = join(dir, 'spooled');
      const source = await fileOf('rec', data);
      const checkpoints: number[] = [];
      const progress: number[] = [];
      const seal = newSealKey();
      const result = await copyWithDigests({
        seal,
        source,
        spoolPath,
        resumeFrom: 0,
        algorithms: ['sha256', 'sm3'],
        checkpointBytes: 1 << 20,
        onCheckpoint: async (bytes) => void checkpoints.push(bytes),
        onProgress: (bytes) => progress.push(bytes),
      });
      expect(result).toMatchObject({ bytesFromSource: data.length, totalBytes: data.length, digests: { sha256: hex('sha256', data), sm3: hex('sm3', data) } });
      expect(result.sealTag).toBe(sealOf(seal, data));
      expect(readFileSync(spoolPath).equals(data)).toBe(true);
      expect(checkpoints.length).toBeGreaterThanOrEqual(1);
      expectCheckpoints(checkpoints, result, 1 << 20);
      expect(progress.length).toBeGreaterThanOrEqual(1);
      expect(progress.every((b) => b > 0 && b <= data.length)).toBe(true);
      // The copier consumed the handle: it is closed.
      expect(source.fd).toBe(-1);
    });

    it('ends its idle threads on request (an upload starts with nothing acquired), and the next copy starts new ones', async () => {
      const threads = () => Number(/^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]);
      const data = randomBytes(1 << 20);
      const copy = async (name: string) =>
        copyWithDigests({ source: await fileOf(name, data), spoolPath: join(dir, `${name}.spool`), resumeFrom: 0, algorithms: ['sha256'], checkpointBytes: 1 << 20 });
      await copy('one');
      const kept = threads();
      endIdleCopyThreads();
      // The copy thread and its SHA-256 digest thread are gone.
      await vi.waitFor(() => expect(threads()).toBeLessThanOrEqual(kept - 2), { timeout: 3_000 });
      expect((await copy('two')).digests).toEqual({ sha256: hex('sha256', data) });
    });

    it('copies two files at once (the second hashes SHA-256 on its copy thread, the first beside it), each digested and sealed right', async () => {
      const a = randomBytes((6 << 20) + 1);
      const b = randomBytes((5 << 20) + 7);
      const seal = newSealKey();
      const copy = async (name: string, data: Buffer) =>
        copyWithDigests({ source: await fileOf(name, data), spoolPath: join(dir, `${name}.spool`), resumeFrom: 0, algorithms: ['sha256', 'sm3'], checkpointBytes: 1 << 20, seal });
      const [ra, rb] = await Promise.all([copy('a', a), copy('b', b)]);
      expect(ra.digests).toEqual({ sha256: hex('sha256', a), sm3: hex('sm3', a) });
      expect(rb.digests).toEqual({ sha256: hex('sha256', b), sm3: hex('sm3', b) });
      expect([ra.sealTag, rb.sealTag]).toEqual([sealOf(seal, a), sealOf(seal, b)]);
      expect(readFileSync(join(dir, 'a.spool')).equals(a) && readFileSync(join(dir, 'b.spool')).equals(b)).toBe(true);
    });

    it('copies an empty file', async () => {
      const result = await copyWithDigests({ source: await fileOf('empty', Buffer.alloc(0)), spoolPath: join(dir, 'e'), resumeFrom: 0, algorithms: ['sha256'], checkpointBytes: 1 << 20 });
      expect(result).toEqual({ bytesFromSource: 0, totalBytes: 0, durableBytes: 0, digests: { sha256: hex('sha256', Buffer.alloc(0)) } });
    });

    it('makes no checkpoint before checkpointMs, and none at the end: only the resumed prefix is claimed durable', async () => {
      const data = randomBytes((6 << 20) + 3);
      const spoolPath = join(dir, 'fast');
      const prefix = 1 << 20;
      writeFileSync(spoolPath, data.subarray(0, prefix));
      const checkpoints: number[] = [];
      const result = await copyWithDigests({
        source: await fileOf('rec', data),
        spoolPath,
        resumeFrom: prefix,
        algorithms: ['sha256'],
        checkpointBytes: 1 << 20,
        checkpointMs: 3_600_000,
        onCheckpoint: async (bytes) => void checkpoints.push(bytes),
      });
      expect(checkpoints).toEqual([]);
      expect(result).toMatchObject({ totalBytes: data.length, durableBytes: prefix, digests: { sha256: hex('sha256', data) } });
      expect(readFileSync(spoolPath).equals(data)).toBe(true);
    });

    it('resumes: re-hashes the spooled prefix and reads only the rest of the file', async () => {
      const data = randomBytes((3 << 20) + 17);
      const spoolPath = join(dir, 'r');
      const prefix = (1 << 20) + 5;
      writeFileSync(spoolPath, data.subarray(0, prefix));
      const seal = newSealKey();
      const result = await copyWithDigests({ source: await fileOf('rec', data), spoolPath, resumeFrom: prefix, algorithms: ['sha256', 'sm3'], checkpointBytes: 1 << 20, seal });
      expectResumed(result, data, prefix, spoolPath);
      // The seal covers the re-hashed prefix too: it is over every spooled byte.
      expect(result.sealTag).toBe(sealOf(seal, data));
    });

    it('refuses a resume whose spooled prefix is short, and the next copy still digests correctly', async () => {
      const data = randomBytes(2 << 20);
      const spoolPath = join(dir, 'short');
      writeFileSync(spoolPath, data.subarray(0, 1 << 20));
      const error = await copyWithDigests({ source: await fileOf('rec', data), spoolPath, resumeFrom: (1 << 20) + 1, algorithms: ['sha256', 'sm3'], checkpointBytes: 1 << 20 }).catch((e: unknown) => e);
      expect((error as Error).message).toBe(`spooled prefix is ${1 << 20} bytes, expected ${(1 << 20) + 1}`);
      // The SM3 thread had taken in the prefix; the copy thread must not reuse that state.
      const result = await copyWithDigests({ source: await fileOf('rec2', data), spoolPath: join(dir, 'ok'), resumeFrom: 0, algorithms: ['sha256', 'sm3'], checkpointBytes: 1 << 20 });
      expect(result.digests).toEqual({ sha256: hex('sha256', data), sm3: hex('sm3', data) });
    });

    /**
     * A copy from a FIFO opened read-write, whose reads block in the kernel as a hung USB
     * device's do, given up on as `options` say; `during` runs while it waits. The thread is
     * still blocked in its read, so its descriptor stays open until the "device" answers at
     * last: then the thread stops instead of writing, exits, and the handle is closed.
     */
    async function givenUpInHungRead(name: string, options: Partial<CopyRequest>, during?: () => void): Promise<CopyInterruptedError> {
      const fifo = join(dir, `fifo-${name}`);
      execFileSync('mkfifo', [fifo]);
      const source = await open(fifo, 'r+');
      const copying = copyWithDigests({ source, spoolPath: join(dir, name), resumeFrom: 0, algorithms: ['sha256'], checkpointBytes: 1 << 20, ...options }).catch((e: unknown) => e);
      during?.();
      const error = await copying;
      expect(error).toBeInstanceOf(CopyInterruptedError);
      expect((error as CopyInterruptedError).bytesOnDisk).toBe(0);
      expect(source.fd).not.toBe(-1);
      await writeFile(fifo, 'late bytes');
      await vi.waitFor(() => expect(source.fd).toBe(-1), { timeout: 10_000 });
      expect(readFileSync(join(dir, name)).length).toBe(0);
      return error as CopyInterruptedError;
    }

    it('gives up on a read that hangs after stallMs (ETIMEDOUT), and closes the handles only once the thread is out of it', async () => {
      const error = await givenUpInHungRead('stalled', { stallMs: 300 });
      expect((error.cause as NodeJS.ErrnoException).code).toBe('ETIMEDOUT');
    });

    it('stops before its next read when its signal is aborted, keeping what was spooled, and the thread serves the next copy', async () => {
      // A FIFO: the copy reads what the test writes, and waits in the kernel for more.
      const fifo = join(dir, 'fifo-stop');
      execFileSync('mkfifo', [fifo]);
      const source = await open(fifo, 'r+');
      const first = randomBytes(5 << 20);
      const stopping = new AbortController();
      let reported = 0;
      const copying = copyWithDigests({
        source,
        spoolPath: join(dir, 's'),
        resumeFrom: 0,
        algorithms: ['sha256', 'sm3'],
        checkpointBytes: 1 << 30,
        signal: stopping.signal,
        onProgress: (bytes) => (reported = bytes),
      }).catch((e: unknown) => e);
      const writer = await open(fifo, 'w');
      await writer.write(first);
      await vi.waitFor(() => expect(reported).toBeGreaterThan(0), { timeout: 10_000 });
      stopping.abort();
      // If the thread is waiting in a read, what it reads now is not written; if it had not
      // got there yet, it has stopped and closed the FIFO (EPIPE).
      await writer.write(randomBytes(1000)).catch((e: NodeJS.ErrnoException) => expect(e.code).toBe('EPIPE'));
      const error = await copying;
      await writer.close();
      expect(error).toBeInstanceOf(CopyInterruptedError);
      expect((error as CopyInterruptedError).cause).toMatchObject({ name: 'AbortError' });
      const kept = (error as CopyInterruptedError).bytesOnDisk;
      expect(kept).toBeGreaterThanOrEqual(reported);
      expect(kept).toBeLessThanOrEqual(first.length);
      expect(readFileSync(join(dir, 's')).equals(first.subarray(0, kept))).toBe(true);
      expect(source.fd).toBe(-1);
      const data = randomBytes(3 << 20);
      const next = await copyWithDigests({ source: await fileOf('after-stop', data), spoolPath: join(dir, 'n'), resumeFrom: 0, algorithms: ['sha256', 'sm3'], checkpointBytes: 1 << 20 });
      expect(next.digests).toEqual({ sha256: hex('sha256', data), sm3: hex('sm3', data) });
    });

    it('does not wait for a read that hangs when its process is stopping: gives it up after a grace period, as a stopped copy', async () => {
      const stopping = new AbortController();
      const error = await givenUpInHungRead('stopped-hung', { signal: stopping.signal }, () => setTimeout(() => stopping.abort(), 100));
      expect(error.cause).toMatchObject({ name: 'AbortError' });
    });

    it('reports a read error as an interrupted copy with its code, keeping the spool', async () => {
      // A directory opens for reading but every read fails (EISDIR), as a dead device fails with EIO.
      mkdirSync(join(dir, 'not-a-file'));
      const source = await open(join(dir, 'not-a-file'), 'r');
      const error = await copyWithDigests({ source, spoolPath: join(dir, 'i'), resumeFrom: 0, algorithms: ['sha256'], checkpointBytes: 1 << 20 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CopyInterruptedError);
      expect((error as CopyInterruptedError).bytesOnDisk).toBe(0);
      expect(((error as CopyInterruptedError).cause as NodeJS.ErrnoException).code).toBe('EISDIR');
      expect(readFileSync(join(dir, 'i')).length).toBe(0);
      expect(source.fd).toBe(-1);
    });
  });
});
