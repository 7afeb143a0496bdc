// Worker thread of workers/acquire.copier.ts: digests one algorithm (SM3 is ~5× slower than
// SHA-256 with SHA-NI) off the copy's thread, so the copy runs at bus speed while it hashes.
// Plain JavaScript so the worker starts without the tsx loader. Protocol (parentPort):
//   in:  { chunk: Uint8Array over a SharedArrayBuffer }   → out: { done: byteLength }
//   in:  { final: true }                                  → out: { digest: hex }
// After a digest the thread starts afresh, so that the copier can reuse it for the next file.
// Started by copy.thread.js with workerData.pending (an Int32 in shared memory) instead: the
// undigested byte count is kept there rather than sent as { done }, because that thread
// waits on it with Atomics.wait and receives no messages while it copies.
import { createHash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';

let hash = createHash(workerData.algorithm);
const pending = workerData.pending ? new Int32Array(workerData.pending) : null;
parentPort.on('message', (message) => {
  if (message.final) {
    parentPort.postMessage({ digest: hash.digest('hex') });
    hash = createHash(workerData.algorithm);
    return;
  }
  hash.update(message.chunk);
  if (pending) {
    Atomics.sub(pending, 0, message.chunk.byteLength);
    Atomics.notify(pending, 0);
  } else parentPort.postMessage({ done: message.chunk.byteLength });
});
