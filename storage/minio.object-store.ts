import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { Client, type ObjectLockInfo } from 'minio';
import type { EvidockConfig } from '../config/config.schema.ts';
import { moduleLogger } from '../config/logger.ts';
import { crc32, crc32Base64, crc32Checksum, etagOfPartDigests } from './etag.ts';
import { Sealer } from './spool-seal.ts';
import {
  ObjectExistsError,
  ObjectStoreUnavailableError,
  SentBytesMismatchError,
  stoppedError,
  type BucketRole,
  type ObjectStore,
  type PutFileOptions,
  type StoredObject,
  type UploadReceipt,
} from './object-store.ts';
type UploadChecksum = EvidockConfig['minio']['uploadChecksum'];

/**
 * The ObjectStore on MinIO (or any S3 server with object lock), through minio-js 8.0.7.
 *
 * Uploads do not go through minio-js `putObject`. Its multipart path hands the stream to
 * block-stream2 and takes parts with a for-await over it; readable-stream's `read()` returns
 * everything buffered, so when the tail of the body is written while the previous block is
 * still unread, that block and the tail leave as ONE part (seen: a 10 MiB + 3 B file read with
 * fs.createReadStream and partSize 5 MiB went up as parts of 5 MiB and 5 MiB + 3 B, ETag "-2").
 * The part split, hence the multipart ETag, then depends on timing and no tap can predict it.
 * It also numbers parts from 2 (so at most 9,999 parts) and silently resumes any earlier
 * incomplete upload of the same key. So putFile reads the spool file in parts of exactly
 * `partSizeMiB` itself, digests each part once as it is read and sends it with minio-js's signed
 * request primitive (`makeRequestStreamAsync`), `minio.partsInFlight` parts at a time. Every
 * part carries a digest the server checks it against (`minio.uploadChecksum`):
 * - crc32 (default): the part's CRC32 as an S3 additional checksum (x-amz-checksum-crc32). The
 *   upload is created with that algorithm and the server keeps the composite checksum
 *   (CRC32 of the part CRC32s + "-N"), which must then equal ours. zlib's CRC32 costs about
 *   0.05 CPU-s per GiB where MD5 costs 1.5, and MD5 was what made uploads slower than mc's.
 * - md5: the part's MD5 as Content-MD5, which is also its share of the expected S3 ETag
 *   (etagOfPartDigests), for S3 servers without additional checksums.
 * Either way the SHA-256 of the whole is computed over the bytes sent. Bodies are signed
 * UNSIGNED-PAYLOAD unless `minio.signPayload` (the signed checksum header is what the server
 * checks them against); signing
 * them would SHA-256 every byte once more here and once more on the server, which on a
 * machine that also runs the server halved upload throughput. The split is the one minio-js's code intends for a fixed client partSize
 * (`calculatePartSize` returns it as is): one PUT when size <= part size, else parts of exactly
 * part size, numbered from 1; EtagAccumulator over the spool file gives the same ETag at any
 * later time, as long as `partSizeMiB` is unchanged. Memory: `partsInFlight` + 1 part buffers per upload.
 *
 * ETags are MD5-based only on servers in strict S3 mode without SSE-C/SSE-KMS: a MinIO started
 * with `--no-compat`, or with KMS encryption, reports other ETags, and then only crc32 works
 * (the ETag still serves to find a stored object that was replaced since it was verified).
 */

const log = moduleLogger('object-store');

const MiB = 1024 * 1024;
/** S3 allows part numbers 1..10000. */
const MAX_PARTS = 10_000;
/** S3 limit on the total size of user metadata (keys + values). */
const MAX_METADATA_BYTES = 2048;
/** readDocument refuses bigger objects: documents are meant to be small. */
const MAX_DOCUMENT_BYTES = 64 * MiB;
const DEFAULT_REQUEST_TIMEOUT_MS = 120_000;

/** The originals or ledger bucket exists but is not write-once (no object lock, or no versioning). */
export class BucketNotWriteOnceError extends Error {
  constructor(
    readonly bucket: string,
    reason: string,
  ) {
    super(`bucket ${bucket} is not write-once (${reason}); evidence must never be stored in a deletable bucket`);
    this.name = 'BucketNotWriteOnceError';
  }
}

/** The server refused to delete or overwrite a version under retention or legal hold. */
export class ObjectLockedError extends Error {
  constructor(
    readonly bucket: string,
    readonly key: string,
    readonly versionId: string | null,
    options?: { cause?: unknown },
  ) {
    super(`object ${bucket}/${key}${versionId ? ` version ${versionId}` : ''} is under object lock and cannot be deleted`, options);
    this.name = 'ObjectLockedError';
  }
}

/**
 * putDocument: the server's ETag is not the MD5 of the document sent. (putFile does not throw
 * this: it returns both ETags in its receipt for the caller to compare and record.)
 */
export class UploadVerificationError extends Error {
  constructor(
    readonly bucket: string,
    readonly key: string,
    readonly receipt: UploadReceipt,
  ) {
    super(
      `stored object ${bucket}/${key} (version ${receipt.versionId ?? 'none'}) has ${receipt.proof} ${receipt.reported}, ` +
        `but the ${receipt.bytesSent} bytes sent must give ${receipt.expected}`,
    );
    this.name = 'UploadVerificationError';
  }
}

/** The spool file does not have the size the caller declared, or changed size while being read. */
export class SpoolFileChangedError extends Error {
  constructor(
    readonly filePath: string,
    message: string,
  ) {
    super(`spool file ${filePath}: ${message}`);
    this.name = 'SpoolFileChangedError';
  }
}

/** Any other failure of an object store request; `code` is the S3 error code when there is one. */
export class ObjectStoreRequestError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ObjectStoreRequestError';
  }
}

export interface MinioObjectStoreOptions {
  /**
   * Socket inactivity limit per request, connecting included. A request idle for longer is
   * aborted and reported as ObjectStoreUnavailableError. It also applies to a stream from
   * read() whose consumer stops reading for that long.
   */
  requestTimeoutMs?: number;
}

type MinioConfig = EvidockConfig['minio'];
type RetentionConfig = EvidockConfig['retention'];
/** The request options of minio-js's signed request primitive (not exported by the package). */
type RequestOption = Parameters<Client['makeRequestStreamAsync']>[0];
type Transport = NonNullable<ConstructorParameters<typeof Client>[0]['transport']>;

/** Socket-level failures: the server could not be reached or the connection broke. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ECONNABORTED',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
]);
/** S3 / MinIO error codes that mean "try again later". */
const BUSY_CODES = new Set([
  'SlowDown',
  'ServiceUnavailable',
  'RequestTimeout',
  'InternalError',
  'XMinioServerNotInitialized',
  'XMinioReadQuorum',
  'XMinioWriteQuorum',
  'XMinioStorageFull',
  'XMinioBackendDown',
]);
const NOT_FOUND_CODES = new Set(['NotFound', 'NoSuchKey', 'NoSuchVersion']);

const RETENTION_RANK = { GOVERNANCE: 1, COMPLIANCE: 2 } as const;

export class MinioObjectStore implements ObjectStore {
  private readonly client: Client;
  /** Sends putFile's bodies: the same client, or one that does not SHA-256 them (minio.signPayload off). */
  private readonly bodyClient: Client;
  private readonly agent: http.Agent;
  private readonly partSize: number;
  private readonly partsInFlight: number;
  private readonly uploadChecksum: UploadChecksum;
  private readonly digestThreads: DigestThreads;
  private readonly endpoint: string;
  private readonly secrets: string[];

  constructor(
    private readonly config: MinioConfig,
    private readonly retention: RetentionConfig,
    options: MinioObjectStoreOptions = {},
  ) {
    const timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.partSize = config.partSizeMiB * MiB;
    this.partsInFlight = config.partsInFlight;
    this.uploadChecksum = config.uploadChecksum;
    this.digestThreads = new DigestThreads(config.digestThreads);
    this.endpoint = `${config.useSSL ? 'https' : 'http'}://${config.endPoint}:${config.port}`;
    this.secrets = [config.secretKey, config.accessKey].filter((s) => s.length >= 3);
    this.agent = config.useSSL
      ? new https.Agent({ keepAlive: true, ...(config.caFile ? { ca: readFileSync(config.caFile) } : {}) })
      : new http.Agent({ keepAlive: true });
    const clientOptions: ConstructorParameters<typeof Client>[0] = {
      endPoint: config.endPoint,
      port: config.port,
      useSSL: config.useSSL,
      accessKey: config.accessKey,
      secretKey: config.secretKey,
      region: config.region,
      partSize: this.partSize,
      pathStyle: true,
      transport: timedTransport(config.useSSL ? https : http, timeoutMs),
      transportAgent: this.agent,
    };
    this.client = new Client(clientOptions);
    if (config.signPayload || config.useSSL) {
      this.bodyClient = this.client;
    } else {
      // minio-js signs every HTTP body by its SHA-256 (enableSHA256 = !useSSL) and has no
      // option for UNSIGNED-PAYLOAD over HTTP; this second client, used only for bodies
      // sent with Content-MD5, turns it off. It shares the keep-alive agent.
      this.bodyClient = new Client(clientOptions);
      this.bodyClient.enableSHA256 = false;
    }
  }

  /** The underlying client, for tests and diagnostics. Evidence paths must use the methods above. */
  get rawClient(): Client {
    return this.client;
  }

  bucketName(role: BucketRole): string {
    switch (role) {
      case 'originals':
        return this.config.originalsBucket;
      case 'ledger':
        return this.config.ledgerBucket;
      case 'derivatives':
        return this.config.derivativesBucket;
    }
  }

  private isLocked(role: BucketRole): boolean {
    return role === 'originals' || role === 'ledger';
  }

  // ---------------------------------------------------------------------------------------------
  // Buckets

  async ensureBuckets(): Promise<void> {
    await this.ensureWriteOnceBucket(this.config.originalsBucket);
    await this.ensureWriteOnceBucket(this.config.ledgerBucket);
    await this.ensurePlainBucket(this.config.derivativesBucket);
  }

  private async ensureWriteOnceBucket(bucket: string): Promise<void> {
    const op = 'ensureBuckets';
    const exists = await this.call(op, bucket, '', () => this.client.bucketExists(bucket));
    if (!exists) {
      await this.makeBucket(bucket, true);
      log.info({ bucket, mode: this.retention.mode, days: this.retention.days }, 'created write-once bucket');
    }

    let lock: ObjectLockInfo;
    try {
      // minio-js declares a callback-style `void` overload first; the promise form is the one called here.
      lock = await this.call(op, bucket, '', () => this.client.getObjectLockConfig(bucket) as unknown as Promise<ObjectLockInfo>);
    } catch (err) {
      if (codeOf(err) === 'ObjectLockConfigurationNotFoundError') throw new BucketNotWriteOnceError(bucket, 'object lock is not enabled');
      throw err;
    }
    if (!('objectLockEnabled' in lock) || lock.objectLockEnabled !== 'Enabled') {
      throw new BucketNotWriteOnceError(bucket, 'object lock is not enabled');
    }

    let versioning = await this.call(op, bucket, '', () => this.client.getBucketVersioning(bucket));
    if (versioning?.Status !== 'Enabled') {
      await this.call(op, bucket, '', () => this.client.setBucketVersioning(bucket, { Status: 'Enabled' }));
      versioning = await this.call(op, bucket, '', () => this.client.getBucketVersioning(bucket));
      if (versioning?.Status !== 'Enabled') throw new BucketNotWriteOnceError(bucket, 'versioning cannot be enabled');
    }

    // 0: no bucket default (a test stack that must see purges); an existing one is left alone.
    if (this.retention.days === 0) return;
    const wanted = { mode: this.retention.mode, days: this.retention.days };
    const current =
      'mode' in lock && lock.mode
        ? { mode: lock.mode as keyof typeof RETENTION_RANK, days: Number(lock.validity) * (lock.unit === 'Years' ? 365 : 1) }
        : null;
    if (current && current.mode === wanted.mode && current.days === wanted.days) return;
    // Never weaken a bucket's default retention from a workstation's config: only set it when
    // missing, or when the configured rule is at least as strong in mode and in duration.
    if (current && (RETENTION_RANK[wanted.mode] < (RETENTION_RANK[current.mode] ?? 0) || wanted.days < current.days)) {
      log.warn({ bucket, current, configured: wanted }, 'bucket default retention is stronger than configured; leaving it');
      return;
    }
    await this.call(op, bucket, '', () =>
      this.client.setObjectLockConfig(bucket, { mode: wanted.mode, unit: 'Days', validity: wanted.days } as Omit<ObjectLockInfo, 'objectLockEnabled'>) as unknown as Promise<void>,
    );
    log.info({ bucket, previous: current, retention: wanted }, 'set bucket default retention');
  }

  private async ensurePlainBucket(bucket: string): Promise<void> {
    const exists = await this.call('ensureBuckets', bucket, '', () => this.client.bucketExists(bucket));
    if (!exists) {
      await this.makeBucket(bucket, false);
      log.info({ bucket }, 'created bucket');
    }
  }

  private async makeBucket(bucket: string, objectLocking: boolean): Promise<void> {
    try {
      await this.call('makeBucket', bucket, '', () => this.client.makeBucket(bucket, this.config.region, { ObjectLocking: objectLocking }));
    } catch (err) {
      // Another worker created it meanwhile: the checks that follow decide whether it is fit.
      if (codeOf(err) !== 'BucketAlreadyOwnedByYou') throw err;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Objects

  async stat(role: BucketRole, key: string): Promise<StoredObject | null> {
    const bucket = this.bucketName(role);
    let headers: http.IncomingHttpHeaders;
    try {
      // minio-js statObject sends no headers; checksum mode makes the server report the
      // object's additional checksum, which is what a crc32 upload is proven by.
      const res = await this.call('stat', bucket, key, () =>
        this.client.makeRequestAsyncOmit({ method: 'HEAD', bucketName: bucket, objectName: key, headers: { 'x-amz-checksum-mode': 'ENABLED' } }),
      );
      headers = res.headers;
    } catch (err) {
      if (NOT_FOUND_CODES.has(codeOf(err) ?? '')) return null;
      throw err;
    }
    const versionId = headerValue(headers, 'x-amz-version-id');
    let retainUntil: Date | null = null;
    if (this.isLocked(role)) {
      try {
        const retention = await this.call('stat', bucket, key, () =>
          this.client.getObjectRetention(bucket, key, versionId ? { versionId } : undefined),
        );
        retainUntil = retention?.retainUntilDate ? new Date(retention.retainUntilDate) : null;
      } catch (err) {
        if (codeOf(err) !== 'NoSuchObjectLockConfiguration') throw err;
      }
    }
    const metadata: Record<string, string> = {};
    for (const [k, v] of Object.entries(headers)) {
      if (k.startsWith('x-amz-meta-') && v !== undefined) metadata[k.slice('x-amz-meta-'.length)] = String(v);
    }
    const contentType = headerValue(headers, 'content-type');
    if (contentType !== null) metadata['content-type'] = contentType;
    return {
      size: Number(headerValue(headers, 'content-length') ?? NaN),
      etag: unquote(headerValue(headers, 'etag') ?? ''),
      checksum: checksumOf(headers),
      versionId,
      metadata,
      retainUntil,
    };
  }

  async putFile(
    role: BucketRole,
    key: string,
    filePath: string,
    size: number,
    metadata: Record<string, string>,
    options: PutFileOptions = {},
  ): Promise<UploadReceipt> {
    const bucket = this.bucketName(role);
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`size must be a non-negative integer, got ${size}`);
    if (size > this.partSize * MAX_PARTS) {
      throw new RangeError(`${size} bytes need more than ${MAX_PARTS} parts of ${this.config.partSizeMiB} MiB; raise minio.partSizeMiB`);
    }
    const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream', ...metadataHeaders(metadata) };

    const handle = await open(filePath, 'r');
    try {
      const actual = (await handle.stat()).size;
      if (actual !== size) throw new SpoolFileChangedError(filePath, `has ${actual} bytes, expected ${size}`);
      const started = Date.now();
      const receipt =
        size <= this.partSize
          ? await this.putSingle(bucket, key, handle, filePath, size, headers, options)
          : await this.putMultipart(bucket, key, handle, filePath, size, headers, options);
      // Comparing with a fresh stat is the caller's job (it records the outcome in the
      // custody ledger); a mismatch in the server's own answer is only logged here.
      const fields = { bucket, key, bytes: size, proof: receipt.proof, reported: receipt.reported, expected: receipt.expected, versionId: receipt.versionId };
      if (receipt.reported !== receipt.expected) log.warn(fields, `server ${receipt.proof} differs from the ${receipt.proof} of the bytes sent`);
      else log.debug({ ...fields, ms: Date.now() - started }, `uploaded; server ${receipt.proof} matches the bytes sent`);
      return receipt;
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  private async putSingle(
    bucket: string,
    key: string,
    handle: FileHandle,
    filePath: string,
    size: number,
    headers: Record<string, string>,
    options: PutFileOptions,
  ): Promise<UploadReceipt> {
    const body = Buffer.allocUnsafe(size);
    await readExactly(handle, filePath, body, 0);
    await assertAtEnd(handle, filePath, size);
    const receipt = { bytesSent: size, ...sentBytesProof(key, body, options) };
    if (this.uploadChecksum === 'crc32') {
      const crc = crc32(body);
      const expected = crc32Checksum([crc], false);
      const sent = await this.putBody('putFile', bucket, key, body, headers, integrityHeaders(crc), this.bodyClient);
      options.onProgress?.(size);
      return { ...receipt, etag: sent.etag, versionId: sent.versionId, proof: 'checksum', expected, reported: sent.checksum ?? 'none' };
    }
    // One MD5 serves as Content-MD5 and as the expected ETag.
    const md5 = createHash('md5').update(body).digest();
    const sent = await this.putBody('putFile', bucket, key, body, headers, integrityHeaders(md5), this.bodyClient);
    options.onProgress?.(size);
    return { ...receipt, etag: sent.etag, versionId: sent.versionId, proof: 'etag', expected: etagOfPartDigests([md5], false), reported: sent.etag };
  }

  /**
   * Parts are read in order and hashed once each on the way out: the SHA-256 of the whole
   * (in part order) in a worker thread, and each part's CRC32 here (or, with uploadChecksum
   * md5, its MD5 in another worker thread, which is both its Content-MD5 and its share of the
   * expected ETag). Up to `partsInFlight` parts are on the wire while the next is read and
   * hashed, so the disk, the hashes and the network overlap; part buffers (shared memory,
   * never copied) are reused.
   */
  private async putMultipart(
    bucket: string,
    key: string,
    handle: FileHandle,
    filePath: string,
    size: number,
    headers: Record<string, string>,
    options: PutFileOptions,
  ): Promise<UploadReceipt> {
    const op = 'putFile';
    const withCrc = this.uploadChecksum === 'crc32';
    // The acquisition's seal proves the bytes sent at a tenth of a second SHA-256's cost.
    const sealer = options.expectSeal ? new Sealer(options.expectSeal) : null;
    const sha256 = sealer ? null : this.digestThreads.sha256Stream();
    const partCount = Math.ceil(size / this.partSize);
    // One of the two is filled, by uploadChecksum.
    const partCrcs: number[] = new Array<number>(partCount);
    const partMd5s: Buffer[] = new Array<Buffer>(partCount);
    const parts: { part: number; etag: string }[] = new Array<{ part: number; etag: string }>(partCount);
    const free: Buffer[] = [];
    const inFlight = new Set<Promise<void>>();
    let failure: { error: unknown } | null = null;
    let sent = 0;
    const initHeaders = withCrc ? { ...headers, 'x-amz-checksum-algorithm': 'CRC32' } : headers;
    const uploadId = await this.call(op, bucket, key, () => this.client.initiateNewMultipartUpload(bucket, key, initHeaders));
    try {
      for (let offset = 0, part = 1; offset < size && !failure; offset += this.partSize, part++) {
        if (options.signal?.aborted) throw stoppedError('upload');
        const length = Math.min(this.partSize, size - offset);
        // Shared memory, so the digest threads read the very bytes that are hashed here and sent.
        const buffer = free.pop() ?? Buffer.from(new SharedArrayBuffer(this.partSize));
        const chunk = buffer.subarray(0, length);
        await readExactly(handle, filePath, chunk, offset);
        // The buffer is reused only once the SHA-256 thread has taken these bytes in, too.
        const hashed = sha256 ? this.digestThreads.update(sha256, chunk) : Promise.resolve(sealer!.update(chunk));
        // Awaited with the part's request below; if the part digest fails first, this must not go unhandled.
        hashed.catch(() => undefined);
        const digest = withCrc ? (partCrcs[part - 1] = crc32(chunk)) : (partMd5s[part - 1] = await this.digestThreads.md5(chunk, sha256?.thread ?? -1));
        const integrity = integrityHeaders(digest);
        // The next part is read and hashed before waiting for a slot, so that even with one
        // part in flight the disk and the hashes overlap the network.
        while (inFlight.size >= this.partsInFlight) await Promise.race(inFlight);
        if (failure) break;
        const number = part;
        const upload: Promise<void> = Promise.all([this.putPart(bucket, key, uploadId, number, chunk, integrity), hashed])
          .then(([etag]) => {
            parts[number - 1] = { part: number, etag };
            sent += length;
            options.onProgress?.(sent);
          })
          .catch((error: unknown) => {
            failure ??= { error };
          })
          .finally(() => {
            inFlight.delete(upload);
            free.push(buffer);
          });
        inFlight.add(upload);
      }
      await Promise.all(inFlight);
      if (failure) throw (failure as { error: unknown }).error;
      await assertAtEnd(handle, filePath, size);
      let receipt: { bytesSent: number; sentSha256: string | null; sealed: boolean };
      if (sealer) {
        const tag = sealer.tag();
        if (tag !== options.expectSeal!.tag) throw new SentBytesMismatchError(key, options.expectSeal!.tag, tag, 'seal');
        receipt = { bytesSent: size, sentSha256: null, sealed: true };
      } else {
        const sentSha256 = await this.digestThreads.final(sha256!);
        if (options.expectSha256 && sentSha256 !== options.expectSha256) throw new SentBytesMismatchError(key, options.expectSha256, sentSha256);
        receipt = { bytesSent: size, sentSha256, sealed: false };
      }
      if (withCrc) {
        const done = await this.completeWithChecksums(bucket, key, uploadId, parts, partCrcs);
        return { ...receipt, ...done, proof: 'checksum', expected: crc32Checksum(partCrcs, true), reported: done.checksum ?? 'none' };
      }
      const done = await this.call(op, bucket, key, () => this.client.completeMultipartUpload(bucket, key, uploadId, parts));
      const etag = unquote(done.etag);
      return { ...receipt, etag, versionId: done.versionId ?? null, proof: 'etag', expected: etagOfPartDigests(partMd5s, true), reported: etag };
    } catch (err) {
      await Promise.allSettled(inFlight);
      if (sha256) this.digestThreads.drop(sha256);
      await this.abortUpload(bucket, key, uploadId);
      throw err;
    }
  }

  private async putPart(bucket: string, key: string, uploadId: string, part: number, chunk: Buffer, integrity: Record<string, string>): Promise<string> {
    const res = await this.call('putFile', bucket, key, () =>
      this.sendBody(
        this.bodyClient,
        {
          method: 'PUT',
          bucketName: bucket,
          objectName: key,
          query: `partNumber=${part}&uploadId=${s3Escape(uploadId)}`,
          headers: integrity,
        },
        chunk,
      ),
    );
    return unquote(String(res.headers.etag ?? ''));
  }

  /**
   * CompleteMultipartUpload with each part's CRC32, which S3 requires of an upload created
   * with a checksum algorithm (minio-js sends ETags only). The server checks them against
   * the parts it stored and answers with the composite checksum.
   */
  private async completeWithChecksums(
    bucket: string,
    key: string,
    uploadId: string,
    parts: readonly { part: number; etag: string }[],
    crcs: readonly number[],
  ): Promise<{ etag: string; versionId: string | null; checksum: string | null }> {
    const body =
      '<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
      parts
        .map((p) => `<Part><PartNumber>${p.part}</PartNumber><ETag>"${xmlEscape(p.etag)}"</ETag><ChecksumCRC32>${crc32Base64(crcs[p.part - 1]!)}</ChecksumCRC32></Part>`)
        .join('') +
      '</CompleteMultipartUpload>';
    return this.call('putFile', bucket, key, async () => {
      const res = await this.client.makeRequestAsync({ method: 'POST', bucketName: bucket, objectName: key, query: `uploadId=${s3Escape(uploadId)}` }, body, [200]);
      let xml = '';
      for await (const piece of res) xml += String(piece);
      // S3 may answer 200 and put the error in the body.
      const error = /<Error>[\s\S]*?<Code>([^<]*)<\/Code>(?:[\s\S]*?<Message>([^<]*)<\/Message>)?/.exec(xml);
      if (error) throw Object.assign(new Error(`CompleteMultipartUpload: ${error[2] ?? error[1]}`), { code: error[1] });
      const etag = /<ETag>([^<]*)<\/ETag>/.exec(xml)?.[1];
      if (etag === undefined) throw Object.assign(new Error('CompleteMultipartUpload: no ETag in the answer'), { code: 'MalformedResponse' });
      const checksum = /<ChecksumCRC32>([^<]*)<\/ChecksumCRC32>/.exec(xml)?.[1];
      return { etag: unquote(etag), versionId: headerValue(res.headers, 'x-amz-version-id'), checksum: checksum ? `crc32:${checksum}` : null };
    });
  }

  /**
   * One signed request with a body. With `signPayload` off, `bodyClient` signs it as
   * UNSIGNED-PAYLOAD: the checksum header (CRC32 or Content-MD5), which the caller always
   * sets and which is itself signed, is what the server checks the body against; minio-js
   * would otherwise SHA-256 every body once more, and the server again.
   */
  private async sendBody(client: Client, options: RequestOption, body: Buffer): Promise<Omit<http.IncomingMessage, 'on'>> {
    options.headers = { ...options.headers, 'content-length': String(body.length) };
    const sha256sum = client.enableSHA256 ? createHash('sha256').update(body).digest('hex') : '';
    const res = await client.makeRequestStreamAsync(options, body, sha256sum, [200], this.config.region);
    res.resume();
    return res;
  }

  private async abortUpload(bucket: string, key: string, uploadId: string): Promise<void> {
    try {
      await this.client.makeRequestAsyncOmit(
        { method: 'DELETE', bucketName: bucket, objectName: key, query: `uploadId=${s3Escape(uploadId)}` },
        '',
        [204],
      );
    } catch (err) {
      // The server drops stale incomplete uploads by itself; nothing else to do.
      log.warn({ bucket, key, err: this.describe(err) }, 'could not abort incomplete multipart upload');
    }
  }

  /** One signed PUT of a whole body with the given checksum header (Content-MD5 of the body by default). */
  private async putBody(
    op: string,
    bucket: string,
    key: string,
    body: Buffer,
    headers: Record<string, string>,
    integrity: Record<string, string> = integrityHeaders(createHash('md5').update(body).digest()),
    client: Client = this.client,
  ): Promise<{ etag: string; versionId: string | null; checksum: string | null }> {
    const res = await this.call(op, bucket, key, () =>
      this.sendBody(client, { method: 'PUT', bucketName: bucket, objectName: key, headers: { ...headers, ...integrity } }, body),
    );
    return { etag: unquote(String(res.headers.etag ?? '')), versionId: headerValue(res.headers, 'x-amz-version-id'), checksum: checksumOf(res.headers) };
  }

  async putDocument(role: BucketRole, key: string, body: Buffer, contentType: string): Promise<{ etag: string; versionId: string | null }> {
    const bucket = this.bucketName(role);
    if (await this.stat(role, key)) throw new ObjectExistsError(key);
    if (body.length > this.partSize) throw new RangeError(`document of ${body.length} bytes is larger than one part; use putFile`);
    try {
      // If-None-Match closes the race between the stat above and this write (two writers of one key).
      const sent = await this.putBody('putDocument', bucket, key, body, { 'Content-Type': contentType, 'If-None-Match': '*' });
      const expected = createHash('md5').update(body).digest('hex');
      if (sent.etag !== expected) {
        throw new UploadVerificationError(bucket, key, {
          etag: sent.etag,
          versionId: sent.versionId,
          bytesSent: body.length,
          sentSha256: createHash('sha256').update(body).digest('hex'),
          sealed: false,
          proof: 'etag',
          expected,
          reported: sent.etag,
        });
      }
      return { etag: sent.etag, versionId: sent.versionId };
    } catch (err) {
      if (err instanceof ObjectStoreRequestError && err.code === 'PreconditionFailed') throw new ObjectExistsError(key);
      throw err;
    }
  }

  async read(role: BucketRole, key: string): Promise<Readable> {
    const bucket = this.bucketName(role);
    return this.call('read', bucket, key, () => this.client.getObject(bucket, key));
  }

  async readRange(role: BucketRole, key: string, offset: number, length: number): Promise<Readable> {
    const bucket = this.bucketName(role);
    return this.call('readRange', bucket, key, () => this.client.getPartialObject(bucket, key, offset, length));
  }

  async readDocument(role: BucketRole, key: string): Promise<Buffer | null> {
    const bucket = this.bucketName(role);
    let stream: Readable;
    try {
      stream = await this.read(role, key);
    } catch (err) {
      if (err instanceof ObjectStoreRequestError && NOT_FOUND_CODES.has(err.code ?? '')) return null;
      throw err;
    }
    const chunks: Buffer[] = [];
    let total = 0;
    try {
      for await (const chunk of stream) {
        const b = chunk as Buffer;
        total += b.length;
        if (total > MAX_DOCUMENT_BYTES) {
          stream.destroy();
          throw new RangeError(`${bucket}/${key} is larger than ${MAX_DOCUMENT_BYTES} bytes; not a document`);
        }
        chunks.push(b);
      }
    } catch (err) {
      if (err instanceof RangeError) throw err;
      throw this.normalize('readDocument', bucket, key, err);
    }
    return Buffer.concat(chunks, total);
  }

  async *list(role: BucketRole, prefix: string): AsyncIterable<{ key: string; size: number }> {
    const bucket = this.bucketName(role);
    const stream = this.client.listObjectsV2(bucket, prefix, true);
    try {
      for await (const item of stream) {
        const entry = item as { name?: string; size?: number };
        if (entry.name !== undefined) yield { key: entry.name, size: Number(entry.size ?? 0) };
      }
    } catch (err) {
      throw this.normalize('list', bucket, prefix, err);
    } finally {
      stream.destroy();
    }
  }

  /**
   * Deletes the current version (or the given one) for real, never by adding a delete marker:
   * without a versionId the current version is looked up first. A locked version is refused
   * by the server and reported as ObjectLockedError. A missing object is not an error.
   * Governance bypass is never requested.
   */
  async remove(role: BucketRole, key: string, versionId?: string): Promise<void> {
    const bucket = this.bucketName(role);
    let target = versionId ?? null;
    if (target === null) {
      const current = await this.stat(role, key);
      if (!current) return;
      target = current.versionId;
    }
    try {
      await this.call('remove', bucket, key, () => this.client.removeObject(bucket, key, target ? { versionId: target } : {}));
    } catch (err) {
      if (isLockRefusal(err)) throw new ObjectLockedError(bucket, key, target, { cause: err });
      throw err;
    }
  }

  async extendRetention(role: BucketRole, key: string, until: Date): Promise<Date> {
    if (!this.isLocked(role)) throw new Error(`${role} is not a write-once bucket: it has no retention`);
    const bucket = this.bucketName(role);
    const current = await this.stat(role, key);
    if (!current) throw new Error(`no object ${bucket}/${key} to retain`);
    if (current.retainUntil && current.retainUntil >= until) return current.retainUntil;
    // A date already past cannot be set (S3 refuses it) and would protect nothing.
    if (until.getTime() <= Date.now()) return current.retainUntil ?? until;
    await this.call('retain', bucket, key, () =>
      this.client.putObjectRetention(bucket, key, { versionId: current.versionId ?? '', mode: this.retention.mode, retainUntilDate: until.toISOString() }),
    );
    const after = await this.stat(role, key);
    if (!after?.retainUntil || after.retainUntil < until) throw new Error(`${bucket}/${key}: the server did not keep retention until ${until.toISOString()}`);
    return after.retainUntil;
  }

  async setLegalHold(role: BucketRole, key: string, on: boolean): Promise<void> {
    if (!this.isLocked(role)) throw new Error(`${role} is not a write-once bucket: it has no legal hold`);
    const bucket = this.bucketName(role);
    const current = await this.stat(role, key);
    if (!current) throw new Error(`no object ${bucket}/${key} to hold`);
    // minio-js declares this one void though it returns the request's promise.
    await this.call('hold', bucket, key, () =>
      Promise.resolve(this.client.setObjectLegalHold(bucket, key, { status: on ? 'ON' : 'OFF', ...(current.versionId ? { versionId: current.versionId } : {}) }) as unknown),
    );
  }

  async legalHold(role: BucketRole, key: string): Promise<boolean> {
    const bucket = this.bucketName(role);
    const current = await this.stat(role, key);
    if (!current) return false;
    try {
      // Declared as the status string, minio-js 8 returns the parsed <LegalHold> element.
      const answer = (await this.call('hold', bucket, key, () => this.client.getObjectLegalHold(bucket, key, current.versionId ? { versionId: current.versionId } : undefined))) as unknown as
        | { Status?: string }
        | string;
      return (typeof answer === 'string' ? answer : answer?.Status) === 'ON';
    } catch (err) {
      if (codeOf(err) === 'NoSuchObjectLockConfiguration') return false;
      throw err;
    }
  }

  async ping(): Promise<void> {
    const bucket = this.config.originalsBucket;
    await this.call('ping', bucket, '', () => this.client.bucketExists(bucket));
  }

  /** Close idle keep-alive connections. */
  close(): void {
    this.agent.destroy();
    this.digestThreads.close();
  }

  // ---------------------------------------------------------------------------------------------
  // Errors

  private async call<T>(op: string, bucket: string, key: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.normalize(op, bucket, key, err);
    }
  }

  private normalize(op: string, bucket: string, key: string, err: unknown): Error {
    if (
      err instanceof ObjectStoreUnavailableError ||
      err instanceof ObjectStoreRequestError ||
      err instanceof SpoolFileChangedError ||
      err instanceof BucketNotWriteOnceError
    ) {
      return err;
    }
    const where = `${op} ${bucket}${key ? `/${key}` : ''}`;
    if (isUnavailable(err)) {
      return new ObjectStoreUnavailableError(`object store ${this.endpoint} unavailable during ${where}: ${this.describe(err)}`, { cause: err });
    }
    return new ObjectStoreRequestError(`object store ${where} failed: ${this.describe(err)}`, codeOf(err), { cause: err });
  }

  /** Error text with the credentials scrubbed, whatever the server or library put in it. */
  private describe(err: unknown): string {
    const code = codeOf(err);
    const message = err instanceof Error ? err.message || err.constructor.name : String(err);
    let text = code && !message.includes(code) ? `${code}: ${message}` : message;
    for (const secret of this.secrets) text = text.split(secret).join('[redacted]');
    return text;
  }
}

// -----------------------------------------------------------------------------------------------
// Helpers

/** A digest thread failed or exited while a part was being hashed. */
export class PartDigestThreadError extends Error {
  constructor(options: { cause: unknown }) {
    super(`part MD5 thread failed: ${(options.cause as Error)?.message ?? String(options.cause)}`, options);
    this.name = 'PartDigestThreadError';
  }
}

/**
 * Worker threads for upload digests, started on first use and unref'd while idle (an idle
 * store never keeps the process alive). An upload's SHA-256 stays on one thread (its updates
 * must be in order); its parts' MD5s go to another, so both run at once, and concurrent
 * uploads spread over the threads. On a 2-core machine shared with the object store this is
 * what lets an upload use both cores, as mc's goroutines do.
 */
class DigestThreads {
  private readonly workers: Array<Worker | null>;
  private readonly load: number[];
  private nextId = 0;
  private nextStream = 0;
  private readonly pending = new Map<number, { thread: number; resolve: (digest: Buffer | null) => void; reject: (error: Error) => void }>();

  constructor(count: number) {
    this.workers = new Array<Worker | null>(count).fill(null);
    this.load = new Array<number>(count).fill(0);
  }

  /** A SHA-256 stream over an upload's parts, pinned to the least busy thread. */
  sha256Stream(): { thread: number; stream: number } {
    return { thread: this.leastBusy(-1), stream: this.nextStream++ };
  }

  update(s: { thread: number; stream: number }, data: Buffer): Promise<unknown> {
    return this.send(s.thread, { kind: 'update', stream: s.stream, data: shared(data) });
  }

  async final(s: { thread: number; stream: number }): Promise<string> {
    return (await this.send(s.thread, { kind: 'final', stream: s.stream }))!.toString('hex');
  }

  drop(s: { thread: number; stream: number }): void {
    if (this.workers[s.thread]) void this.send(s.thread, { kind: 'drop', stream: s.stream }).catch(() => undefined);
  }

  /** The MD5 of one part, on the least busy thread other than `avoid` (the upload's SHA-256 thread). */
  async md5(data: Buffer, avoid: number): Promise<Buffer> {
    return (await this.send(this.leastBusy(avoid), { kind: 'md5', data: shared(data) }))!;
  }

  close(): void {
    for (const [i, w] of this.workers.entries()) {
      this.workers[i] = null;
      if (w) void w.terminate();
    }
    this.failAll(() => true, new Error('object store closed'));
  }

  private leastBusy(avoid: number): number {
    let best = -1;
    for (let i = 0; i < this.workers.length; i++) {
      if (i === avoid && this.workers.length > 1) continue;
      if (best < 0 || this.load[i]! < this.load[best]!) best = i;
    }
    return best;
  }

  private send(thread: number, message: Record<string, unknown>): Promise<Buffer | null> {
    const worker = this.start(thread);
    const id = this.nextId++;
    return new Promise<Buffer | null>((resolve, reject) => {
      this.pending.set(id, { thread, resolve, reject });
      if (this.load[thread]!++ === 0) worker.ref();
      worker.postMessage({ id, ...message });
    });
  }

  private start(thread: number): Worker {
    const running = this.workers[thread];
    if (running) return running;
    // execArgv []: plain JavaScript, no tsx loader needed (it would slow the start by ~200 ms).
    const worker = new Worker(new URL('./part-digest.thread.js', import.meta.url), { execArgv: [] });
    worker.unref();
    worker.on('message', ({ id, digest }: { id: number; digest?: Uint8Array }) => {
      const waiting = this.pending.get(id);
      this.pending.delete(id);
      if (--this.load[thread]! === 0) worker.unref();
      waiting?.resolve(digest ? Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength) : null);
    });
    const lost = (cause: unknown) => {
      if (this.workers[thread] === worker) this.workers[thread] = null;
      this.load[thread] = 0;
      this.failAll((p) => p.thread === thread, cause);
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`exited with code ${code}`)));
    this.workers[thread] = worker;
    return worker;
  }

  private failAll(which: (p: { thread: number }) => boolean, cause: unknown): void {
    for (const [id, p] of [...this.pending]) {
      if (!which(p)) continue;
      this.pending.delete(id);
      p.reject(new PartDigestThreadError({ cause }));
    }
  }
}

/** A view of a SharedArrayBuffer-backed Buffer that crosses to a worker without a copy. */
function shared(data: Buffer): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** http(s).request with a socket inactivity timeout that covers connecting, and aborts the request. */
function timedTransport(base: typeof http | typeof https, timeoutMs: number): Transport {
  const request = (options: http.RequestOptions, callback?: (res: http.IncomingMessage) => void): http.ClientRequest => {
    const req = base.request({ ...options, timeout: timeoutMs }, callback);
    req.on('timeout', () => {
      const err = new Error(`no activity from the object store for ${timeoutMs} ms`) as Error & { code: string };
      err.code = 'ETIMEDOUT';
      req.destroy(err);
    });
    return req;
  };
  return { request } as unknown as Transport;
}

function codeOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && code !== '' ? code : undefined;
}

function isUnavailable(err: unknown): boolean {
  const code = codeOf(err);
  if (code && (NETWORK_CODES.has(code) || BUSY_CODES.has(code))) return true;
  if (err instanceof AggregateError) return err.errors.some(isUnavailable);
  // minio-js retries 408/429/5xx once, then throws a plain Error with this text.
  if (err instanceof Error && /Retryable HTTP status: \d+/.test(err.message)) return true;
  return false;
}

function isLockRefusal(err: unknown): boolean {
  const code = err instanceof ObjectStoreRequestError ? err.code : codeOf(err);
  const message = err instanceof Error ? err.message : '';
  return (code === 'InvalidRequest' || code === 'AccessDenied' || code === 'ObjectLocked') && /WORM|lock|retention|legal hold/i.test(message);
}

function headerValue(headers: http.IncomingHttpHeaders, name: string): string | null {
  const v = headers[name];
  const value = Array.isArray(v) ? v[0] : v;
  return value === undefined || value === '' ? null : String(value);
}

/** Additional checksums an S3 server may report, as their header names. */
const CHECKSUM_HEADERS = ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256'] as const;

/** The object's additional checksum as `<algorithm>:<base64>[-N]`, or null when it has none. */
function checksumOf(headers: http.IncomingHttpHeaders): string | null {
  for (const algorithm of CHECKSUM_HEADERS) {
    const value = headerValue(headers, `x-amz-checksum-${algorithm}`);
    if (value !== null) return `${algorithm}:${value}`;
  }
  return null;
}

function unquote(etag: string): string {
  return etag.replace(/^(?:"|&quot;|&#34;)|(?:"|&quot;|&#34;)$/g, '');
}

/** The header the server checks a body against: its CRC32 (S3 additional checksum) or its MD5 (Content-MD5). */
function integrityHeaders(digest: number | Buffer): Record<string, string> {
  return typeof digest === 'number' ? { 'x-amz-checksum-crc32': crc32Base64(digest) } : { 'Content-MD5': digest.toString('base64') };
}

function xmlEscape(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** S3 (RFC 3986) query escaping. */
function s3Escape(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** User metadata as x-amz-meta-* headers, validated (ASCII, header-safe, within the S3 size limit). */
function metadataHeaders(metadata: Record<string, string>): Record<string, string> {
  const headers: Record<string, string> = {};
  let bytes = 0;
  for (const [rawKey, value] of Object.entries(metadata)) {
    const key = rawKey.toLowerCase().replace(/^x-amz-meta-/, '');
    if (!/^[a-z0-9][a-z0-9_.-]*$/.test(key)) throw new TypeError(`metadata key ${JSON.stringify(rawKey)} is not a valid header name`);
    if (typeof value !== 'string' || !/^[\x20-\x7e]*$/.test(value)) {
      throw new TypeError(`metadata ${key} must be printable ASCII`);
    }
    headers[`x-amz-meta-${key}`] = value.trim();
    bytes += key.length + value.length;
  }
  if (bytes > MAX_METADATA_BYTES) throw new RangeError(`metadata is ${bytes} bytes; S3 allows ${MAX_METADATA_BYTES}`);
  return headers;
}

/** Proves a single-part body is the acquired bytes: by the acquisition's seal, else by its SHA-256. */
function sentBytesProof(key: string, body: Buffer, options: PutFileOptions): { sentSha256: string | null; sealed: boolean } {
  if (options.expectSeal) {
    const sealer = new Sealer(options.expectSeal);
    sealer.update(body);
    const tag = sealer.tag();
    if (tag !== options.expectSeal.tag) throw new SentBytesMismatchError(key, options.expectSeal.tag, tag, 'seal');
    return { sentSha256: null, sealed: true };
  }
  const sha256 = createHash('sha256').update(body).digest('hex');
  if (options.expectSha256 && sha256 !== options.expectSha256) throw new SentBytesMismatchError(key, options.expectSha256, sha256);
  return { sentSha256: sha256, sealed: false };
}

async function readExactly(handle: FileHandle, filePath: string, into: Buffer, position: number): Promise<void> {
  let filled = 0;
  while (filled < into.length) {
    const { bytesRead } = await handle.read(into, filled, into.length - filled, position + filled);
    if (bytesRead === 0) throw new SpoolFileChangedError(filePath, `ended at ${position + filled} bytes while being uploaded`);
    filled += bytesRead;
  }
}

async function assertAtEnd(handle: FileHandle, filePath: string, size: number): Promise<void> {
  const probe = Buffer.allocUnsafe(1);
  const { bytesRead } = await handle.read(probe, 0, 1, size);
  if (bytesRead !== 0) throw new SpoolFileChangedError(filePath, `grew beyond ${size} bytes while being uploaded`);
}
