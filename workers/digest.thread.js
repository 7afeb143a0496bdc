// Worker thread of workers/acquire.copier.ts: digests one algorithm off the copying thread, so
// that the copy runs at bus speed while it hashes. Plain JavaScript so the worker starts
// without the tsx loader. Two ways in:
// - Started by copy.thread.js with workerData.ring: the copy thread's ring of blocks in shared
//   memory (block-ring.channel.js). Each { start } message digests every block the copy
//   publishes, in order, until it ends the job; the digest is left in shared memory, because
//   the copy thread waits for it with Atomics.wait and receives no messages while it copies.
// - Started by the stream copier (acquire.copier.ts), messages on parentPort:
//     in:  { chunk: Uint8Array over a SharedArrayBuffer }   → out: { done: byteLength }
//     in:  { final: true }                                  → out: { digest: hex }
// Either way the thread starts afresh after a digest, so it can serve the next file.
import { createHash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { RingConsumer } from './block-ring.channel.js';

const { algorithm } = workerData;
if (workerData.ring) {
  const consumer = new RingConsumer(workerData.ring, workerData.own);
  parentPort.on('message', () => {
    const hash = createHash(algorithm);
    consumer.digest((block) => hash.update(block));
    consumer.done(hash.digest());
  });
} else {
  let hash = createHash(algorithm);
  parentPort.on('message', (message) => {
    if (message.final) {
      parentPort.postMessage({ digest: hash.digest('hex') });
      hash = createHash(algorithm);
      return;
    }
    hash.update(message.chunk);
    parentPort.postMessage({ done: message.chunk.byteLength });
  });
}
