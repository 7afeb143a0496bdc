import { createHash, randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { allocateConsumer, allocateRing, BLOCK_BYTES, RING_SLOTS, RingProducer, StalledPeerError } from './block-ring.channel.js';

// The producer runs on this thread (Atomics.wait blocks it, as it blocks the copy thread);
// the consumers are real digest threads, or a stand-in that digests slowly or not at all.
const DIGEST_THREAD = new URL('./digest.thread.js', import.meta.url);
const SLOW_CONSUMER = `
  const { parentPort, workerData } = require('node:worker_threads');
  const { createHash } = require('node:crypto');
  import(workerData.channel).then(({ RingConsumer }) => {
    const consumer = new RingConsumer(workerData.ring, workerData.own);
    parentPort.on('message', () => {
      const hash = createHash('sha256');
      let n = 0;
      // Sleeps every third block, so the producer laps the ring and must wait for it.
      consumer.digest((block) => { hash.update(block); if (++n % 3 === 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2); });
      consumer.done(hash.digest());
    });
  });`;

const hex = (algorithm: string, data: Buffer) => createHash(algorithm).update(data).digest('hex');

describe('block ring between the copy thread and its digest threads', () => {
  const workers: Worker[] = [];
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.terminate()));
  });

  function consumer(ring: ReturnType<typeof allocateRing>, name: string, kind: 'digest' | 'slow') {
    const own = allocateConsumer();
    const worker =
      kind === 'digest'
        ? new Worker(DIGEST_THREAD, { workerData: { algorithm: name, ring, own } })
        : new Worker(SLOW_CONSUMER, { eval: true, workerData: { channel: new URL('./block-ring.channel.js', import.meta.url).href, ring, own } });
    workers.push(worker);
    return { name, worker, ...own };
  }

  /** Publishes `data` through the ring in blocks of the given sizes, then ends the job. */
  function produce(producer: RingProducer, data: Buffer, sizes: () => number) {
    for (let at = 0; at < data.length; ) {
      const block = producer.take();
      const n = Math.min(sizes(), data.length - at, BLOCK_BYTES);
      data.copy(block, 0, at, at + n);
      producer.publish(n);
      at += n;
    }
    producer.end();
  }

  it('gives each consumer every block in order, many times round the ring, with a slow consumer holding blocks back', () => {
    const ring = allocateRing();
    const producer = new RingProducer(ring, 30_000);
    const sha = consumer(ring, 'sha256', 'digest');
    const sm3 = consumer(ring, 'sm3', 'digest');
    const slow = consumer(ring, 'slow-sha256', 'slow');
    const data = randomBytes(BLOCK_BYTES * RING_SLOTS * 3 + 777);
    // Two jobs on the same threads: the second must not see the first's counters or bytes.
    for (const job of [data, data.subarray(0, BLOCK_BYTES * 2 + 5)]) {
      producer.begin([sha, sm3, slow]);
      for (const c of [sha, sm3, slow]) c.worker.postMessage({ start: true });
      let k = 0;
      // Short blocks too: a recorder's reads may return less than a block.
      produce(producer, job, () => [BLOCK_BYTES, 1, 4096, BLOCK_BYTES - 1][k++ % 4]!);
      expect(producer.finish('sha256')).toBe(hex('sha256', job));
      expect(producer.finish('sm3')).toBe(hex('sm3', job));
      expect(producer.finish('slow-sha256')).toBe(hex('sha256', job));
    }
  });

  it('digests a job of no blocks', () => {
    const ring = allocateRing();
    const producer = new RingProducer(ring, 30_000);
    const sha = consumer(ring, 'sha256', 'digest');
    producer.begin([sha]);
    sha.worker.postMessage({ start: true });
    producer.end();
    expect(producer.finish('sha256')).toBe(hex('sha256', Buffer.alloc(0)));
  });

  it('takes a consumer that digests nothing for stallMs for dead, naming it, instead of waiting for ever', () => {
    const ring = allocateRing();
    const producer = new RingProducer(ring, 300);
    // Never started: it takes in no block, as a digest thread that died would.
    const silent = consumer(ring, 'sm3', 'digest');
    producer.begin([silent]);
    let error: unknown;
    try {
      produce(producer, randomBytes(BLOCK_BYTES * (RING_SLOTS + 1)), () => BLOCK_BYTES);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StalledPeerError);
    expect(error).toMatchObject({ consumer: 'sm3', message: 'digested nothing for 0.3 s' });
  });

  it('takes a consumer that gives no digest for stallMs for dead', () => {
    const ring = allocateRing();
    const producer = new RingProducer(ring, 300);
    const silent = consumer(ring, 'sha256', 'digest');
    producer.begin([silent]);
    produce(producer, randomBytes(1000), () => BLOCK_BYTES);
    expect(() => producer.finish('sha256')).toThrow(new StalledPeerError('sha256', 'gave no digest for 0.3 s'));
  });
});
