import { describe, expect, it } from 'vitest';
import { leaseStateOf, ownerIdOf, parseOwnerId, type LeaseOwner } from './session-lease.ts';

const me: LeaseOwner = { workstationId: 'ws-1', host: 'pc-01', pid: 4100, token: 'aa11bb22' };
const alive = (pids: number[]) => (pid: number) => pids.includes(pid);

describe('docking leases', () => {
  it('round-trips an owner id', () => {
    expect(parseOwnerId(ownerIdOf(me))).toEqual(me);
    expect(parseOwnerId('not-an-owner')).toBeNull();
    expect(parseOwnerId('ws/host/notapid/token')).toBeNull();
  });

  it('is mine when this process holds it, even with the lease run out (it renews it next)', () => {
    expect(leaseStateOf({ owner: ownerIdOf(me), leaseLapsed: false }, me, alive([]))).toEqual({ state: 'mine' });
    expect(leaseStateOf({ owner: ownerIdOf(me), leaseLapsed: true }, me, alive([]))).toEqual({ state: 'mine' });
  });

  it('is abandoned once the lease runs out, whoever held it', () => {
    const other = ownerIdOf({ ...me, host: 'pc-02', pid: 77 });
    expect(leaseStateOf({ owner: other, leaseLapsed: true }, me, alive([77]))).toEqual({ state: 'abandoned', owner: other, reason: 'lease-expired' });
    expect(leaseStateOf({ owner: null, leaseLapsed: true }, me, alive([]))).toEqual({ state: 'abandoned', owner: null, reason: 'lease-expired' });
  });

  it('is abandoned at once when its owner was a process of this host that has ended', () => {
    const dead = ownerIdOf({ ...me, pid: 4099, token: 'cc33dd44' });
    expect(leaseStateOf({ owner: dead, leaseLapsed: false }, me, alive([4100]))).toEqual({ state: 'abandoned', owner: dead, reason: 'owner-ended' });
  });

  it('is held while its owner runs, on this host or another, and while a handed-off docking waits to be claimed', () => {
    const sibling = ownerIdOf({ ...me, token: 'ee55ff66' }); // another runtime of this same process
    expect(leaseStateOf({ owner: sibling, leaseLapsed: false }, me, alive([4100]))).toEqual({ state: 'held', owner: sibling });
    // A process of another host cannot be seen from here: only its lease tells.
    const remote = ownerIdOf({ ...me, host: 'pc-02', pid: 4099 });
    expect(leaseStateOf({ owner: remote, leaseLapsed: false }, me, alive([]))).toEqual({ state: 'held', owner: remote });
    // Nor can another workstation's process, even one on this host.
    const otherWs = ownerIdOf({ ...me, workstationId: 'ws-2', pid: 4099 });
    expect(leaseStateOf({ owner: otherWs, leaseLapsed: false }, me, alive([]))).toEqual({ state: 'held', owner: otherWs });
    expect(leaseStateOf({ owner: null, leaseLapsed: false }, me, alive([]))).toEqual({ state: 'held', owner: null });
  });
});
