// Worker thread of storage/minio.object-store.ts: upload digests off the uploading thread, so
// that a file's SHA-256, its parts' MD5s (Content-MD5 and the expected ETag) and the sending
// run beside each other. Plain JavaScript so it starts without tsx. Messages are handled in
// order, so a stream's updates apply in part order. Data is a Uint8Array over shared memory.
//   { id, kind: 'md5', data }              → { id, digest: Uint8Array }
//   { id, kind: 'update', stream, data }   → { id }            (SHA-256 of a whole upload)
//   { id, kind: 'final', stream }          → { id, digest: Uint8Array }
//   { id, kind: 'drop', stream }           → { id }
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

const streams = new Map();
parentPort.on('message', ({ id, kind, stream, data }) => {
  switch (kind) {
    case 'md5':
      parentPort.postMessage({ id, digest: createHash('md5').update(data).digest() });
      return;
    case 'update': {
      let hash = streams.get(stream);
      if (!hash) streams.set(stream, (hash = createHash('sha256')));
      hash.update(data);
      parentPort.postMessage({ id });
      return;
    }
    case 'final': {
      const hash = streams.get(stream) ?? createHash('sha256');
      streams.delete(stream);
      parentPort.postMessage({ id, digest: hash.digest() });
      return;
    }
    case 'drop':
      streams.delete(stream);
      parentPort.postMessage({ id });
      return;
    default:
      // Never leave a sender waiting: an unknown message ends the thread, which fails its callers.
      throw new Error(`unknown message kind ${kind}`);
  }
});
