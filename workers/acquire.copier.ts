import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { stoppedError } from '../storage/object-store.ts';
import { Sealer, type SealKey } from '../storage/spool-seal.ts';

/**
 * The one pass over a recording: bytes come off the recorder once, are digested on the
 * way, and land in the spool. Resuming re-hashes the bytes already spooled (a local disk
 * read) instead of reading them from the recorder again.
 *
 * Two ways in, by what the driver can give (measured, docs/performance-limits.md):
 * - A recording that is a plain file (a FileHandle) is copied by a copy thread
 *   (copy.thread.js) that reads and writes small blocks with blocking calls, as cp does,
 *   through a ring in shared memory (block-ring.channel.js). Digest threads hash each block
 *   where it lies: SM3 always, and SHA-256 when this is the only copy running, so that a file
 *   takes about as long as the slower of copy and hash; beside another copy both cores are
 *   busy anyway, and the copy thread hashes SHA-256 itself. That costs about half the CPU of
 *   the stream path.
 * - A stream (vendor SDKs, paced or instrumented sources) is copied here, with the three
 *   steps beside each other: the stream's own read-ahead, SHA-256 on this thread chunk by
 *   chunk, and spool writes queued (at most WRITE_WINDOW_BYTES) for one writer loop with
 *   writev, so hashing the next chunk never waits for the disk. Every other algorithm (SM3,
 *   ≈ 150–400 MB/s) runs in its own digest thread on a shared copy of each chunk, so a slow
 *   digest costs a core, not the copy's time.
 *
 * Durability: the spool is not what keeps a recording safe (the recorder is cleared only once
 * the stored copy is verified), it is what spares reading the recorder again. So the copy
 * never waits for the disk: a checkpoint fsync is started in the background only once both
 * `checkpointBytes` and `checkpointMs` have passed, and none at the end. Forcing the spool out
 * while the recorder is read, on the same disk, made a copy take 1.4–2.2× as long
 * (docs/performance-limits.md); a spool removed after its upload is often never written.
 */

export type HashAlgorithm = 'sha256' | 'sm3';

export interface CopyRequest {
  /**
   * The recorder's bytes from `resumeFrom` on: a stream, or the recording's file handle,
   * which is read from `resumeFrom` and closed when the copy ends.
   */
  source: Readable | FileHandle;
  spoolPath: string;
  /** Bytes already in the spool file from an earlier attempt; they are re-hashed from there. */
  resumeFrom: number;
  algorithms: readonly HashAlgorithm[];
  /**
   * A checkpoint fsyncs the spool in the background and then reports (onCheckpoint) the bytes
   * it made durable: what a resume after a power cut may trust. One starts once at least
   * `checkpointBytes` more are written and `checkpointMs` (default 0) have passed since the
   * copy or the last checkpoint started; bytes written meanwhile go into the next one.
   */
  checkpointBytes: number;
  checkpointMs?: number;
  onCheckpoint?: (bytesOnDisk: number) => Promise<void>;
  onProgress?: (bytesOnDisk: number) => void;
  /** Also seal the spooled bytes (storage/spool-seal.ts), so the upload need not hash them again. */
  seal?: SealKey;
  /**
   * A copy that gets no bytes from the recorder for this long fails as interrupted, its cause
   * coded ETIMEDOUT: a hung read ends the job instead of holding it, and the acquisition
   * a docking started, forever. 0 or absent: no limit.
   */
  stallMs?: number;
  /**
   * Aborted when the process is stopping: the copy ends before its next read, keeps what it
   * spooled (made durable) and fails as a CopyInterruptedError whose cause is an AbortError.
   */
  signal?: AbortSignal;
}

export interface CopyResult {
  /** Bytes read from the recorder in this pass. */
  bytesFromSource: number;
  /** Size of the spooled file. */
  totalBytes: number;
  /** Bytes of it known to be on disk: the last checkpoint (or resumeFrom); the rest may still be in the page cache. */
  durableBytes: number;
  digests: Partial<Record<HashAlgorithm, string>>;
  /** The seal's tag over every spooled byte, when a seal was asked for. */
  sealTag?: string;
}

/** The recorder stopped giving bytes (CopyRequest.stallMs); the cause of a CopyInterruptedError. */
function stalledError(stallMs: number): NodeJS.ErrnoException {
  return Object.assign(new Error(`no bytes from the recorder for ${stallMs / 1000} s`), { name: 'ReadStalledError', code: 'ETIMEDOUT' });
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

/** Algorithms a stream copy digests on its own thread, and a file copy beside another (the rest get a thread each). */
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
  return request.source instanceof Readable ? copyFromStream(request, request.source) : copyFromFile(request, request.source);
}

async function copyFromStream(request: CopyRequest, source: Readable): Promise<CopyResult> {
  const digesters = new Digesters(request.algorithms, request.seal);
  try {
    if (request.resumeFrom > 0) {
      let seen = 0;
      for await (const chunk of createReadStream(request.spoolPath, { end: request.resumeFrom - 1, highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
        await digesters.update(chunk);
        seen += chunk.length;
      }
      if (seen !== request.resumeFrom) throw new Error(`spooled prefix is ${seen} bytes, expected ${request.resumeFrom}`);
    }

    const handle = await open(request.spoolPath, request.resumeFrom > 0 ? 'a' : 'w', 0o600);
    const writer = new SpoolWriter(handle, new Checkpointer(handle, request), request.onProgress);
    let fromSource = 0;
    try {
      for await (const chunk of withStallLimit(source, request.stallMs, request.signal)) {
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
    const digests = await digesters.digest();
    return { bytesFromSource: fromSource, totalBytes: writer.bytesOnDisk, durableBytes: writer.durableBytes, digests, ...digesters.sealTag() };
  } finally {
    digesters.close();
  }
}

/**
 * The stream's chunks, failing with ETIMEDOUT once none came for `stallMs`. Racing each read
 * rather than destroying the stream: an fs stream's destroy waits for its pending read,
 * which is the one that hangs.
 */
async function* withStallLimit(source: Readable, stallMs = 0, signal?: AbortSignal): AsyncGenerator<Buffer> {
  const chunks = (source as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  // Stopping the process ends the copy at the next chunk, as a failed read would.
  const stop = () => source.destroy(stoppedError('copy'));
  if (signal?.aborted) stop();
  signal?.addEventListener('abort', stop, { once: true });
  try {
    for (;;) {
      const next = chunks.next();
      const stalled =
        stallMs > 0
          ? new Promise<never>((_, reject) => {
              timer = setTimeout(() => reject(stalledError(stallMs)), stallMs);
            })
          : null;
      let step: IteratorResult<Buffer>;
      try {
        step = await (stalled ? Promise.race([next, stalled]) : next);
      } catch (error) {
        // The read may still settle later: nothing may wait for it, nor fail unhandled.
        next.catch(() => undefined);
        if ((error as NodeJS.ErrnoException).code === 'ETIMEDOUT') source.destroy();
        throw error;
      } finally {
        clearTimeout(timer);
      }
      if (step.done) return;
      yield step.value;
    }
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', stop);
  }
}

/** Copies from a file under way in this process, which decides where SHA-256 runs. */
let fileCopiesRunning = 0;

async function copyFromFile(request: CopyRequest, source: FileHandle): Promise<CopyResult> {
  let handle: FileHandle | null = null;
  let thread: CopyThread | null = null;
  // Alone, SHA-256 gets the other core; beside another copy the cores are taken, and the
  // digest thread's hand-offs would only cost CPU (docs/performance-limits.md).
  const shaInline = fileCopiesRunning > 0;
  fileCopiesRunning += 1;
  try {
    handle = await open(request.spoolPath, request.resumeFrom > 0 ? 'a' : 'w', 0o600);
    const checkpoints = new Checkpointer(handle, request);
    const algorithms = [...new Set(request.algorithms)];
    thread = CopyThread.take();
    const outcome = await thread.run(
      {
        sourceFd: source.fd,
        spoolFd: handle.fd,
        spoolPath: request.spoolPath,
        resumeFrom: request.resumeFrom,
        inline: algorithms.filter((a) => shaInline && INLINE_ALGORITHMS.has(a)),
        beside: algorithms.filter((a) => !(shaInline && INLINE_ALGORITHMS.has(a))),
        seal: request.seal ?? null,
      },
      (bytes) => {
        request.onProgress?.(bytes);
        checkpoints.reached(bytes);
      },
      request.stallMs ?? 0,
      request.signal,
    );
    thread.release();
    if ('failed' in outcome) {
      const f = outcome.failed;
      // Whatever reached the disk is kept for the next attempt; make it durable first.
      await checkpoints.settle().catch(() => undefined);
      await handle.sync().catch(() => undefined);
      const cause =
        f.phase === 'stopped' ? stoppedError('copy') : Object.assign(new Error(f.message), { name: f.name, ...(f.code ? { code: f.code } : {}) });
      if (f.phase === 'digest' && f.algorithm) throw new DigestWorkerError(f.algorithm, { cause });
      if (f.phase === 'prefix') throw cause;
      throw new CopyInterruptedError(f.bytesOnDisk, { cause });
    }
    const done = outcome.done;
    await checkpoints.settle();
    return {
      bytesFromSource: done.bytesFromSource,
      totalBytes: done.bytesOnDisk,
      durableBytes: checkpoints.durable,
      digests: done.digests,
      ...(done.sealTag ? { sealTag: done.sealTag } : {}),
    };
  } finally {
    fileCopiesRunning -= 1;
    const close = async () => {
      await handle?.close().catch(() => undefined);
      await source.close().catch(() => undefined);
    };
    // A thread given up on may still be inside a read: its descriptors stay open until it has
    // exited, so that no file opened meanwhile can take their numbers and receive its writes.
    if (thread?.abandoned) void thread.exited.then(close);
    else await close();
  }
}

/** The digests of one copy: inline hashes (and the seal) and worker threads behind one update(). */
class Digesters {
  private readonly inline: Array<[HashAlgorithm, Hash]> = [];
  private readonly threads: DigestThread[] = [];
  private readonly sealer: Sealer | null;

  constructor(algorithms: readonly HashAlgorithm[], seal?: SealKey) {
    this.sealer = seal ? new Sealer(seal) : null;
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
    this.sealer?.update(chunk);
    for (const t of this.threads) await t.belowWindow();
  }

  sealTag(): { sealTag?: string } {
    return this.sealer ? { sealTag: this.sealer.tag() } : {};
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

/**
 * Worker threads kept for the next copy, at most `perKey` of each kind, for `idleMs`: starting
 * one costs tens of milliseconds. An idle thread never keeps the process alive.
 */
class IdleThreads<K, T extends { readonly worker: Worker }> {
  private readonly idle = new Map<K, T[]>();
  private readonly expiry = new Map<T, NodeJS.Timeout>();

  constructor(
    private readonly perKey: number,
    private readonly idleMs: number,
  ) {}

  /** An idle thread of that kind, or a new one. */
  take(key: K, create: () => T): T {
    const thread = this.idle.get(key)?.pop() ?? create();
    clearTimeout(this.expiry.get(thread));
    this.expiry.delete(thread);
    thread.worker.ref();
    return thread;
  }

  /** Keeps the thread for the next take if there is room, else ends it. */
  keep(key: K, thread: T): void {
    const idle = this.idle.get(key) ?? [];
    if (idle.length >= this.perKey) return this.end(thread);
    thread.worker.unref();
    idle.push(thread);
    this.idle.set(key, idle);
    const timer = setTimeout(() => {
      this.forget(key, thread);
      this.end(thread);
    }, this.idleMs);
    timer.unref();
    this.expiry.set(thread, timer);
  }

  end(thread: T): void {
    thread.worker.removeAllListeners('exit');
    void thread.worker.terminate();
  }

  /** Ends every idle thread now. */
  endAll(): void {
    for (const [key, threads] of this.idle) {
      for (const thread of [...threads]) {
        this.forget(key, thread);
        this.end(thread);
      }
    }
  }

  /** Forgets a thread that exited (or was ended) while it was idle. */
  forget(key: K, thread: T): void {
    clearTimeout(this.expiry.get(thread));
    this.expiry.delete(thread);
    const idle = this.idle.get(key);
    const at = idle?.indexOf(thread) ?? -1;
    if (at >= 0) idle!.splice(at, 1);
  }
}

/** How long a finished copy's threads wait for the next file before they are ended. */
const THREAD_IDLE_MS = 10_000;

/**
 * Ends the threads kept for the next copy. An idle copy thread, with its digest thread and
 * ring, holds about 22 MiB; the ingest calls this when an upload starts and nothing is being
 * acquired, so that the upload's part buffers do not come on top of them (the daemon's peak
 * RSS, docs/performance-limits.md).
 */
export function endIdleCopyThreads(): void {
  idleCopyThreads.endAll();
  idleDigestThreads.endAll();
}

const idleDigestThreads = new IdleThreads<HashAlgorithm, DigestThread>(4, THREAD_IDLE_MS);

class DigestThread {
  readonly worker: Worker;
  private pendingBytes = 0;
  private failure: DigestWorkerError | null = null;
  private waiter: (() => void) | null = null;
  private onDigest: ((hex: string) => void) | null = null;
  private onFailure: ((error: DigestWorkerError) => void) | null = null;

  private digested = false;

  /** An idle thread for the algorithm, or a new one. */
  static take(algorithm: HashAlgorithm): DigestThread {
    return idleDigestThreads.take(algorithm, () => new DigestThread(algorithm));
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
      idleDigestThreads.forget(this.algorithm, this);
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
    if (!this.digested || this.failure || this.pendingBytes !== 0) return idleDigestThreads.end(this);
    this.digested = false;
    this.onDigest = null;
    this.onFailure = null;
    this.waiter = null;
    idleDigestThreads.keep(this.algorithm, this);
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
 * Writes the spool file in order from a bounded queue; checkpoints run beside the writes.
 * `bytesOnDisk` counts bytes the kernel accepted.
 */
class SpoolWriter {
  bytesOnDisk: number;
  private queued: Buffer[] = [];
  private queuedBytes = 0;
  private writing: Promise<void> | null = null;
  private writeError: unknown = null;
  private spaceWaiter: (() => void) | null = null;

  constructor(
    private readonly handle: FileHandle,
    private readonly checkpoints: Checkpointer,
    private readonly onProgress?: (bytes: number) => void,
  ) {
    this.bytesOnDisk = checkpoints.start;
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

  /** Every queued byte written (not fsynced: see the module comment) and the running checkpoint settled. */
  async finish(): Promise<void> {
    await this.writing;
    this.throwIfFailed();
    await this.checkpoints.settle();
  }

  get durableBytes(): number {
    return this.checkpoints.durable;
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
    await this.checkpoints.settle().catch(() => undefined);
    await this.handle.sync().catch(() => undefined);
  }

  private throwIfFailed(): void {
    if (this.writeError !== null) throw this.writeError;
    this.checkpoints.throwIfFailed();
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
        this.checkpoints.reached(this.bytesOnDisk);
      }
    } catch (error) {
      this.writeError = error;
    } finally {
      this.writing = null;
      this.spaceWaiter?.();
      this.spaceWaiter = null;
    }
  }
}

/**
 * The spool's checkpoints: an fsync started in the background once `checkpointBytes` more
 * are written and `checkpointMs` have passed, reported (onCheckpoint) when it completes. One
 * runs at a time, so the copy never waits for the disk.
 */
class Checkpointer {
  readonly start: number;
  /** Bytes durable once the checkpoint last started completes. */
  private mark: number;
  /** Bytes made durable by the last completed checkpoint (the resumed prefix was already). */
  durable: number;
  private onDisk: number;
  private startedAt = Date.now();
  private running: Promise<void> | null = null;
  private error: unknown = null;

  constructor(
    private readonly handle: FileHandle,
    private readonly request: Pick<CopyRequest, 'resumeFrom' | 'checkpointBytes' | 'checkpointMs' | 'onCheckpoint'>,
  ) {
    this.start = this.mark = this.durable = this.onDisk = request.resumeFrom;
  }

  reached(bytesOnDisk: number): void {
    this.onDisk = bytesOnDisk;
    if (this.running !== null || this.error !== null || this.onDisk - this.mark < this.request.checkpointBytes) return;
    if (Date.now() - this.startedAt >= (this.request.checkpointMs ?? 0)) this.begin();
  }

  /** Waits for the running checkpoint (and any it started); throws if one failed. */
  async settle(): Promise<void> {
    while (this.running) await this.running;
    this.throwIfFailed();
  }

  throwIfFailed(): void {
    if (this.error !== null) throw this.error;
  }

  private begin(): void {
    // fsync makes durable every byte written before it was called: `mark` bytes.
    const mark = (this.mark = this.onDisk);
    this.startedAt = Date.now();
    this.running = this.handle
      .sync()
      .then(() => {
        this.durable = mark;
        return this.request.onCheckpoint?.(mark);
      })
      .catch((error: unknown) => {
        this.error ??= error;
      })
      .finally(() => {
        this.running = null;
        this.reached(this.onDisk);
      });
  }
}

type CopyJob = { sourceFd: number; spoolFd: number; spoolPath: string; resumeFrom: number; inline: HashAlgorithm[]; beside: HashAlgorithm[]; seal: SealKey | null; stop?: SharedArrayBuffer };
type CopyOutcome =
  | { done: { bytesFromSource: number; bytesOnDisk: number; digests: Partial<Record<HashAlgorithm, string>>; sealTag: string | null } }
  | { failed: { phase: 'prefix' | 'read' | 'write' | 'digest' | 'thread' | 'stopped'; algorithm: HashAlgorithm | null; bytesOnDisk: number; name: string; message: string; code: string | null } };

const idleCopyThreads = new IdleThreads<'copy', CopyThread>(4, THREAD_IDLE_MS);
/** How long a stopping process waits for a copy thread to reach its next read or write. */
const STOP_GRACE_MS = 2000;

/** A copy thread (copy.thread.js): one job at a time, then back to the idle set. */
class CopyThread {
  readonly worker: Worker;
  /** Given up on after a stall: never reused, and its job's descriptors wait for `exited`. */
  abandoned = false;
  readonly exited: Promise<void>;
  private dead = false;
  private current: { resolve: (outcome: CopyOutcome) => void; onProgress: (bytes: number) => void; bytesOnDisk: number } | null = null;
  private stallTimer: NodeJS.Timeout | undefined;

  static take(): CopyThread {
    return idleCopyThreads.take('copy', () => new CopyThread());
  }

  private constructor() {
    // execArgv []: the thread is plain JavaScript and needs no tsx loader.
    this.worker = new Worker(new URL('./copy.thread.js', import.meta.url), { execArgv: [] });
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.on('message', (message: { progress?: number } & Partial<CopyOutcome>) => {
      const job = this.current;
      if (!job) return;
      if (message.progress !== undefined) {
        job.bytesOnDisk = message.progress;
        this.stallTimer?.refresh();
        job.onProgress(message.progress);
        return;
      }
      clearTimeout(this.stallTimer);
      this.current = null;
      job.resolve(message as CopyOutcome);
    });
    const die = (cause: unknown) => {
      this.dead = true;
      clearTimeout(this.stallTimer);
      const job = this.current;
      this.current = null;
      idleCopyThreads.forget('copy', this);
      const error = cause instanceof Error ? cause : new Error(String(cause));
      job?.resolve({ failed: { phase: 'thread', algorithm: null, bytesOnDisk: job.bytesOnDisk, name: error.name, message: `copy thread failed: ${error.message}`, code: null } });
    };
    this.worker.on('error', die);
    this.worker.on('exit', (code) => die(new Error(`exited with code ${code}`)));
  }

  /**
   * Resolves with the outcome, also when the thread dies: then with the bytes last reported on
   * disk. With `stallMs`, a thread that reports nothing for that long is given up on: told to
   * stop before its next read or write, terminated (which takes effect once a hung read
   * returns, if ever), and the job failed as a stalled read. When `signal` is aborted the
   * thread stops before its next read or write (phase 'stopped'), or is given up on the same
   * way after STOP_GRACE_MS.
   */
  run(job: CopyJob, onProgress: (bytes: number) => void, stallMs = 0, signal?: AbortSignal): Promise<CopyOutcome> {
    const stop = new Int32Array(new SharedArrayBuffer(4));
    let stopTimer: NodeJS.Timeout | undefined;
    let stopping: (() => void) | undefined;
    return new Promise<CopyOutcome>((resolve) => {
      this.current = { resolve, onProgress, bytesOnDisk: job.resumeFrom };
      /** Ends the job without the thread, which may be inside a read that never returns. */
      const giveUp = (failure: { phase: 'read' | 'stopped'; error: Error; code: string }) => {
        const current = this.current;
        if (!current) return;
        this.current = null;
        this.abandoned = this.dead = true;
        Atomics.store(stop, 0, 1);
        idleCopyThreads.forget('copy', this);
        void this.worker.terminate();
        const { phase, error, code } = failure;
        current.resolve({ failed: { phase, algorithm: null, bytesOnDisk: current.bytesOnDisk, name: error.name, message: error.message, code } });
      };
      if (stallMs > 0) {
        this.stallTimer = setTimeout(() => giveUp({ phase: 'read', error: stalledError(stallMs), code: 'ETIMEDOUT' }), stallMs);
      }
      // The process is stopping: the thread ends before its next read or write (phase
      // 'stopped'); one stuck in a hung read is not waited for, so that the process can exit.
      stopping = () => {
        Atomics.store(stop, 0, 1);
        stopTimer = setTimeout(() => giveUp({ phase: 'stopped', error: new Error('stopped inside a read'), code: 'ABORT_ERR' }), STOP_GRACE_MS);
      };
      if (signal?.aborted) stopping();
      else signal?.addEventListener('abort', stopping, { once: true });
      this.worker.postMessage({ ...job, stop: stop.buffer });
    }).finally(() => {
      clearTimeout(stopTimer);
      if (stopping) signal?.removeEventListener('abort', stopping);
    });
  }

  release(): void {
    if (this.dead || this.current !== null) return;
    idleCopyThreads.keep('copy', this);
  }
}
