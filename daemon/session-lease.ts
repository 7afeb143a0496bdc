/**
 * Who is working a docking. A docking (dock session) is claimed by the process that runs its
 * device jobs (acquire, store, clear); that process renews its claim, the lease, every third
 * of `ingest.sessionLeaseSeconds`. A docking whose claim has run out, or whose owner process
 * on this same host has ended, is abandoned: the next process serving this workstation's
 * queues, or docking the same recorder, takes it over instead of taking its files for
 * "being ingested elsewhere" forever. BullMQ's stalled-job timer alone cannot say this: it
 * only runs inside a worker, and hands the jobs back half a minute later to whichever worker
 * happens to be there.
 *
 * Pure decisions; the clock that matters is the database's (SessionRow.leaseLapsed), so hosts
 * with skewed clocks agree.
 */

/** Names one process: workstation, host, pid, and a random token against pid reuse. */
export interface LeaseOwner {
  workstationId: string;
  host: string;
  pid: number;
  token: string;
}

export function ownerIdOf(owner: LeaseOwner): string {
  return `${owner.workstationId}/${owner.host}/${owner.pid}/${owner.token}`;
}

/** The parts of an owner id; null for anything that is not one (ids never contain '/' but the separators). */
export function parseOwnerId(id: string): LeaseOwner | null {
  const parts = id.split('/');
  if (parts.length !== 4) return null;
  const [workstationId, host, pid, token] = parts as [string, string, string, string];
  if (!/^\d+$/.test(pid)) return null;
  return { workstationId, host, pid: Number(pid), token };
}

export type LeaseState =
  /** This process holds it. */
  | { state: 'mine' }
  /** Another live process holds it, or it was handed to one that has not claimed it yet. */
  | { state: 'held'; owner: string | null }
  /** Nobody is working it. */
  | { state: 'abandoned'; owner: string | null; reason: 'lease-expired' | 'owner-ended' };

export function leaseStateOf(
  session: { owner: string | null; leaseLapsed: boolean },
  me: LeaseOwner,
  processAlive: (pid: number) => boolean,
): LeaseState {
  if (session.owner === ownerIdOf(me)) return { state: 'mine' };
  if (session.leaseLapsed) return { state: 'abandoned', owner: session.owner, reason: 'lease-expired' };
  const holder = session.owner ? parseOwnerId(session.owner) : null;
  // Only a process of this host can be seen to have ended; a pid reused by another process
  // looks alive, and then the lease's expiry decides.
  if (holder && holder.host === me.host && holder.workstationId === me.workstationId && !processAlive(holder.pid)) {
    return { state: 'abandoned', owner: session.owner, reason: 'owner-ended' };
  }
  return { state: 'held', owner: session.owner };
}
