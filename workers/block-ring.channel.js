// A ring of blocks in shared memory between the copy thread (copy.thread.js), which reads the
// recorder into a block and writes the spool from it, and its digest threads
// (digest.thread.js), which hash the same block where it lies: no copy, no message per block.
// Plain JavaScript, imported by both threads.
//
// Why (docs/performance-limits.md): SHA-256 costs as much CPU as the copy itself (≈ 0.6 s per
// GiB with SHA-NI), so one thread that reads, hashes and writes each block in turn took
// cp + SHA-256; with the hash on a second core the copy takes about as long as the slower of
// the two. A block is reused only once every digest thread is past it.
//
// Layout of `control` (Int32 in shared memory):
//   PRODUCED   blocks published this job
//   ENDED      1 once the copy publishes nothing more this job
//   SIGNAL     bumped on every publish and on the end: what a waiting consumer sleeps on, so
//              that no wake-up is lost between its check and its wait
//   LENGTHS..  bytes in each slot
// Each consumer has its own `progress` (Int32 in shared memory): CONSUMED blocks digested,
// FINISHED 1 once its digest is in its `result` bytes.

export const BLOCK_BYTES = 256 << 10;
/** 16 × 256 KiB: enough for the two threads to drift apart by a few blocks (measured: 4 or 8 stalled the copy). */
export const RING_SLOTS = 16;

const PRODUCED = 0;
const ENDED = 1;
const SIGNAL = 2;
const LENGTHS = 3;
const CONSUMED = 0;
const FINISHED = 1;
/** Wait this long at a time, so that a silent peer is noticed. */
const POLL_MS = 1000;

/** A digest thread took in nothing for the producer's stall limit; `consumer` names it. */
export class StalledPeerError extends Error {
  constructor(consumer, message) {
    super(message);
    this.name = 'StalledPeerError';
    this.consumer = consumer;
  }
}

/** Shared memory of one ring; what the copy thread hands its digest threads (workerData). */
export function allocateRing() {
  return {
    blocks: new SharedArrayBuffer(BLOCK_BYTES * RING_SLOTS),
    control: new SharedArrayBuffer(4 * (LENGTHS + RING_SLOTS)),
  };
}

/** A consumer's own shared memory: its progress and its digest (up to 64 bytes). */
export function allocateConsumer() {
  return { progress: new SharedArrayBuffer(8), result: new SharedArrayBuffer(64 + 4) };
}

/**
 * The copy thread's side. Per job: begin(consumers), then take() a block, fill it, publish(n);
 * end(); and finish() each consumer for its digest.
 */
export class RingProducer {
  constructor(ring, stallMs) {
    this.control = new Int32Array(ring.control);
    this.slots = Array.from({ length: RING_SLOTS }, (_, k) => Buffer.from(ring.blocks, k * BLOCK_BYTES, BLOCK_BYTES));
    this.stallMs = stallMs;
    this.consumers = [];
    this.produced = 0;
  }

  /** Starts a job for these consumers (each { name, progress, result }), all at block 0. */
  begin(consumers) {
    this.consumers = consumers.map((c) => ({ name: c.name, progress: new Int32Array(c.progress), result: c.result }));
    for (const c of this.consumers) {
      Atomics.store(c.progress, CONSUMED, 0);
      Atomics.store(c.progress, FINISHED, 0);
    }
    this.produced = 0;
    Atomics.store(this.control, PRODUCED, 0);
    Atomics.store(this.control, ENDED, 0);
  }

  /** The next block to fill, once every consumer is done with what it last held. */
  take() {
    for (const c of this.consumers) this.waitFor(c, CONSUMED, this.produced - RING_SLOTS + 1, 'digested nothing');
    return this.slots[this.produced % RING_SLOTS];
  }

  /** Hands the block from take() to the consumers, holding `length` bytes. */
  publish(length) {
    this.control[LENGTHS + (this.produced % RING_SLOTS)] = length;
    Atomics.store(this.control, PRODUCED, ++this.produced);
    this.signal();
  }

  end() {
    Atomics.store(this.control, ENDED, 1);
    this.signal();
  }

  /** A consumer's digest, once it has digested every block published. */
  finish(consumer) {
    const c = this.consumers.find((x) => x.name === consumer);
    this.waitFor(c, FINISHED, 1, 'gave no digest');
    const length = new Int32Array(c.result, 64, 1)[0];
    return Buffer.from(new Uint8Array(c.result, 0, length)).toString('hex');
  }

  signal() {
    Atomics.add(this.control, SIGNAL, 1);
    Atomics.notify(this.control, SIGNAL);
  }

  /** Blocks until the consumer's counter reaches `value`; a consumer silent for stallMs is taken for dead. */
  waitFor(consumer, index, value, silence) {
    const pollMs = Math.min(POLL_MS, this.stallMs);
    let waitedMs = 0;
    for (let seen; (seen = Atomics.load(consumer.progress, index)) < value; ) {
      if (Atomics.wait(consumer.progress, index, seen, pollMs) !== 'timed-out') waitedMs = 0;
      else if ((waitedMs += pollMs) >= this.stallMs) throw new StalledPeerError(consumer.name, `${silence} for ${this.stallMs / 1000} s`);
    }
  }
}

/**
 * A digest thread's side: digest(update) calls update on every block published this job, in
 * order, until the copy thread ends it; then its digest is stored with done(bytes).
 */
export class RingConsumer {
  constructor(ring, own) {
    this.control = new Int32Array(ring.control);
    this.slots = Array.from({ length: RING_SLOTS }, (_, k) => Buffer.from(ring.blocks, k * BLOCK_BYTES, BLOCK_BYTES));
    this.progress = new Int32Array(own.progress);
    this.result = own.result;
  }

  digest(update) {
    for (let consumed = 0; ; ) {
      const signal = Atomics.load(this.control, SIGNAL);
      if (consumed < Atomics.load(this.control, PRODUCED)) {
        const slot = consumed % RING_SLOTS;
        update(this.slots[slot].subarray(0, this.control[LENGTHS + slot]));
        Atomics.store(this.progress, CONSUMED, ++consumed);
        Atomics.notify(this.progress, CONSUMED);
        continue;
      }
      // PRODUCED is final once ENDED is set: read it again before leaving.
      if (Atomics.load(this.control, ENDED) === 1) {
        if (consumed === Atomics.load(this.control, PRODUCED)) return;
        continue;
      }
      Atomics.wait(this.control, SIGNAL, signal, POLL_MS);
    }
  }

  done(bytes) {
    new Uint8Array(this.result, 0, bytes.length).set(bytes);
    new Int32Array(this.result, 64, 1)[0] = bytes.length;
    Atomics.store(this.progress, FINISHED, 1);
    Atomics.notify(this.progress, FINISHED);
  }
}
