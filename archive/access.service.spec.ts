import { describe, expect, it } from 'vitest';
import type { EvidockConfig } from '../config/config.schema.ts';
import type { EvidenceRow } from '../storage/catalog.repository.ts';
import { AccessService, type Grants } from './access.service.ts';
import type { Principal } from './principal.ts';

/** Only the decision methods: no dependency is reached (a strict fake would throw). */
const unreachable = new Proxy({}, { get: (_t, prop) => { throw new Error(`unexpected use of ${String(prop)}`); } });
const service = new AccessService({
  config: { access: { rules: {}, ledgerEvents: 'batched', sealSeconds: 5, maxApprovalDays: 90 } } as unknown as EvidockConfig,
  db: unreachable as never,
  access: unreachable as never,
  catalog: unreachable as never,
  identity: unreachable as never,
  ledger: unreachable as never,
});

const item = (over: Partial<EvidenceRow>): EvidenceRow => ({ id: 'e1', unitId: 'GZ', officerId: 'O3', caseNumbers: ['YB-1'], ...over }) as EvidenceRow;
const principal = (over: Partial<Principal>): Principal => ({
  kind: 'user', id: 'u1', name: 'auditor', role: 'auditor', officerId: null, unitIds: ['SZ'], scope: new Set(['SZ']), seesUnassigned: false, mustChangePassword: false, ...over,
});
const grants = (over: Partial<Grants>): Grants => ({ items: new Map(), cases: [], ...over });

describe('AccessService decisions', () => {
  it('grants a case approval only for the case items in the units of the custodian who approved', () => {
    const g = grants({ cases: [{ caseNumber: 'YB-1', unitIds: ['GZ'], actions: new Set(['view', 'play']), approvalId: 'r1' }] });
    expect(service.approvedOn(g, item({}))).toEqual({ actions: new Set(['view', 'play']), approvalId: 'r1' });
    expect(service.approvedOn(g, item({ unitId: 'FS' })).actions.size).toBe(0);
    expect(service.approvedOn(g, item({ caseNumbers: ['YB-2'] })).actions.size).toBe(0);
  });

  it('answers 404 for an item the caller may not know of, 403 APPROVAL_REQUIRED with the approval missing', () => {
    const auditor = principal({});
    expect(() => service.authorize(auditor, item({}), 'view', grants({}))).toThrow(expect.objectContaining({ status: 404, code: 'EVIDENCE_NOT_FOUND' }));
    const approved = grants({ items: new Map([['e1', { actions: new Set(['view'] as const), approvalId: 'r9' }]]) });
    expect(service.authorize(auditor, item({}), 'view', approved)).toEqual({ by: 'approval', approvalId: 'r9' });
    expect(() => service.authorize(auditor, item({}), 'play', approved)).toThrow(expect.objectContaining({ status: 403, code: 'APPROVAL_REQUIRED' }));
    expect(() => service.authorize(auditor, item({ unitId: 'SZ' }), 'tag', grants({}))).toThrow(expect.objectContaining({ status: 403, code: 'FORBIDDEN' }));
  });

  it('scopes an officer\'s search to its own recordings and approvals, a custodian\'s to its units', () => {
    const approved = grants({ items: new Map([['e7', { actions: new Set(['view'] as const), approvalId: 'r1' }], ['e8', { actions: new Set(['play'] as const), approvalId: 'r2' }]]) });
    expect(service.scopeOf(principal({ role: 'officer', officerId: 'O1' }), approved)).toEqual({ unitIds: [], unassigned: false, officerId: 'O1', ownOnly: true, evidenceIds: ['e7'], cases: [] });
    expect(service.scopeOf(principal({ role: 'custodian', seesUnassigned: true }), grants({}))).toEqual({ unitIds: ['SZ'], unassigned: true, officerId: null, ownOnly: false, evidenceIds: [], cases: [] });
    // admin sees no evidence.
    expect(service.scopeOf(principal({ role: 'admin' }), grants({})).ownOnly).toBe(true);
  });
});
