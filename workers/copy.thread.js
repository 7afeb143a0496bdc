// Worker thread of workers/acquire.copier.ts: the copy loop of an acquisition from a recording
// that is a plain file (DirectoryVolume, MassStorageVolume). Plain JavaScript so that the
// thread starts without the tsx loader.
//
// Why a thread with synchronous calls (measured, docs/performance-limits.md): the bytes are
// read into a block that stays in the cache while it is written, as cp does. Through the
// event loop each read and write ran on another libuv thread into a fresh 1 MiB buffer, and
// the kernel's copies in and out of those cold buffers cost more CPU than SHA-256 itself.
// Blocking calls are fine here: this thread does nothing else, and the kernel's read-ahead
// keeps the recorder busy meanwhile.
//
// Digests run beside the copy, one digest thread per algorithm (digest.thread.js), on the
// very blocks this thread reads: they lie in a ring in shared memory (block-ring.channel.js),
// and a block is read into again only once every digest thread is past it. With SHA-256 on
// this thread a file takes cp + SHA-256; beside it, about the slower of the two, for about
// 0.2 CPU-s per GiB more. So the parent puts SHA-256 beside the copy only when this is the
// only copy running (a core is free for it); SM3 (≈ 5× slower) always goes beside. The spool
// seal (AES-GMAC, ≈ 0.08 CPU-s per GiB) stays here: it is cheap, and it seals the bytes written.
//
// Protocol (parentPort), one job at a time:
//   in:  { sourceFd, spoolFd, spoolPath, resumeFrom, inline: [alg], beside: [alg], seal: { key, iv } | null, stop }
//        `inline` algorithms are hashed on this thread, `beside` ones each on a digest thread.
//        `stop` (SharedArrayBuffer, one Int32) is set by the parent when it gave up on a
//        stalled read or its process is stopping: the loop then ends before its next read
//        or write, failing with phase 'stopped'.
//        The fds belong to the parent's FileHandles (file descriptors are per process). The
//        source is read from resumeFrom; the spool fd is positioned there (opened 'w' or 'a').
//   out: { progress: bytesOnDisk }   every PROGRESS_BYTES
//   out: { done: { bytesFromSource, bytesOnDisk, digests, sealTag } }
//   out: { failed: { phase: 'prefix' | 'read' | 'write' | 'digest' | 'stopped', algorithm?, bytesOnDisk, bytesFromSource, name, message, code } }
import { createCipheriv, createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { parentPort, Worker } from 'node:worker_threads';
import { allocateConsumer, allocateRing, BLOCK_BYTES, RingProducer, StalledPeerError } from './block-ring.channel.js';

const PROGRESS_BYTES = 4 << 20;
/** A digest thread that takes nothing in for this long is taken for dead. */
const DIGEST_STALL_MS = 30_000;

const ring = allocateRing();
const producer = new RingProducer(ring, DIGEST_STALL_MS);
/** One digest thread per algorithm, kept for the next job. */
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
  let outcome;
  try {
    outcome = { done: run(job) };
  } catch (error) {
    // A digest thread may be inside this job's blocks: the next job starts with fresh ones,
    // each with its own progress, so one that is still running cannot be mistaken for them.
    producer.end();
    for (const thread of digestThreads.values()) void thread.worker.terminate();
    digestThreads.clear();
    outcome = { failed: failure(error) };
  }
  parentPort.postMessage(outcome);
});

let bytesOnDisk = 0;
let bytesFromSource = 0;

function run(job) {
  bytesOnDisk = job.resumeFrom;
  bytesFromSource = 0;
  const inline = job.inline.map((algorithm) => [algorithm, createHash(algorithm)]);
  const threads = job.beside.map(digestThread);
  producer.begin(threads);
  for (const thread of threads) thread.worker.postMessage({ start: true });
  // The spool seal (storage/spool-seal.ts): AES-GMAC over the same bytes, everything as AAD.
  const sealer = job.seal ? createCipheriv('aes-256-gcm', job.seal.key, job.seal.iv) : null;
  /** The next block, read by `read` and handed to the digests; null at the end. */
  const nextBlock = (phase, read) => {
    const block = digestStep(() => producer.take());
    const n = step(phase, () => read(block));
    if (n === 0) return null;
    const chunk = block.subarray(0, n);
    producer.publish(n);
    sealer?.setAAD(chunk);
    for (const [, hash] of inline) hash.update(chunk);
    return chunk;
  };

  if (job.resumeFrom > 0) hashPrefix(job.spoolPath, job.resumeFrom, nextBlock);

  const stop = job.stop ? new Int32Array(job.stop) : null;
  const unlessStopped = (phase) => {
    // Set when the parent gave up on a stalled read, or when its process is stopping.
    if (stop !== null && Atomics.load(stop, 0) === 1) throw new StepError('stopped', new Error(`stopped by the parent before a ${phase}`));
  };
  // A pipe or character device (not what a recorder volume gives, but a driver may) cannot
  // be read at a position: it is read in order, and only from its start.
  const stat = step('read', () => fstatSync(job.sourceFd));
  const seekable = !stat.isFIFO() && !stat.isCharacterDevice() && !stat.isSocket();
  if (!seekable && job.resumeFrom > 0) throw new StepError('read', new Error('a source that cannot seek cannot resume'));
  let reported = bytesOnDisk;
  for (;;) {
    unlessStopped('read');
    const chunk = nextBlock('read', (block) => readSync(job.sourceFd, block, 0, BLOCK_BYTES, seekable ? job.resumeFrom + bytesFromSource : null));
    if (chunk === null) break;
    bytesFromSource += chunk.length;
    unlessStopped('write');
    step('write', () => writeAll(job.spoolFd, chunk));
    bytesOnDisk += chunk.length;
    if (bytesOnDisk - reported >= PROGRESS_BYTES) {
      parentPort.postMessage({ progress: bytesOnDisk });
      reported = bytesOnDisk;
    }
  }

  producer.end();
  const digests = {};
  for (const [algorithm, hash] of inline) digests[algorithm] = hash.digest('hex');
  for (const thread of threads) digests[thread.name] = digestStep(() => producer.finish(thread.name));
  let sealTag = null;
  if (sealer) {
    sealer.final();
    sealTag = sealer.getAuthTag().toString('hex');
  }
  return { bytesFromSource, bytesOnDisk, digests, sealTag };
}

/** Re-hashes what an earlier attempt spooled (a local read) instead of reading the recorder again. */
function hashPrefix(spoolPath, length, nextBlock) {
  const fd = step('prefix', () => openSync(spoolPath, 'r'));
  try {
    for (let at = 0; at < length; ) {
      const chunk = nextBlock('prefix', (block) => readSync(fd, block, 0, Math.min(BLOCK_BYTES, length - at), at));
      if (chunk === null) throw new StepError('prefix', new Error(`spooled prefix is ${at} bytes, expected ${length}`));
      at += chunk.length;
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

/** A step that waits for the digest threads: a silent one fails the copy as a digest failure. */
function digestStep(fn) {
  try {
    return fn();
  } catch (error) {
    if (error instanceof StalledPeerError) throw new StepError('digest', error, error.consumer);
    throw error;
  }
}

function digestThread(algorithm) {
  let thread = digestThreads.get(algorithm);
  if (thread) return thread;
  const own = allocateConsumer();
  const worker = new Worker(new URL('./digest.thread.js', import.meta.url), { workerData: { algorithm, ring, own }, execArgv: [] });
  worker.unref();
  thread = { name: algorithm, worker, ...own };
  // This thread blocks while it copies, so a digest thread that dies is noticed by its silence
  // (RingProducer's stall limit); between jobs, it is replaced.
  worker.on('error', () => digestThreads.delete(algorithm));
  worker.on('exit', () => digestThreads.get(algorithm) === thread && digestThreads.delete(algorithm));
  digestThreads.set(algorithm, thread);
  return thread;
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
