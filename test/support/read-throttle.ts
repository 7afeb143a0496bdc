import { existsSync, mkdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * Limits the reads of one block device for this process (every thread) and the children it
 * starts, through a cgroup: v1 blkio.throttle.read_bps_device, or v2 io.max rbps. Writes are
 * not limited: a recorder's bus limits only what is read from it.
 *
 * Used by the bench (a recorder at USB speed) and by tests that need a copy to last long
 * enough to pull the device in the middle of it. Needs root.
 */
export class ReadThrottle {
  private constructor(
    private readonly dir: string,
    private readonly home: string,
    readonly device: string,
    private readonly v2: boolean,
  ) {}

  /** A throttle for the disk holding `path`, or why there cannot be one on this machine. */
  static open(path: string): ReadThrottle | string {
    let device = deviceOf(path);
    const sys = `/sys/dev/block/${device}`;
    if (!existsSync(sys)) return `${path} is not on a block device (${device})`;
    // The throttle works on whole disks: a partition is limited through its disk.
    if (existsSync(join(sys, 'partition'))) device = readFileSync(join(resolve(sys, '..'), 'dev'), 'utf8').trim();
    const candidates = [
      { home: '/sys/fs/cgroup/blkio', v2: false },
      { home: '/sys/fs/cgroup', v2: true },
      { home: '/sys/fs/cgroup/unified', v2: true },
    ];
    const problems: string[] = [];
    for (const c of candidates) {
      if (!existsSync(join(c.home, c.v2 ? 'cgroup.subtree_control' : 'blkio.throttle.read_bps_device'))) continue;
      if (c.v2 && !readFileSync(join(c.home, 'cgroup.subtree_control'), 'utf8').split(/\s+/).includes('io')) {
        problems.push(`${c.home}: the io controller is not enabled`);
        continue;
      }
      const dir = join(c.home, `evidock-throttle-${process.pid}-${device.replace(':', '-')}`);
      try {
        mkdirSync(dir, { recursive: true });
        const t = new ReadThrottle(dir, c.home, device, c.v2);
        t.limit(1e9);
        return t;
      } catch (error) {
        problems.push(`${c.home}: ${(error as Error).message}`);
        if (existsSync(dir)) rmdirSync(dir);
      }
    }
    return problems.length ? problems.join('; ') : 'no blkio or io cgroup controller';
  }

  limit(bytesPerSecond: number): void {
    const rate = Math.round(bytesPerSecond);
    if (this.v2) writeFileSync(join(this.dir, 'io.max'), `${this.device} rbps=${rate}`);
    else writeFileSync(join(this.dir, 'blkio.throttle.read_bps_device'), `${this.device} ${rate}`);
  }

  /** Runs `work` inside the limit; this process leaves it when `work` ends. */
  async within<T>(work: () => Promise<T>): Promise<T> {
    writeFileSync(join(this.dir, 'cgroup.procs'), String(process.pid));
    try {
      return await work();
    } finally {
      writeFileSync(join(this.home, 'cgroup.procs'), String(process.pid));
    }
  }

  describe(): string {
    return this.v2 ? `cgroup v2 io.max rbps on ${this.device}` : `cgroup v1 blkio.throttle.read_bps_device on ${this.device}`;
  }

  /** A cgroup directory goes with rmdir only, once it has no tasks. */
  dispose(): void {
    rmdirSync(this.dir);
  }
}

/** major:minor of the device holding `path` (Linux's encoding of st_dev). */
function deviceOf(path: string): string {
  const dev = statSync(path).dev;
  const major = Math.floor(dev / 256) & 0xfff;
  const minor = (dev & 0xff) | ((Math.floor(dev / 4096) >>> 8) << 8);
  return `${major}:${minor}`;
}
