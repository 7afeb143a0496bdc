// Worker thread of workers/acquire.copier.ts: the copy loop of an acquisition from a recording
// that is a plain file (DirectoryVolume, MassStorageVolume). Plain JavaScript so that the
// thread starts without the tsx loader.
//
// Why a thread with synchronous calls (measured, docs/performance-limits.md): the bytes are
// read into one reused block, hashed and written from it while it is still in this core's
// cache, as cp does. Through the event loop each read and write ran on another libuv thread
// into a fresh 1 MiB buffer, and the kernel's copies in and out of those cold buffers cost
// more CPU than SHA-256 itself. Blocking calls are fine here: this thread does nothing else,
// and the kernel's read-ahead keeps the recorder busy while a block is hashed.
//
// Protocol (parentPort), one job at a time:
//   in:  { sourceFd, spoolFd, spoolPath, resumeFrom, inline: [alg], offloaded: [alg], seal: { key, iv } | null, stop }
//        `stop` (SharedArrayBuffer, one Int32) is set by the parent when it gave up on a
//        stalled read: the loop then ends before its next read or write.
//        The fds belong to the parent's FileHandles (file descriptors are per process). The
//        source is read from resumeFrom; the spool fd is positioned there (opened 'w' or 'a').
//   out: { progress: bytesOnDisk }   every PROGRESS_BYTES
//   out: { done: { bytesFromSource, bytesOnDisk, digests, sealTag } }
//   out: { failed: { phase: 'prefix' | 'read' | 'write' | 'digest', algorithm?, bytesOnDisk, bytesFromSource, name, message, code } }
// Algorithms in `offloaded` (SM3, ≈ 5× slower than SHA-256 with SHA-NI) are digested in a
// digest thread of their own (digest.thread.js) beside this loop; this thread waits only when
// HASH_WINDOW_BYTES are still undigested there.
import { createCipheriv, createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { parentPort, Worker } from 'node:worker_threads';

/** Small enough to stay in a core's cache between the read, the hash and the write. */
const BLOCK_BYTES = 256 << 10;
const PROGRESS_BYTES = 4 << 20;
const HASH_WINDOW_BYTES = 32 << 20;
/** A digest thread that takes nothing in for this long is taken for dead. */
const DIGEST_STALL_MS = 30_000;

const block = Buffer.allocUnsafeSlow(BLOCK_BYTES);
/** One digest thread per offloaded algorithm, kept for the next job. */
const digestThreads = new Map();

class StepError extends Error {
  constructor(phase, cause, algorithm) {
    super(cause?.message ?? String(cause));
    this.phase = phase;
    this.cause = cause;
    this.algorithm = algorithm;
  }
}

parentPort.on('message', (job) => {
  run(job).then(
    (done) => parentPort.postMessage({ done }),
    (error) => {
      // A digest thread may hold part of this job's bytes: the next job starts with fresh ones.
      for (const thread of digestThreads.values()) void thread.worker.terminate();
      digestThreads.clear();
      parentPort.postMessage({ failed: failure(error) });
    },
  );
});

let bytesOnDisk = 0;
let bytesFromSource = 0;

async function run(job) {
  bytesOnDisk = job.resumeFrom;
  bytesFromSource = 0;
  const inline = job.inline.map((algorithm) => [algorithm, createHash(algorithm)]);
  const offloaded = job.offloaded.map(digestThread);
  // The spool seal (storage/spool-seal.ts): AES-GMAC over the same bytes, everything as AAD.
  const sealer = job.seal ? createCipheriv('aes-256-gcm', job.seal.key, job.seal.iv) : null;
  const digest = (chunk) => {
    sealer?.setAAD(chunk);
    for (const [, hash] of inline) hash.update(chunk);
    for (const thread of offloaded) offload(thread, chunk);
  };

  if (job.resumeFrom > 0) hashPrefix(job.spoolPath, job.resumeFrom, digest);

  const stop = job.stop ? new Int32Array(job.stop) : null;
  const unlessStopped = (phase) => {
    if (stop !== null && Atomics.load(stop, 0) === 1) throw new StepError(phase, new Error('stopped by the parent after a stalled read'));
  };
  // A pipe or character device (not what a recorder volume gives, but a driver may) cannot
  // be read at a position: it is read in order, and only from its start.
  const stat = step('read', () => fstatSync(job.sourceFd));
  const seekable = !stat.isFIFO() && !stat.isCharacterDevice() && !stat.isSocket();
  if (!seekable && job.resumeFrom > 0) throw new StepError('read', new Error('a source that cannot seek cannot resume'));
  let reported = bytesOnDisk;
  for (;;) {
    unlessStopped('read');
    const n = step('read', () => readSync(job.sourceFd, block, 0, BLOCK_BYTES, seekable ? job.resumeFrom + bytesFromSource : null));
    if (n === 0) break;
    bytesFromSource += n;
    const chunk = block.subarray(0, n);
    digest(chunk);
    unlessStopped('write');
    step('write', () => writeAll(job.spoolFd, chunk));
    bytesOnDisk += n;
    if (bytesOnDisk - reported >= PROGRESS_BYTES) {
      parentPort.postMessage({ progress: bytesOnDisk });
      reported = bytesOnDisk;
    }
  }

  const digests = {};
  for (const [algorithm, hash] of inline) digests[algorithm] = hash.digest('hex');
  for (const thread of offloaded) digests[thread.algorithm] = await final(thread);
  let sealTag = null;
  if (sealer) {
    sealer.final();
    sealTag = sealer.getAuthTag().toString('hex');
  }
  return { bytesFromSource, bytesOnDisk, digests, sealTag };
}

/** Re-hashes what an earlier attempt spooled (a local read) instead of reading the recorder again. */
function hashPrefix(spoolPath, length, digest) {
  const fd = step('prefix', () => openSync(spoolPath, 'r'));
  try {
    for (let at = 0; at < length; ) {
      const n = step('prefix', () => readSync(fd, block, 0, Math.min(BLOCK_BYTES, length - at), at));
      if (n === 0) throw new StepError('prefix', new Error(`spooled prefix is ${at} bytes, expected ${length}`));
      digest(block.subarray(0, n));
      at += n;
    }
  } finally {
    closeSync(fd);
  }
}

function writeAll(fd, chunk) {
  for (let at = 0; at < chunk.length; ) {
    const n = writeSync(fd, chunk, at, chunk.length - at, null);
    // A regular file writes short only when the disk is full.
    if (n === 0) throw Object.assign(new Error('spool write wrote nothing'), { code: 'ENOSPC' });
    at += n;
  }
}

function step(phase, fn) {
  try {
    return fn();
  } catch (error) {
    throw error instanceof StepError ? error : new StepError(phase, error);
  }
}

function digestThread(algorithm) {
  let thread = digestThreads.get(algorithm);
  if (thread && !thread.dead) return thread;
  const pending = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(new URL('./digest.thread.js', import.meta.url), { workerData: { algorithm, pending: pending.buffer }, execArgv: [] });
  worker.unref();
  thread = { algorithm, worker, pending, dead: null, onDigest: null };
  const t = thread;
  worker.on('message', (message) => t.onDigest?.(message.digest));
  const die = (cause) => {
    t.dead ??= cause instanceof Error ? cause : new Error(String(cause));
    t.onDigest?.(null);
  };
  worker.on('error', die);
  worker.on('exit', (code) => die(new Error(`exited with code ${code}`)));
  digestThreads.set(algorithm, thread);
  return thread;
}

/** Hands a copy of the chunk to the digest thread; waits while a window of bytes is undigested. */
function offload(thread, chunk) {
  if (thread.dead) throw new StepError('digest', thread.dead, thread.algorithm);
  // A copy in shared memory: the block is overwritten by the next read.
  const shared = new Uint8Array(new SharedArrayBuffer(chunk.length));
  shared.set(chunk);
  Atomics.add(thread.pending, 0, chunk.length);
  thread.worker.postMessage({ chunk: shared });
  let waitedMs = 0;
  for (let p; (p = Atomics.load(thread.pending, 0)) > HASH_WINDOW_BYTES; ) {
    if (Atomics.wait(thread.pending, 0, p, 1000) === 'timed-out') {
      waitedMs += 1000;
      // This loop blocks the thread, so an exited digest thread is only noticed by its silence.
      if (waitedMs >= DIGEST_STALL_MS) {
        thread.dead = new Error(`digested nothing for ${DIGEST_STALL_MS / 1000} s`);
        void thread.worker.terminate();
        throw new StepError('digest', thread.dead, thread.algorithm);
      }
    } else waitedMs = 0;
  }
}

function final(thread) {
  return new Promise((resolve, reject) => {
    if (thread.dead) return reject(new StepError('digest', thread.dead, thread.algorithm));
    thread.onDigest = (hex) => {
      thread.onDigest = null;
      if (hex === null) reject(new StepError('digest', thread.dead, thread.algorithm));
      else resolve(hex);
    };
    thread.worker.postMessage({ final: true });
  });
}

function failure(error) {
  const phase = error instanceof StepError ? error.phase : 'read';
  const cause = error instanceof StepError ? error.cause : error;
  return {
    phase,
    algorithm: error?.algorithm ?? null,
    bytesOnDisk,
    bytesFromSource,
    name: cause?.name ?? 'Error',
    message: cause?.message ?? String(cause),
    code: cause?.code ?? null,
  };
}
