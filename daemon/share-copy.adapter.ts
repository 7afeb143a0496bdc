import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { ShareCopyUploader } from '../archive/sharing.service.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { ExportFolder } from './export-folder.adapter.ts';

/**
 * Stores the copy made for a share in the derivatives bucket: spooled to local scratch space
 * (hashed as it is written), then uploaded with that SHA-256 as the bytes it must be, and the
 * scratch space removed whatever happens.
 */
export class ShareCopyAdapter implements ShareCopyUploader {
  constructor(
    private readonly objects: Pick<ObjectStore, 'putFile'>,
    private readonly scratchDir: string,
  ) {}

  async upload(key: string, copy: Readable, _contentType: string, metadata: Record<string, string>): Promise<{ sha256: string; size: number; etag: string }> {
    const folder = ExportFolder.temporary(this.scratchDir);
    try {
      const written = await folder.writeStream('copy.mp4', copy);
      const receipt = await this.objects.putFile('derivatives', key, join(folder.root, 'copy.mp4'), written.size, { ...metadata, sha256: written.sha256 }, { expectSha256: written.sha256 });
      return { ...written, etag: receipt.etag };
    } finally {
      await folder.remove();
    }
  }
}
