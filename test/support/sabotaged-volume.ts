import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { PassThrough, type Readable } from 'node:stream';
import type { RecorderVolume } from '../../drivers/recorder.driver.ts';

/** A recorder whose reads can be sabotaged: unplugged or hung after N bytes, or written to while read. */
export class SabotagedVolume implements RecorderVolume {
  present = true;
  constructor(
    private readonly inner: RecorderVolume,
    private readonly sabotage: { unplugAfterBytes?: number; hangAfterBytes?: number; growOnFirstRead?: string; growWith?: Buffer },
  ) {}
  get driver() {
    return this.inner.driver;
  }
  get root() {
    return this.inner.root;
  }
  get sdk() {
    return this.inner.sdk;
  }
  identify() {
    return this.inner.identify();
  }
  list() {
    return this.inner.list();
  }
  async isPresent() {
    return this.present && (await this.inner.isPresent());
  }
  stat(raw: Buffer) {
    return this.present ? this.inner.stat(raw) : Promise.resolve(null);
  }
  remove(raw: Buffer) {
    return this.inner.remove(raw);
  }
  async open(raw: Buffer, start: number): Promise<Readable> {
    const source = await this.inner.open(raw, start);
    const out = new PassThrough();
    let seen = 0;
    source.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      const limit = this.sabotage.unplugAfterBytes;
      if (limit !== undefined && seen > limit) {
        this.present = false;
        source.destroy();
        out.destroy(Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' }));
        return;
      }
      const hang = this.sabotage.hangAfterBytes;
      if (hang !== undefined && seen > hang) {
        // Still plugged in, never answers again: no error, no end.
        source.pause();
        return;
      }
      const grow = this.sabotage.growOnFirstRead;
      // Grows while it is itself being read (a recorder still writing it).
      if (grow && Buffer.from(grow).subarray(-raw.length).equals(raw)) {
        appendFileSync(grow, this.sabotage.growWith ?? randomBytes(1000));
        this.sabotage.growOnFirstRead = undefined;
      }
      if (!out.write(chunk)) source.pause();
    });
    out.on('drain', () => source.resume());
    source.on('end', () => out.end());
    source.on('error', (e) => out.destroy(e));
    return out;
  }
}
