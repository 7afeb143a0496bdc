import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { crc32 } from 'node:zlib';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/config.loader.ts';
import type { EvidockConfig } from '../config/config.schema.ts';
import {
  BucketNotWriteOnceError,
  MinioObjectStore,
  ObjectLockedError,
  ObjectStoreRequestError,
  SpoolFileChangedError,
} from '../storage/minio.object-store.ts';
import { Crc32PartAccumulator } from '../storage/etag.ts';
import { ObjectExistsError, ObjectStoreUnavailableError, originalKey, SentBytesMismatchError, storedMatchesReceipt } from '../storage/object-store.ts';
import { newSealKey, Sealer, type SpoolSeal } from '../storage/spool-seal.ts';

/**
 * Integration tests against the real local MinIO (`bash scripts/stack.sh up`, 127.0.0.1:9010).
 * Every run uses its own buckets: objects under COMPLIANCE retention cannot be deleted, so
 * each run leaves 1-day-locked test buckets behind by design.
 */

const MiB = 1024 * 1024;
const PART = 5 * MiB;
const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
const bucketsOf = (tag: string) => ({
  originalsBucket: `t-${runId}-${tag}-orig`,
  ledgerBucket: `t-${runId}-${tag}-ledger`,
  derivativesBucket: `t-${runId}-${tag}-deriv`,
});

function configFor(minio: Record<string, string | number | boolean>, days = 1): EvidockConfig {
  return loadConfig({ overrides: { minio: { partSizeMiB: 5, ...minio }, retention: { mode: 'COMPLIANCE', days } } });
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const md5 = (b: Buffer) => createHash('md5').update(b).digest();

function multipartEtag(body: Buffer, partSize: number): string {
  const digests: Buffer[] = [];
  for (let offset = 0; offset < body.length; offset += partSize) digests.push(md5(body.subarray(offset, offset + partSize)));
  return `${createHash('md5').update(Buffer.concat(digests)).digest('hex')}-${digests.length}`;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

let dir: string;
let config: EvidockConfig;
let store: MinioObjectStore;

function spoolFile(name: string, size: number): { path: string; body: Buffer; sha: string } {
  const body = randomBytes(size);
  const path = join(dir, name);
  writeFileSync(path, body);
  return { path, body, sha: sha256(body) };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'evidock-minio-test-'));
  config = configFor(bucketsOf('main'));
  store = new MinioObjectStore(config.minio, config.retention);
  try {
    await store.ping();
  } catch (err) {
    throw new Error(`MinIO is not reachable at ${config.minio.endPoint}:${config.minio.port}; start it with \`bash scripts/stack.sh up\` (${String(err)})`);
  }
  await store.ensureBuckets();
}, 60_000);

afterAll(() => {
  store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('MinioObjectStore.ensureBuckets', () => {
  it('creates originals and ledger with object lock, versioning and default retention, and is idempotent', async () => {
    await store.ensureBuckets();
    await store.ensureBuckets();
    const client = store.rawClient;
    for (const bucket of [config.minio.originalsBucket, config.minio.ledgerBucket]) {
      expect(await client.bucketExists(bucket)).toBe(true);
      expect(await client.getObjectLockConfig(bucket)).toEqual({ objectLockEnabled: 'Enabled', mode: 'COMPLIANCE', unit: 'Days', validity: 1 });
      expect(await client.getBucketVersioning(bucket)).toMatchObject({ Status: 'Enabled' });
    }
    expect(await client.bucketExists(config.minio.derivativesBucket)).toBe(true);
    await expect(client.getObjectLockConfig(config.minio.derivativesBucket)).rejects.toMatchObject({ code: 'ObjectLockConfigurationNotFoundError' });
  });

  it('refuses an existing originals bucket without object lock', async () => {
    const plain = `t-${runId}-plain`;
    await store.rawClient.makeBucket(plain, config.minio.region);
    const cfg = configFor({ ...bucketsOf('refuse'), originalsBucket: plain });
    const other = new MinioObjectStore(cfg.minio, cfg.retention);
    await expect(other.ensureBuckets()).rejects.toBeInstanceOf(BucketNotWriteOnceError);
    other.close();
  });

  it('never weakens a stronger default retention already on the bucket', async () => {
    const buckets = bucketsOf('strong');
    const strong = configFor(buckets, 2);
    const strongStore = new MinioObjectStore(strong.minio, strong.retention);
    await strongStore.ensureBuckets();
    const weak = configFor(buckets, 1);
    const weakStore = new MinioObjectStore(weak.minio, weak.retention);
    await weakStore.ensureBuckets();
    expect(await store.rawClient.getObjectLockConfig(buckets.originalsBucket)).toMatchObject({ mode: 'COMPLIANCE', validity: 2 });
    strongStore.close();
    weakStore.close();
  });
});

const crc32Of = (b: Buffer) => {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(b));
  return out;
};
/** The S3 COMPOSITE CRC32 checksum of a multipart body: CRC32 of the part CRC32s, "-N". */
function compositeCrc32(body: Buffer, partSize: number): string {
  const crcs: Buffer[] = [];
  for (let offset = 0; offset < body.length; offset += partSize) crcs.push(crc32Of(body.subarray(offset, offset + partSize)));
  return `crc32:${crc32Of(Buffer.concat(crcs)).toString('base64')}-${crcs.length}`;
}

describe('MinioObjectStore.putFile with CRC32 checksums (the default)', () => {
  it('uploads a small file in one PUT and proves it: the server keeps its CRC32; SHA-256 of the bytes sent', async () => {
    expect(config.minio.uploadChecksum).toBe('crc32');
    const file = spoolFile('small.bin', 1000);
    const key = originalKey(file.sha);
    const receipt = await store.putFile('originals', key, file.path, file.body.length, { 'evidence-id': 'E-1', 'Recorder-Serial': 'SN123' });
    expect(receipt.proof).toBe('checksum');
    expect(receipt.expected).toBe(`crc32:${crc32Of(file.body).toString('base64')}`);
    expect(receipt.reported).toBe(receipt.expected);
    // MinIO still gives an MD5 ETag, which `verify` uses to notice a replaced object.
    expect(receipt.etag).toBe(md5(file.body).toString('hex'));
    expect(receipt.sentSha256).toBe(file.sha);
    expect(receipt.bytesSent).toBe(1000);
    expect(receipt.versionId).toEqual(expect.stringMatching(/\S/));

    const stat = await store.stat('originals', key);
    expect(stat).not.toBeNull();
    expect(stat?.size).toBe(1000);
    expect(stat?.etag).toBe(receipt.etag);
    expect(stat?.checksum).toBe(receipt.expected);
    expect(storedMatchesReceipt(stat!, receipt)).toBe(true);
    expect(stat?.versionId).toBe(receipt.versionId);
    expect(stat?.metadata).toMatchObject({ 'evidence-id': 'E-1', 'recorder-serial': 'SN123' });
    const now = Date.now();
    expect(stat?.retainUntil?.getTime()).toBeGreaterThan(now + 23 * 3600_000);
    expect(stat?.retainUntil?.getTime()).toBeLessThan(now + 25 * 3600_000);

    expect(sha256(await readAll(await store.read('originals', key)))).toBe(file.sha);
  });

  it('uploads 2.5 x part size as 3 parts whose composite checksum the server keeps', async () => {
    const file = spoolFile('multi.bin', Math.floor(2.5 * PART));
    const key = originalKey(file.sha);
    const receipt = await store.putFile('originals', key, file.path, file.body.length, { 'evidence-id': 'E-2' });
    expect(receipt.proof).toBe('checksum');
    expect(receipt.expected).toBe(compositeCrc32(file.body, PART));
    expect(receipt.reported).toBe(receipt.expected);
    expect(receipt.etag).toBe(multipartEtag(file.body, PART));
    expect(receipt.sentSha256).toBe(file.sha);

    const stat = await store.stat('originals', key);
    expect(stat).toMatchObject({ size: file.body.length, etag: receipt.etag, checksum: receipt.expected, versionId: receipt.versionId });
    expect(stat?.metadata['evidence-id']).toBe('E-2');
    expect(sha256(await readAll(await store.read('originals', key)))).toBe(file.sha);
  }, 60_000);

  it('keeps parts of exactly part size when the tail is tiny (2 x part + 3 bytes -> 3 parts)', async () => {
    const file = spoolFile('tail.bin', 2 * PART + 3);
    const receipt = await store.putFile('originals', originalKey(file.sha), file.path, file.body.length, {});
    expect(receipt.expected).toBe(compositeCrc32(file.body, PART));
    expect(receipt.expected.endsWith('-3')).toBe(true);
    expect(receipt.reported).toBe(receipt.expected);
  }, 60_000);

  it('gives the spooled copy the checksum the stored object has (Crc32PartAccumulator), in any chunking', async () => {
    const file = spoolFile('accumulate.bin', 2 * PART + 77);
    const receipt = await store.putFile('originals', originalKey(file.sha), file.path, file.body.length, {});
    const acc = new Crc32PartAccumulator(PART);
    for (let offset = 0; offset < file.body.length; offset += 777_777) acc.update(file.body.subarray(offset, offset + 777_777));
    expect(acc.digest()).toBe(receipt.expected);
    const small = spoolFile('accumulate-small.bin', 10);
    const one = await store.putFile('originals', originalKey(small.sha), small.path, 10, {});
    expect(new Crc32PartAccumulator(PART).update(small.body).digest()).toBe(one.reported);
  }, 60_000);

  it('a part altered on the way is refused by the server, and nothing is stored', async () => {
    const proxy = await corruptingProxy(config.minio.port, 200_000);
    const cfg = configFor({ ...bucketsOf('main'), port: proxy.port });
    for (const size of [PART - 1, 2 * PART + 5]) {
      // A store of its own, so that the upload opens a new connection, whose 200,000th byte
      // lies in the body of the PUT (single) or of part 1 (multipart).
      const through = new MinioObjectStore(cfg.minio, cfg.retention);
      const file = spoolFile(`altered-${size}.bin`, size);
      const err = await through.putFile('originals', originalKey(file.sha), file.path, size, {}).catch((e: unknown) => e);
      through.close();
      expect(err).toBeInstanceOf(ObjectStoreRequestError);
      expect((err as ObjectStoreRequestError).code).toBe('XAmzContentChecksumMismatch');
      expect(await store.stat('originals', originalKey(file.sha))).toBeNull();
    }
    expect(proxy.flipped()).toBeGreaterThanOrEqual(2);
    await proxy.close();
  }, 60_000);
});

describe('MinioObjectStore.putFile with Content-MD5 (uploadChecksum md5)', () => {
  let md5Store: MinioObjectStore;
  beforeAll(() => {
    const cfg = configFor({ ...bucketsOf('main'), uploadChecksum: 'md5' });
    md5Store = new MinioObjectStore(cfg.minio, cfg.retention);
  });
  afterAll(() => md5Store?.close());

  it('uploads a small file in one PUT and proves it: ETag = MD5', async () => {
    const file = spoolFile('small-md5.bin', 1000);
    const key = originalKey(file.sha);
    const receipt = await md5Store.putFile('originals', key, file.path, file.body.length, {});
    expect(receipt).toMatchObject({ proof: 'etag', expected: md5(file.body).toString('hex'), reported: md5(file.body).toString('hex'), sentSha256: file.sha });
    const stat = await md5Store.stat('originals', key);
    expect(stat?.checksum).toBeNull();
    expect(storedMatchesReceipt(stat!, receipt)).toBe(true);
  });

  it('sends a body of exactly one part size as a single PUT (no -N suffix)', async () => {
    const file = spoolFile('exact.bin', PART);
    const receipt = await md5Store.putFile('originals', originalKey(file.sha), file.path, PART, {});
    expect(receipt.etag).toBe(md5(file.body).toString('hex'));
    expect(receipt.expected).toBe(receipt.etag);
  });

  it('uploads 2 x part + 3 bytes as 3 parts whose ETag matches the bytes sent', async () => {
    const file = spoolFile('tail-md5.bin', 2 * PART + 3);
    const receipt = await md5Store.putFile('originals', originalKey(file.sha), file.path, file.body.length, {});
    expect(receipt.proof).toBe('etag');
    expect(receipt.etag).toBe(multipartEtag(file.body, PART));
    expect(receipt.expected).toBe(receipt.etag);
    expect(receipt.sentSha256).toBe(file.sha);
  }, 60_000);

  it('a part altered on the way fails its Content-MD5, and nothing is stored', async () => {
    const proxy = await corruptingProxy(config.minio.port, 200_000);
    const cfg = configFor({ ...bucketsOf('main'), port: proxy.port, uploadChecksum: 'md5' });
    const through = new MinioObjectStore(cfg.minio, cfg.retention);
    const file = spoolFile('altered-md5.bin', 2 * PART + 5);
    const err = await through.putFile('originals', originalKey(file.sha), file.path, file.body.length, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ObjectStoreRequestError);
    expect((err as ObjectStoreRequestError).code).toBe('BadDigest');
    expect(await store.stat('originals', originalKey(file.sha))).toBeNull();
    through.close();
    await proxy.close();
  }, 60_000);
});

/**
 * A TCP proxy to the real MinIO that flips one bit of each connection's request stream at
 * byte `at` (past the request head of a large PUT, so inside its body).
 */
async function corruptingProxy(targetPort: number, at: number): Promise<{ port: number; flipped: () => number; close: () => Promise<void> }> {
  let flipped = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    let seen = 0;
    client.on('data', (chunk: Buffer) => {
      if (seen <= at && at < seen + chunk.length) {
        chunk[at - seen] = chunk[at - seen]! ^ 0x01;
        flipped++;
      }
      seen += chunk.length;
      upstream.write(chunk);
    });
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    flipped: () => flipped,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('MinioObjectStore.putFile proves the bytes sent are the acquired ones', () => {
  const sealOf = (body: Buffer): SpoolSeal => {
    const key = newSealKey();
    const sealer = new Sealer(key);
    sealer.update(body);
    return { ...key, tag: sealer.tag() };
  };
  /** The spool file changed after it was acquired: one byte flipped. */
  const damaged = (file: { path: string; body: Buffer }) => {
    const changed = Buffer.from(file.body);
    changed[changed.length >> 1]! ^= 0x01;
    writeFileSync(file.path, changed);
  };

  for (const [what, size] of [
    ['one PUT', 1000],
    ['multipart', 2 * PART + 3],
  ] as const) {
    it(`${what}: with the acquisition's seal, the bytes sent are authenticated by it instead of hashed again`, async () => {
      const file = spoolFile(`sealed-${size}.bin`, size);
      const receipt = await store.putFile('originals', originalKey(file.sha), file.path, size, {}, { expectSha256: file.sha, expectSeal: sealOf(file.body) });
      expect(receipt).toMatchObject({ sealed: true, sentSha256: null, bytesSent: size });
      expect(storedMatchesReceipt((await store.stat('originals', originalKey(file.sha)))!, receipt)).toBe(true);
    });

    it(`${what}: a spool changed after acquisition fails the seal (or the SHA-256), and nothing is stored`, async () => {
      const sealed = spoolFile(`damaged-seal-${size}.bin`, size);
      const seal = sealOf(sealed.body);
      damaged(sealed);
      const bySeal = await store.putFile('originals', originalKey(sealed.sha), sealed.path, size, {}, { expectSha256: sealed.sha, expectSeal: seal }).catch((e: unknown) => e);
      expect(bySeal).toBeInstanceOf(SentBytesMismatchError);
      expect(bySeal).toMatchObject({ check: 'seal', expected: seal.tag });
      expect(await store.stat('originals', originalKey(sealed.sha))).toBeNull();

      const hashed = spoolFile(`damaged-sha-${size}.bin`, size);
      damaged(hashed);
      const bySha = await store.putFile('originals', originalKey(hashed.sha), hashed.path, size, {}, { expectSha256: hashed.sha }).catch((e: unknown) => e);
      expect(bySha).toMatchObject({ name: 'SentBytesMismatchError', check: 'sha256', expected: hashed.sha });
      expect(await store.stat('originals', originalKey(hashed.sha))).toBeNull();
    });
  }
});

describe('MinioObjectStore.putFile', () => {
  it('stops a multipart upload between parts when its signal is aborted: nothing stored, the incomplete upload removed', async () => {
    const file = spoolFile('stopped.bin', 4 * PART + 7);
    const stopping = new AbortController();
    const err = await store
      .putFile('originals', originalKey(file.sha), file.path, file.body.length, {}, { signal: stopping.signal, onProgress: () => stopping.abort() })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'AbortError', message: 'upload stopped: this process is stopping' });
    expect(await store.stat('originals', originalKey(file.sha))).toBeNull();
    const incomplete: unknown[] = [];
    for await (const upload of store.rawClient.listIncompleteUploads(config.minio.originalsBucket, originalKey(file.sha), false)) incomplete.push(upload);
    expect(incomplete).toEqual([]);
    // The same file uploads whole afterwards (the store step run again by the next process).
    const receipt = await store.putFile('originals', originalKey(file.sha), file.path, file.body.length, {}, { expectSha256: file.sha });
    expect(receipt.sentSha256).toBe(file.sha);
  }, 60_000);

  it('refuses a spool file whose size is not the declared one', async () => {
    const file = spoolFile('short.bin', 100);
    await expect(store.putFile('originals', originalKey(file.sha), file.path, 101, {})).rejects.toBeInstanceOf(SpoolFileChangedError);
  });

  it('rejects non-ASCII metadata before sending anything', async () => {
    const file = spoolFile('meta.bin', 10);
    await expect(store.putFile('derivatives', 'meta/x', file.path, 10, { officer: '张三' })).rejects.toThrow(/ASCII/);
  });
});

describe('write-once originals', () => {
  it('refuses to delete a locked version; a delete marker hides nothing that cannot be read by versionId', async () => {
    const file = spoolFile('tamper.bin', 4096);
    const key = originalKey(file.sha);
    const bucket = config.minio.originalsBucket;
    const { versionId } = await store.putFile('originals', key, file.path, file.body.length, {});
    expect(versionId).toEqual(expect.stringMatching(/\S/));
    const client = store.rawClient;

    // Our remove() deletes the current version itself (no delete marker): refused.
    await expect(store.remove('originals', key)).rejects.toBeInstanceOf(ObjectLockedError);
    await expect(store.remove('originals', key, versionId ?? undefined)).rejects.toBeInstanceOf(ObjectLockedError);
    expect((await store.stat('originals', key))?.versionId).toBe(versionId);

    // A plain DELETE without versionId only adds a delete marker in a versioned bucket...
    await client.removeObject(bucket, key);
    expect(await store.stat('originals', key)).toBeNull();
    // ...and the locked version itself cannot be deleted, not even by versionId,
    await expect(client.removeObject(bucket, key, { versionId: versionId ?? '' })).rejects.toMatchObject({ code: 'InvalidRequest' });
    // so the bytes remain readable by versionId.
    const bytes = await readAll(await client.getObject(bucket, key, { versionId: versionId ?? '' }));
    expect(sha256(bytes)).toBe(file.sha);
  });

  it('removes from the derivatives bucket, which has no retention', async () => {
    const file = spoolFile('proxy.bin', 2048);
    await store.putFile('derivatives', 'proxy/p1.mp4', file.path, 2048, {});
    const stat = await store.stat('derivatives', 'proxy/p1.mp4');
    expect(stat?.retainUntil).toBeNull();
    await store.remove('derivatives', 'proxy/p1.mp4');
    expect(await store.stat('derivatives', 'proxy/p1.mp4')).toBeNull();
    await store.remove('derivatives', 'proxy/p1.mp4');
  });
});

describe('documents and listing', () => {
  it('writes a document once and refuses the second write', async () => {
    const body = Buffer.from(JSON.stringify({ event: 'stored', seq: 1 }));
    const put = await store.putDocument('ledger', 'events/0001.json', body, 'application/json');
    expect(put.etag).toBe(md5(body).toString('hex'));
    expect(put.versionId).toEqual(expect.stringMatching(/\S/));
    await expect(store.putDocument('ledger', 'events/0001.json', Buffer.from('other'), 'application/json')).rejects.toBeInstanceOf(ObjectExistsError);
    expect(await store.readDocument('ledger', 'events/0001.json')).toEqual(body);
    const stat = await store.stat('ledger', 'events/0001.json');
    expect(stat?.metadata['content-type']).toBe('application/json');
    expect(stat?.retainUntil?.getTime()).toBeGreaterThan(Date.now());
  });

  it('lets exactly one of two concurrent writers of a key win', async () => {
    const results = await Promise.allSettled([
      store.putDocument('ledger', 'events/race.json', Buffer.from('a'), 'application/json'),
      store.putDocument('ledger', 'events/race.json', Buffer.from('b'), 'application/json'),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected');
    expect((rejected as PromiseRejectedResult).reason).toBeInstanceOf(ObjectExistsError);
  });

  it('returns null for a missing document', async () => {
    expect(await store.readDocument('ledger', 'events/missing.json')).toBeNull();
    expect(await store.stat('ledger', 'events/missing.json')).toBeNull();
  });

  it('lists keys under a prefix, recursively', async () => {
    for (const key of ['list/a/1.json', 'list/a/deep/2.json', 'list/b/1.json']) {
      await store.putDocument('derivatives', key, Buffer.from(key), 'application/json');
    }
    const listed: { key: string; size: number }[] = [];
    for await (const entry of store.list('derivatives', 'list/a/')) listed.push(entry);
    expect(listed.sort((x, y) => x.key.localeCompare(y.key))).toEqual([
      { key: 'list/a/1.json', size: 'list/a/1.json'.length },
      { key: 'list/a/deep/2.json', size: 'list/a/deep/2.json'.length },
    ]);
  });
});

describe('failures', () => {
  it('reports an unreachable endpoint as ObjectStoreUnavailableError, for ping and putFile', async () => {
    const cfg = configFor({ ...bucketsOf('down'), port: 1 });
    const down = new MinioObjectStore(cfg.minio, cfg.retention);
    await expect(down.ping()).rejects.toBeInstanceOf(ObjectStoreUnavailableError);
    const small = spoolFile('down-small.bin', 100);
    await expect(down.putFile('originals', originalKey(small.sha), small.path, 100, {})).rejects.toBeInstanceOf(ObjectStoreUnavailableError);
    const big = spoolFile('down-big.bin', PART + 1);
    const err = await down.putFile('originals', originalKey(big.sha), big.path, PART + 1, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ObjectStoreUnavailableError);
    expect(String((err as Error).message)).not.toContain(cfg.minio.secretKey);
    down.close();
  });

  it('times out a server that accepts connections but never answers', async () => {
    const sockets = new Set<Socket>();
    const server: Server = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const cfg = configFor({ ...bucketsOf('hang'), port });
    const hung = new MinioObjectStore(cfg.minio, cfg.retention, { requestTimeoutMs: 300 });
    const err = await hung.ping().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ObjectStoreUnavailableError);
    expect((err as Error).message).toContain('no activity from the object store for 300 ms');
    hung.close();
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('reports bad credentials as a request error that does not quote them', async () => {
    const secretKey = 'wrong-secret-value-123';
    const cfg = configFor({ ...bucketsOf('creds'), secretKey });
    const denied = new MinioObjectStore(cfg.minio, cfg.retention);
    const err = await denied.ping().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ObjectStoreRequestError);
    expect((err as Error).message).not.toContain(secretKey);
    denied.close();
  });
});
