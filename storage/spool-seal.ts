import { createCipheriv, randomBytes, type CipherGCM } from 'node:crypto';

/**
 * A spool seal: an AES-GMAC tag over a recording's bytes as they were acquired, under a random
 * key that exists only in this process's memory. The upload authenticates the bytes it sends
 * with it instead of hashing them again with SHA-256: equal tags prove that the bytes sent are
 * the bytes acquired, as equal SHA-256s would (without the key, altered bytes pass with a
 * probability of about 2^-100 for a 4 GiB file), at about a tenth of the cost (GHASH with
 * PCLMULQDQ: 0.08 CPU-s per GiB here, SHA-256 with SHA-NI 0.7; docs/performance-limits.md).
 * A key is used for one recording once. After a restart the key is gone and the upload hashes
 * with SHA-256 again. workers/copy.thread.js (plain JavaScript) seals with the same calls.
 */
export interface SealKey {
  key: Buffer;
  iv: Buffer;
}

export interface SpoolSeal extends SealKey {
  /** The GMAC tag over the acquired bytes, hex. */
  tag: string;
}

export function newSealKey(): SealKey {
  return { key: randomBytes(32), iv: randomBytes(12) };
}

/** The tag of bytes fed in order, in chunks of any size. */
export class Sealer {
  private readonly gcm: CipherGCM;

  constructor(seal: SealKey) {
    this.gcm = createCipheriv('aes-256-gcm', seal.key, seal.iv);
  }

  update(chunk: Uint8Array): void {
    // GMAC: everything goes in as additional authenticated data; nothing is encrypted.
    this.gcm.setAAD(chunk);
  }

  tag(): string {
    this.gcm.final();
    return this.gcm.getAuthTag().toString('hex');
  }
}
