import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LeaseOwner } from './session-lease.ts';

/** This process as the owner of the dockings it works (session-lease.ts). */
export function thisProcessOwner(workstationId: string): LeaseOwner {
  return { workstationId, host: hostname(), pid: process.pid, token: randomBytes(4).toString('hex') };
}

/**
 * Whether a process of this host with this pid is running. A killed process whose parent has
 * not reaped it yet is a zombie: it still has a pid, but it runs nothing.
 */
export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
  }
  // No /proc (not Linux): signal 0 tells whether the pid exists.
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** evidock's version from its package.json (found upward: the sources and dist/ both sit below it). */
export function evidockVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'evidock' && pkg.version) return pkg.version;
    }
    const up = dirname(dir);
    if (up === dir) return 'unknown';
    dir = up;
  }
}
