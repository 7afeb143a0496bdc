import { describe, expect, it } from 'vitest';
import { ACCESS_ACTIONS, can, decide, listed, ROLES, type AccessAction } from './access-policy.ts';
import { inScope, relationOf, type Principal } from './principal.ts';

const none = new Set<AccessAction>();
const all = new Set<AccessAction>(ACCESS_ACTIONS);

describe('access policy', () => {
  it('lets an officer see and fill in its own recordings, but never copy an original', () => {
    expect(decide('officer', 'view', 'own', none)).toEqual({ outcome: 'allow', by: 'role' });
    expect(decide('officer', 'tag', 'own', none)).toEqual({ outcome: 'allow', by: 'role' });
    expect(decide('officer', 'download', 'own', none)).toEqual({ outcome: 'deny' });
    expect(decide('officer', 'view', 'unit', none)).toEqual({ outcome: 'approval-required' });
    expect(decide('officer', 'view', 'unit', new Set(['view']))).toEqual({ outcome: 'allow', by: 'approval' });
  });

  it('hides what is outside the units unless an approval covers it, and then grants only what was approved', () => {
    for (const role of ROLES) expect(decide(role, 'view', 'outside', none)).toEqual({ outcome: 'hidden' });
    expect(decide('auditor', 'play', 'outside', new Set(['play']))).toEqual({ outcome: 'allow', by: 'approval' });
    expect(decide('auditor', 'download', 'outside', new Set(['play']))).toEqual({ outcome: 'approval-required' });
    // Changing a record never comes by approval.
    expect(decide('auditor', 'tag', 'outside', all)).toEqual({ outcome: 'deny' });
    expect(decide('supervisor', 'link', 'unit', all)).toEqual({ outcome: 'deny' });
  });

  it('gives admin no evidence at all, not even by approval, and tells it nothing exists', () => {
    for (const action of ['view', 'play', 'download', 'tag'] as const) {
      expect(decide('admin', action, 'unit', all).outcome).toBe('hidden');
      expect(decide('admin', action, 'outside', all).outcome).toBe('hidden');
    }
    expect(can('admin', 'admin')).toBe(true);
    expect(can('custodian', 'admin')).toBe(false);
  });

  it('follows configured overrides for access actions only', () => {
    expect(decide('supervisor', 'download', 'unit', none, { supervisor: { download: 'allow' } })).toEqual({ outcome: 'allow', by: 'role' });
    expect(decide('custodian', 'play', 'unit', none, { custodian: { play: 'approval' } })).toEqual({ outcome: 'approval-required' });
    expect(listed('auditor', 'unit', none)).toBe(true);
    expect(listed('officer', 'unit', none)).toBe(false);
    expect(listed('officer', 'own', none)).toBe(true);
  });
});

describe('principals', () => {
  const p = (over: Partial<Principal>): Principal => ({
    kind: 'user',
    id: 'u',
    name: 'n',
    role: 'officer',
    officerId: 'O1',
    unitIds: ['SZ'],
    scope: new Set(['SZ', 'SZ-FT']),
    seesUnassigned: false,
    mustChangePassword: false,
    ...over,
  });

  it('places an item as own, unit or outside, with units below the given ones in scope', () => {
    expect(relationOf(p({}), { id: 'e', unitId: 'SZ-FT', officerId: 'O1', caseNumbers: [] })).toBe('own');
    expect(relationOf(p({}), { id: 'e', unitId: 'SZ-FT', officerId: 'O2', caseNumbers: [] })).toBe('unit');
    expect(relationOf(p({ role: 'custodian' }), { id: 'e', unitId: 'SZ', officerId: 'O1', caseNumbers: [] })).toBe('unit');
    expect(relationOf(p({}), { id: 'e', unitId: 'GZ', officerId: 'O2', caseNumbers: [] })).toBe('outside');
    // Items no unit claims (unregistered recorders) belong to those scoped to a root.
    expect(inScope(p({}), null)).toBe(false);
    expect(inScope(p({ seesUnassigned: true }), null)).toBe(true);
  });
});
