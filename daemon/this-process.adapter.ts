import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
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
