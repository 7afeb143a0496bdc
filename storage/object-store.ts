import type { Readable } from 'node:stream';
import type { SpoolSeal } from './spool-seal.ts';

/**
 * The object store as the pipeline sees it. Implemented by minio.object-store.ts for any
 * S3 server with object lock; services take this interface so they can be unit-tested
 * with strict fakes.
 */

export type BucketRole = 'originals' | 'ledger' | 'derivatives';

export interface StoredObject {
  size: number;
  /** The server's ETag without quotes: MD5 for a single PUT, md5-of-md5s + "-N" for multipart. */
  etag: string;
  /**
   * The server's additional checksum of the object as `<algorithm>:<base64>`, with "-N" for
   * a multipart upload's composite (S3 x-amz-checksum-*), or null when it was stored without one.
   */
  checksum: string | null;
  versionId: string | null;
  metadata: Record<string, string>;
  retainUntil: Date | null;
}

/**
 * How a stored object is matched to the bytes that were sent: `checksum` compares the
 * server's CRC32 checksum (checked by the server part by part as it received them) with the
 * one computed over the bytes sent; `etag` compares its MD5-based ETag (Content-MD5 per part).
 */
export type UploadProofKind = 'checksum' | 'etag';

/** What was actually sent, digested in the same pass that sent it. */
export interface UploadReceipt {
  /** The server's ETag of the new object. */
  etag: string;
  versionId: string | null;
  bytesSent: number;
  /**
   * How the bytes sent were proven to be the acquired ones: their SHA-256 (hex), or, when
   * the upload was given the acquisition's seal, null (`sealed` is then true).
   */
  sentSha256: string | null;
  sealed: boolean;
  proof: UploadProofKind;
  /** What the server must report for exactly those bytes: the checksum (`crc32:…`) or the ETag. */
  expected: string;
  /** What the server reported when it committed the object, in the same form. */
  reported: string;
}

/** What a stored object shows for a proof kind: its checksum or its ETag. */
export function proofValue(stored: StoredObject, proof: UploadProofKind): string | null {
  return proof === 'checksum' ? stored.checksum : stored.etag;
}

/** Whether a stat of the object shows exactly the bytes of the receipt. */
export function storedMatchesReceipt(stored: StoredObject, receipt: UploadReceipt): boolean {
  return stored.size === receipt.bytesSent && proofValue(stored, receipt.proof) === receipt.expected;
}

export interface PutFileOptions {
  /**
   * The SHA-256 the file must have. Checked before the object is committed (before the
   * single PUT, before completing a multipart upload), so bytes that changed in the spool
   * never become a write-once object under the key of other bytes.
   */
  expectSha256?: string;
  /**
   * Instead of hashing the bytes again: they must authenticate under the seal made as they
   * were acquired (spool-seal.ts), checked at the same point. expectSha256 is then not checked.
   */
  expectSeal?: SpoolSeal;
  /** Bytes sent so far, for progress display. */
  onProgress?: (bytesSent: number) => void;
  /**
   * Stops a multipart upload before its next part: the incomplete upload is aborted and the
   * call fails with an AbortError. A single PUT (one part) is not cut off.
   */
  signal?: AbortSignal;
}

/** The error of an upload or copy stopped by its AbortSignal (the process is stopping). */
export function stoppedError(what: string): Error {
  return Object.assign(new Error(`${what} stopped: this process is stopping`), { name: 'AbortError', code: 'ABORT_ERR' });
}

export class SentBytesMismatchError extends Error {
  constructor(readonly key: string, readonly expected: string, readonly actual: string, readonly check: 'sha256' | 'seal' = 'sha256') {
    super(`refusing to store ${key}: the bytes read ${check === 'seal' ? 'have the seal tag' : 'hash to'} ${actual}, expected ${expected}`);
    this.name = 'SentBytesMismatchError';
  }
}

export interface ObjectStore {
  /** Create missing buckets: originals and ledger with versioning + object lock + default retention. */
  ensureBuckets(): Promise<void>;
  stat(bucket: BucketRole, key: string): Promise<StoredObject | null>;
  /**
   * Upload a local file, digesting (SHA-256, and the CRC32 checksums or MD5s the server checks) the very bytes sent.
   * `metadata` keys become x-amz-meta-*; values must be ASCII.
   */
  putFile(bucket: BucketRole, key: string, filePath: string, size: number, metadata: Record<string, string>, options?: PutFileOptions): Promise<UploadReceipt>;
  /** Small write-once documents (ledger events, public keys). Refuses to overwrite an existing key. */
  putDocument(bucket: BucketRole, key: string, body: Buffer, contentType: string): Promise<{ etag: string; versionId: string | null }>;
  read(bucket: BucketRole, key: string): Promise<Readable>;
  /** `length` bytes from `offset` (HTTP range requests of the archive server). */
  readRange(bucket: BucketRole, key: string, offset: number, length: number): Promise<Readable>;
  readDocument(bucket: BucketRole, key: string): Promise<Buffer | null>;
  list(bucket: BucketRole, prefix: string): AsyncIterable<{ key: string; size: number }>;
  /** Attempts a delete (of the current version). Used only by retention jobs and tamper tests. */
  remove(bucket: BucketRole, key: string, versionId?: string): Promise<void>;
  /**
   * Moves the object lock of the current version out to `until`, never in (COMPLIANCE
   * refuses that anyway): returns the retain-until in force afterwards. Write-once buckets only.
   */
  extendRetention(bucket: BucketRole, key: string, until: Date): Promise<Date>;
  /** Sets or clears the S3 legal hold of the current version (no deletion whatever the retention). */
  setLegalHold(bucket: BucketRole, key: string, on: boolean): Promise<void>;
  legalHold(bucket: BucketRole, key: string): Promise<boolean>;
  ping(): Promise<void>;
}

/** Object key of an original: content-addressed, so the same bytes are stored once. */
export function originalKey(sha256: string): string {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`not a SHA-256 hex digest: ${sha256}`);
  return `sha256/${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}`;
}

export class ObjectStoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ObjectStoreUnavailableError';
  }
}

export class ObjectExistsError extends Error {
  constructor(readonly key: string) {
    super(`object already exists and is write-once: ${key}`);
    this.name = 'ObjectExistsError';
  }
}
