import { describe, expect, it } from 'vitest';
import type { DerivativeRow, EvidenceRow } from '../storage/catalog.repository.ts';
import type { CustodyEvent } from '../storage/custody-chain.ts';
import { evidenceRow, StrictScope } from '../workers/media.fakes.ts';
import type { Caller } from './access.service.ts';
import { ArchiveError } from './archive.errors.ts';
import { DisclosureService, type DisclosureDeps } from './disclosure.service.ts';

const CASE = 'YB-2026-009';
const ids = ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222', '33333333-3333-4333-8333-333333333333'];
// Captured in the order 2, 0, 1: the service lists them by capture time.
const items = ids.map((id, i) => evidenceRow({ id, caseNumbers: [CASE], captureStart: new Date(Date.UTC(2026, 10, 1, 9, [5, 9, 1][i]!)) }));
const derivative = (evidenceId: string, kind: string, createdAt: number): DerivativeRow =>
  ({ id: `${evidenceId}-${kind}`, evidenceId, kind, contentType: 'video/mp4', objectKey: `${kind}/${evidenceId}`, sha256: 'a'.repeat(64), createdAt: new Date(createdAt) }) as DerivativeRow;
const derivatives: Record<string, DerivativeRow[]> = {
  [ids[0]!]: [derivative(ids[0]!, 'proxy', 1), derivative(ids[0]!, 'redacted', 2)],
  [ids[1]!]: [derivative(ids[1]!, 'proxy', 1)],
  [ids[2]!]: [],
};
const caller = (role: string): Caller => ({ principal: { kind: 'user', id: 'u1', name: 'li.na', role, officerId: null, unitIds: ['SZ'], scope: new Set(['SZ']), seesUnassigned: false, mustChangePassword: false } as Caller['principal'], ip: null, userAgent: null });
const disclosed = (seq: number, evidenceId: string, disclosureId: string, at: string, more: Record<string, string> = {}): CustodyEvent =>
  ({ seq, at, type: 'DISCLOSED', actor: { kind: 'user', id: 'u1' }, evidenceId, hash: `h${seq}`, details: { disclosureId, caseNumber: CASE, by: 'li.na', approvalId: 'ap-1', file: `clips/${evidenceId}.mp4`, sha256: `s${seq}`, ...more } }) as unknown as CustodyEvent;

function setup(events: Record<string, CustodyEvent[]> = {}) {
  const scope = new StrictScope();
  const authorized: string[] = [];
  const deps = {
    catalog: scope.strict('catalog', { search: async () => [...items], derivativesOf: async (id: string) => derivatives[id] ?? [] }),
    access: scope.strict('access', { grants: async () => ({}), authorize: (_p: unknown, item: EvidenceRow) => (authorized.push(item.id), { by: 'role', approvalId: null }) }),
    ledger: scope.strict('ledger', { eventsFor: async (f: { evidenceId: string }) => events[f.evidenceId] ?? [] }),
  } as unknown as DisclosureDeps;
  return { scope, authorized, service: new DisclosureService(deps) };
}

describe('DisclosureService.preview', () => {
  it('says, before anything is made, which items go out redacted, unredacted (the proxy) or not at all, in capture order', async () => {
    const { service, scope, authorized } = setup();
    const p = await service.preview(caller('custodian'), CASE);
    expect(p.items.map((i) => [i.evidenceId, i.copy, i.sourceKind])).toEqual([
      [ids[2], 'none', null],
      [ids[0], 'redacted', 'redacted'],
      [ids[1], 'proxy', 'proxy'],
    ]);
    expect([p.redacted, p.unredacted, p.withheld]).toEqual([1, 1, 1]);
    expect(authorized.sort()).toEqual([...ids].sort());
    expect(scope.unexpected).toEqual([]);
  });

  it('is a custodian’s: an officer is refused before the catalog is read', async () => {
    const { service, scope } = setup();
    await expect(service.preview(caller('officer'), CASE)).rejects.toSatisfy((e) => e instanceof ArchiveError && e.status === 403);
    expect(scope.unexpected).toEqual([]);
  });
});

describe('DisclosureService.disclosures', () => {
  it('groups the DISCLOSED events by disclosure, newest first, ignoring other cases and other events', async () => {
    const other = { ...disclosed(9, ids[0]!, 'd-other', '2026-12-03T00:00:00.000Z'), details: { disclosureId: 'd-other', caseNumber: 'YB-OTHER' } } as unknown as CustodyEvent;
    const viewed = { ...disclosed(10, ids[0]!, 'x', '2026-12-04T00:00:00.000Z'), type: 'SHARE_CREATED' } as CustodyEvent;
    const { service } = setup({
      [ids[0]!]: [disclosed(3, ids[0]!, 'd-old', '2026-12-01T08:00:00.000Z'), disclosed(7, ids[0]!, 'd-new', '2026-12-02T08:00:00.000Z', { manifestSha256: 'm'.repeat(64) }), other, viewed],
      [ids[1]!]: [disclosed(2, ids[1]!, 'd-old', '2026-12-01T07:59:59.000Z'), disclosed(6, ids[1]!, 'd-new', '2026-12-02T08:00:00.000Z', { manifestSha256: 'm'.repeat(64) })],
    });
    const list = await service.disclosures(caller('custodian'), CASE);
    expect(list.map((d) => [d.disclosureId, d.at, d.manifestSha256, d.files.map((f) => [f.eventSeq, f.eventHash])])).toEqual([
      ['d-new', '2026-12-02T08:00:00.000Z', 'm'.repeat(64), [[6, 'h6'], [7, 'h7']]],
      ['d-old', '2026-12-01T07:59:59.000Z', null, [[2, 'h2'], [3, 'h3']]],
    ]);
    expect(list[0]).toMatchObject({ by: 'li.na', approvalId: 'ap-1' });
  });
});
