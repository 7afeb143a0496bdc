// Worker thread of storage/minio.object-store.ts: the MD5 of one upload part (its Content-MD5
// and its share of the expected ETag), so that it runs beside the SHA-256 of the whole file
// on the uploading thread instead of after it. Plain JavaScript so it starts without tsx.
//   in:  { id, data: Uint8Array over a SharedArrayBuffer }  → out: { id, md5: Uint8Array }
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

parentPort.on('message', ({ id, data }) => {
  parentPort.postMessage({ id, md5: createHash('md5').update(data).digest() });
});
