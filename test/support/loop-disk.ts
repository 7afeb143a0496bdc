import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, truncateSync, writeFileSync } from 'node:fs';

/**
 * A real block device for tests: an ext4 image on a loop device, mounted. `yank()` makes it
 * behave as a recorder pulled from its cable: its capacity drops to zero, so every read the
 * page cache cannot answer fails in the kernel with EIO, while the mount stays (as a pulled
 * USB disk's does until it is cleaned up). Needs root.
 */
export class LoopDisk {
  private attached = true;
  private mounted = true;

  private constructor(
    readonly image: string,
    readonly device: string,
    readonly mount: string,
  ) {}

  /** Formats a new image of `bytes` and mounts it at `mount`. */
  static create(image: string, bytes: number, mount: string): LoopDisk {
    writeFileSync(image, '');
    truncateSync(image, bytes);
    execFileSync('mkfs.ext4', ['-q', '-F', '-E', 'lazy_itable_init=0,lazy_journal_init=0', image]);
    return LoopDisk.attach(image, mount);
  }

  /** Mounts an existing image (a recorder plugged in again). */
  static attach(image: string, mount: string): LoopDisk {
    const device = execFileSync('losetup', ['--find', '--show', image], { encoding: 'utf8' }).trim();
    mkdirSync(mount, { recursive: true });
    // errors=continue: a read error is the file's problem, not a reason to remount read-only.
    execFileSync('mount', ['-o', 'errors=continue', device, mount]);
    return new LoopDisk(image, device, mount);
  }

  /** Puts everything written on the device and empties the page cache, so reads reach it. */
  flush(): void {
    execFileSync('sync');
    writeFileSync('/proc/sys/vm/drop_caches', '3');
  }

  /** A copy of the image as it is now, to plug in again after the yank. */
  snapshot(to: string): void {
    this.flush();
    copyFileSync(this.image, to);
  }

  yank(): void {
    truncateSync(this.image, 0);
    execFileSync('losetup', ['--set-capacity', this.device]);
  }

  dispose(): void {
    if (this.mounted) execFileSync('umount', ['--lazy', this.mount]);
    this.mounted = false;
    if (this.attached) execFileSync('losetup', ['--detach', this.device]);
    this.attached = false;
  }
}
