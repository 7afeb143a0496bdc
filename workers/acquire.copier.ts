import { createHash, type Hash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';

/**
 * The one pass over a recording: bytes come off the recorder once, are digested on the
 * way, and land in the spool. Resuming re-hashes the bytes already spooled (a local disk
 * read) instead of reading them from the recorder again.
 *
 * Why it is shaped this way (measured, docs/benchmarks.md): a read → hash → write →
 * fsync chain where each step waits for the one before ran at a quarter of `cp`. Here the
 * three run beside each other:
 * - reading is the source stream's own read-ahead;
 * - SHA-256 (≈ 1.3 GB/s with SHA-NI, faster than the bus) runs on this thread, chunk by
 *   chunk as they arrive;
 * - every other algorithm (SM3, ≈ 150–250 MB/s) runs in its own worker thread on a shared
 *   copy of each chunk, so a slow digest costs a core, not the copy's time; at most
 *   HASH_WINDOW_BYTES are waiting for it;
 * - spool writes are queued (at most WRITE_WINDOW_BYTES) and written in order by one writer
 *   loop with writev, so hashing the next chunk never waits for the disk;
 * - the checkpoint fsync is started in the background every `checkpointBytes` and
 *   reported when it completes, so the copy never stops for the disk to catch up; only if
 *   a checkpoint is still syncing when the next one is due does the copy wait for it.
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
  /**
   * Start an fsync this often and report it (onCheckpoint) once durable. The copy goes on
   * while it syncs and waits only if the previous one has not finished, so a crash loses at
   * most twice this much copying.
   */
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

/** A digest worker thread failed or exited before it gave its digest. */
export class DigestWorkerError extends Error {
  constructor(
    readonly algorithm: HashAlgorithm,
    options: { cause: unknown },
  ) {
    super(`${algorithm} digest worker failed: ${(options.cause as Error)?.message ?? String(options.cause)}`, options);
    this.name = 'DigestWorkerError';
  }
}

/** Algorithms digested on the copying thread; the rest get a worker thread each. */
const INLINE_ALGORITHMS: ReadonlySet<HashAlgorithm> = new Set(['sha256']);
/** Bytes handed to a digest worker and not yet digested before the copy waits for it. */
const HASH_WINDOW_BYTES = 32 << 20;
/**
 * Bytes queued for the spool and not yet written before the copy waits for the disk. 8 MiB
 * keeps the hashing ahead of the disk; 16 MiB let the daemon's peak RSS reach 206 MiB on a
 * 4 GiB file (docs/performance-limits.md).
 */
const WRITE_WINDOW_BYTES = 8 << 20;

export async function copyWithDigests(request: CopyRequest): Promise<CopyResult> {
  const digesters = new Digesters(request.algorithms);
  try {
    if (request.resumeFrom > 0) {
      if (!request.spooledPrefix) throw new Error('resume without the spooled prefix to re-hash');
      let seen = 0;
      for await (const chunk of request.spooledPrefix as AsyncIterable<Buffer>) {
        await digesters.update(chunk);
        seen += chunk.length;
      }
      if (seen !== request.resumeFrom) throw new Error(`spooled prefix is ${seen} bytes, expected ${request.resumeFrom}`);
    }

    const handle = await open(request.spoolPath, request.resumeFrom > 0 ? 'a' : 'w', 0o600);
    const writer = new SpoolWriter(handle, request.resumeFrom, request.checkpointBytes, request.onCheckpoint, request.onProgress);
    let fromSource = 0;
    try {
      for await (const chunk of request.source as AsyncIterable<Buffer>) {
        fromSource += chunk.length;
        await digesters.update(chunk);
        await writer.write(chunk);
      }
      await writer.finish();
    } catch (error) {
      // Whatever reached the disk is kept for the next attempt; make it durable first.
      await writer.abandon();
      await handle.close().catch(() => undefined);
      if (error instanceof DigestWorkerError) throw error;
      throw new CopyInterruptedError(writer.bytesOnDisk, { cause: error });
    }
    await handle.close();
    return { bytesFromSource: fromSource, totalBytes: writer.bytesOnDisk, digests: await digesters.digest() };
  } finally {
    digesters.close();
  }
}

/** The digests of one copy: inline hashes and worker threads behind one update(). */
class Digesters {
  private readonly inline: Array<[HashAlgorithm, Hash]> = [];
  private readonly threads: DigestThread[] = [];

  constructor(algorithms: readonly HashAlgorithm[]) {
    for (const algorithm of new Set(algorithms)) {
      if (INLINE_ALGORITHMS.has(algorithm)) this.inline.push([algorithm, createHash(algorithm)]);
      else this.threads.push(DigestThread.take(algorithm));
    }
  }

  /** Digests the chunk inline and hands it to the workers; waits only if a worker is a window behind. */
  async update(chunk: Buffer): Promise<void> {
    if (this.threads.length > 0) {
      // One shared copy for all workers: the caller reuses or writes `chunk` meanwhile.
      const shared = new Uint8Array(new SharedArrayBuffer(chunk.length));
      shared.set(chunk);
      for (const t of this.threads) t.post(shared);
    }
    for (const [, h] of this.inline) h.update(chunk);
    for (const t of this.threads) await t.belowWindow();
  }

  async digest(): Promise<Partial<Record<HashAlgorithm, string>>> {
    const digests: Partial<Record<HashAlgorithm, string>> = {};
    for (const [algorithm, h] of this.inline) digests[algorithm] = h.digest('hex');
    const fromThreads = await Promise.all(this.threads.map((t) => t.digest()));
    this.threads.forEach((t, i) => (digests[t.algorithm] = fromThreads[i]));
    return digests;
  }

  /** Threads that gave their digest go back to the idle set; any other is ended. */
  close(): void {
    for (const t of this.threads) t.release();
  }
}

/** Idle digest threads kept for the next copy: starting one costs tens of milliseconds. */
const IDLE_THREADS_PER_ALGORITHM = 4;
const idleThreads = new Map<HashAlgorithm, DigestThread[]>();

class DigestThread {
  private readonly worker: Worker;
  private pendingBytes = 0;
  private failure: DigestWorkerError | null = null;
  private waiter: (() => void) | null = null;
  private onDigest: ((hex: string) => void) | null = null;
  private onFailure: ((error: DigestWorkerError) => void) | null = null;

  private digested = false;

  /** An idle thread for the algorithm, or a new one. */
  static take(algorithm: HashAlgorithm): DigestThread {
    const thread = idleThreads.get(algorithm)?.pop() ?? new DigestThread(algorithm);
    thread.worker.ref();
    return thread;
  }

  private constructor(readonly algorithm: HashAlgorithm) {
    // execArgv []: the thread is plain JavaScript and needs no tsx loader (which would make
    // each start take ~200 ms more).
    this.worker = new Worker(new URL('./digest.thread.js', import.meta.url), { workerData: { algorithm }, execArgv: [] });
    this.worker.on('message', (message: { done?: number; digest?: string }) => {
      if (message.done !== undefined) this.pendingBytes -= message.done;
      if (message.digest !== undefined) this.onDigest?.(message.digest);
      this.wake();
    });
    this.worker.on('error', (cause) => this.fail(cause));
    this.worker.on('exit', (code) => {
      this.fail(new Error(`exited with code ${code}`));
      const idle = idleThreads.get(this.algorithm);
      if (idle?.includes(this)) idle.splice(idle.indexOf(this), 1);
    });
  }

  post(chunk: Uint8Array): void {
    if (this.failure) throw this.failure;
    this.pendingBytes += chunk.byteLength;
    this.worker.postMessage({ chunk });
  }

  async belowWindow(): Promise<void> {
    while (this.pendingBytes > HASH_WINDOW_BYTES) {
      if (this.failure) throw this.failure;
      await new Promise<void>((r) => (this.waiter = r));
    }
    if (this.failure) throw this.failure;
  }

  digest(): Promise<string> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<string>((resolve, reject) => {
      this.onDigest = (hex) => {
        this.digested = true;
        resolve(hex);
      };
      this.onFailure = reject;
      this.worker.postMessage({ final: true });
    });
  }

  /** Back to the idle set once it has given its digest (it has then started afresh); else ended. */
  release(): void {
    const idle = idleThreads.get(this.algorithm) ?? [];
    if (this.digested && !this.failure && this.pendingBytes === 0 && idle.length < IDLE_THREADS_PER_ALGORITHM) {
      this.digested = false;
      this.onDigest = null;
      this.onFailure = null;
      this.waiter = null;
      // An idle thread never keeps the process alive.
      this.worker.unref();
      idle.push(this);
      idleThreads.set(this.algorithm, idle);
      return;
    }
    this.worker.removeAllListeners('exit');
    void this.worker.terminate();
  }

  private fail(cause: unknown): void {
    this.failure ??= new DigestWorkerError(this.algorithm, { cause });
    this.onFailure?.(this.failure);
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }
}

/**
 * Writes the spool file in order from a bounded queue, and keeps at most one checkpoint
 * fsync running beside the writes. `bytesOnDisk` counts bytes the kernel accepted.
 */
class SpoolWriter {
  bytesOnDisk: number;
  private queued: Buffer[] = [];
  private queuedBytes = 0;
  private writing: Promise<void> | null = null;
  private writeError: unknown = null;
  private spaceWaiter: (() => void) | null = null;
  /** Bytes on disk when the last checkpoint fsync was started. */
  private lastCheckpoint: number;
  private syncing: Promise<void> | null = null;
  private syncError: unknown = null;

  constructor(
    private readonly handle: FileHandle,
    start: number,
    private readonly checkpointBytes: number,
    private readonly onCheckpoint?: (bytes: number) => Promise<void>,
    private readonly onProgress?: (bytes: number) => void,
  ) {
    this.bytesOnDisk = start;
    this.lastCheckpoint = start;
  }

  /** Queues a chunk; waits only while the queue is full. */
  async write(chunk: Buffer): Promise<void> {
    this.throwIfFailed();
    this.queued.push(chunk);
    this.queuedBytes += chunk.length;
    this.writing ??= this.drain();
    while (this.queuedBytes > WRITE_WINDOW_BYTES && this.writeError === null) {
      await new Promise<void>((r) => (this.spaceWaiter = r));
    }
    this.throwIfFailed();
  }

  /** Every queued byte written, then fsynced and reported. */
  async finish(): Promise<void> {
    await this.writing;
    this.throwIfFailed();
    await this.syncing;
    this.throwIfFailed();
    await this.handle.sync();
    if (this.onCheckpoint && this.bytesOnDisk !== this.lastCheckpoint) await this.onCheckpoint(this.bytesOnDisk);
  }

  /**
   * After a failure: write what is already queued (it came off the recorder, and the next
   * attempt need not read it again) unless writing is what failed, then make it durable.
   */
  async abandon(): Promise<void> {
    if (this.writeError !== null) {
      this.queued = [];
      this.queuedBytes = 0;
    }
    await this.writing?.catch(() => undefined);
    await this.syncing?.catch(() => undefined);
    await this.handle.sync().catch(() => undefined);
  }

  private throwIfFailed(): void {
    if (this.writeError !== null) throw this.writeError;
    if (this.syncError !== null) throw this.syncError;
  }

  private async drain(): Promise<void> {
    try {
      while (this.queued.length > 0) {
        const buffers = this.queued;
        const expected = this.queuedBytes;
        this.queued = [];
        this.queuedBytes = 0;
        this.spaceWaiter?.();
        this.spaceWaiter = null;
        const { bytesWritten } = await this.handle.writev(buffers);
        this.bytesOnDisk += bytesWritten;
        if (bytesWritten !== expected) {
          // writev on a regular file only writes short when the disk is full.
          throw Object.assign(new Error(`short write to spool (${bytesWritten} of ${expected} bytes)`), { code: 'ENOSPC' });
        }
        this.onProgress?.(this.bytesOnDisk);
        if (this.bytesOnDisk - this.lastCheckpoint >= this.checkpointBytes) {
          // Only one checkpoint at a time, in order: wait for the previous one if it is still running.
          if (this.syncing) await this.syncing;
          this.startCheckpoint();
        }
      }
    } catch (error) {
      this.writeError = error;
    } finally {
      this.writing = null;
      this.spaceWaiter?.();
      this.spaceWaiter = null;
    }
  }

  private startCheckpoint(): void {
    const mark = this.bytesOnDisk;
    this.lastCheckpoint = mark;
    // fsync makes durable every byte written before it was called: `mark` bytes.
    this.syncing = this.handle
      .sync()
      .then(() => this.onCheckpoint?.(mark))
      .catch((error: unknown) => {
        this.syncError ??= error;
      })
      .finally(() => {
        this.syncing = null;
      });
  }
}
